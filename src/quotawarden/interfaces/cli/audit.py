"""``quotawarden audit``: the daily account audit, written to a file (``account-audit-YYYY-MM-DD.yaml``)."""

from __future__ import annotations

from pathlib import Path

import typer

from quotawarden.interfaces.cli.common import console, fail, service

SUFFIX = {"yaml": "yaml", "json": "json", "md": "md"}


def audit(
    ctx: typer.Context,
    out: Path = typer.Option(None, "--out", help="Write the report into this folder (default: print it)."),
    fmt: str = typer.Option("yaml", "--format", help="yaml, json or md."),
    json_out: bool = typer.Option(False, "--json", help="Print the report as JSON (same as --format json)."),
) -> None:
    """The daily audit: summary, alerts with the action required, per-account details, recommendations with
    priority and rationale, and historical trends."""
    from quotawarden.analysis.audit import render

    if json_out:
        fmt = "json"
    if fmt not in SUFFIX:
        fail(f"unknown format {fmt!r} (yaml, json, md)", 2)
    report = service(ctx).audit_report()
    text = render(report, fmt)
    if out is None:
        typer.echo(text, nl=False)
        return
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"account-audit-{report['report_date']}.{SUFFIX[fmt]}"
    path.write_text(text, encoding="utf-8")
    s = report["summary"]
    console().print(f"wrote {path}: {s['total_accounts']} accounts, {s['critical']} critical, "
                    f"{s['warning']} warning, {len(report['recommendations'])} recommendations")


def register(app: typer.Typer) -> None:
    app.command("audit")(audit)
