"""Builds the typer application from the command modules in this package."""

from __future__ import annotations

import pkgutil
from importlib import import_module

import typer

import quotawarden
from quotawarden.interfaces.cli.common import State

_SKIP = {"main", "app", "common"}


def _version(value: bool) -> None:
    if value:
        typer.echo(f"quotawarden {quotawarden.__version__}")
        raise typer.Exit()


ONE_MODULE = {"serve": "serve", "proxy": "proxy", "status": "status"}
"""Commands that build the application with their own module only: a long-running process (``serve``, ``proxy``)
keeps in memory what it imported, and ``status`` is typed often; ``--help`` still lists every command."""


def build_app(command: str | None = None) -> typer.Typer:
    """Every command; with ``command`` one of :data:`ONE_MODULE`, only the module that defines it."""
    only = ONE_MODULE.get(command or "")
    app = typer.Typer(
        name="quotawarden", no_args_is_help=True, pretty_exceptions_enable=False, add_completion=False,
        rich_markup_mode=None,  # help is plain text: "[[accounts]]" or "[alerts]" in a help string stays as written
        help="Watch every LLM quota, rate limit, balance and dollar across your accounts.",
        context_settings={"help_option_names": ["-h", "--help"]},
    )

    @app.callback()
    def root(
        ctx: typer.Context,
        config: str = typer.Option(None, "--config", "-c", envvar="QUOTAWARDEN_CONFIG",
                                   help="Config file (default: the platform config dir's config.toml)."),
        db: str = typer.Option(None, "--db", help="Database URL (overrides database.url / QUOTAWARDEN_DB_URL)."),
        version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                     help="Print the version and exit."),
    ) -> None:
        if ctx.obj is None:
            ctx.obj = State(config, db)

    for info in sorted(pkgutil.iter_modules(_pkg_path()), key=lambda m: m.name):
        if info.name in _SKIP or info.name.startswith("_") or (only is not None and info.name != only):
            continue
        module = import_module(f"quotawarden.interfaces.cli.{info.name}")
        register = getattr(module, "register", None)
        if register is not None:
            register(app)
    return app


def _pkg_path() -> list[str]:
    from quotawarden.interfaces import cli

    return list(cli.__path__)
