"""Hard budgets per consumer, project, pool, provider or in total: over one, the proxy answers 429 itself."""

from __future__ import annotations

import fnmatch
import logging
from datetime import datetime
from decimal import Decimal

from quotawarden.domain import UsageEvent
from quotawarden.sources.proxy.model import Budget, SpendLookup

log = logging.getLogger("quotawarden.proxy")
ZERO = Decimal(0)


class BudgetGuard:
    def __init__(self, budgets: tuple[Budget, ...], lookup: SpendLookup | None = None) -> None:
        self.budgets = budgets
        self._lookup = lookup
        self._spent: dict[str, list[object]] = {}  # name -> [day, day_usd, month, month_usd]

    def load(self, now: datetime) -> None:
        """Spend already stored this day and month (blocking: call from a worker thread at start)."""
        for b in self.budgets:
            day, month = ZERO, ZERO
            if self._lookup is not None:
                try:
                    day, month = self._lookup(b, now)
                except Exception as exc:  # the store may be down; start from zero and say so
                    log.warning("budget %s: spend so far unknown (%s)", b.name, type(exc).__name__)
            self._spent[b.name] = [_day(now), day, _month(now), month]

    @staticmethod
    def _key(b: Budget, consumer: str | None, project: str | None, pool: str | None, provider: str) -> str | None:
        return {"consumer": consumer, "project": project, "pool": pool, "provider": provider,
                "total": "*", "team": project}.get(b.scope)

    def _applies(self, b: Budget, *who: str | None) -> bool:
        value = self._key(b, *who)  # type: ignore[arg-type]
        return value is not None and fnmatch.fnmatchcase(value, b.match)

    def _totals(self, b: Budget, now: datetime) -> list[object]:
        t = self._spent.setdefault(b.name, [_day(now), ZERO, _month(now), ZERO])
        if t[0] != _day(now):
            t[0], t[1] = _day(now), ZERO
        if t[2] != _month(now):
            t[2], t[3] = _month(now), ZERO
        return t

    def over(self, consumer: str | None, project: str | None, pool: str | None, provider: str,
             now: datetime) -> tuple[Budget, str] | None:
        for b in self.budgets:
            if not b.hard or not self._applies(b, consumer, project, pool, provider):
                continue
            t = self._totals(b, now)
            if b.daily_usd is not None and t[1] >= b.daily_usd:  # type: ignore[operator]
                return b, f"daily budget {b.name!r} of ${b.daily_usd} is spent (${t[1]:.4f})"
            if b.monthly_usd is not None and t[3] >= b.monthly_usd:  # type: ignore[operator]
                return b, f"monthly budget {b.name!r} of ${b.monthly_usd} is spent (${t[3]:.4f})"
        return None

    def add(self, event: UsageEvent, pool: str | None, now: datetime) -> None:
        if not event.cost or not self.budgets:
            return
        for b in self.budgets:
            if self._applies(b, event.consumer, event.project, pool, event.provider):
                t = self._totals(b, now)
                t[1] = t[1] + event.cost  # type: ignore[operator]
                t[3] = t[3] + event.cost  # type: ignore[operator]


def _day(now: datetime) -> str:
    return now.strftime("%Y-%m-%d")


def _month(now: datetime) -> str:
    return now.strftime("%Y-%m")
