"""``quotawarden usage daily|weekly|monthly|session|blocks``: agent-log usage and cost, read incrementally.

Each report first ingests whatever the agents wrote since the last run (only new bytes), then reads the hourly
roll-up. ``--json`` has ccusage 20's shape.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import typer
from rich.table import Table

from quotawarden.interfaces.cli.common import JsonOpt, console, err_console, fail, print_json, service

PROGRESS_BYTES = 8 * 1024 * 1024  # about a few thousand Claude Code lines


def _date(value: str | None) -> date | None:
    if not value:
        return None
    for fmt in ("%Y%m%d", "%Y-%m-%d"):
        try:
            return datetime.strptime(value, fmt).date()
        except ValueError:
            continue
    fail(f"not a date: {value!r} (use YYYYMMDD or YYYY-MM-DD)", 2)


def _ingest(svc: Any, sources: list[str] | None, paths: list[str] | None, quiet: bool, verbose: bool) -> Any:
    from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn

    bar: Progress | None = None
    task: Any = None

    def progress(done: int, total: int) -> None:
        nonlocal bar, task
        if quiet or total < PROGRESS_BYTES:
            return
        if bar is None:
            bar = Progress("reading agent logs", BarColumn(), DownloadColumn(), TimeRemainingColumn(),
                           console=err_console(), transient=True)
            bar.start()
            task = bar.add_task("read", total=total)
        bar.update(task, completed=done)

    try:
        report = svc.ingest_logs(sources or None, paths or None, progress)
    finally:
        if bar is not None:
            bar.stop()
    if report.malformed and not quiet:
        err = err_console()
        err.print(f"[yellow]skipped {report.malformed} malformed log line(s)[/]"
                  + ("" if verbose else " (--verbose names them)"), highlight=False)
        if verbose:
            for where in report.malformed_at:
                err.print(f"  {where}", highlight=False, soft_wrap=True)
    if report.unpriced_models and not quiet:
        err_console().print(f"[yellow]no known price for:[/] {', '.join(sorted(report.unpriced_models))} "
                            "(cost shown as unknown; add [logs.price_overrides])", highlight=False)
    return report


def _report(ctx: typer.Context, kind: str, since: str | None, until: str | None, source: list[str] | None,
            path: list[str] | None, project: str | None, host: str | None, breakdown: bool, by_host: bool,
            timezone: str, cost_mode: str | None, json_out: bool, verbose: bool, no_ingest: bool) -> None:
    from quotawarden.analysis.usage_report import ReportQuery

    svc = service(ctx)
    if not no_ingest:
        _ingest(svc, source, path, json_out, verbose)
    mode = cost_mode or svc.config.settings.logs.cost_mode
    if mode not in ("auto", "calculate", "display"):
        fail(f"--cost-mode must be auto, calculate or display, not {mode!r}", 2)
    q = ReportQuery(kind=kind, since=_date(since), until=_date(until),  # type: ignore[arg-type]
                    source=source[0] if source and len(source) == 1 else None, project=project, host=host,
                    timezone=timezone, cost_mode=mode, breakdown=breakdown, by_host=by_host)  # type: ignore[arg-type]
    data = svc.usage_report(q)
    if json_out:
        print_json(data)
    else:
        console().print(table(kind, data, breakdown, by_host))


def _money(value: float, unknown: int) -> str:
    return f"${value:,.2f}" + (" +?" if unknown else "")


def table(kind: str, data: dict[str, Any], breakdown: bool, by_host: bool) -> Table:
    t = Table(title=f"Agent usage ({kind}, {'cost: + ? = some models unpriced'})", title_justify="left")
    first = {"session": "Session", "blocks": "Block start"}.get(kind, "Period")
    for name in (first, "Models", "Input", "Output", "Cache write", "Cache read", "Total tokens", "Cost"):
        t.add_column(name, justify="left" if name in (first, "Models") else "right")
    for item in data[kind]:
        label = item["period"] + (" (active)" if item.get("isActive") else "")
        t.add_row(label, ", ".join(item["modelsUsed"]), *_nums(item),
                  _money(item["totalCost"], item.get("unknownCostEvents", 0)))
        if breakdown:
            for m in item["modelBreakdowns"]:
                t.add_row("", f"  {m['modelName']}", *_nums({**m, "totalTokens": _sum(m)}),
                          _money(m["cost"], m.get("unknownCostEvents", 0)), style="dim")
        if by_host:
            for h in item.get("hostBreakdowns", []):
                t.add_row("", f"  host {h['host'] or '-'}", *_nums(h), _money(h["cost"], 0), style="dim")
        if item.get("burnRate"):
            b, p = item["burnRate"], item["projection"]
            t.add_row("", f"  burn {b['tokensPerMinute']:,.0f} tok/min, ${b['costPerHour']:,.2f}/h; "
                          f"projected {p['totalTokens']:,} tok, ${p['totalCost']:,.2f}", *[""] * 6, style="cyan")
    tot = data["totals"]
    t.add_row("Total", "", *_nums(tot), _money(tot["totalCost"], tot.get("unknownCostEvents", 0)), style="bold")
    return t


def _sum(m: dict[str, Any]) -> int:
    return int(m["inputTokens"] + m["outputTokens"] + m["cacheCreationTokens"] + m["cacheReadTokens"])


def _nums(d: dict[str, Any]) -> list[str]:
    return [f"{d[k]:,}" for k in ("inputTokens", "outputTokens", "cacheCreationTokens", "cacheReadTokens",
                                  "totalTokens")]


def _command(kind: str, doc: str) -> Any:
    def cmd(
        ctx: typer.Context,
        since: str = typer.Option(None, "--since", "-s", help="First day (YYYYMMDD or YYYY-MM-DD), inclusive."),
        until: str = typer.Option(None, "--until", "-u", help="Last day, inclusive."),
        source: list[str] = typer.Option(None, "--source", help="Only this log source (claude_code, codex, "
                                                                 "opencode, gemini_cli); repeatable."),
        path: list[str] = typer.Option(None, "--path", help="Read logs from this folder instead of the defaults."),
        project: str = typer.Option(None, "--project", "-p", help="Only projects whose name contains this."),
        host: str = typer.Option(None, "--host", help="Only events ingested on this host."),
        breakdown: bool = typer.Option(False, "--breakdown", "-b", help="One row per model under each period."),
        by_host: bool = typer.Option(False, "--by-host", help="One row per host under each period."),
        timezone: str = typer.Option("UTC", "--timezone", "-z", help="Time zone for days and weeks (IANA name)."),
        cost_mode: str = typer.Option(None, "--cost-mode", help="auto (logged cost when present), calculate, "
                                                                 "or display (logged cost only)."),
        json_out: bool = JsonOpt,
        verbose: bool = typer.Option(False, "--verbose", "-v", help="Name every malformed line (file:line)."),
        no_ingest: bool = typer.Option(False, "--no-ingest", help="Report from the store without reading logs."),
    ) -> None:
        _report(ctx, kind, since, until, source, path, project, host, breakdown, by_host, timezone, cost_mode,
                json_out, verbose, no_ingest)

    cmd.__doc__ = doc
    return cmd


def ingest_cmd(
    ctx: typer.Context,
    source: list[str] = typer.Option(None, "--source", help="Only this log source; repeatable."),
    path: list[str] = typer.Option(None, "--path", help="Read logs from this folder instead of the defaults."),
    json_out: bool = JsonOpt,
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Name every malformed line (file:line)."),
) -> None:
    """Read new agent-log lines into the store (what every report does first)."""
    report = _ingest(service(ctx), source, path, json_out, verbose)
    if json_out:
        print_json(report.as_dict())
    else:
        console().print(f"{report.files_read} file(s) read of {report.files_seen}, {report.lines:,} new lines, "
                        f"{report.events:,} usage events, {report.samples} quota samples, "
                        f"{report.malformed} malformed, {report.seconds:.2f}s")


def register(app: typer.Typer) -> None:
    usage = typer.Typer(help="Agent usage and cost from local logs (Claude Code, Codex, OpenCode, Gemini CLI).",
                        no_args_is_help=True)
    for kind, doc in (("daily", "Usage and cost per day."), ("weekly", "Usage and cost per week (from Monday)."),
                      ("monthly", "Usage and cost per month."), ("session", "Usage and cost per session."),
                      ("blocks", "5-hour billing blocks; the active one with burn rate and projection.")):
        usage.command(kind)(_command(kind, doc))
    usage.command("ingest")(ingest_cmd)
    app.add_typer(usage, name="usage")
