"""``quotawarden evidence [ACCOUNT]``: provider anomalies and their evidence, for a support ticket."""

from __future__ import annotations

import sys

import typer

from quotawarden.interfaces.cli.common import JsonOpt, fail, print_json, service


def evidence(
    ctx: typer.Context,
    account: str = typer.Argument(None, help="Only this account id."),
    since: str = typer.Option(None, "--since", "-s",
                              help="Back this far (24h, 7d) or from this date (2026-08-01, an ISO time)."),
    json_out: bool = JsonOpt,
    markdown_out: bool = typer.Option(False, "--markdown", "--md",
                                      help="Markdown for a support ticket (the default without --json)."),
) -> None:
    """Provider anomalies with their evidence bundles: readings before and after, usage seen, the refusal, what
    was expected. Markdown by default; --json for the same as data."""
    from quotawarden.interfaces.views import evidence as evidence_v

    if json_out and markdown_out:
        fail("choose --json or --markdown", 2)
    svc = service(ctx)
    try:
        start = evidence_v.parse_since(since, svc.now())
    except ValueError as exc:
        fail(str(exc), 2)
    if account and account not in {a.id for a in svc.accounts()}:
        fail(f"no account {account!r}", 2)
    data = evidence_v.export(svc, account, start)
    if json_out:
        print_json(data)
        return
    sys.stdout.write(evidence_v.markdown(data))


def register(app: typer.Typer) -> None:
    app.command("evidence")(evidence)
