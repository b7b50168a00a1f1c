"""Provider anomalies with their evidence, as one JSON-ready export and as Markdown for a support ticket.

``quotawarden evidence`` prints either; the dashboard's account page lists the same rows.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from quotawarden.analysis.provider_anomalies import to_json
from quotawarden.clock import parse_duration
from quotawarden.interfaces.views._common import iso, parse_iso

if TYPE_CHECKING:
    from quotawarden.app.service import Service

KIND_TITLES = {"jump": "Unexplained jump", "reset_backward": "Reset time moved backward",
               "limited_below_cap": "Refused below the limit"}


def parse_since(value: str | None, now: datetime) -> datetime | None:
    """``30m``, ``24h``, ``7d`` (back from now), or a date / ISO time (``2026-08-01``, ``2026-08-01T12:00Z``)."""
    if not value:
        return None
    try:
        return now - timedelta(seconds=parse_duration(value))
    except ValueError:
        pass
    try:
        at = parse_iso(value)
    except ValueError:
        raise ValueError(f"--since must be a duration (24h, 7d) or a date (2026-08-01), not {value!r}") from None
    assert at is not None
    return at if at.tzinfo else at.replace(tzinfo=now.tzinfo)


def export(svc: Service, account_id: str | None = None, since: datetime | None = None) -> dict[str, Any]:
    """Every stored anomaly (of one account, since a time), newest first, each with its evidence bundle."""
    items = svc.provider_anomalies(account_id, since)
    return {"generated_at": iso(svc.now()), "account": account_id, "since": iso(since),
            "anomalies": [to_json(a) for a in items]}


def markdown(data: dict[str, Any]) -> str:
    """The export as Markdown: one section per anomaly, its evidence as a JSON block."""
    scope = f"account `{data['account']}`" if data.get("account") else "all accounts"
    lines = [f"# Provider anomalies: {scope}", "",
             f"Exported {data['generated_at']}" + (f", since {data['since']}" if data.get("since") else "")
             + f". {len(data['anomalies'])} found.", ""]
    for a in data["anomalies"]:
        title = KIND_TITLES.get(a["kind"], a["kind"])
        window = f", window `{a['window']}`" if a.get("window") else ""
        lines += [f"## {title}: `{a['account_id']}`{window} at {a['at']}", "",
                  a["message"], "",
                  f"- **Expected:** {a['expected']}", f"- **Detected:** {a['detected_at']}",
                  f"- **Reference:** `{a['key']}`", "",
                  "```json", json.dumps(a["evidence"], indent=2, sort_keys=True), "```", ""]
    if not data["anomalies"]:
        lines.append("No provider anomalies recorded.")
    return "\n".join(lines).rstrip() + "\n"


def rows(svc: Service, account_id: str, limit: int = 50) -> list[dict[str, Any]]:
    """The account page's list: newest first, with a one-line summary of each."""
    return [{**to_json(a), "title": KIND_TITLES.get(a.kind, a.kind)}
            for a in svc.provider_anomalies(account_id, limit=limit)]
