"""Stored rows as domain values, with the standard library only: the full store (through SQLAlchemy) and the fast
paths (``store.quick``, through ``sqlite3``) turn the same columns into the same values."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from quotawarden.domain import Account, AccountState, Outcome, Provenance, QuotaSample, Source, Unit

SAMPLE_COLS = ("account_id", "window", "observed_ts", "source", "provenance", "unit", "used_ratio", "used",
               "remaining", "limit", "resets_ts", "status", "window_length_s")
"""The columns :func:`from_row` reads, in its order."""

_UNIT, _SOURCE, _PROV = Unit._value2member_map_, Source._value2member_map_, Provenance._value2member_map_
_UTC = UTC


def from_row(r: Any) -> QuotaSample:
    """A row selected with the columns in :data:`SAMPLE_COLS` order (positional access: this is a hot path)."""
    acc, win, obs, src, prov, unit, ratio, used, rem, lim, resets, status, length = r
    return QuotaSample(
        observed_at=datetime.fromtimestamp(obs, _UTC), account_id=acc, window=win, unit=_UNIT[unit],  # type: ignore[arg-type]
        source=_SOURCE[src], provenance=_PROV[prov], used_ratio=ratio, used=used, remaining=rem,  # type: ignore[arg-type]
        limit=lim, resets_at=None if resets is None else datetime.fromtimestamp(resets, _UTC), status=status,
        window_length_s=length,
    )


def dt(value: float | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value, UTC)


def state_from_row(account_id: str, outcome: str, reason: str, observed_ts: float | None,
                   retry_ts: float | None) -> AccountState:
    """An ``account_state`` row."""
    return AccountState(account_id=account_id, outcome=Outcome(outcome), reason=reason, observed_at=dt(observed_ts),
                        retry_at=dt(retry_ts))


def account_from_row(id: str, provider: str, label: str | None, credential_ref: str | None, base_url: str | None,
                     plan: str | None, pool: str | None, tags: Any) -> Account:
    """An ``accounts`` row (``tags`` decoded, or the JSON text ``sqlite3`` hands back)."""
    if isinstance(tags, str | bytes):
        tags = json.loads(tags)
    return Account(id=id, provider=provider, label=label or "", credential=credential_ref, base_url=base_url,
                   plan=plan, pool=pool, tags=dict(tags or {}))
