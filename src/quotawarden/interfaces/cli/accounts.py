"""``quotawarden accounts list|add|remove`` (``discover`` lives with the providers)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from quotawarden.errors import ConfigError
from quotawarden.interfaces.cli.common import JsonOpt, console, print_json, service
from quotawarden.redact import mask

accounts_app = typer.Typer(help="List, add and remove accounts.", no_args_is_help=True)

_REF = ("env", "file", "vault")


def config_path(explicit: str | None) -> tuple[Path, bool]:
    from quotawarden.config import config_path as find

    return find(explicit)


def load_config(path: str | Path | None, plugins: Any) -> Any:
    from quotawarden.config import load_config as load

    return load(path, plugins)


def load_plugins() -> Any:
    from quotawarden.plugins import load_plugins as load

    return load()


def _safe_ref(ref: str | None) -> str | None:
    if ref and ref.split(":", 1)[0] not in _REF:
        return mask(ref)
    return ref


@accounts_app.command("list")
def list_(ctx: typer.Context, json_out: bool = JsonOpt,
          all_: bool = typer.Option(False, "--all", help="Also accounts that are no longer current (removed from "
                                    "the config, refused keys idle for a day), with why.")) -> None:
    """Every current account: id, provider, plan, pool, credential reference (never the secret)."""
    svc = service(ctx)
    accounts = svc.accounts(include_all=all_)
    why = svc.not_current_accounts() if all_ else {}
    rows: list[dict[str, Any]] = [{"id": a.id, "provider": a.provider, "label": a.label, "plan": a.plan, "pool": a.pool,
             "credential": _safe_ref(a.credential), "base_url": a.base_url, "tags": a.tags,
             "current": a.id not in why, "not_current": why.get(a.id)} for a in accounts]
    if json_out:
        print_json({"accounts": rows})
        return
    table = Table("id", "provider", "plan", "pool", "credential", "tags", *(["not current"] if why else []))
    for r in rows:
        table.add_row(r["id"], r["provider"], r["plan"] or "-", r["pool"] or "-", r["credential"] or "-",
                      ", ".join(f"{k}={v}" for k, v in r["tags"].items()), *([r["not_current"] or ""] if why else []))
    console().print(table)


def _toml_str(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


@accounts_app.command("add")
def add(
    ctx: typer.Context,
    account_id: str = typer.Argument(..., help="A unique id, such as work-anthropic."),
    provider: str = typer.Option(..., "--provider", "-p", help="Provider slug (see `quotawarden providers`)."),
    credential: str = typer.Option(None, "--credential", help="env:VAR, file:PATH or vault:NAME."),
    base_url: str = typer.Option(None, "--base-url", help="Replace the provider's scheme and host."),
    plan: str = typer.Option(None, "--plan"),
    pool: str = typer.Option(None, "--pool"),
    tag: list[str] = typer.Option(None, "--tag", help="key=value (repeatable)."),
    json_out: bool = JsonOpt,
) -> None:
    """Append an [[accounts]] table to the config file (comments and layout are kept)."""
    path, _ = config_path(ctx.find_root().obj.config_path)
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    plugins = load_plugins()
    if provider not in plugins.providers:
        _unknown(provider)
    lines = ["", "[[accounts]]", f"id = {_toml_str(account_id)}", f"provider = {_toml_str(provider)}"]
    for key, val in (("credential", credential), ("base_url", base_url), ("plan", plan), ("pool", pool)):
        if val:
            lines.append(f"{key} = {_toml_str(val)}")
    if tag:
        pairs = [t.split("=", 1) for t in tag if "=" in t]
        lines.append("tags = { " + ", ".join(f"{k} = {_toml_str(v)}" for k, v in pairs) + " }")
    new_text = text.rstrip("\n") + "\n" + "\n".join(lines) + "\n"
    from quotawarden.config import from_text

    from_text(new_text, path, plugins)  # validate before writing
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(new_text, encoding="utf-8")
    if json_out:
        print_json({"added": account_id, "provider": provider, "file": str(path)})
        return
    console().print(f"added {account_id} ({provider}) to {path}")


def _unknown(provider: str) -> None:
    known = ", ".join(sorted(load_plugins().providers))
    raise ConfigError(f"unknown provider {provider!r} (known: {known})")


@accounts_app.command("remove")
def remove(ctx: typer.Context, account_id: str = typer.Argument(..., help="The account id to remove."),
           keep_history: bool = typer.Option(True, help="Keep its samples in the store."),
           json_out: bool = JsonOpt) -> None:
    """Remove an account's [[accounts]] table from the config file."""
    path, _ = config_path(ctx.find_root().obj.config_path)
    if not path.exists():
        raise ConfigError("config file not found", file=str(path))
    text = path.read_text(encoding="utf-8")
    blocks = re.split(r"(?m)^(?=\s*\[)", text)
    kept = [b for b in blocks if not (b.lstrip().startswith("[[accounts]]")
                                      and re.search(rf'(?m)^\s*id\s*=\s*["\']{re.escape(account_id)}["\']', b))]
    if len(kept) == len(blocks):
        raise ConfigError(f"no account {account_id!r}", file=str(path))
    path.write_text("".join(kept), encoding="utf-8")
    load_config(path, load_plugins())
    if not keep_history:
        service(ctx).forget_account(account_id)
    if json_out:
        print_json({"removed": account_id, "file": str(path), "history_kept": keep_history})
        return
    console().print(f"removed {account_id} from {path}")


def register(app: typer.Typer) -> None:
    app.add_typer(accounts_app, name="accounts")
