"""``quotawarden usage daily|weekly|monthly|session|blocks|ingest``: agent-log usage and cost, read incrementally.

Each report first ingests whatever the agents wrote since the last run (only new bytes), then reads a roll-up.
``--json`` has ccusage 20's shape. On a SQLite store the command runs through ``main.FAST_PATHS`` (:func:`fast`:
argparse, raw TOML, plain ``sqlite3``, the table drawn by ``views.table``; rich only for a long import's progress
bar); otherwise, and for ``--help``, through typer.
"""

import sys
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

PROGRESS_BYTES = 8 * 1024 * 1024  # about a few thousand Claude Code lines
KINDS = {"daily": "Usage and cost per day.", "weekly": "Usage and cost per week (from Monday).",
         "monthly": "Usage and cost per month.", "session": "Usage and cost per session.",
         "blocks": "5-hour billing blocks; the active one with burn rate and projection."}
HELP = {"since": "First day (YYYYMMDD or YYYY-MM-DD), inclusive.", "until": "Last day, inclusive.",
        "source": "Only this log source (claude_code, codex, opencode, gemini_cli), or otel: what agents sent to "
                  "serve over OTLP; repeatable.",
        "path": "Read logs from this folder instead of the defaults.",
        "project": "Only projects whose name contains this.", "host": "Only events ingested on this host.",
        "breakdown": "One row per model under each period.", "by_host": "One row per host under each period.",
        "timezone": "Time zone for days and weeks (IANA name).",
        "cost_mode": "auto (logged cost when present), calculate, or display (logged cost only).",
        "verbose": "Name every malformed line (file:line).",
        "no_ingest": "Report from the store without reading logs.",
        "json": "Print machine-readable JSON (schema in docs/cli-json.md)."}


INTERRUPTED = "interrupted; nothing is lost: run the command again to finish reading the logs"


class UsageError(Exception):
    """Bad option value: exit code 2."""


@dataclass
class Options:
    kind: str
    since: str | None = None
    until: str | None = None
    source: list[str] | None = None
    path: list[str] | None = None
    project: str | None = None
    host: str | None = None
    breakdown: bool = False
    by_host: bool = False
    timezone: str = "UTC"
    cost_mode: str | None = None
    json_out: bool = False
    verbose: bool = False
    no_ingest: bool = False


def _date(value: str | None) -> date | None:
    if not value:
        return None
    for fmt in ("%Y%m%d", "%Y-%m-%d"):
        try:
            return datetime.strptime(value, fmt).date()
        except ValueError:
            continue
    raise UsageError(f"not a date: {value!r} (use YYYYMMDD or YYYY-MM-DD)")


def _progress(quiet: bool) -> tuple[Any, Any]:
    state: dict[str, Any] = {}

    def progress(done: int, total: int) -> None:
        if quiet or total < PROGRESS_BYTES:
            return
        if "bar" not in state:
            from rich.console import Console
            from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn

            state["bar"] = Progress("reading agent logs", BarColumn(), DownloadColumn(), TimeRemainingColumn(),
                                    console=Console(stderr=True), transient=True)
            state["bar"].start()
            state["task"] = state["bar"].add_task("read", total=total)
        state["bar"].update(state["task"], completed=done)

    def stop() -> None:
        if "bar" in state:
            state["bar"].stop()
    return progress, stop


def ingest(env: Any, o: Options) -> Any:
    from quotawarden.app import agent_logs

    progress, stop = _progress(o.json_out)
    try:
        report = agent_logs.ingest_env(env, o.source or None, o.path or None, progress)
    finally:
        stop()
    if report.malformed and not o.json_out:
        sys.stderr.write(f"skipped {report.malformed} malformed log line(s)"
                         + ("" if o.verbose else " (--verbose names them)") + "\n")
        if o.verbose:
            sys.stderr.write("".join(f"  {where}\n" for where in report.malformed_at))
    if report.unpriced_models and not o.json_out:
        sys.stderr.write(f"no known price for: {', '.join(sorted(report.unpriced_models))} "
                         "(cost shown as unknown; add [logs.price_overrides])\n")
    return report


