"""What makes two readings of a window the same window: reset times that differ by less than the jitter.

Providers state a reset as a countdown (``resets_in_seconds``) or a rounded time, so the same window's reset moves
by a few seconds from one reading to the next. Under :data:`SAME_WINDOW_JITTER_S` it is the same window; above it,
a later reset is a new window and an earlier one is a reset that moved backward.
"""

from __future__ import annotations

from datetime import datetime

SAME_WINDOW_JITTER_S = 60.0
"""Reset times closer than this (seconds) name the same window."""


def same_window(a: datetime | None, b: datetime | None) -> bool:
    """Two readings' reset times name the same window (unknown resets are taken as the same)."""
    if a is None or b is None:
        return True
    return abs((a - b).total_seconds()) <= SAME_WINDOW_JITTER_S
