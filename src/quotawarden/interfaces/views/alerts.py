"""Alerts (list, acknowledge) and audit reports (latest, rendered and downloadable)."""

from __future__ import annotations

from typing import Any

from quotawarden.interfaces.views._common import iso, jsonable, use_case

SEVERITY_RANK = {"critical": 0, "warning": 1, "info": 2}


class NotFound(LookupError):
    """The thing asked for does not exist (an unknown alert or account id)."""


def list_alerts(svc: Any, state: str | None = None, limit: int = 200) -> list[dict[str, Any]]:
    """Newest first; ``state`` is open, acked, resolved or None for all."""
    desk = getattr(svc, "actions", None)
    if desk is not None and hasattr(desk, "list"):
        from quotawarden.domain import AlertState

        rows = [_record_json(r) for r in desk.list([AlertState(state)] if state else None, limit)]
    else:
        rows = _stored_alerts(svc, state)
    rows.sort(key=lambda a: (a["state"] != "open", SEVERITY_RANK.get(a["severity"], 3),
                             -(a.get("opened_ts") or 0)))
    return rows[:limit]


def _record_json(rec: Any) -> dict[str, Any]:
    """An ``AlertRecord`` (alert plus delivery bookkeeping) as the fields a person reads."""
    a = rec.alert
    return {"id": a.id, "key": a.key, "kind": a.kind, "severity": a.severity.value, "state": a.state.value,
            "account_id": a.account_id, "window": a.window, "message": a.message, "action": a.action,
            "opened_at": iso(a.opened_at), "updated_at": iso(a.updated_at),
            "opened_ts": a.opened_at.timestamp() if a.opened_at else None, "acked_by": rec.acked_by}


def _stored_alerts(svc: Any, state: str | None) -> list[dict[str, Any]]:
    from sqlalchemy import select

    from quotawarden.store import schema
    from quotawarden.store._sql import dt

    t = schema.alerts
    q = select(t).order_by(t.c.opened_ts.desc())
    if state:
        q = q.where(t.c.state == state)
    with svc.store.engine.connect() as conn:
        rows = conn.execute(q).fetchall()
    return [{"id": r.id, "key": r.key, "kind": r.kind, "severity": r.severity, "state": r.state,
             "account_id": r.account_id, "window": r.window, "message": r.message, "action": r.action,
             "opened_at": iso(dt(r.opened_ts)), "updated_at": iso(dt(r.updated_ts)), "opened_ts": r.opened_ts,
             "acked_by": r.acked_by} for r in rows]


def ack(svc: Any, alert_id: int, by: str = "dashboard") -> dict[str, Any]:
    """Acknowledge one open alert; acknowledging an acked one is a no-op; unknown ids raise :class:`NotFound`."""
    desk = getattr(svc, "actions", None)
    if desk is not None and hasattr(desk, "ack"):
        desk.ack(alert_id, by=by)  # False for an alert that is not open: acking twice is harmless
        found = [a for a in list_alerts(svc, None, 10_000) if a["id"] == alert_id]
        if not found:
            raise NotFound(f"no alert with id {alert_id}")
        return found[0]
    return _ack_stored(svc, alert_id, by)


def _ack_stored(svc: Any, alert_id: int, by: str) -> dict[str, Any]:
    from sqlalchemy import update

    from quotawarden.store import schema

    t = schema.alerts
    now = svc.now().timestamp()
    with svc.store.engine.begin() as conn:
        found = conn.execute(t.select().where(t.c.id == alert_id)).first()
        if found is None:
            raise NotFound(f"no alert with id {alert_id}")
        if found.state == "open":
            conn.execute(update(t).where(t.c.id == alert_id).values(state="acked", acked_by=by, updated_ts=now))
    svc.audit(by, "alert.ack", str(alert_id))
    return next(a for a in _stored_alerts(svc, None) if a["id"] == alert_id)


def latest_audit(svc: Any) -> dict[str, Any]:
    """The most recent audit report: the analysis stage's when present, else a report built from the status now."""
    if fn := use_case(svc, "audit_report"):
        return jsonable(fn())  # type: ignore[no-any-return]
    status = svc.status_report()
    open_alerts = list_alerts(svc, "open")
    return {
        "generated_at": status["generated_at"],
        "summary": {"accounts": len(status["accounts"]), **status["overall"], "open_alerts": len(open_alerts)},
        "alerts": [{"severity": a["severity"], "account": a.get("account_id"), "message": a["message"],
                    "action": a.get("action", "")} for a in open_alerts],
        "account_details": [{"account": a["id"], "provider": a["provider"], "status": a["status"],
                             "reason": a["reason"], "windows": [
                                 {"name": w["name"], "used_ratio": w["used_ratio"], "remaining": w["remaining"],
                                  "resets_at": w["resets_at"], "burn_rate_per_hour": w["burn_rate_per_hour"],
                                  "exhausts_at": w["exhausts_at"]} for w in a["windows"]]}
                            for a in status["accounts"]],
        "recommendations": [],
    }


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
