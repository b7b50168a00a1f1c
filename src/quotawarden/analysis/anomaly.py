"""Spikes against a robust baseline: for each hour of the week, the median and MAD of the same hour in earlier
weeks. A value is anomalous when its robust z-score ``0.6745 * (x - median) / MAD`` exceeds ``z`` (3.5, after
Iglewicz and Hoaglin) and it is above a floor (so a quiet hour with 2 calls instead of 0 is not news).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from statistics import median


@dataclass(frozen=True, slots=True)
class Anomaly:
    kind: str
    """``usage``, ``cost``, ``new_model`` or ``errors``."""
    subject: str
    at: datetime
    value: float
    baseline: float
    score: float
    message: str


def hour_of_week(t: float) -> int:
    d = datetime.fromtimestamp(t, UTC)
    return d.weekday() * 24 + d.hour


def robust_z(x: float, history: Sequence[float]) -> tuple[float, float]:
    """(score, median) of ``x`` against ``history``; a zero MAD falls back to 1.4826 * mean absolute deviation."""
    med = median(history)
    mad = median(abs(h - med) for h in history)
    if mad == 0:
        mean_ad = sum(abs(h - med) for h in history) / len(history)
        if mean_ad == 0:
            return (float("inf") if x > med else 0.0), med
        return (x - med) / (1.2533 * mean_ad), med
    return 0.6745 * (x - med) / mad, med


def spikes(hourly: Iterable[tuple[str, float, float]], since: datetime, kind: str = "usage", z: float = 3.5,
           floor: float = 1.0, min_history: int = 2, min_ratio: float = 2.0) -> list[Anomaly]:
    """The strongest hour at or after ``since`` per subject whose value spikes over the same hour-of-week in
    earlier weeks (robust z above ``z`` and at least ``min_ratio`` times the usual value).

    ``hourly`` holds (subject, hour start epoch, value); hours with no row count as zero.
    """
    by_subject: dict[str, dict[float, float]] = defaultdict(dict)
    for subject, t, v in hourly:
        by_subject[subject][t] = by_subject[subject].get(t, 0.0) + v
    cut = since.timestamp()
    out = []
    for subject, values in sorted(by_subject.items()):
        first = min(values)
        hits: list[tuple[float, float, float, float]] = []
        for t, v in sorted(values.items()):
            if t < cut or v < floor:
                continue
            history = [values.get(t - w * 604800, 0.0) for w in range(1, 9) if t - w * 604800 >= first]
            if len(history) < min_history:
                continue
            score, med = robust_z(v, history)
            if score > z and v >= min_ratio * med:
                hits.append((score, t, v, med))
        if hits:
            score, t, v, med = max(hits)
            at = datetime.fromtimestamp(t, UTC)
            more = f" ({len(hits)} hours)" if len(hits) > 1 else ""
            out.append(Anomaly(kind, subject, at, v, med, score,
                               f"{subject}: {kind} {v:,.4g} at {at:%a %H:00} vs usual {med:,.4g}{more}"))
    return out


def new_models(events: Iterable[tuple[float, str, str]], now: datetime, recent: timedelta = timedelta(days=1)
               ) -> list[Anomaly]:
    """Models first seen within ``recent`` (events are (ts, provider, model))."""
    first: dict[tuple[str, str], float] = {}
    for t, provider, model in events:
        key = (provider, model)
        first[key] = min(first.get(key, t), t)
    cut = (now - recent).timestamp()
    return [Anomaly("new_model", f"{p}/{m}", datetime.fromtimestamp(t, UTC), 1, 0, 0, f"new model {p}/{m}")
            for (p, m), t in sorted(first.items()) if t >= cut]


def error_bursts(counts: dict[str, tuple[int, int]], now: datetime, min_errors: int = 3,
                 share: float = 0.2) -> list[Anomaly]:
    """Accounts with at least ``min_errors`` errors making up ``share`` of recent observations."""
    return [Anomaly("errors", account, now, bad, 0, bad / total, f"{account}: {bad} of {total} recent answers "
                    "were errors or rejections")
            for account, (bad, total) in sorted(counts.items()) if bad >= min_errors and bad / total >= share]
