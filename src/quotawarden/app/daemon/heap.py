"""Giving the C heap's free pages back to the system after a poll cycle (glibc's ``malloc_trim``).

A poll allocates and frees many small objects from several threads; glibc keeps the freed pages of every thread's
arena mapped, so an idle daemon's resident memory would stay at its busiest. Elsewhere (musl, macOS) a no-op.
"""

from __future__ import annotations

import ctypes
import functools
import sys
from collections.abc import Callable


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        trim: Callable[[int], int] = ctypes.CDLL(None).malloc_trim  # the process's own libc; glibc only
    except (OSError, AttributeError):
        return None
    return trim


def trim() -> bool:
    """Return the heap's free memory to the system; False where there is no ``malloc_trim``."""
    fn = _malloc_trim()
    if fn is None:
        return False
    fn(0)
    return True
