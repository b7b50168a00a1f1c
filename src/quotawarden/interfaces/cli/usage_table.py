"""The rich table for ``quotawarden usage`` (imported only when a table is printed, not for ``--json``)."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table


def print_table(kind: str, data: dict[str, Any], breakdown: bool, by_host: bool) -> None:
    out = Console(highlight=False)
    if not out.is_terminal:  # a pipe, a file, CI: room instead of 80 columns
        out = Console(highlight=False, width=160)
    out.print(table(kind, data, breakdown, by_host))


def _money(value: float, unknown: int) -> str:
    return f"${value:,.2f}" + (" +?" if unknown else "")


def table(kind: str, data: dict[str, Any], breakdown: bool, by_host: bool) -> Table:
    t = Table(title=f"Agent usage ({kind}, {'cost: + ? = some models unpriced'})", title_justify="left")
    first = {"session": "Session", "blocks": "Block start"}.get(kind, "Period")
    for name in (first, "Models", "Input", "Output", "Cache write", "Cache read", "Total tokens", "Cost"):
        t.add_column(name, justify="left" if name in (first, "Models") else "right")
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
