"""Rich renderings shared by ``status``, ``poll`` and ``demo``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from rich.table import Table
from rich.text import Text

from quotawarden.analysis.durations import human_duration

STYLE = {"GREEN": "green", "YELLOW": "yellow", "RED": "bold red", "UNKNOWN": "dim"}


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


def _num(v: float | None, unit: str) -> str:
    if v is None:
        return "-"
    if unit in ("usd", "cny"):
        return f"{'$' if unit == 'usd' else '¥'}{v:,.2f}"
    if abs(v) >= 1_000_000:
        return f"{v / 1_000_000:.1f}M"
    if abs(v) >= 10_000:
        return f"{v / 1000:.0f}k"
    return f"{v:g}"


def status_table(report: dict[str, Any], now: datetime) -> Table:
    table = Table(title="quota status", title_justify="left", expand=False, pad_edge=False)
    widths = {"account": 14, "provider": 9, "window": 8, "used": 4, "remaining": 6, "resets in": 6, "status": 7,
              "observed": 7}
    for col, width in widths.items():
        table.add_column(col, no_wrap=True, min_width=width)
    table.add_column("note", no_wrap=True, overflow="ellipsis", max_width=60, style="dim")
    for acc in report["accounts"]:
        style = STYLE.get(acc["status"], "")
        windows = acc["windows"] or [None]
        for i, w in enumerate(windows):
            first = i == 0
            if w is None:
                table.add_row(acc["id"], acc["provider"], "-", "-", "-", "-",
                              Text(acc["status"], style=style), "-", acc["reason"])
                continue
            ratio = w["used_ratio"]
            used = f"{ratio * 100:.0f}%" if ratio is not None else _num(w["used"], w["unit"])
            observed = _since(w["observed_at"], now)
            table.add_row(
                acc["id"] if first else "", acc["provider"] if first else "", w["name"], used,
                _num(w["remaining"], w["unit"]), human_delta(_since(w["resets_at"], now)),
                Text(w["status"], style=STYLE.get(w["status"], "")),
                _ago(observed),
                acc["reason"] if first and acc["status"] != "GREEN" else "",
            )
    return table


def overall_line(report: dict[str, Any]) -> Text:
    o = report["overall"]
    parts = [Text(f"{o.get(k, 0)} {k}", style=STYLE[k]) for k in ("RED", "YELLOW", "GREEN", "UNKNOWN")]
    return Text("Overall: ").append(Text(", ").join(parts))
