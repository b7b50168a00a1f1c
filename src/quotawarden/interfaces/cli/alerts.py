"""``quotawarden alerts list|ack|test|run|digest``."""

from __future__ import annotations

from typing import Any, Literal

import typer
from rich.table import Table

from quotawarden.domain import AlertState, Severity
from quotawarden.interfaces.cli.common import JsonOpt, console, fail, print_json, service

alerts_app = typer.Typer(help="Alerts: list, acknowledge, test the channels, evaluate now, digests.",
                         no_args_is_help=True)


def _row(r: Any) -> dict[str, Any]:
    a = r.alert
    return {"id": a.id, "key": a.key, "kind": a.kind, "severity": a.severity.value, "state": a.state.value,
            "account_id": a.account_id, "window": a.window, "message": a.message, "action": a.action,
            "opened_at": a.opened_at, "updated_at": a.updated_at, "resolved_at": r.resolved_at,
            "acked_by": r.acked_by, "notified_at": r.notified_at, "notify_count": r.notify_count,
            "last_notice": r.last_notice, "pending_notice": r.pending_notice, "tags": list(r.tags)}


@alerts_app.command("list")
def list_(ctx: typer.Context, all_: bool = typer.Option(False, "--all", help="Include resolved alerts."),
          limit: int = typer.Option(200, help="At most this many."), json_out: bool = JsonOpt) -> None:
    """Open and acknowledged alerts (with --all, resolved ones too), newest first."""
    states = None if all_ else [AlertState.OPEN, AlertState.ACKED]
    rows = [_row(r) for r in service(ctx).actions.list(states, limit)]
    if json_out:
        print_json({"alerts": rows})
        return
    table = Table("id", "severity", "state", "account", "message", "action")
    for r in rows:
        table.add_row(str(r["id"]), r["severity"], r["state"], r["account_id"] or "-", r["message"], r["action"])
    console().print(table if rows else "no alerts")


@alerts_app.command("ack")
def ack(ctx: typer.Context, alert_id: int = typer.Argument(..., help="The alert id (see `alerts list`)."),
        by: str = typer.Option("user", "--by", help="Who acknowledges (kept in the audit trail)."),
        json_out: bool = JsonOpt) -> None:
    """Acknowledge an open alert: no more notices for it unless it gets worse."""
    ok = service(ctx).actions.ack(alert_id, by)
    if json_out:
        print_json({"id": alert_id, "acked": ok})
    if not ok:
        fail(f"no open alert #{alert_id}")
    if not json_out:
        console().print(f"alert #{alert_id} acknowledged")


@alerts_app.command("test")
def test(ctx: typer.Context,
         severity: Severity = typer.Option(Severity.WARNING, help="Severity of the test message (routing)."),
         channel: list[str] = typer.Option(None, "--channel", help="Send to this Apprise URL instead (repeatable)."),
         json_out: bool = JsonOpt) -> None:
    """Send a test message to every configured channel that takes this severity."""
    results = service(ctx).actions.test(severity, channel or None)
    rows = [{"channel": d.channel, "ok": d.ok, "error": d.error} for d in results]
    if json_out:
        print_json({"deliveries": rows})
    else:
        for r in rows:
            console().print(f"{'ok  ' if r['ok'] else 'FAIL'} {r['channel']} {r['error']}")
        if not rows:
            console().print("no channel takes this severity (configure [alerts] channels)", markup=False)
    if not rows or not all(r["ok"] for r in rows):
        raise typer.Exit(1)


@alerts_app.command("run")
def run(ctx: typer.Context, json_out: bool = JsonOpt) -> None:
    """Evaluate the alert rules on the stored data now and deliver pending notices (what the daemon does)."""
    svc = service(ctx)
    ev = svc.evaluate_alerts()
    sent = svc.deliver_alerts()
    out = {"opened": ev.opened, "resolved": ev.resolved,
           "sent": [{"alert_id": s.alert_id, "key": s.key, "notice": s.notice, "ok": s.ok} for s in sent]}
    if json_out:
        print_json(out)
        return
    console().print(f"{len(ev.opened)} opened, {len(ev.resolved)} resolved, {len(sent)} notices sent")


@alerts_app.command("digest")
def digest(ctx: typer.Context, period: str = typer.Argument("daily", help="daily or weekly."),
           send: bool = typer.Option(False, "--send", help="Send it (autonomy.send_digests applies)."),
           json_out: bool = JsonOpt) -> None:
    """Print (or send) the daily summary or the weekly report."""
    if period not in ("daily", "weekly"):
        fail("period must be daily or weekly")
    kind: Literal["daily", "weekly"] = "weekly" if period == "weekly" else "daily"
    actions = service(ctx).actions
    if send:
        outcome = actions.send_digest(kind, actor="user")
        if json_out:
            print_json({"mode": outcome.mode.value, "done": outcome.done, "summary": outcome.summary})
        else:
            console().print(outcome.summary)
        return
    msg = actions.digest(kind)
    if json_out:
        print_json({"title": msg.title, "body": msg.body, **msg.payload})
    else:
        console().print(f"[bold]{msg.title}[/]\n{msg.body}", highlight=False)


def register(app: typer.Typer) -> None:
    app.add_typer(alerts_app, name="alerts")
