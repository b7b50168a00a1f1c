"""``status``'s entry in ``main.FAST_PATHS``: ``interfaces.fast.status`` answers what it can, the full CLI the rest."""

from __future__ import annotations

import os

from quotawarden.interfaces.fast.stamp import FULL_ENV

__all__ = ["FULL_ENV", "fast"]


def fast(args: list[str]) -> int:
    from quotawarden.interfaces.cli.main import full

    if os.environ.get(FULL_ENV, "") in ("", "0"):
        from quotawarden.interfaces.fast import status

        code = status.main(args)
        if code is not None:
            return code
    full(["status", *args])
    return 0
