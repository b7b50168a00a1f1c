"""``quotawarden status``: what is left on every account, from the store (no provider is called)."""

from __future__ import annotations

import typer

from quotawarden.interfaces.cli.common import JsonOpt, console, print_json, service
from quotawarden.interfaces.cli.render import overall_line, status_table

EXIT_YELLOW, EXIT_RED = 10, 11


def status(
    ctx: typer.Context,
    account: list[str] = typer.Option(None, "--account", "-a", help="Only these account ids (repeatable)."),
    check: bool = typer.Option(False, "--check", help="Exit 10 if any account is YELLOW, 11 if any is RED."),
    json_out: bool = JsonOpt,
) -> None:
    """Show every account's windows: used, remaining, resets in, health, last observed."""
    svc = service(ctx)
    report = svc.status_report(account or None)
    if json_out:
        print_json(report)
    else:
        out = console()
        out.print(status_table(report, svc.now()))
        out.print(overall_line(report))
    if check:
        if report["overall"].get("RED"):
            raise typer.Exit(EXIT_RED)
        if report["overall"].get("YELLOW"):
            raise typer.Exit(EXIT_YELLOW)


def register(app: typer.Typer) -> None:
    app.command("status")(status)
