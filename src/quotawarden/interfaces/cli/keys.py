"""``quotawarden keys add|list|show|rotate|remove|import``: the encrypted key vault. Secrets are never printed."""

from __future__ import annotations

import getpass
import sys
from typing import Any

import typer
from rich.table import Table

from quotawarden.credentials.vault import PASSPHRASE_ENV, Vault, entry_json
from quotawarden.errors import VaultError
from quotawarden.interfaces.cli.common import JsonOpt, console, fail, print_json, service

keys_app = typer.Typer(help="Store API keys and OAuth tokens encrypted (AES-256-GCM); use them as vault:NAME.",
                       no_args_is_help=True)
StdinOpt = typer.Option(False, "--stdin", help="Read the secret from standard input (non-interactive).")


def _prompt_passphrase() -> str | None:
    if not sys.stdin.isatty():
        return None
    first = getpass.getpass("vault passphrase: ")
    return first or None


def _vault(ctx: typer.Context) -> Vault:
    vault: Vault = service(ctx).vault
    vault.set_prompt(_prompt_passphrase)
    return vault


def _secret(stdin: bool, what: str = "secret") -> str:
    if stdin:
        value = sys.stdin.read().strip()
    elif sys.stdin.isatty():
        value = getpass.getpass(f"{what} (input hidden): ").strip()
    else:
        fail(f"no {what}: pass --stdin and pipe it in")
    if not value:
        fail(f"the {what} is empty")
    return value


def _check(ctx: typer.Context, provider: str | None, secret: str, base_url: str | None, validate: bool) -> Any:
    from quotawarden.actions.keycheck import KeyCheck, check_key

    svc = service(ctx)
    if not validate or not provider:
        return KeyCheck("skipped", "validation not requested" if not validate else "no provider given")
    spec = svc.plugins.providers.get(provider)
    if spec is None:
        fail(f"unknown provider {provider!r} (known: {', '.join(sorted(svc.plugins.providers))})", 2)
    result = check_key(spec, secret, svc.clock, base_url=base_url)
    if result.status == "invalid":
        fail(f"{provider} rejected the key ({result.reason}); nothing was stored")
    return result


@keys_app.command("add")
def add(ctx: typer.Context, name: str = typer.Argument(..., help="The entry name; accounts use vault:NAME."),
        provider: str = typer.Option(None, "--provider", "-p", help="Provider slug (used to validate the key)."),
        stdin: bool = StdinOpt,
        kind: str = typer.Option("api_key", help="api_key or oauth."),
        plan: str = typer.Option(None, help="The plan or tier of this key (recorded)."),
        owner: str = typer.Option(None, help="Who owns this key (recorded)."),
        base_url: str = typer.Option(None, "--base-url", help="Validate against this base URL (proxies, emulator)."),
        validate: bool = typer.Option(True, "--validate/--no-validate", help="One cheap provider call first."),
        json_out: bool = JsonOpt) -> None:
    """Add a key: validated with one cheap call, encrypted, recorded in the audit trail."""
    secret = _secret(stdin)
    check = _check(ctx, provider, secret, base_url, validate)
    validation = None if check.status == "skipped" else f"{check.status}: {check.reason}"[:300]
    e = _vault(ctx).put(name, secret, provider=provider, kind=kind, plan=plan or check.plan, owner=owner,
                        validation=validation)
    if json_out:
        print_json({"entry": entry_json(e), "validation": check.status})
        return
    console().print(f"stored {name} ({e.masked}); validation: {check.status} {check.reason}".rstrip()
                    + f"\nuse it with: credential = \"vault:{name}\"")


@keys_app.command("list")
def list_(ctx: typer.Context, json_out: bool = JsonOpt) -> None:
    """Every entry, masked, with its last validation and last use."""
    vault = _vault(ctx)
    entries = vault.entries() if vault.exists() else []
    if json_out:
        print_json({"vault": str(vault.path), "keys": [entry_json(e) for e in entries]})
        return
    table = Table("name", "provider", "kind", "key", "plan", "owner", "validated", "last used")
    for e in entries:
        table.add_row(e.name, e.provider or "-", e.kind, e.masked, e.plan or "-", e.owner or "-",
                      f"{e.validated_at or '-'} {e.validation or ''}".strip(), e.last_used_at or "-")
    console().print(table if entries else f"the vault at {vault.path} is empty")


