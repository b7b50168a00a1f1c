"""A span of time as short text (``45m``, ``3h10m``, ``2d04h``): reset countdowns, time to exhaustion, ages.

Standard library only and cheap to import: the wake-prompt fast path uses it.
"""

from __future__ import annotations

from datetime import timedelta


def human_duration(span: float | timedelta | None, *, signed: bool = False) -> str:
    """``45m``, ``3h10m``, ``2d04h`` from seconds or a ``timedelta``; ``-`` when unknown.

    By default a countdown: never negative (a time already past reads ``0m``), seconds under a minute (``45s``,
    not ``0m`` for a reset still to come), whole minutes above. ``signed=True`` keeps the sign of a difference:
    ``-5m``, ``45s``.
    """
    if span is None:
        return "-"
    seconds = span.total_seconds() if isinstance(span, timedelta) else span
    if not signed:
        seconds = max(seconds, 0.0)
    s = int(abs(seconds))
    sign = "-" if seconds < 0 else ""
    if s < 60 and (signed or s > 0):
        return f"{sign}{s}s"
    if s < 3600:
        return f"{sign}{s // 60}m"
    if s < 86400:
        return f"{sign}{s // 3600}h{(s % 3600) // 60:02d}m"
    return f"{sign}{s // 86400}d{(s % 86400) // 3600:02d}h"
