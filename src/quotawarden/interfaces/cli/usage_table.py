"""The table for ``quotawarden usage`` (imported only when a table is printed, not for ``--json``), drawn by
``views.table`` without rich: the Models column wraps inside its cell in what the other columns leave of the width
(never below ``MODELS_MIN``; at a narrow width the columns stand one cell apart); the numbers are never wrapped or
cut."""

import sys
from typing import Any

from quotawarden.interfaces.views.table import PLAIN, Cell, Col, Ink, Styled, draw, terminal_width

MODELS_MIN = 12
NUMBERS = ("Input", "Output", "Cache\nwrite", "Cache\nread", "Total\ntokens", "Cost")


def print_table(kind: str, data: dict[str, Any], breakdown: bool, by_host: bool) -> None:
    """The table at ``COLUMNS``, else the terminal's width, else (a pipe, a file, CI) ``table.PIPE_WIDTH``."""
    lines = table(kind, data, breakdown, by_host, terminal_width(sys.stdout), Ink.for_stream(sys.stdout))
    sys.stdout.write("\n".join(lines) + "\n")


def table(kind: str, data: dict[str, Any], breakdown: bool, by_host: bool, width: int | None,
          ink: Ink = PLAIN) -> list[str]:
    first = {"session": "Session", "blocks": "Block start"}.get(kind, "Period")
    cols = (Col(first), Col("Models", "fold", least=MODELS_MIN), *(Col(n, "num", justify="right") for n in NUMBERS))
    title = f"Agent usage ({kind}, {'cost: + ? = some models unpriced'})"
    return draw(title, cols, rows(kind, data, breakdown, by_host), width, ink=ink)


def rows(kind: str, data: dict[str, Any], breakdown: bool, by_host: bool) -> list[list[Cell]]:
    out: list[list[Cell]] = []
    for item in data[kind]:
        label = item["period"] + (" (active)" if item.get("isActive") else " (gap)" if item.get("isGap") else "")
        out.append([label, ", ".join(item["modelsUsed"]), *_nums(item),
                    _money(item["totalCost"], item.get("unknownCostEvents", 0))])
        if breakdown:
            out += [_styled("dim", "", f"  {m['modelName']}", *_nums({**m, "totalTokens": _sum(m)}),
                            _money(m["cost"], m.get("unknownCostEvents", 0))) for m in item["modelBreakdowns"]]
        if by_host:
            out += [_styled("dim", "", f"  host {h['host'] or '-'}", *_nums(h), _money(h["cost"], 0))
                    for h in item.get("hostBreakdowns", [])]
        if item.get("burnRate"):
            b, p = item["burnRate"], item["projection"]
            burn = (f"  burn {b['tokensPerMinute']:,.0f} tok/min, ${b['costPerHour']:,.2f}/h; "
                    f"projected {p['totalTokens']:,} tok, ${p['totalCost']:,.2f}")
            out.append(_styled("cyan", "", burn, *[""] * 6))
    tot = data["totals"]
    out.append(_styled("bold", "Total", "", *_nums(tot), _money(tot["totalCost"], tot.get("unknownCostEvents", 0))))
    return out


def _styled(style: str, *cells: str) -> list[Cell]:
    return [Styled(c, style) for c in cells]


def _money(value: float, unknown: int) -> str:
    return f"${value:,.2f}" + (" +?" if unknown else "")


def _sum(m: dict[str, Any]) -> int:
    return int(m["inputTokens"] + m["outputTokens"] + m["cacheCreationTokens"] + m["cacheReadTokens"]
               + m.get("reasoningTokens", 0))


def _nums(d: dict[str, Any]) -> list[str]:
    return [f"{d[k]:,}" for k in ("inputTokens", "outputTokens", "cacheCreationTokens", "cacheReadTokens",
                                  "totalTokens")]

