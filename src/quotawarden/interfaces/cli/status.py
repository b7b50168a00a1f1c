"""``quotawarden status``: what is left on every account, from the store (no provider is called)."""

from __future__ import annotations

import typer

from quotawarden.interfaces.cli.common import JsonOpt, WideOpt, console, print_json, service
from quotawarden.interfaces.cli.render import overall_line, status_table

EXIT_YELLOW, EXIT_RED = 10, 11
NO_ACCOUNTS = ("No accounts yet. Add some with `quotawarden accounts discover --add` (the keys and logins found on "
               "this machine) or write a config with `quotawarden config init`; `quotawarden demo` shows it all "
               "on made-up accounts.")


def status(
    ctx: typer.Context,
    account: list[str] = typer.Option(None, "--account", "-a", help="Only these account ids (repeatable)."),
    check: bool = typer.Option(False, "--check", help="Exit 10 if any account is YELLOW, 11 if any is RED."),
    all_: bool = typer.Option(False, "--all", help="Also accounts that are no longer current (removed from the "
                              "config, refused keys idle for a day): their history stays."),
    json_out: bool = JsonOpt,
    wide: bool = WideOpt,
    server: str = typer.Option(None, "--server", help="Read a running daemon (http://host:7878) instead of the "
                               "database."),
    token: str = typer.Option(None, "--token", envvar="QUOTAWARDEN_ADMIN_TOKEN",
                              help="The daemon's admin token (default on loopback: the local admin-token file)."),
) -> None:
    """Show every account's windows: used, remaining, resets in, health, last observed."""
    if server:
        from quotawarden.interfaces.daemon.client import remote_status

        report, now = remote_status(server, token, account or None)
    else:
        svc = service(ctx)
        report, now = svc.status_report(account or None, include_all=all_), svc.now()
    if json_out:
        print_json(report)
    elif not report["accounts"] and not account:
        console().print(NO_ACCOUNTS, markup=False, highlight=False)
    else:
        out = console(wide)
        out.print(status_table(report, now, None if wide else out.width))
        out.print(overall_line(report))
        if not server and (waiting := svc.proxy_backlog())[0]:
            out.print(f"{waiting[0]} proxy usage record(s) are not in the store yet: they wait in {waiting[1]} and "
                      "are stored when `quotawarden proxy` or `serve --with-proxy` starts again", style="yellow",
                      markup=False)
        for provider, page in (report.get("services") or {}).items():
            if page["state"] not in ("operational", "unknown"):
                out.print(f"{provider} status page: {page['description'] or page['state']}", style="yellow",
                          markup=False)
    if check:
        if report["overall"].get("RED"):
            raise typer.Exit(EXIT_RED)
        if report["overall"].get("YELLOW"):
            raise typer.Exit(EXIT_YELLOW)


def register(app: typer.Typer) -> None:
    app.command("status")(status)
