"""How a long-running command (``serve``, ``proxy``) starts through ``main.FAST_PATHS``: its options parsed with
argparse, so the process keeps none of the typer CLI (typer, click, rich) in memory for its whole life; ``--help``
and anything the parser does not take go to the typer command, which ends in the same ``start``."""

import sys
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from quotawarden.app.service import Service

NEVER_USED = ("httpx._main", "watchfiles")
"""Optional parts of the daemon's libraries it never uses, each with a fallback for when it cannot be imported:
httpx's command line (rich, pygments), uvicorn's reloader on file changes (``--reload``, not an option of ``serve``:
uvicorn falls back to polling file times). Refused in a long-running process, about 6 MB stay unloaded."""


def service() -> "Service":
    """The config and the store the environment names, as the typer root reads them; its warnings said."""
    from quotawarden.app.service import build_service
    from quotawarden.interfaces.cli._stderr import config_warnings

    svc = build_service()
    config_warnings(svc.config.warnings)
    return svc


def launch(command: str, argv: list[str], options: Mapping[str, Any] | None,
           start: Callable[..., None]) -> int:
    """Run ``start(service, **options)`` behind the CLI's last line of defence; ``options`` None (the parser did
    not take ``argv``) hands the whole command to typer."""
    if options is None:
        from quotawarden.interfaces.cli.main import full

        full([command, *argv])
        return 0
    for name in NEVER_USED:
        sys.modules.setdefault(name, None)  # type: ignore[arg-type]  # importing it raises ImportError
    from quotawarden.interfaces.cli.main import defended

    defended(lambda: start(service, **options))
    return 0
