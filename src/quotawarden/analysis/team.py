"""The team view of a hub: per seat its accounts and their health, who is near a cap, pooled capacity per provider
and window across seats, cost per seat and project, and how long ago each seat last pushed.

Pure: it receives the statuses (already judged by the one health rule, ``analysis.health`` through
``analysis.status``), the seats' push records and the cost sums, and decides nothing about health itself.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from quotawarden.analysis.durations import human_duration
from quotawarden.analysis.health import account_level
from quotawarden.analysis.status import AccountStatus, window_json
from quotawarden.domain import Health

SILENT_INTERVALS = 3
"""A seat whose last push is older than this many of its push intervals is flagged silent."""


@dataclass(frozen=True, slots=True)
class SeatPushes:
    """A seat as the hub knows it: declared in ``[[hub.seats]]`` and/or seen pushing."""

    name: str
    declared: bool
    last_push_ts: float | None = None
    interval_s: float | None = None
    pushes: int = 0


@dataclass(frozen=True, slots=True)
class NearCap:
    seat: str
    account_id: str
    provider: str
    window: str
    used_ratio: float | None
    status: Health
    reason: str
    resets_at: datetime | None


@dataclass(frozen=True, slots=True)
class SeatView:
    name: str
    declared: bool
    accounts: list[AccountStatus]
    status: Health
    last_push_ts: float | None
    last_push_age_s: float | None
    interval_s: float
    silent: bool
    pushes: int
    cost_usd: float

    @property
    def state(self) -> str:
        if self.last_push_ts is None:
            return "never pushed"
        return f"silent for {human_duration(self.last_push_age_s)}" if self.silent else "pushing"


@dataclass(frozen=True, slots=True)
class Pooled:
    """One provider's window across seats: the mean used share of the accounts that have a current reading."""

    provider: str
    provider_name: str
    window: str
    seats: int
    accounts: int
    read: int
    used_ratio: float | None
    next_reset: datetime | None

    def line(self, now: datetime) -> str:
        used = "usage unknown" if self.used_ratio is None else f"{self.used_ratio * 100:.0f}% used"
        reset = "" if self.next_reset is None else f", next reset in {human_duration(self.next_reset - now)}"
        seats = f"{self.seats} seat" + ("" if self.seats == 1 else "s")
        return f"{self.provider_name} {self.window} across {seats}: {used}{reset}"


@dataclass(frozen=True, slots=True)
class CostRow:
    seat: str
    project: str
    usd: float
    calls: int


@dataclass(frozen=True, slots=True)
class Team:
    generated_at: datetime
    seats: list[SeatView]
    near_cap: list[NearCap]
    pooled: list[Pooled]
    costs: list[CostRow]
    cost_days: float
    counts: dict[str, int] = field(default_factory=dict)


def seat_of(account_id: str) -> str | None:
    """``alice/claude-max`` -> ``alice``."""
    seat, sep, _ = account_id.partition("/")
    return seat if sep and seat else None


def build(statuses: Iterable[AccountStatus], seats: Sequence[SeatPushes],
          costs: Iterable[tuple[str, str, float, int]], now: datetime, *, default_interval_s: float,
          provider_names: Mapping[str, str] | None = None, cost_days: float = 30.0) -> Team:
    """The team view; ``statuses`` are the hub's seat accounts (``<seat>/<account>``), others are ignored."""
    names = provider_names or {}
    by_seat: dict[str, list[AccountStatus]] = defaultdict(list)
    for st in statuses:
        seat = st.account.tags.get("seat") or seat_of(st.account.id)
        if seat:
            by_seat[seat].append(st)
    cost_rows = sorted((CostRow(s, p, round(usd, 6), n) for s, p, usd, n in costs),
                       key=lambda c: (-c.usd, c.seat, c.project))
    seat_cost: dict[str, float] = defaultdict(float)
    for c in cost_rows:
        seat_cost[c.seat] += c.usd
    known = {s.name: s for s in seats}
    for name in by_seat:
        known.setdefault(name, SeatPushes(name, declared=False))
    views: list[SeatView] = []
    for name in sorted(known):
        sp, accs = known[name], sorted(by_seat.get(name, []), key=lambda a: a.account.id)
        interval = sp.interval_s or default_interval_s
        age = None if sp.last_push_ts is None else max(0.0, now.timestamp() - sp.last_push_ts)
        silent = age is None or age > SILENT_INTERVALS * interval
        level = account_level([a.status.value for a in accs]) if accs else Health.UNKNOWN
        views.append(SeatView(name, sp.declared, accs, Health(level), sp.last_push_ts, age, interval, silent,
                              sp.pushes, round(seat_cost.get(name, 0.0), 6)))
    near = [NearCap(v.name, a.account.id, a.account.provider, w.name, w.sample.effective_ratio, w.status, w.reason,
                    w.sample.resets_at)
            for v in views for a in v.accounts for w in a.windows if w.status == Health.RED]
    near.sort(key=lambda n: (-(n.used_ratio or 0.0), n.account_id, n.window))
    counts: dict[str, int] = defaultdict(int)
    for v in views:
        counts[v.status.value] += 1
    return Team(now, views, near, pooled(views, now, names), cost_rows, cost_days, dict(counts))


