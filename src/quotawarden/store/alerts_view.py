"""Reading and acknowledging stored alerts (the HTTP API's view; the alerts engine writes them)."""

from __future__ import annotations

from typing import Any

from quotawarden.store import db
from quotawarden.store.engine import Store

COLUMNS = ("id", "key", "kind", "severity", "state", "account_id", "window", "message", "action", "opened_ts",
           "updated_ts", "resolved_ts", "acked_by", "notified_ts", "notify_count", "pending_notice", "last_notice",
           "notified_severity", "tags")
"""Every column of ``alerts``: the keys of :func:`list_alerts`' dicts, in the table's order."""
_SELECT = "SELECT " + ", ".join(f'"{c}"' for c in COLUMNS) + " FROM alerts"


def list_alerts(store: Store, state: str | None = None, limit: int = 500) -> list[dict[str, Any]]:
    params: dict[str, Any] = {"limit": limit}
    where = ""
    if state:
        where, params["state"] = " WHERE state = :state", state
    with store.connect() as conn:
        rows = conn.rows(f"{_SELECT}{where} ORDER BY updated_ts DESC LIMIT :limit", params)
    out = []
    for r in rows:
        row = dict(zip(COLUMNS, r, strict=True))
        row["tags"] = db.from_json(row["tags"])
        out.append(row)
    return out


def ack(store: Store, alert_id: int, by: str, now: float) -> bool:
    with store.begin() as conn:
        n = conn.execute("UPDATE alerts SET state = 'acked', acked_by = :by, updated_ts = :now "
                         "WHERE id = :id AND state = 'open'", {"by": by, "now": now, "id": alert_id}).rowcount
        if n:
            return True
        return conn.one("SELECT id FROM alerts WHERE id = :id", {"id": alert_id}) is not None
