"""Which account needs attention first: RED before YELLOW before GREEN, then the soonest exhaustion.

One ordering for every list a person scans (``watch`` today): accounts of a status report, and the window of each
account that decides how urgent it is.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from quotawarden.interfaces.views._common import seconds_until

STATUS_ORDER = {"RED": 0, "YELLOW": 1, "GREEN": 2, "UNKNOWN": 3}
"""RED first; UNKNOWN (no data yet) last, after the healthy ones."""


def window_key(window: dict[str, Any], now: datetime) -> tuple[int, float, float]:
    """Worst status, then the soonest exhaustion (none: last), then the highest utilisation."""
    exhausts = seconds_until(window.get("exhausts_at"), now)
    return (STATUS_ORDER.get(window["status"], 3), math.inf if exhausts is None else exhausts,
            -(window.get("used_ratio") or 0.0))


def urgent_window(account: dict[str, Any], now: datetime) -> dict[str, Any] | None:
    """The window that makes the account as urgent as it is; None for an account with no windows."""
    return min(account["windows"], key=lambda w: window_key(w, now), default=None)


def account_key(account: dict[str, Any], now: datetime) -> tuple[int, float, float, str]:
    """The account's status (its outcome included), then its most urgent window's exhaustion and utilisation."""
    w = urgent_window(account, now)
    _, exhausts, used = window_key(w, now) if w is not None else (0, math.inf, 0.0)
    return STATUS_ORDER.get(account["status"], 3), exhausts, used, account["id"]


def by_urgency(accounts: list[dict[str, Any]], now: datetime) -> list[dict[str, Any]]:
    return sorted(accounts, key=lambda a: account_key(a, now))
