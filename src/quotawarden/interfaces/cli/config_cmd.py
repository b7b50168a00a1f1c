"""``quotawarden config init|check|show``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from quotawarden.interfaces.cli.common import JsonOpt, console, print_json
from quotawarden.redact import mask

TEMPLATE = '''# quotawarden configuration. Every setting: the README, section "Configuration"
# Credentials are references, never secrets: env:VAR, file:PATH, file:PATH#json.key, vault:NAME.

[database]
# url = "postgresql://user@host/quotawarden"   # default: SQLite in the user data dir

# [[accounts]]
# id = "work-anthropic"
# provider = "anthropic"
# credential = "env:ANTHROPIC_API_KEY"
# pool = "claude-keys"
# tags = { team = "platform", project = "agents" }

[thresholds]
used_yellow = 0.5
used_red = 0.8

[schedule]
poll_interval = "1h"
cache_guard = "20m"

[server]
host = "127.0.0.1"
port = 7878

[proxy]
host = "127.0.0.1"
port = 8787

# [status_pages]   # provider -> its Statuspage status.json: health weighs outages (off unless listed)
# anthropic = "https://status.anthropic.com/api/v2/status.json"
# openai = "https://status.openai.com/api/v2/status.json"
'''

config_app = typer.Typer(help="Create, check and show the configuration.", no_args_is_help=True)


def config_path(explicit: str | None) -> tuple[Path, bool]:
    from quotawarden.config import config_path as find

    return find(explicit)


def load_config(path: str | None, plugins: Any) -> Any:
    from quotawarden.config import load_config as load

    return load(path, plugins)


def load_plugins() -> Any:
    from quotawarden.plugins import load_plugins as load

    return load()


def _root_config(ctx: typer.Context) -> str | None:
    path: str | None = ctx.find_root().obj.config_path
    return path


@config_app.command("init")
def init(ctx: typer.Context, force: bool = typer.Option(False, "--force", help="Overwrite an existing file."),
         json_out: bool = JsonOpt) -> None:
    """Write a commented starter config file."""
    path, _ = config_path(_root_config(ctx))
    if path.exists() and not force:
        if json_out:
            print_json({"file": str(path), "written": False, "reason": "exists"})
        else:
            console().print(f"{path} already exists (use --force to overwrite)")
        raise typer.Exit(1)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(TEMPLATE, encoding="utf-8")
    if json_out:
        print_json({"file": str(path), "written": True})
        return
    console().print(f"wrote {path}")


@config_app.command("check")
def check(ctx: typer.Context, json_out: bool = JsonOpt) -> None:
    """Validate the config file; exit 2 with file, line and field on the first error."""
    from quotawarden.app.planning import check_plans

    cfg = load_config(_root_config(ctx), load_plugins())
    check_plans(cfg)
    result = {"file": str(cfg.path) if cfg.path else None, "ok": True, "accounts": len(cfg.accounts),
              "warnings": cfg.warnings}
    if json_out:
        print_json(result)
        return
    for w in cfg.warnings:
        console().print(f"warning: {w}", style="yellow", markup=False)
    n = len(cfg.accounts)
    console().print(f"ok: {result['file'] or '(no file, defaults)'}: {n} account{'' if n == 1 else 's'}")


@config_app.command("show")
def show(ctx: typer.Context, json_out: bool = JsonOpt) -> None:
    """Print the effective settings (file + environment), with secrets masked."""
    cfg = load_config(_root_config(ctx), load_plugins())
    data = cfg.settings.model_dump(mode="json")
    for acc in data.get("accounts", []):
        cred = acc.get("credential")
        if cred and cred.split(":", 1)[0] not in ("env", "file", "vault"):
            acc["credential"] = mask(cred)
    for tok in data.get("proxy", {}).get("client_tokens", []):
        if tok["token"].split(":", 1)[0] not in ("env", "file", "vault"):
            tok["token"] = mask(tok["token"])
    if data.get("server", {}).get("admin_token"):
        data["server"]["admin_token"] = mask(data["server"]["admin_token"])
    hub = data.get("hub", {})
    for holder in [hub, *hub.get("seats", [])]:  # a seat's token on the hub, the hub's seat tokens
        if holder.get("token") and holder["token"].split(":", 1)[0] not in ("env", "file", "vault"):
            holder["token"] = mask(holder["token"])
    if json_out:
        print_json(data)
        return
    console().print_json(data=data)


def register(app: typer.Typer) -> None:
    app.add_typer(config_app, name="config")

