"""What every command shares: the lazily built service, JSON output, one-line errors."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NoReturn

import orjson
import typer
from rich.console import Console
from rich.text import Text

from quotawarden.errors import QuotawardenError
from quotawarden.redact import redact_text

if TYPE_CHECKING:
    from quotawarden.app.service import Service

JsonOpt = typer.Option(False, "--json", help="Print machine-readable JSON (schema in docs/cli-json.md).")


class State:
    """Per-invocation state on ``ctx.obj``: options from the root callback and the service once built."""

    def __init__(self, config: str | None, db: str | None) -> None:
        self.config_path = config
        self.db_url = db
        self._service: Service | None = None
        self.service_factory: Callable[[], Service] | None = None

    def service(self) -> Service:
        if self._service is None:
            from quotawarden.app.service import build_service

            self._service = (self.service_factory() if self.service_factory
                             else build_service(self.config_path, store_url=self.db_url))
            from quotawarden.interfaces.cli._stderr import config_warnings

            config_warnings(self._service.config.warnings)
        return self._service


def service(ctx: typer.Context) -> Service:
    """The application service (``quotawarden.app.service.Service``) for this invocation."""
    root = ctx.find_root()
    state: State = root.obj
    return state.service()


WideOpt = typer.Option(False, "--wide", "-w", help="Every column in full, however wide the terminal.")


def console(wide: bool = False) -> Console:
    """Stdout at the terminal's width, or ``COLUMNS``; a pipe or a file without ``COLUMNS`` gets 160 columns.
    ``wide``: no limit (tables take the width their content needs)."""
    if wide:
        return Console(highlight=False, width=100_000)
    out = Console(highlight=False)
    if not out.is_terminal and "COLUMNS" not in os.environ:
        out = Console(highlight=False, width=160)
    return out


def err_console() -> Console:
    return Console(stderr=True, highlight=False)


def print_json(data: Any) -> None:
    sys.stdout.write(orjson.dumps(data, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS,
                                  default=_default).decode() + "\n")


def _default(obj: Any) -> Any:
    from datetime import datetime
    from decimal import Decimal
    from enum import Enum

    if isinstance(obj, Decimal):
        return float(obj)
    if isinstance(obj, Enum):
        return obj.value
    if isinstance(obj, datetime):
        return obj.isoformat().replace("+00:00", "Z")
    raise TypeError(type(obj).__name__)


def fail(exc: QuotawardenError | str, code: int | None = None) -> NoReturn:
    msg = redact_text(str(exc))
    err_console().print(Text.assemble(("error:", "red"), f" {msg}"), highlight=False, soft_wrap=True)  # no markup:
    # a message may name a TOML table such as [[accounts]]
    raise SystemExit(code if code is not None else getattr(exc, "exit_code", 1))