def pooled(views: Iterable[SeatView], now: datetime, names: Mapping[str, str]) -> list[Pooled]:
    groups: dict[tuple[str, str], list[tuple[str, Any]]] = defaultdict(list)
    for v in views:
        for a in v.accounts:
            for w in a.windows:
                groups[(a.account.provider, w.name)].append((v.name, w))
    out: list[Pooled] = []
    for (provider, window), items in sorted(groups.items()):
        ratios = [w.sample.effective_ratio for _, w in items
                  if not w.stale and w.sample.effective_ratio is not None]
        resets = [w.sample.resets_at for _, w in items if w.sample.resets_at is not None and w.sample.resets_at > now]
        out.append(Pooled(provider, names.get(provider, provider), window, len({s for s, _ in items}), len(items),
                          len(ratios), sum(ratios) / len(ratios) if ratios else None, min(resets) if resets else None))
    return out


def _iso(value: datetime | float | None) -> str | None:
    if value is None:
        return None
    d = value if isinstance(value, datetime) else datetime.fromtimestamp(value, UTC)
    return d.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def team_json(t: Team) -> dict[str, Any]:
    """The documented shape of ``team --json`` and ``GET /v1/hub/team`` (docs/cli-json.md)."""
    now = t.generated_at
    return {
        "generated_at": _iso(now),
        "overall": dict(t.counts),
        "seats": [{
            "name": v.name, "declared": v.declared, "status": v.status.value, "state": v.state,
            "last_push_at": _iso(v.last_push_ts),
            "last_push_age_s": None if v.last_push_age_s is None else round(v.last_push_age_s, 1),
            "interval_s": v.interval_s, "silent": v.silent, "pushes": v.pushes, "cost_usd": v.cost_usd,
            "accounts": [{"id": a.account.id, "provider": a.account.provider, "label": a.account.label,
                          "status": a.status.value, "reason": a.reason,
                          "windows": [window_json(w) for w in a.windows]} for a in v.accounts],
        } for v in t.seats],
        "near_cap": [{"seat": n.seat, "account": n.account_id, "provider": n.provider, "window": n.window,
                      "used_ratio": n.used_ratio, "status": n.status.value, "reason": n.reason,
                      "resets_at": _iso(n.resets_at)} for n in t.near_cap],
        "pooled": [{"provider": p.provider, "provider_name": p.provider_name, "window": p.window, "seats": p.seats,
                    "accounts": p.accounts, "read": p.read, "used_ratio": p.used_ratio,
                    "next_reset_at": _iso(p.next_reset), "line": p.line(now)} for p in t.pooled],
        "costs": {"days": t.cost_days,
                  "by_seat": [{"seat": v.name, "usd": v.cost_usd} for v in t.seats],
                  "by_seat_project": [{"seat": c.seat, "project": c.project, "usd": c.usd, "calls": c.calls}
                                      for c in t.costs]},
    }


def for_seat(t: Team, seat: str) -> Team:
    """Only one seat's part (what a seat token may read); pooled capacity is recomputed over that seat alone."""
    views = [v for v in t.seats if v.name == seat]
    names = {p.provider: p.provider_name for p in t.pooled}
    counts: dict[str, int] = defaultdict(int)
    for v in views:
        counts[v.status.value] += 1
    return Team(t.generated_at, views, [n for n in t.near_cap if n.seat == seat], pooled(views, t.generated_at, names),
                [c for c in t.costs if c.seat == seat], t.cost_days, dict(counts))
