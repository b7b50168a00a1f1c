"""``quotawarden accounts discover`` and ``quotawarden import token-monitor FILE...``."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table
from rich.text import Text

from quotawarden.errors import ConfigError
from quotawarden.interfaces.cli.common import JsonOpt, console, err_console, fail, print_json, service

import_app = typer.Typer(help="Import readings written by other tools.", no_args_is_help=True)


NOTHING = ("No accounts found. Looked at provider keys in the environment (ANTHROPIC_API_KEY, OPENAI_API_KEY, "
           "GEMINI_API_KEY, ...; `quotawarden providers` lists each one's variable) and the sign-ins of Claude Code "
           "(~/.claude), Codex (~/.codex), Gemini CLI (~/.gemini), OpenCode and its Antigravity plug-in, Cline "
           "and ~/.pi/agent. Add one by hand: quotawarden accounts add NAME --provider PROVIDER --credential "
           "env:VAR")


def _toml(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def discover(
    ctx: typer.Context,
    add: bool = typer.Option(False, "--add", help="Append the new findings to the config file (references only)."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask before --add writes the config."),
    json_out: bool = JsonOpt,
) -> None:
    """Find accounts in provider env vars and the sign-ins of Claude Code, Codex, Gemini CLI, OpenCode (and its
    Antigravity plug-in), Antigravity, Cline and ~/.pi/agent.

    Each finding is a credential *reference* (env:VAR or file:PATH#key); no secret is ever copied.
    """
    svc = service(ctx)
    configured = {a.id for a in svc.config.accounts}
    refs = {a.credential for a in svc.config.accounts}
    found = [f for f in svc.discover_accounts() if f.credential not in refs]
    new = [f for f in found if f.id not in configured]
    if json_out:
        print_json({"found": [f.as_json() | {"configured": f.id in configured} for f in found]})
    else:
        table = Table("id", "provider", "credential reference", "found in", "notes", title="discovered accounts")
        for f in found:
            table.add_row(f.id, f.provider, f.credential or "-", f.where, "; ".join(f.notes))
        console().print(table if found else NOTHING, markup=False, highlight=False)
    if not add or not new:
        return
    path = svc.config.path
    if path is None:
        from quotawarden.config import default_config_path

        path = default_config_path()
    if not yes and not typer.confirm(f"Add {len(new)} account(s) to {path}?"):
        raise typer.Exit(1)
    blocks = []
    for f in new:
        lines = ["[[accounts]]", f"id = {_toml(f.id)}", f"provider = {_toml(f.provider)}"]
        if f.credential:
            lines.append(f"credential = {_toml(f.credential)}")
        if f.base_url:
            lines.append(f"base_url = {_toml(f.base_url)}")
        if f.plan:
            lines.append(f"plan = {_toml(f.plan)}")
        blocks.append("\n".join(lines))
    path.parent.mkdir(parents=True, exist_ok=True)
    with Path(path).open("a", encoding="utf-8") as fh:
        fh.write("\n\n" + "\n\n".join(blocks) + "\n")
    err_console().print(f"added {len(new)} account(s) to {path}")


@import_app.command("token-monitor")
def token_monitor(
    ctx: typer.Context,
    files: list[Path] = typer.Argument(..., exists=True, dir_okay=False, help="JSONL probe logs."),
    account: str = typer.Option(None, "--account", "-a", help="Account id for every line (default: the line's "
                                                                 "account or provider field)."),
    json_out: bool = JsonOpt,
) -> None:
    """Import JSONL probe logs (ts, provider, status, utilization_5h, utilization_7d, reset_in_seconds) as samples."""
    from quotawarden.app import polling

    try:
        report = polling.import_token_monitor(service(ctx), [str(f) for f in files], account)
    except OSError as exc:
        fail(ConfigError(f"cannot read: {exc.strerror}", file=str(exc.filename)))
    if json_out:
        print_json({"lines": report.lines, "samples": len(report.samples), "skipped": report.skipped})
        return
    console().print(f"imported {len(report.samples)} samples from {report.lines} lines"
                    + (f"; skipped {len(report.skipped)}" if report.skipped else ""))
    for line in report.skipped[:20]:
        err_console().print(Text.assemble(("skipped", "yellow"), f" {line}"), highlight=False)


def register(app: typer.Typer) -> None:
    from quotawarden.interfaces.cli.accounts import accounts_app

    accounts_app.command("discover")(discover)
    app.add_typer(import_app, name="import")
