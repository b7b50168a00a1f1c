"""One reading per account and window, whichever sources observed it.

A window may be read by a probe, the proxy's headers, the Claude Code status line, Codex's logs and admin reports
at once. Every view shows the same one: the **freshest official** reading (an estimate only when no official one
exists, or when the official one's window has reset since and an estimate of the current window exists, such as a
counted Gemini window), with beside it what each *fresh* source said and a ``disagreement`` flag.

* **fresh**: observed within :data:`FRESH_S` (10 minutes) of ``now``, or within the window's own length when that
  is shorter (a per-minute window is fresh for a minute). One rule, :func:`fresh_span`.
* **disagreement**: two fresh official sources of the same window (the same reset, see
  :func:`quotawarden.analysis.windows.same_window`) whose used ratios differ by more than :data:`DISAGREE_RATIO`
  (2 points).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from quotawarden.analysis.status import AccountStatus
from quotawarden.analysis.windows import same_window
from quotawarden.domain import Provenance, QuotaSample, Source

FRESH_S = 600.0
"""A reading at most this old (seconds) is fresh, unless its window is shorter."""
DISAGREE_RATIO = 0.02
"""Fresh official sources further apart than this (2 points of the limit) disagree."""
_EPS = 1e-9

_PRIORITY = {Source.PROBE: 0, Source.PROXY: 1, Source.STATUSLINE: 2, Source.LOG: 3, Source.ADMIN: 4,
             Source.IMPORT: 5}
"""On equal times, a probe's answer wins over a header, a header over a status line, and so on."""


@dataclass(frozen=True, slots=True)
class SourceReading:
    source: Source
    value: float | None
    """The used ratio this source read (None when it reads no ratio)."""
    observed_at: datetime
    provenance: Provenance


@dataclass(frozen=True, slots=True)
class Reading:
    """The one reading of an account's window."""

    sample: QuotaSample
    """The freshest official sample (an estimated one only when there is no official one)."""
    age_s: float
    sources: tuple[SourceReading, ...]
    """Each fresh source's latest reading, official ones first, then newest first."""
    disagreement: bool

    @property
    def key(self) -> tuple[str, str]:
        return self.sample.account_id, self.sample.window


def fresh_span(sample: QuotaSample) -> float:
    """How long (seconds) a reading of this window stays fresh: :data:`FRESH_S`, or the window's length if shorter."""
    length = sample.window_length_s
    return min(FRESH_S, float(length)) if length else FRESH_S


def is_fresh(sample: QuotaSample, now: datetime) -> bool:
    return (now - sample.observed_at).total_seconds() <= fresh_span(sample)


def _rank(s: QuotaSample) -> tuple[bool, datetime, int]:
    return s.provenance is Provenance.OFFICIAL, s.observed_at, -_PRIORITY.get(s.source, 9)


def pick(candidates: Sequence[QuotaSample], now: datetime | None = None) -> QuotaSample:
    """The freshest official sample; the freshest of any provenance when none is official. At ``now``, an official
    reading of a window that has reset since says nothing of the current one: an estimate (a counted window) of the
    current window then comes first."""
    if now is not None:
        over = [s for s in candidates if s.provenance is Provenance.OFFICIAL and s.resets_at is not None
                and s.resets_at <= now]
        rest = [s for s in candidates if s not in over]
        if over and any(s.provenance is Provenance.ESTIMATED and (s.resets_at is None or s.resets_at > now)
                        for s in rest):
            candidates = rest
    return max(candidates, key=_rank)


def disagrees(chosen: QuotaSample, fresh: Iterable[QuotaSample]) -> bool:
    """Fresh official readings of the chosen window (same reset) spread over more than :data:`DISAGREE_RATIO`."""
    values = [r for s in fresh if s.provenance is Provenance.OFFICIAL and same_window(s.resets_at, chosen.resets_at)
              and (r := s.effective_ratio) is not None]
    return len(values) > 1 and max(values) - min(values) > DISAGREE_RATIO + _EPS


def reconcile(per_source: Iterable[QuotaSample], now: datetime, latest: Iterable[QuotaSample] = ()
              ) -> dict[tuple[str, str], Reading]:
    """(account, window) -> its one :class:`Reading`.

    ``per_source`` holds the latest sample of each (account, window, source) (older ones are ignored);
    ``latest`` the newest sample per (account, window) whatever its source, so a window whose sources are all
    stale still has its reading.
    """
    groups: dict[tuple[str, str], dict[Source, QuotaSample]] = {}
    for s in (*latest, *per_source):
        by_source = groups.setdefault((s.account_id, s.window), {})
        cur = by_source.get(s.source)
        if cur is None or s.observed_at > cur.observed_at:
            by_source[s.source] = s
    out: dict[tuple[str, str], Reading] = {}
    for key, by_source in groups.items():
        items = list(by_source.values())
        chosen = pick(items, now)
        fresh = sorted((s for s in items if is_fresh(s, now)), key=_rank, reverse=True)
        out[key] = Reading(
            chosen, max((now - chosen.observed_at).total_seconds(), 0.0),
            tuple(SourceReading(s.source, s.effective_ratio, s.observed_at, s.provenance) for s in fresh),
            disagrees(chosen, fresh))
    return out


def chosen_samples(readings: Mapping[tuple[str, str], Reading]) -> list[QuotaSample]:
    """The one sample per window, ordered by account and window (as ``store.samples.latest`` returns them)."""
    return [readings[k].sample for k in sorted(readings)]


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def reading_json(r: Reading) -> dict[str, Any]:
    """The keys ``status --json`` adds to each window: ``sources`` and ``disagreement``."""
    return {
        "sources": [{"source": s.source.value, "value": s.value, "observed_at": _iso(s.observed_at),
                     "provenance": s.provenance.value} for s in r.sources],
        "disagreement": r.disagreement,
    }


def annotate(statuses: Sequence[AccountStatus], readings: Mapping[tuple[str, str], Reading]
             ) -> list[AccountStatus]:
    """Each window of ``statuses`` with its reading's ``sources`` and ``disagreement`` among its extra keys."""
    out = []
    for st in statuses:
        windows = []
        for w in st.windows:
            r = readings.get((st.account.id, w.name))
            extra = reading_json(r) if r is not None else {"sources": [], "disagreement": False}
            windows.append(replace(w, extra={**w.extra, **extra}))
        out.append(replace(st, windows=windows))
    return out
