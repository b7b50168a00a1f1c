"""``status``'s entry in ``main.FAST_PATHS``: ``interfaces.fast.status`` answers what it can, the full CLI the rest."""

from __future__ import annotations

import os

FULL_ENV = "QUOTAWARDEN_STATUS_FULL"
"""Set (to anything but empty or 0) to always take the full CLI: the equality tests compare the two paths."""


def fast(args: list[str]) -> int:
    from quotawarden.interfaces.cli.main import full

    if os.environ.get(FULL_ENV, "") in ("", "0"):
        from quotawarden.interfaces.fast import status

        code = status.main(args)
        if code is not None:
            return code
    full(["status", *args])
    return 0
