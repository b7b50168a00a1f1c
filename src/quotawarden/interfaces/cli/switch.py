"""``quotawarden switch PATH/opencode.json``: move OpenCode agents off a dying quota, and back."""

from __future__ import annotations

import time

import typer
from rich.console import Console
from rich.markup import escape

from quotawarden.interfaces.cli.common import JsonOpt, console, err_console, print_json, service

EXIT_NOT_NOTIFIED = 3
"""The files were handled as reported, but a notice about a change could not be sent (see the warnings)."""


def _plain(out: Console, text: str) -> None:
    """A changed file's line, printed as it is: a path is never wrapped or read as markup."""
    out.print(text, markup=False, highlight=False, soft_wrap=True)


def switch(
    ctx: typer.Context,
    paths: list[str] = typer.Argument(..., help="opencode.json files (JSON with comments is fine)."),
    once: bool = typer.Option(False, "--once", help="Poll once and exit."),
    restore: bool = typer.Option(False, "--restore", help="Put the original models back and exit."),
    recovery_hold: int = typer.Option(3, "--recovery-hold", min=1,
                                      help="Switch back after the original is GREEN for N consecutive polls."),
    interval: float = typer.Option(60, "--interval", help="Seconds between polls (without --once)."),
    alias: list[str] = typer.Option(None, "--map", help="OpenCode provider=quotawarden provider or account id, "
                                                        "e.g. anthropic=claude (repeatable)."),
    json_out: bool = JsonOpt,
) -> None:
    """Switch each agent's `model` to its first GREEN `fallback_models` entry when its provider turns YELLOW/RED.

    The originals are kept in a side file next to the config (.opencode.json.quotawarden.json); edits keep
    comments and layout and are atomic. Obeys [autonomy] switch_models (auto / ask / off).
    Every change is reported first; a notice that could not be sent is a warning and, with --once or
    --restore, exit code 3 (a file that could not be handled is exit code 2).
    """
    svc = service(ctx)
    aliases = dict(a.split("=", 1) for a in alias or [] if "=" in a)
    if restore:
        results = svc.actions.restore(paths)
        _show(results, json_out)
        if any(r.warnings for r in results):
            raise typer.Exit(EXIT_NOT_NOTIFIED)
        return
    while True:
        results = svc.actions.switch(paths, recovery_hold, aliases)
        _show(results, json_out)
        if once:
            if any(r.error for r in results):
                raise typer.Exit(2)
            if any(r.warnings for r in results):
                raise typer.Exit(EXIT_NOT_NOTIFIED)
            return
        time.sleep(interval)


def _show(results: list, json_out: bool) -> None:  # type: ignore[type-arg]
    if json_out:
        print_json({"files": [{"file": r.file, "error": r.error, "held": r.held, "warnings": r.warnings, "changes": [
            {"agent": c.agent, "from": c.old, "to": c.new, "reason": c.reason} for c in r.changes]}
            for r in results]})
        return
    out = console()
    for r in results:
        if r.error:
            err_console().print(f"[red]error:[/] {r.error}", highlight=False)
            continue
        for c in r.changes:
            _plain(out, f"{r.file}: {c.agent}: {c.old} -> {c.new} ({c.reason})")
        if r.held:
            _plain(out, f"{r.file}: holding on fallback: {', '.join(r.held)}")
        if not r.changes and not r.held:
            _plain(out, f"{r.file}: nothing to change")
        for w in r.warnings:  # after the changes: what was done is said first
            err_console().print(f"[yellow]warning:[/] {escape(r.file)}: {escape(w)}", highlight=False, soft_wrap=True)


def register(app: typer.Typer) -> None:
    app.command("switch")(switch)