def run(env: Any, o: Options) -> None:
    """One command on a ``agent_logs.LogsEnv``; raises ``UsageError`` / ``QuotawardenError``."""
    from quotawarden.analysis.usage_report import ReportQuery
    from quotawarden.app import agent_logs

    if o.kind == "ingest":
        r = ingest(env, o)
        if o.json_out:
            _json(r.as_dict())
        else:
            sys.stdout.write(f"{r.files_read} file(s) read of {r.files_seen}, {r.lines:,} new lines, "
                             f"{r.events:,} usage events, {r.samples} quota samples, {r.malformed} malformed, "
                             f"{r.seconds:.2f}s\n")
        return
    since, until = _date(o.since), _date(o.until)
    mode = o.cost_mode or env.cost_mode
    if mode not in ("auto", "calculate", "display"):
        raise UsageError(f"--cost-mode must be auto, calculate or display, not {mode!r}")
    if not o.no_ingest:
        ingest(env, o)
    q = ReportQuery(kind=o.kind, since=since, until=until,  # type: ignore[arg-type]
                    source=o.source[0] if o.source and len(o.source) == 1 else None, project=o.project,
                    host=o.host, timezone=o.timezone, cost_mode=mode, breakdown=o.breakdown,  # type: ignore[arg-type]
                    by_host=o.by_host)
    data = agent_logs.report_env(env, q)
    if o.json_out:
        _json(data)
    else:
        from quotawarden.interfaces.cli.usage_table import print_table

        print_table(o.kind, data, o.breakdown, o.by_host)
        if not data.get(o.kind) and not o.since and not o.until and not o.project and not o.host:
            where = agent_logs.looked_in(env, o.source or None, o.path or None)
            sys.stderr.write("no agent usage found" + (" in: " + ", ".join(str(w) for w in where) if where else "")
                             + " (other folders: --path DIR or [logs] paths; agents on other machines: "
                               "OpenTelemetry to serve, see the README)\n")


def _json(data: Any) -> None:
    import orjson

    sys.stdout.write(orjson.dumps(data, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS,
                                  default=_decimal).decode() + "\n")


def _decimal(value: Any) -> float:
    """PostgreSQL sums come back as ``Decimal``: the JSON carries them as numbers, as on SQLite."""
    from decimal import Decimal

    if isinstance(value, Decimal):
        return float(value)
    raise TypeError(type(value).__name__)


def fast(argv: list[str]) -> int:
    """``main.FAST_PATHS`` entry: SQLite stores run here; anything else goes to the full typer CLI."""
    o = _parse(argv)
    env = None
    if o is not None:
        try:
            from quotawarden.app import agent_logs

            env = agent_logs.quick_env_from_files()
        except Exception:  # the full CLI reports config problems properly
            env = None
    from quotawarden.errors import QuotawardenError

    if o is None or env is None:
        from quotawarden.interfaces.cli.main import full

        full(["usage", *argv])
        return 0

    try:
        run(env, o)
    except KeyboardInterrupt:
        from quotawarden.interfaces.cli.main import interrupted

        raise interrupted(INTERRUPTED) from None
    except UsageError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 2
    except QuotawardenError as exc:
        from quotawarden.redact import redact_text

        sys.stderr.write(f"error: {redact_text(str(exc))}\n")
        return int(getattr(exc, "exit_code", 1))
    return 0


