"""Rich renderings shared by ``status``, ``poll`` and ``demo``: tables that fit the terminal.

A table never cuts a number: at a narrow width it drops its optional columns first (provider, last observed),
then moves the notes under the table as wrapped lines; ``--wide`` (``width=None``) shows every column in full.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from rich import box
from rich.cells import cell_len
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from quotawarden.analysis.durations import human_duration

STYLE = {"GREEN": "green", "YELLOW": "yellow", "RED": "bold red", "UNKNOWN": "dim"}
MONEY = ("usd", "cny")
NOTE_MIN = 24
"""A note column narrower than this goes under the table instead."""
GAP = 2
"""Cells between two columns (one padding cell on each side; the simple box draws no vertical lines)."""


def human_delta(seconds: float | None) -> str:
    if seconds is not None and -1 < seconds < 1:
        return "now"
    return human_duration(seconds, signed=True)


def _since(iso: str | None, now: datetime) -> float | None:
    if not iso:
        return None
    return (datetime.fromisoformat(iso.replace("Z", "+00:00")) - now).total_seconds()


def _ago(delta: float | None) -> str:
    if delta is None:
        return "-"
    return "just now" if delta > -1 else f"{human_delta(-delta)} ago"


def resets_in(window: dict[str, Any], now: datetime) -> str:
    """Time to the window's reset; ``reset`` once that time has passed (a stale reading), ``-`` when unknown."""
    secs = _since(window.get("resets_at"), now)
    if secs is None:
        return "-"
    if secs <= -1 or (window.get("stale") and secs < 1):
        return "reset"
    return human_delta(secs)


def number(v: float | None, unit: str) -> str:
    """A value in full: ``$1,234.56``, ``¥80.00``, ``1,999,000``, ``0.5``; never shortened, never cut."""
    if v is None:
        return "-"
    if unit in MONEY:
        return f"{'-' if v < 0 else ''}{'$' if unit == 'usd' else '¥'}{abs(v):,.2f}"
    if float(v).is_integer():
        return f"{v:,.0f}"
    return f"{v:,.2f}".rstrip("0").rstrip(".") if abs(v) >= 1 else f"{v:.4g}"


def percent(ratio: float) -> str:
    return f"{ratio * 100:.0f}%"


def used_text(window: dict[str, Any]) -> str:
    """Money spent as money (``$2.37``), anything else as a share of its limit (``62%``) when that is known."""
    used, ratio, unit = window["used"], window["used_ratio"], window["unit"]
    if used is not None and (unit in MONEY or ratio is None):
        return number(used, unit)
    return percent(ratio) if ratio is not None else "-"


@dataclass(frozen=True)
class Col:
    name: str
    kind: Literal["text", "num", "note"] = "text"
    drop: int = 0
    """0: always shown; otherwise dropped at narrow widths, the highest first."""
    justify: Literal["left", "right"] = "left"


Cell = str | Text


def fit_table(title: str, cols: Sequence[Col], rows: Sequence[Sequence[Cell]], width: int | None,
              row_ids: Sequence[str] | None = None) -> RenderableType:
    """A table within ``width`` cells (None: as wide as its content). Columns marked ``drop`` go first, then the
    note column moves under the table as ``id: note`` lines, wrapped; the other cells are never wrapped or cut."""
    natural = [max([cell_len(c.name), *(cell_len(str(r[i])) for r in rows)]) for i, c in enumerate(cols)]
    keep = list(range(len(cols)))
    note = next((i for i, c in enumerate(cols) if c.kind == "note"), None)
    below = False
    if width is not None:
        def used(idx: list[int]) -> int:
            return sum(natural[i] for i in idx if i != note) + GAP * (len(idx) - 1)

        for level in sorted({c.drop for c in cols if c.drop}, reverse=True):
            if used(keep) + (GAP + NOTE_MIN if note in keep else 0) <= width:
                break
            keep = [i for i in keep if cols[i].drop != level]
        if note is not None and used(keep) + GAP + min(NOTE_MIN, natural[note]) > width:
            keep, below = [i for i in keep if i != note], True
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
    if not below or note is None:
        return table
    notes = [Text.assemble((f"{rid}: ", "bold"), (str(r[note]), "dim"))
             for rid, r in zip(row_ids or [str(r[0]) for r in rows], rows, strict=True) if str(r[note])]
    return Group(table, *notes)


STATUS_COLS = (Col("account"), Col("provider", drop=2), Col("window"), Col("used", "num", justify="right"),
               Col("remaining", "num", justify="right"), Col("resets in"), Col("status"),
               Col("observed", drop=1), Col("note", "note"))


def status_table(report: dict[str, Any], now: datetime, width: int | None = None) -> RenderableType:
    """Every account's windows: one row each; the account's reason on its first row when it is not GREEN."""
    rows: list[list[Cell]] = []
    ids: list[str] = []
    for acc in report["accounts"]:
        style = STYLE.get(acc["status"], "")
        note = acc["reason"] if acc["status"] != "GREEN" else ""
        windows = acc["windows"] or [None]
        for i, w in enumerate(windows):
            first = i == 0
            ids.append(acc["id"])
            if w is None:
                rows.append([acc["id"], acc["provider"], "-", "-", "-", "-", Text(acc["status"], style=style), "-",
                             acc["reason"]])
                continue
            used = "stale" if w.get("stale") else used_text(w)
            rows.append([acc["id"] if first else "", acc["provider"] if first else "", w["name"], used,
                         number(w["remaining"], w["unit"]), resets_in(w, now),
                         Text(w["status"], style=STYLE.get(w["status"], "")),
                         _ago(_since(w["observed_at"], now)), note if first else ""])
    return fit_table("quota status", STATUS_COLS, rows, width, ids)


def overall_line(report: dict[str, Any]) -> Text:
    o = report["overall"]
    parts = [Text(f"{o.get(k, 0)} {k}", style=STYLE[k]) for k in ("RED", "YELLOW", "GREEN", "UNKNOWN")]
    return Text("Overall: ").append(Text(", ").join(parts))
