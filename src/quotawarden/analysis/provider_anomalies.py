"""Provider anomalies: readings that a provider's own counting does not explain, each with its evidence.

Three kinds, found in the stored official readings, the usage quotawarden saw and the refused requests:

* ``jump`` -- a window's used ratio rises by :data:`JUMP_RATIO` (15 points) or more within :data:`JUMP_SPAN_S`
  (5 minutes) on one source, beyond what the usage seen in that interval explains. The expected rise is the
  interval's tokens times the account's points per token, learned from the same readings' ordinary steps; with
  no usage seen in the interval nothing is expected; with usage seen but no rate learned nothing is flagged.
* ``reset_backward`` -- a window's reset time moves earlier by more than
  :data:`~quotawarden.analysis.windows.SAME_WINDOW_JITTER_S` between two readings of one source.
* ``limited_below_cap`` -- a request refused for a limit (a LIMITED outcome: a probe's or a proxied 429) while
  every window read in the :data:`LIMITED_LOOKBACK_S` before it stood below 100 %.

Each :class:`ProviderAnomaly` has a stable ``key``: finding the same anomaly again yields the same key, so storing
it twice keeps one. Pure: no clock, no store; times come in with the readings.
"""

from __future__ import annotations

import json
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import accumulate
from typing import Any

from quotawarden.analysis.windows import SAME_WINDOW_JITTER_S
from quotawarden.domain import Provenance, QuotaSample
from quotawarden.redact import redact_text

JUMP = "jump"
RESET_BACKWARD = "reset_backward"
LIMITED_BELOW_CAP = "limited_below_cap"
KINDS = (JUMP, RESET_BACKWARD, LIMITED_BELOW_CAP)

JUMP_RATIO = 0.15
"""A rise of this much of the limit (15 points)..."""
JUMP_SPAN_S = 300.0
"""...within this many seconds, beyond the usage seen, is a jump."""
USAGE_SLACK_S = 120.0
"""A call's usage event may be written after the reading its answer carried (a stream ends later): usage up to
this long after the jump counts toward explaining it."""
LIMITED_LOOKBACK_S = 900.0
"""A refusal is weighed against the readings of the 15 minutes before it (and those taken with it)."""
AT_CAP_STATUSES = frozenset({"rejected", "exceeded", "limited", "blocked"})
"""A provider's own word for a window that refuses requests: such a window is at its limit whatever its ratio."""
RAW_NOTE = ("raw HTTP headers and bodies are not stored; the readings below are what quotawarden parsed from them, "
            "with the outcome reason and probe details as stored")
_EPS = 1e-9
_EVIDENCE_READINGS = 20


@dataclass(frozen=True, slots=True)
class Use:
    """Usage quotawarden saw on an account (a proxied or logged call)."""

    account_id: str
    ts: float
    tokens: int


