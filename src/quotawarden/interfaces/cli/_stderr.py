"""Lines on stderr that the typer commands and the fast paths share; rich is imported only to write one."""

from __future__ import annotations

from collections.abc import Sequence


def config_warnings(warnings: Sequence[str]) -> None:
    """Each of the config's warnings, ``warning:`` in yellow on a terminal."""
    if not warnings:
        return
    from rich.console import Console
    from rich.text import Text

    out = Console(stderr=True, highlight=False)
    for w in warnings:
        out.print(Text.assemble(("warning:", "yellow"), f" {w}"), highlight=False)
