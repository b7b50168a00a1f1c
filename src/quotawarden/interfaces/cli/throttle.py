"""``quotawarden throttle list|run|release``: consumers held back by the ``throttle_consumers`` action."""

from __future__ import annotations

import typer
from rich.table import Table

from quotawarden.interfaces.cli.common import JsonOpt, console, fail, print_json, service

throttle_app = typer.Typer(help="Consumers held back for taking far more than their fair share of a pooled quota.",
                           no_args_is_help=True)


@throttle_app.command("list")
def list_(ctx: typer.Context, json_out: bool = JsonOpt) -> None:
    """Consumers held back now (the proxy lets each one call at a time), until when and why."""
    rows = service(ctx).actions.throttled()
    if json_out:
        print_json({"throttled": rows})
        return
    table = Table("consumer", "until", "why")
    for r in rows:
        table.add_row(r["consumer"], r["until"].strftime("%Y-%m-%d %H:%M UTC"), r["reason"])
    console().print(table if rows else "nobody is held back")


@throttle_app.command("run")
def run(ctx: typer.Context, hours: float = typer.Option(24, help="Fairness over this many hours."),
        json_out: bool = JsonOpt) -> None:
    """Weigh fairness now and act on it as autonomy.throttle_consumers says (what the daemon does)."""
    outcomes = service(ctx).throttle_consumers(hours, actor="user")
    rows = [{"action": o.audit_action, "done": o.done, "summary": o.summary} for o in outcomes]
    if json_out:
        print_json({"actions": rows})
        return
    for r in rows:
        console().print(f"{r['action']}: {r['summary']}")
    if not rows:
        console().print("nothing to do: no consumer is far over its share of a pool under pressure")


@throttle_app.command("release")
def release(ctx: typer.Context, consumer: str = typer.Argument(..., help="The consumer (see `throttle list`)."),
            by: str = typer.Option("user", "--by", help="Who lifts it (kept in the audit trail)."),
            json_out: bool = JsonOpt) -> None:
    """Lift a hold before it lapses (the fairness job may hold it back again if the advice still stands)."""
    ok = service(ctx).actions.release(consumer, by)
    if json_out:
        print_json({"consumer": consumer, "released": ok})
    if not ok:
        fail(f"{consumer} is not held back")
    if not json_out:
        console().print(f"{consumer} released")


def register(app: typer.Typer) -> None:
    app.add_typer(throttle_app, name="throttle")
