"""The last reading of each provider's status page (``provider_status``)."""

from __future__ import annotations

from collections.abc import Sequence

from quotawarden.domain import PageStatus
from quotawarden.store.engine import Store
from quotawarden.store.health_inputs import QUIET_PAGES

QUIET = QUIET_PAGES


def save(store: Store, statuses: Sequence[PageStatus]) -> None:
    if not statuses:
        return
    rows = [{"provider": s.provider, "state": s.state, "description": s.description,
             "observed_ts": s.observed_at.timestamp()} for s in sorted(statuses, key=lambda s: s.provider)]
    with store.begin() as conn:
        conn.executemany("INSERT INTO provider_status (provider, state, description, observed_ts) "
                         "VALUES (:provider, :state, :description, :observed_ts) "
                         "ON CONFLICT (provider) DO UPDATE SET state = excluded.state, "
                         "description = excluded.description, observed_ts = excluded.observed_ts", rows)


def read_since(store: Store, since_ts: float) -> dict[str, tuple[str, str, float]]:
    """provider -> (state, description, observed_ts) for readings taken since ``since_ts``."""
    with store.connect() as conn:
        rows = conn.rows("SELECT provider, state, description, observed_ts FROM provider_status "
                         "WHERE observed_ts >= :since", {"since": since_ts})
    return {p: (state, desc, ts) for p, state, desc, ts in rows}
