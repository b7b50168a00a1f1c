"""Daily summary and weekly report: health of every account, then usage and cost by provider and by consumer.

Pure: it receives the statuses and the period's usage events and returns one :class:`Message`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Literal

from quotawarden.actions.channels import Message
from quotawarden.analysis.status import AccountStatus, overall
from quotawarden.domain import Health, Severity, UsageEvent

Period = Literal["daily", "weekly"]
PERIOD_LENGTH = {"daily": timedelta(days=1), "weekly": timedelta(days=7)}


def _money(value: Decimal) -> str:
    return f"${value:,.2f}"


def _totals(events: Sequence[UsageEvent], key: str) -> list[tuple[str, int, Decimal, int]]:
    tokens: dict[str, int] = defaultdict(int)
    cost: dict[str, Decimal] = defaultdict(Decimal)
    unpriced: dict[str, int] = defaultdict(int)
    for e in events:
        k = getattr(e, key) or "(unknown)"
        tokens[k] += e.total_tokens
        if e.cost is None:
            unpriced[k] += 1
        else:
            cost[k] += e.cost
    return sorted(((k, tokens[k], cost[k], unpriced[k]) for k in tokens), key=lambda r: (-r[2], -r[1], r[0]))


def build_digest(period: Period, statuses: Sequence[AccountStatus], events: Sequence[UsageEvent],
                 now: datetime) -> Message:
    counts = overall(statuses)
    title = f"quotawarden {'daily summary' if period == 'daily' else 'weekly report'}: " + ", ".join(
        f"{n} {h}" for h, n in counts.items() if n)
    lines = [f"Accounts: {len(statuses)} - " + ", ".join(f"{h} {n}" for h, n in counts.items())]
    for s in sorted(statuses, key=lambda s: -s.status.rank):
        if s.status in (Health.RED, Health.YELLOW):
            lines.append(f"  {s.status.value:6} {s.account.display}: {s.reason}")
    total_cost = sum((e.cost for e in events if e.cost is not None), Decimal(0))
    total_tokens = sum(e.total_tokens for e in events)
    since = now - PERIOD_LENGTH[period]
    lines.append(f"Usage since {since:%Y-%m-%d %H:%MZ}: {total_tokens:,} tokens, {_money(total_cost)}"
                 f" over {len(events):,} requests")
    groups = [("provider", "By provider")] + ([("consumer", "By consumer (fairness)"), ("project", "By project")]
                                              if period == "weekly" else [])
    for key, heading in groups:
        rows = _totals(events, key)
        if not rows:
            continue
        lines.append(heading + ":")
        for name, tokens, cost, unpriced in rows[:10]:
            share = f"{tokens / total_tokens:.0%}" if total_tokens else "-"
            extra = f" ({unpriced} unpriced)" if unpriced else ""
            lines.append(f"  {name}: {tokens:,} tokens ({share}), {_money(cost)}{extra}")
    severity = Severity.WARNING if counts.get("RED") else Severity.INFO
    payload = {"event": f"digest.{period}", "overall": counts, "tokens": total_tokens, "cost_usd": float(total_cost)}
    return Message(title=title, body="\n".join(lines), severity=severity, tags=("digest", period), payload=payload)
