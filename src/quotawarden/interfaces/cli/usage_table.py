"""The rich table for ``quotawarden usage`` (imported only when a table is printed, not for ``--json``)."""

from __future__ import annotations

import os
from typing import Any

from rich import box
from rich.cells import cell_len
from rich.console import Console
from rich.table import Table


def print_table(kind: str, data: dict[str, Any], breakdown: bool, by_host: bool) -> None:
    out = Console(highlight=False)
    if not out.is_terminal and "COLUMNS" not in os.environ:  # a pipe, a file, CI: room instead of 80 columns
        out = Console(highlight=False, width=160)
    t = table(kind, data, breakdown, by_host)
    fit_models(t, out)
    out.print(t)


def fit_models(t: Table, out: Console) -> None:
    """Give the Models column what the others leave of the width (they are never wrapped or cut): rich's own
    sharing squeezes it far below that."""
    widths = [max([*(cell_len(line) for line in str(c.header).splitlines()),
                   *(cell_len(str(cell)) for cell in c.cells)], default=0) for c in t.columns]
    fixed = sum(w for i, w in enumerate(widths) if i != 1)
    gap = 3  # a padding cell each side and the box's blank divider
    if fixed + gap * (len(widths) - 1) + MODELS_MIN > out.width:
        t.padding, gap = (0, 0), 1  # narrow: the divider alone separates the columns
    others = fixed + gap * (len(widths) - 1)
    if others + widths[1] > out.width:
        t.columns[1].width = max(MODELS_MIN, out.width - others)


MODELS_MIN = 12


def _money(value: float, unknown: int) -> str:
    return f"${value:,.2f}" + (" +?" if unknown else "")


def table(kind: str, data: dict[str, Any], breakdown: bool, by_host: bool) -> Table:
    t = Table(title=f"Agent usage ({kind}, {'cost: + ? = some models unpriced'})", title_justify="left",
              box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    first = {"session": "Session", "blocks": "Block start"}.get(kind, "Period")
    t.add_column(first, no_wrap=True)
    t.add_column("Models", overflow="fold")  # the one column that wraps: numbers are never wrapped or cut
    for name in ("Input", "Output", "Cache\nwrite", "Cache\nread", "Total\ntokens", "Cost"):
        t.add_column(name, justify="right", no_wrap=True)
    for item in data[kind]:
        label = item["period"] + (" (active)" if item.get("isActive") else " (gap)" if item.get("isGap") else "")
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
    return int(m["inputTokens"] + m["outputTokens"] + m["cacheCreationTokens"] + m["cacheReadTokens"]
               + m.get("reasoningTokens", 0))


def _nums(d: dict[str, Any]) -> list[str]:
    return [f"{d[k]:,}" for k in ("inputTokens", "outputTokens", "cacheCreationTokens", "cacheReadTokens",
                                  "totalTokens")]
