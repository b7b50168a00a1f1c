"""Rich tables that fit the terminal, for ``poll`` and ``analyze`` (``status`` draws without rich:
``views.status_text``).

The layout is ``table.layout``'s, the one every table of the CLI follows: a table never cuts a number; at a narrow
width it drops its optional columns first (provider, last observed), then moves the notes under the table as wrapped
lines; ``--wide`` (``width=None``) shows every column in full.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich import box
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from quotawarden.interfaces.views.table import GAP, Col, layout

__all__ = ["GAP", "Cell", "Col", "fit_table"]

Cell = str | Text


def fit_table(title: str, cols: Sequence[Col], rows: Sequence[Sequence[Cell]], width: int | None,
              row_ids: Sequence[str] | None = None) -> RenderableType:
    """A table within ``width`` cells (None: as wide as its content), laid out by ``table.layout``."""
    keep, natural, below = layout(cols, [[str(c) for c in r] for r in rows], width)
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False,
                  expand=False, header_style="bold")
    for i in keep:
        c = cols[i]
        if c.kind == "note":
            table.add_column(c.name, style="dim", overflow="fold", no_wrap=width is None)
        else:
            table.add_column(c.name, no_wrap=True, min_width=natural[i], justify=c.justify)
    for r in rows:
        table.add_row(*[r[i] for i in keep])
    note = next((i for i, c in enumerate(cols) if c.kind == "note"), None)
    if not below or note is None:
        return table
    notes = [Text.assemble((f"{rid}: ", "bold"), (str(r[note]), "dim"))
             for rid, r in zip(row_ids or [str(r[0]) for r in rows], rows, strict=True) if str(r[note])]
    return Group(table, *notes)