@dataclass(frozen=True, slots=True)
class Refusal:
    """A request refused for a limit: the account's LIMITED outcome, as stored."""

    account_id: str
    at: datetime
    reason: str = ""
    details: Mapping[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class ProviderAnomaly:
    key: str
    kind: str
    account_id: str
    window: str | None
    at: datetime
    """When it showed: the reading after the jump or the move, the refusal."""
    message: str
    expected: str
    evidence: dict[str, Any] = field(default_factory=dict)
    detected_at: datetime | None = None


def _iso(value: datetime | float | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, int | float):
        value = datetime.fromtimestamp(value, UTC)
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def reading_evidence(s: QuotaSample) -> dict[str, Any]:
    return {"observed_at": _iso(s.observed_at), "source": s.source.value, "provenance": s.provenance.value,
            "used_ratio": s.effective_ratio, "used": s.used, "remaining": s.remaining, "limit": s.limit,
            "unit": s.unit.value, "resets_at": _iso(s.resets_at), "status": s.status}


def redacted(value: Any) -> Any:
    """Any JSON-ready value with key-shaped strings masked (``sk-...abcd``)."""
    return json.loads(redact_text(json.dumps(value, default=str)))


def _pct(r: float) -> str:
    return f"{r * 100:.0f}%"


class _Usage:
    """Tokens seen per account, as prefix sums for interval totals."""

    def __init__(self, uses: Iterable[Use]) -> None:
        by: dict[str, list[tuple[float, int]]] = {}
        for u in uses:
            by.setdefault(u.account_id, []).append((u.ts, u.tokens))
        self._ts: dict[str, list[float]] = {}
        self._sum: dict[str, list[int]] = {}
        for acc, rows in by.items():
            rows.sort()
            self._ts[acc] = [t for t, _ in rows]
            self._sum[acc] = [0, *accumulate(n for _, n in rows)]

    def between(self, account_id: str, start: float, end: float) -> tuple[int, int]:
        """(tokens, calls) seen in ``(start, end]``."""
        ts = self._ts.get(account_id)
        if not ts:
            return 0, 0
        i, j = bisect_right(ts, start), bisect_right(ts, end)
        return self._sum[account_id][j] - self._sum[account_id][i], j - i


def _series(samples: Iterable[QuotaSample]) -> dict[tuple[str, str, str], list[QuotaSample]]:
    out: dict[tuple[str, str, str], list[QuotaSample]] = {}
    for s in samples:
        if s.provenance is Provenance.OFFICIAL:
            out.setdefault((s.account_id, s.window, s.source.value), []).append(s)
    for items in out.values():
        items.sort(key=lambda s: s.observed_at)
    return out


def detect(samples: Iterable[QuotaSample], uses: Iterable[Use] = (), refusals: Iterable[Refusal] = ()
           ) -> list[ProviderAnomaly]:
    """Every anomaly in these readings, oldest first (estimated readings are not the provider's and are skipped)."""
    series = _series(samples)
    usage = _Usage(uses)
    found: list[ProviderAnomaly] = []
    for (acc, win, src), items in series.items():
        ts = [s.observed_at.timestamp() for s in items]
        found += _jumps(acc, win, src, items, ts, usage)
        found += _backward(acc, win, src, items, ts)
    found += _refusals(series, refusals)
    found.sort(key=lambda a: (a.at, a.key))
    return found


def _rate(acc: str, items: Sequence[QuotaSample], ts: Sequence[float], ratios: Sequence[float | None],
          usage: _Usage) -> float | None:
    """Points of the limit per token, from the ordinary steps (rises under a jump, same window) of one series."""
    up, tokens = 0.0, 0
    for k in range(1, len(items)):
        a, b = ratios[k - 1], ratios[k]
        if a is None or b is None or not 0 <= b - a < JUMP_RATIO:
            continue
        up += b - a
        tokens += usage.between(acc, ts[k - 1], ts[k])[0]
    return up / tokens if tokens > 0 and up > 0 else None


def _jumps(acc: str, win: str, src: str, items: Sequence[QuotaSample], ts: Sequence[float],
           usage: _Usage) -> list[ProviderAnomaly]:
    ratios = [s.effective_ratio for s in items]
    out: list[ProviderAnomaly] = []
    rate: float | None = None
    rate_known = False
    barrier = 0  # a jump starts at or after the end of the last one found: one episode, one anomaly
    start = 0
    for j in range(1, len(items)):
        rj = ratios[j]
        if rj is None or rj < JUMP_RATIO:
            continue
        t = ts[j]
        while ts[start] < t - JUMP_SPAN_S:
            start += 1
        low, low_i = rj, j
        for i in range(max(start, barrier), j):  # a handful of readings fit in five minutes
            ri = ratios[i]
            if ri is not None and ri < low:
                low, low_i = ri, i
        rise = rj - low
        if rise < JUMP_RATIO - _EPS:
            continue
        tokens, calls = usage.between(acc, ts[low_i], t + USAGE_SLACK_S)
        if not rate_known:
            rate, rate_known = _rate(acc, items, ts, ratios, usage), True
        if tokens and rate is None:
            continue  # usage seen, and nothing to weigh it with: not flagged
        expected = tokens * rate if rate is not None else 0.0
        if rise - expected < JUMP_RATIO - _EPS:
            continue
        barrier = j
        before, after = items[low_i], items[j]
        lo = bisect_left(ts, ts[low_i] - JUMP_SPAN_S)
        hi = bisect_right(ts, t + JUMP_SPAN_S)
        span = int(t - ts[low_i])
        exp_txt = (f"about {expected * 100:.1f} points for the {tokens} tokens seen in {calls} calls"
                   if tokens else "no rise: quotawarden saw no usage on this account in that interval")
        out.append(ProviderAnomaly(
            key=f"{JUMP}|{acc}|{win}|{src}|{int(ts[low_i])}", kind=JUMP, account_id=acc, window=win,
            at=after.observed_at,
            message=(f"{acc} {win}: the {src} reading rose {rise * 100:.0f} points in {span} s "
                     f"({_pct(low)} -> {_pct(rj)}), more than the usage seen explains"),
            expected=exp_txt,
            evidence={
                "kind": JUMP, "source": src, "before": reading_evidence(before), "after": reading_evidence(after),
                "rise_points": round(rise * 100, 2), "interval_s": span,
                "usage": {"tokens": tokens, "calls": calls, "from": _iso(ts[low_i]), "to": _iso(t + USAGE_SLACK_S)},
                "expected": {"points": round(expected * 100, 2),
                             "points_per_million_tokens": None if rate is None else round(rate * 1e8, 4),
                             "why": exp_txt},
                "readings": [reading_evidence(s) for s in items[lo:hi][:_EVIDENCE_READINGS]],
                "raw": RAW_NOTE,
            }))
    return out


def _backward(acc: str, win: str, src: str, items: Sequence[QuotaSample], ts: Sequence[float]
              ) -> list[ProviderAnomaly]:
    out: list[ProviderAnomaly] = []
    seen: set[str] = set()
    prev_reset: float | None = None
    prev_k = -1
    for k, s in enumerate(items):
        if s.resets_at is None:
            continue
        r = s.resets_at.timestamp()
        if prev_reset is not None and r < prev_reset - SAME_WINDOW_JITTER_S:
            key = f"{RESET_BACKWARD}|{acc}|{win}|{src}|{int(prev_reset // 60)}|{int(r // 60)}"
            if key not in seen:
                seen.add(key)
                before = items[prev_k]
                moved = int(prev_reset - r)
                out.append(ProviderAnomaly(
                    key=key, kind=RESET_BACKWARD, account_id=acc, window=win, at=s.observed_at,
                    message=(f"{acc} {win}: the {src} reading's reset moved back {moved} s "
                             f"({_iso(prev_reset)} -> {_iso(r)})"),
                    expected=(f"the same reset (within {SAME_WINDOW_JITTER_S:.0f} s) until the window ends, "
                              "then a later one"),
                    evidence={
                        "kind": RESET_BACKWARD, "source": src, "before": reading_evidence(before),
                        "after": reading_evidence(s), "moved_back_s": moved,
                        "jitter_tolerance_s": SAME_WINDOW_JITTER_S,
                        "readings": [reading_evidence(x) for x in items[max(prev_k - 2, 0):k + 3]],
                        "raw": RAW_NOTE,
                    }))
        prev_reset, prev_k = r, k
    return out


def _at_cap(s: QuotaSample) -> bool:
    r = s.effective_ratio
    return (r is not None and r >= 1.0 - _EPS) or (s.status or "").lower() in AT_CAP_STATUSES


def _refusals(series: Mapping[tuple[str, str, str], Sequence[QuotaSample]], refusals: Iterable[Refusal]
              ) -> list[ProviderAnomaly]:
    by_account: dict[str, list[Sequence[QuotaSample]]] = {}
    for (acc, _, _), items in series.items():
        by_account.setdefault(acc, []).append(items)
    out: list[ProviderAnomaly] = []
    for ref in refusals:
        t = ref.at.timestamp()
        latest: dict[str, QuotaSample] = {}  # window -> its newest official reading up to the refusal
        for items in by_account.get(ref.account_id, ()):
            ts = [s.observed_at.timestamp() for s in items]
            k = bisect_right(ts, t + 1.0) - 1  # readings taken with the refusal (its own headers) count
            if k >= 0 and ts[k] >= t - LIMITED_LOOKBACK_S:
                s = items[k]
                cur = latest.get(s.window)
                if cur is None or s.observed_at > cur.observed_at:
                    latest[s.window] = s
        read = [s for s in latest.values() if s.effective_ratio is not None]  # a status alone says no level
        if not read or any(_at_cap(s) for s in read):
            continue
        top = max(read, key=lambda s: s.effective_ratio or 0.0)
        reason = redact_text(ref.reason)
        out.append(ProviderAnomaly(
            key=f"{LIMITED_BELOW_CAP}|{ref.account_id}|{int(t)}", kind=LIMITED_BELOW_CAP,
            account_id=ref.account_id, window=None, at=ref.at,
            message=(f"{ref.account_id}: refused for a limit ({reason or 'LIMITED'}) while every window read "
                     f"below 100% (highest: {top.window} at {_pct(top.effective_ratio or 0.0)})"),
            expected="a refusal only once some window reads 100% (or the provider marks it rejected)",
            evidence={
                "kind": LIMITED_BELOW_CAP,
                "refusal": {"at": _iso(ref.at), "outcome": "LIMITED", "reason": reason,
                            "details": redacted(dict(ref.details)) if ref.details else None},
                "readings": [reading_evidence(s) for s in sorted(read, key=lambda s: s.window)],
                "lookback_s": LIMITED_LOOKBACK_S, "raw": RAW_NOTE,
            }))
    return out


def to_json(a: ProviderAnomaly) -> dict[str, Any]:
    """The exported shape (``quotawarden evidence --json``)."""
    return {"key": a.key, "kind": a.kind, "account_id": a.account_id, "window": a.window, "at": _iso(a.at),
            "detected_at": _iso(a.detected_at), "message": a.message, "expected": a.expected,
            "evidence": a.evidence}
