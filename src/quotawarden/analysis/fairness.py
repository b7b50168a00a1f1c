"""Fairness between consumers (agents) sharing quota: who uses what, when, and whether one crowds out the others.

Weights are cost when every event is priced, tokens otherwise. Jain's index is ``(sum x)^2 / (n * sum x^2)`` (1 =
perfectly even, 1/n = one consumer takes everything); the Gini coefficient is over the same weights. A consumer is
told to *throttle* when it takes more than ``1.5x`` its fair share while the shared quota is under pressure.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from quotawarden.analysis.cost import Usage


@dataclass(frozen=True, slots=True)
class ConsumerShare:
    consumer: str
    calls: int
    tokens: int
    cost: float
    share: float
    active_hours: int
    calls_per_active_hour: float
    peak_share: float
    """Share of this consumer's calls made in peak hours (weekdays 09:00-18:00 UTC by default)."""
    overlap_share: float
    """Share of its calls made in hours when another consumer was active too."""
    advice: str
    reason: str


@dataclass(frozen=True, slots=True)
class Fairness:
    consumers: list[ConsumerShare]
    jain: float | None
    gini: float | None
    weight: str
    """``cost`` or ``tokens``."""


def jain(xs: Sequence[float]) -> float | None:
    total, sq = sum(xs), sum(x * x for x in xs)
    return None if not xs or sq == 0 else total * total / (len(xs) * sq)


def gini(xs: Sequence[float]) -> float | None:
    """Mean absolute difference over twice the mean (0 = equal, (n-1)/n = one takes all)."""
    n, total = len(xs), sum(xs)
    if n == 0 or total == 0:
        return None
    s = sorted(xs)
    return sum((2 * (i + 1) - n - 1) * x for i, x in enumerate(s)) / (n * total)


def is_peak(t: float, hours: tuple[int, int] = (9, 18)) -> bool:
    d = datetime.fromtimestamp(t, UTC)
    return d.weekday() < 5 and hours[0] <= d.hour < hours[1]


def fairness(rows: Iterable[Usage], *, pressure: bool = False, peak_hours: tuple[int, int] = (9, 18)) -> Fairness:
    """Shares and indices across consumers; ``pressure`` (a shared pool YELLOW/RED) turns on throttle advice."""
    events = [r for r in rows if r.consumer]
    weight = "cost" if events and all(r.cost is not None for r in events) else "tokens"
    calls: dict[str, int] = defaultdict(int)
    tokens: dict[str, int] = defaultdict(int)
    cost: dict[str, float] = defaultdict(float)
    peak: dict[str, int] = defaultdict(int)
    hours: dict[str, set[int]] = defaultdict(set)
    who_in_hour: dict[int, set[str]] = defaultdict(set)
    for r in events:
        c = r.consumer or ""
        h = int(r.ts // 3600)
        calls[c] += 1
        tokens[c] += r.tokens
        cost[c] += float(r.cost or 0)
        peak[c] += is_peak(r.ts, peak_hours)
        hours[c].add(h)
        who_in_hour[h].add(c)
    names = sorted(calls)
    w = {c: (cost[c] if weight == "cost" else float(tokens[c])) for c in names}
    total = sum(w.values()) or 1.0
    fair = 1 / len(names) if names else 0.0
    overlap = {c: 0 for c in names}
    for r in events:
        if len(who_in_hour[int(r.ts // 3600)]) > 1:
            overlap[r.consumer or ""] += 1
    out = []
    for c in names:
        share = w[c] / total
        advice, reason = "proceed", f"{share:.0%} of {weight} (fair share {fair:.0%})"
        if pressure and len(names) > 1 and share > 1.5 * fair:
            advice, reason = "throttle", f"takes {share:.0%} of {weight}, {share / fair:.1f}x its fair share, " \
                                         "while the shared quota is under pressure"
        out.append(ConsumerShare(c, calls[c], tokens[c], round(cost[c], 6), share, len(hours[c]),
                                 calls[c] / len(hours[c]), peak[c] / calls[c], overlap[c] / calls[c], advice,
                                 reason))
    values = [w[c] for c in names]
    return Fairness(sorted(out, key=lambda s: -s.share), jain(values), gini(values), weight)


def anonymize(f: Fairness, keep: str | None = None) -> Fairness:
    """Other consumers become ``consumer-1``, ``consumer-2``... in share order; ``keep`` stays named."""
    renamed, n = [], 0
    for s in f.consumers:
        if s.consumer == keep:
            renamed.append(s)
            continue
        n += 1
        renamed.append(replace(s, consumer=f"consumer-{n}"))
    return Fairness(renamed, f.jain, f.gini, f.weight)