@keys_app.command("show")
def show(ctx: typer.Context, name: str = typer.Argument(..., help="The entry name."), json_out: bool = JsonOpt
         ) -> None:
    """One entry's metadata (the secret stays masked)."""
    e = _vault(ctx).entry(name)
    if json_out:
        print_json(entry_json(e))
        return
    for k, v in entry_json(e).items():
        console().print(f"{k:13} {v if v is not None else '-'}")


@keys_app.command("rotate")
def rotate(ctx: typer.Context, name: str = typer.Argument(..., help="The entry name."), stdin: bool = StdinOpt,
           base_url: str = typer.Option(None, "--base-url", help="Validate against this base URL."),
           validate: bool = typer.Option(True, "--validate/--no-validate"), json_out: bool = JsonOpt) -> None:
    """Replace an entry's secret (validated first); accounts using vault:NAME pick it up on their next use."""
    vault = _vault(ctx)
    current = vault.entry(name)
    secret = _secret(stdin, "new secret")
    check = _check(ctx, current.provider, secret, base_url, validate)
    e = vault.rotate(name, secret, validation=None if check.status == "skipped" else f"{check.status}: "
                     f"{check.reason}"[:300])
    if json_out:
        print_json({"entry": entry_json(e), "validation": check.status})
    else:
        console().print(f"rotated {name}: {current.masked} -> {e.masked}")


@keys_app.command("remove")
def remove(ctx: typer.Context, name: str = typer.Argument(..., help="The entry name."),
           yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask."), json_out: bool = JsonOpt) -> None:
    """Remove an entry (accounts referring to it will report a missing credential)."""
    vault = _vault(ctx)
    vault.entry(name)
    if not yes and sys.stdin.isatty() and not typer.confirm(f"remove {name} from the vault?"):
        raise typer.Exit(1)
    vault.remove(name)
    if json_out:
        print_json({"removed": name})
    else:
        console().print(f"removed {name}")


@keys_app.command("import")
def import_(ctx: typer.Context,
            env: bool = typer.Option(True, "--env/--no-env", help="From provider environment variables."),
            files: bool = typer.Option(True, "--files/--no-files", help="From agent credential files."),
            dry_run: bool = typer.Option(False, "--dry-run", help="Only list what would be imported."),
            json_out: bool = JsonOpt) -> None:
    """Import keys from environment variables and agent credential files (Claude Code, Codex, OpenCode, Gemini)."""
    from quotawarden.actions.keyimport import from_env, from_files

    svc = service(ctx)
    found = [*(from_env(svc.plugins.providers.values()) if env else []), *(from_files() if files else [])]
    vault = _vault(ctx)
    existing = {e.fingerprint for e in vault.entries()} if vault.exists() and not dry_run else set()
    from quotawarden.redact import fingerprint, mask

    rows = []
    for c in found:
        status = "would import" if dry_run else "imported"
        if fingerprint(c.secret) in existing:
            status = "already in the vault"
        elif not dry_run:
            try:
                vault.put(c.name, c.secret, provider=c.provider, kind=c.kind, plan=c.plan, source=c.source)
            except VaultError as exc:
                status = f"skipped: {exc}"
        rows.append({"name": c.name, "provider": c.provider, "kind": c.kind, "source": c.source,
                     "key": mask(c.secret), "status": status})
    if json_out:
        print_json({"found": rows})
        return
    for r in rows:
        console().print(f"{r['name']:20} {r['provider']:10} {r['key']:12} {r['source']}  {r['status']}")
    if not rows:
        console().print(f"nothing found (set {PASSPHRASE_ENV} for non-interactive use)")


def register(app: typer.Typer) -> None:
    app.add_typer(keys_app, name="keys")
