"""``quotawarden summary``: the wake-prompt block. Runs through ``main.FAST_PATHS`` without importing typer.

The typer command registered below gives it ``--help`` and lets it run after root options
(``quotawarden --config x summary``); both routes end in :func:`run`.
"""

from typing import TYPE_CHECKING, Any

from quotawarden.interfaces.fast.summary import run

if TYPE_CHECKING:
    import argparse

    import typer

HELP = ("A compact block for an agent's start-up prompt: one line per account (status, worst window %, time to "
        "reset) and 'use X, avoid Y'. Reads the store only; never calls a provider.")
FORMAT_HELP = ("A template applied to each account, e.g. '{icon} {id} {worst_pct}'. Fields: id, provider, pool, "
               "status, icon, window, worst_pct, resets_in, age, stale, reason, use, avoid, models.")
JOIN_HELP = "Separator between accounts (use ' | ' for a one-line status bar)."


DEFAULTS: dict[str, Any] = {"fmt": None, "join": None, "json_out": False, "header": True, "config": None, "db": None}
"""What :func:`parser` gives for no options (a test keeps them equal): the everyday call, a prompt hook's, skips
importing ``argparse``."""


def parser() -> "argparse.ArgumentParser":
    import argparse

    p = argparse.ArgumentParser(prog="quotawarden summary", description=HELP)
    p.add_argument("--format", "-f", dest="fmt", help=FORMAT_HELP)
    p.add_argument("--join", help=JOIN_HELP)
    p.add_argument("--json", dest="json_out", action="store_true")
    p.add_argument("--no-header", dest="header", action="store_false")
    p.add_argument("--config", "-c")
    p.add_argument("--db")
    return p


def fast(argv: list[str]) -> int:
    return run(**(vars(parser().parse_args(argv)) if argv else DEFAULTS))


def register(app: "typer.Typer") -> None:
    import typer

    from quotawarden.interfaces.cli.common import JsonOpt

    @app.command("summary", help=HELP)
    def summary_cmd(
        ctx: typer.Context,
        fmt: str = typer.Option(None, "--format", "-f", help=FORMAT_HELP),
        join: str = typer.Option(None, "--join", help=JOIN_HELP),
        header: bool = typer.Option(True, "--header/--no-header", help="Print the counts line first."),
        json_out: bool = JsonOpt,
    ) -> None:
        state = ctx.find_root().obj
        code = run(fmt=fmt, join=join, json_out=json_out, header=header, config=state.config_path, db=state.db_url)
        if code:
            raise typer.Exit(code)
