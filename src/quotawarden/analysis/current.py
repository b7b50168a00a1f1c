"""Which accounts are current: the accounts the user says they have, and the ones the store learnt of that still
stand for something. One rule for ``status``, ``poll``, ``summary``'s fast path, the dashboard, the API, the MCP
tools and ``/metrics``; the others keep their history and are listed with ``--all``.

- An account in the config is current.
- An account the config put in the store (origin ``config``) and that the config no longer lists was removed or
  renamed: it is not current. A config that lists no accounts at all manages none (a viewer of a shared database
  with ``--db``), so then the store's accounts are shown as they are.
- An account only the store knows (``observed`` by the proxy, registered by an ``instance``) whose key is the key
  of a configured account (same fingerprint) is that configured account: not current on its own.
- An ``observed`` account whose last answer was a refusal (``INVALID``, ``LIMITED``, ``OVERAGE``) and that has
  seen no traffic for :data:`OBSERVED_IDLE_S` is not current: a key someone tried once through the proxy and the
  provider rejected does not stay RED for ever.

Standard library only: the fast path imports it.
"""

# No ``from __future__ import annotations`` here: a named tuple's field annotations written as strings cost a
# ``compile()`` each on import (~20 us a field), which the ``summary`` fast path pays on every call.
from collections.abc import Collection, Iterable, Mapping
from typing import NamedTuple

OBSERVED_IDLE_S = 86400.0
"""A refused ``observed`` account leaves the current list after this long without traffic."""
REFUSED = frozenset({"INVALID", "LIMITED", "OVERAGE"})


class Known(NamedTuple):
    """An account row of the store, as the rule needs it."""

    id: str
    origin: str
    """``config``, ``observed`` or ``instance``."""
    fingerprint: str | None = None
    outcome: str | None = None
    """The last observation's outcome (``account_state``)."""
    last_seen: float | None = None
    """Epoch seconds of the last reading or outcome."""


def not_current(k: Known, configured: Collection[str], configured_fps: Mapping[str, str], now: float) -> str | None:
    """Why a store account is not current (None when it is)."""
    if k.id in configured:
        return None
    if k.origin == "config":
        return "removed from the config" if configured else None
    if k.fingerprint and (owner := configured_fps.get(k.fingerprint)) and owner != k.id:
        return f"the key of configured account {owner}"
    if k.origin == "observed" and k.outcome in REFUSED and (k.last_seen is None or now - k.last_seen > OBSERVED_IDLE_S):
        return f"{k.outcome} and no traffic for a day"
    return None


def current_ids(known: Iterable[Known], configured: Collection[str], now: float) -> set[str]:
    """The ids of the store's accounts that are current (see the module's rules); configured fingerprints are the
    store's own (recorded when a configured account's key is resolved)."""
    rows = list(known)
    fps = {k.fingerprint: k.id for k in rows if k.fingerprint and k.id in configured}
    return {k.id for k in rows if not_current(k, configured, fps, now) is None}
