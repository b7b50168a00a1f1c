"""``quotawarden poll`` (probe accounts now) and ``quotawarden providers`` (what is installed)."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import typer
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from quotawarden.interfaces.cli.common import JsonOpt, WideOpt, console, err_console, print_json, service
from quotawarden.interfaces.cli.render import Cell, Col, fit_table
from quotawarden.interfaces.views import status_text
from quotawarden.interfaces.views.table import Ink

WIDE_PROVIDERS = 120
"""Below this many columns ``providers`` prints one block per provider instead of a table."""

if TYPE_CHECKING:
    from quotawarden.app.polling import ProbeResult

OUTCOME_STYLE = {"OK": "green", "LIMITED": "yellow", "THROTTLED": "yellow", "OVERLOADED": "red",
                 "OVERAGE": "bold magenta", "INVALID": "red", "ERROR": "red", "UNREACHABLE": "red", "UNKNOWN": "dim"}

POLL_COLS = (Col("account"), Col("provider", drop=2), Col("outcome"), Col("took", justify="right", drop=1),
             Col("cost", "num"), Col("reason", "note"))
FAULTS = frozenset({"ERROR", "UNREACHABLE", "OVERLOADED"})
"""Outcomes that make ``poll`` exit 1 (the other accounts are still probed and stored)."""
EXIT_FAILED = 1


def poll(
    ctx: typer.Context,
    account: list[str] = typer.Option(None, "--account", "-a", help="Only these account ids (repeatable)."),
    provider: list[str] = typer.Option(None, "--provider", "-p", help="Only accounts of these providers."),
    force: bool = typer.Option(False, "--force", "-f", help="Probe even accounts observed within the cache guard."),
    json_out: bool = JsonOpt,
    wide: bool = WideOpt,
) -> None:
    """Probe every account (concurrently), store what each said, then show the status table.

    Accounts observed in the last ``schedule.cache_guard`` (default 20 min) are skipped unless --force.
    Each account ends with an explicit outcome: OK, LIMITED, THROTTLED, OVERLOADED, OVERAGE, INVALID, ERROR,
    UNREACHABLE or UNKNOWN.
    """
    svc = service(ctx)
    with _progress() as (on_start, on_result):
        results = svc.poll(account or None, provider or None, force, on_start=on_start, on_result=on_result)
    svc.detect_provider_anomalies()  # stored with their evidence; `quotawarden evidence` exports them
    from quotawarden.app.polling import summary

    if json_out:
        report = svc.status_report(account or None)
        print_json({"poll": {**summary(results), "results": [r.as_json() for r in results]}, "status": report})
        _exit_on_faults(results)
        return
    out = console(wide)
    width = None if wide else out.width
    rows: list[list[Cell]] = []
    for r in results:
        tokens = f", {r.cost.tokens:,} tok" if r.cost.tokens else ""
        cost = "skipped" if r.skipped else f"{r.cost.requests} req{tokens}"
        took = "-" if r.skipped else f"{r.elapsed_s:.1f}s"
        rows.append([r.account_id, r.provider, Text(r.outcome.value, style=OUTCOME_STYLE.get(r.outcome.value, "")),
                     took, cost, r.reason or ""])
    out.print(fit_table("poll", POLL_COLS, rows, width))
    report = svc.status_report(account or None)
    ink = Ink.for_stream()
    sys.stdout.write("\n".join([*status_text.table(report, svc.now(), width, ink), status_text.overall(report, ink)])
                     + "\n")
    _exit_on_faults(results)


def _exit_on_faults(results: list[ProbeResult]) -> None:
    """Exit 1 with a one-line reason when some polled account ended UNREACHABLE, ERROR or OVERLOADED."""
    failed = [r for r in results if not r.skipped and r.outcome.value in FAULTS]
    if failed:
        names = ", ".join(f"{r.account_id} ({r.outcome.value})" for r in failed)
        err_console().print(Text.assemble(("error:", "red"), f" {len(failed)} of {len(results)} accounts could "
                                          f"not be read: {names}"), highlight=False, soft_wrap=True)
        raise typer.Exit(EXIT_FAILED)


@contextmanager
def _progress() -> Iterator[tuple[Callable[[int], None], Callable[[ProbeResult], None]]]:
    """A progress bar on stderr while the probes run, only when stderr is a terminal (never in a pipe or a log)."""
    err = err_console()
    if not err.is_terminal:
        yield (lambda n: None), (lambda r: None)
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("polling"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  TextColumn("{task.description}"), console=err, transient=True) as bar:
        task = bar.add_task("", total=None)

        def start(n: int) -> None:
            bar.update(task, total=n)

        def done(r: ProbeResult) -> None:
            bar.update(task, advance=1, description=f"{r.account_id} {r.outcome.value} {r.elapsed_s:.1f}s")

        yield start, done


def providers(ctx: typer.Context, json_out: bool = JsonOpt) -> None:
    """Installed provider plug-ins: kind, credential variables, what a probe reads and costs."""
    from quotawarden.plugins import load_plugins

    plugins = load_plugins()
    specs = sorted(plugins.providers.values(), key=lambda s: s.slug)
    if json_out:
        rows = [{"slug": s.slug, "name": s.display_name, "kind": s.kind, "credential_env": list(s.credential_env),
                 "probe": s.probe is not None, "header_reader": s.headers is not None, "probe_cost": s.probe_cost,
                 "min_probe_interval_s": s.probe_min_interval_s, "reports": s.docs} for s in specs]
        print_json({"providers": rows, "failed": plugins.failed})
        return
    out = console()
    if out.width >= WIDE_PROVIDERS:
        table = Table("provider", "kind", "credential", "probe cost", "reports")
        for s in specs:
            table.add_row(s.slug, s.kind, " / ".join(s.credential_env) or "-", s.probe_cost or "-",
                          s.docs or s.display_name)
        out.print(table)
    else:  # a narrow terminal: one block per provider, nothing cut (the variable names are what one copies)
        for s in specs:
            out.print(Text.assemble((s.slug, "bold"), f" ({s.kind})  ", " / ".join(s.credential_env) or "no key"),
                      highlight=False)
            for label, text in (("probe", s.probe_cost or "-"), ("reports", s.docs or s.display_name)):
                out.print(Padding(Text(f"{label}: {text}"), (0, 0, 0, 2)), highlight=False)
    for line in plugins.failed:  # the table lists what loaded; what did not is said beside it, not hidden
        err_console().print(f"warning: plug-in skipped: {line}", markup=False, highlight=False)


def register(app: typer.Typer) -> None:
    app.command("poll")(poll)
    app.command("providers")(providers)