def _parse(argv: list[str]) -> Options | None:
    """The same options as the typer commands; None for anything it does not know (typer then explains)."""
    import argparse

    p = argparse.ArgumentParser(prog="quotawarden usage", add_help=False, exit_on_error=False)
    p.add_argument("kind", choices=[*KINDS, "ingest"])
    for flags, dest in ((("--since", "-s"), "since"), (("--until", "-u"), "until"),
                        (("--project", "-p"), "project"), (("--host",), "host"),
                        (("--timezone", "-z"), "timezone"), (("--cost-mode",), "cost_mode")):
        p.add_argument(*flags, dest=dest)
    for flags, dest in ((("--source",), "source"), (("--path",), "path")):
        p.add_argument(*flags, dest=dest, action="append")
    for flags, dest in ((("--breakdown", "-b"), "breakdown"), (("--by-host",), "by_host"),
                        (("--json",), "json_out"), (("--verbose", "-v"), "verbose"), (("--no-ingest",), "no_ingest")):
        p.add_argument(*flags, dest=dest, action="store_true")
    try:
        ns, rest = p.parse_known_args(argv)
    except (argparse.ArgumentError, SystemExit):
        return None
    if rest or (ns.kind == "ingest" and any(getattr(ns, k) for k in ("since", "until", "project", "host",
                                                                       "breakdown", "by_host", "no_ingest"))):
        return None
    return Options(**{k: v for k, v in vars(ns).items() if v is not None})


def register(app: Any) -> None:
    import typer

    from quotawarden.interfaces.cli.common import JsonOpt, fail, service

    def command(kind: str) -> Any:
        def cmd(
            ctx: typer.Context,
            since: str = typer.Option(None, "--since", "-s", help=HELP["since"]),
            until: str = typer.Option(None, "--until", "-u", help=HELP["until"]),
            source: list[str] = typer.Option(None, "--source", help=HELP["source"]),
            path: list[str] = typer.Option(None, "--path", help=HELP["path"]),
            project: str = typer.Option(None, "--project", "-p", help=HELP["project"]),
            host: str = typer.Option(None, "--host", help=HELP["host"]),
            breakdown: bool = typer.Option(False, "--breakdown", "-b", help=HELP["breakdown"]),
            by_host: bool = typer.Option(False, "--by-host", help=HELP["by_host"]),
            timezone: str = typer.Option("UTC", "--timezone", "-z", help=HELP["timezone"]),
            cost_mode: str = typer.Option(None, "--cost-mode", help=HELP["cost_mode"]),
            json_out: bool = JsonOpt,
            verbose: bool = typer.Option(False, "--verbose", "-v", help=HELP["verbose"]),
            no_ingest: bool = typer.Option(False, "--no-ingest", help=HELP["no_ingest"]),
        ) -> None:
            _typer_run(ctx, Options(kind, since, until, source, path, project, host, breakdown, by_host, timezone,
                                    cost_mode, json_out, verbose, no_ingest))

        cmd.__doc__ = KINDS[kind]
        return cmd

    def ingest_cmd(
        ctx: typer.Context,
        source: list[str] = typer.Option(None, "--source", help="Only this log source; repeatable."),
        path: list[str] = typer.Option(None, "--path", help=HELP["path"]),
        json_out: bool = JsonOpt,
        verbose: bool = typer.Option(False, "--verbose", "-v", help=HELP["verbose"]),
    ) -> None:
        """Read new agent-log lines into the store (what every report does first)."""
        _typer_run(ctx, Options("ingest", source=source, path=path, json_out=json_out, verbose=verbose))

    def _typer_run(ctx: typer.Context, o: Options) -> None:
        from quotawarden.app import agent_logs

        try:
            run(agent_logs.from_service(service(ctx)), o)
        except KeyboardInterrupt:  # before click turns it into "Aborted!" and exit 1
            from quotawarden.interfaces.cli.main import interrupted

            raise interrupted(INTERRUPTED) from None
        except UsageError as exc:
            fail(str(exc), 2)

    usage = typer.Typer(help="Agent usage and cost from local logs (Claude Code, Codex, OpenCode, Gemini CLI).",
                        no_args_is_help=True)
    for kind in KINDS:
        usage.command(kind)(command(kind))
    usage.command("ingest")(ingest_cmd)
    app.add_typer(usage, name="usage")
