"""``quotawarden status``: what is left on every account, from the store (no provider is called).

The text is ``views.status_text``'s, as on the fast path (``interfaces.fast.status``), which answers most runs.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

import typer

from quotawarden.interfaces.cli.common import JsonOpt, WideOpt, print_json, service
from quotawarden.interfaces.fast import stamp
from quotawarden.interfaces.views import status_text
from quotawarden.interfaces.views.table import Ink, terminal_width

if TYPE_CHECKING:
    from quotawarden.app.service import Service


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
    backlog: tuple[int, str] | None = None
    if server:
        from quotawarden.interfaces.daemon.client import remote_status

        report, now = remote_status(server, token, account or None)
    else:
        digest = stamp.key()  # before the config is read: a file edited meanwhile gets no note
        svc = service(ctx)
        report, now = svc.status_report(account or None, include_all=all_), svc.now()
        _note(ctx, svc, digest)
    if json_out:
        print_json(report)
    else:
        if not server:
            waiting, folder = svc.proxy_backlog()
            backlog = (waiting, str(folder))
        text = status_text.lines(report, now, None if wide else terminal_width(), filtered=bool(account),
                                 backlog=backlog, ink=Ink.for_stream())
        sys.stdout.write("\n".join(text) + "\n")
    if check and (code := status_text.exit_code(report)):
        raise typer.Exit(code)


def _note(ctx: typer.Context, svc: Service, digest: str) -> None:
    """Leave the fast path a note of the config as validated here (``interfaces.fast.stamp``), unless it warned
    or an option (rather than the environment the fast path reads) named the config or the store."""
    state = ctx.find_root().obj
    if svc.config.warnings or (state.config_path or None) != (os.environ.get("QUOTAWARDEN_CONFIG") or None) \
            or state.db_url not in (None, os.environ.get("QUOTAWARDEN_DB_URL")):
        return
    settings = svc.config.settings
    stamp.write(digest, [(a.id, a.provider, a.label, a.plan, a.pool, a.tags, a.settings) for a in svc.config.accounts],
                settings.thresholds.model_dump(), float(settings.schedule.status_interval), svc.config.database_url,
                settings.proxy.spill_dir, {p.slug: p.kind for p in svc.plugins.providers.values()})


def register(app: typer.Typer) -> None:
    app.command("status")(status)
