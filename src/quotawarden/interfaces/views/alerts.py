"""Alerts (list, acknowledge) and audit reports (latest, rendered and downloadable)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from quotawarden.domain import Alert, AlertState
from quotawarden.interfaces.views._common import iso, jsonable

if TYPE_CHECKING:
    from quotawarden.app.service import Service

SEVERITY_RANK = {"critical": 0, "warning": 1, "info": 2}


class NotFound(LookupError):
    """The thing asked for does not exist (an unknown alert or account id)."""


def list_alerts(svc: Service, state: str | None = None, limit: int = 200) -> list[dict[str, Any]]:
    """Newest first; ``state`` is open, acked, resolved or None for all."""
    rows = [_alert_json(r.alert, r.acked_by) for r in svc.actions.list([AlertState(state)] if state else None, limit)]
    rows.sort(key=lambda a: (a["state"] != "open", SEVERITY_RANK.get(a["severity"], 3),
                             -(a.get("opened_ts") or 0)))
    return rows[:limit]


def _alert_json(a: Alert, acked_by: str | None) -> dict[str, Any]:
    """A stored alert (and who acknowledged it) as the fields a person reads."""
    return {"id": a.id, "key": a.key, "kind": a.kind, "severity": a.severity.value, "state": a.state.value,
            "account_id": a.account_id, "window": a.window, "message": a.message, "action": a.action,
            "opened_at": iso(a.opened_at), "updated_at": iso(a.updated_at),
            "opened_ts": a.opened_at.timestamp() if a.opened_at else None, "acked_by": acked_by}


def ack(svc: Service, alert_id: int, by: str = "dashboard") -> dict[str, Any]:
    """Acknowledge one open alert; acknowledging an acked one is a no-op; unknown ids raise :class:`NotFound`."""
    svc.actions.ack(alert_id, by=by)  # False for an alert that is not open: acking twice is harmless
    found = [a for a in list_alerts(svc, None, 10_000) if a["id"] == alert_id]
    if not found:
        raise NotFound(f"no alert with id {alert_id}")
    return found[0]


def latest_audit(svc: Service) -> dict[str, Any]:
    """The audit report the analysis stage builds now, as JSON-ready data."""
    report: dict[str, Any] = jsonable(svc.audit_report())
    return report


def audit_markdown(report: dict[str, Any]) -> str:
    if "report_date" in report:  # the analysis stage's report renders itself
        from quotawarden.analysis import audit

        return audit.markdown(report)
    lines = [f"# Account audit {str(report.get('generated_at', ''))[:10]}", ""]
    summary = report.get("summary", {})
    lines += ["## Summary", ""] + [f"- {k}: {v}" for k, v in summary.items()] + [""]
    lines += ["## Alerts", ""] + ([f"- **{a.get('severity')}** {a.get('account') or ''}: {a.get('message')}"
                                   + (f" - {a['action']}" if a.get("action") else "")
                                   for a in report.get("alerts", [])] or ["- none"]) + [""]
    lines += ["## Accounts", "", "| account | provider | status | reason |", "|---|---|---|---|"]
    lines += [f"| {d.get('account')} | {d.get('provider', '')} | {d.get('status', '')} | {d.get('reason', '')} |"
              for d in report.get("account_details", [])]
    recs = report.get("recommendations", [])
    if recs:
        lines += ["", "## Recommendations", ""]
        lines += [f"- [{r.get('priority', '')}] {r.get('action') or r.get('message') or r}" for r in recs]
    return "\n".join(lines) + "\n"
