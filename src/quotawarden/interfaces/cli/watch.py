"""``quotawarden watch``: a refreshing full-screen view. Keys: q quit, a all, r red, w warnings, p provider."""

from __future__ import annotations

import os
import select
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import typer
from rich.console import Console, Group
from rich.live import Live
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from quotawarden.interfaces.cli.common import JsonOpt, print_json, service
from quotawarden.interfaces.cli.render import STYLE
from quotawarden.interfaces.views import alerts as alerts_v
from quotawarden.interfaces.views._common import human, seconds_until

KEYS = "q quit · a all · r red only · w yellow+red · p next provider"
FILTERS = {"a": "all", "r": "red", "w": "warn"}


@dataclass
class ViewState:
    mode: str = "all"
    provider: str | None = None
    frames: int = 0
    providers: list[str] = field(default_factory=list)

    def key(self, ch: str) -> bool:
        """Apply one key; False means quit."""
        if ch in ("q", "Q", "\x03", "\x1b"):
            return False
        if ch in FILTERS:
            self.mode, self.provider = FILTERS[ch], None if ch == "a" else self.provider
        elif ch == "p" and self.providers:
            order = [None, *self.providers]
            self.provider = order[(order.index(self.provider) + 1) % len(order)]
        return True

    def keep(self, account: dict[str, Any]) -> bool:
        if self.provider and account["provider"] != self.provider:
            return False
        if self.mode == "red":
            return bool(account["status"] == "RED")
        if self.mode == "warn":
            return account["status"] in ("RED", "YELLOW")
        return True


def bar(ratio: float | None, status: str, width: int = 12) -> Text:
    if ratio is None:
        return Text("·" * width, style="dim")
    filled = max(0, min(width, round(ratio * width)))
    return Text("█" * filled, style=STYLE.get(status, "")) + Text("░" * (width - filled), style="dim")


def frame(report: dict[str, Any], alerts: list[dict[str, Any]], state: ViewState, now: datetime) -> Group:
    state.providers = sorted({a["provider"] for a in report["accounts"]})
    o = report["overall"]
    head = Text.assemble(("quotawarden watch  ", "bold"), *[(f"{o.get(k, 0)} {k}  ", STYLE[k])
                                                            for k in ("RED", "YELLOW", "GREEN", "UNKNOWN")],
                         (f"filter: {state.mode}{' / ' + state.provider if state.provider else ''}  ", "cyan"),
                         (f"{now:%H:%M:%S} UTC  #{state.frames}", "dim"))
    table = Table(expand=True, pad_edge=False, box=None, header_style="bold")
    for col, kw in (("account", {"no_wrap": True}), ("window", {"no_wrap": True}), ("used", {}),
                    ("%", {"justify": "right"}), ("burn/h", {"justify": "right"}), ("exhausts", {}),
                    ("resets", {}), ("status", {})):
        table.add_column(col, **kw)
    for acc in (a for a in report["accounts"] if state.keep(a)):
        for i, w in enumerate(acc["windows"] or [None]):
            name = acc["id"] if i == 0 else ""
            if w is None:
                table.add_row(name, "-", bar(None, acc["status"]), "-", "-", "-", "-",
                              Text(acc["status"], style=STYLE[acc["status"]]))
                continue
            ratio, rate = w["used_ratio"], w.get("burn_rate_per_hour")
            table.add_row(name, w["name"], bar(ratio, w["status"]), f"{ratio * 100:.0f}" if ratio is not None else "-",
                          f"{rate * 100:.1f}%" if rate is not None else "-",
                          _in(seconds_until(w.get("exhausts_at"), now)), _in(seconds_until(w["resets_at"], now)),
                          Text(w["status"], style=STYLE.get(w["status"], "")))
    lines = [Text.assemble((f"{a['severity']:<8} ", "bold red" if a["severity"] == "critical" else "yellow"),
                           f"{a.get('account_id') or '-'}: {a['message']}") for a in alerts[:6]]
    panel = Panel(Group(*lines) if lines else Text("no open alerts", style="green"), title="alerts",
                  title_align="left")
    return Group(head, table, panel, Text(KEYS, style="dim"))


def _in(secs: float | None) -> str:
    return "-" if secs is None else f"in {human(secs)}" if secs >= 0 else "now"


@contextmanager
def keys() -> Iterator[Callable[[float], str | None]]:
    """A reader of single key presses (cbreak mode) when stdin is a terminal; restores the terminal afterwards."""
    if not sys.stdin.isatty():

        def wait(timeout: float) -> str | None:
            time.sleep(timeout)
            return None

        yield wait
        return
    import termios
    import tty

    fd = sys.stdin.fileno()
    saved = termios.tcgetattr(fd)
    tty.setcbreak(fd)

    def read(timeout: float) -> str | None:
        ready, _, _ = select.select([fd], [], [], timeout)
        return os.read(fd, 1).decode(errors="ignore") if ready else None

    try:
        yield read
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)


def watch(
    ctx: typer.Context,
    interval: float = typer.Option(5.0, "--interval", "-n", min=0.2, help="Seconds between refreshes."),
    once: bool = typer.Option(False, "--once", help="Draw one frame and exit (no full screen)."),
    red: bool = typer.Option(False, "--red", help="Start with only RED accounts shown."),
    json_out: bool = JsonOpt,
) -> None:
    """A live, full-screen status view: bars per window, burn rates, time to exhaustion and reset, open alerts."""
    svc = service(ctx)
    state = ViewState(mode="red" if red else "all")

    def render() -> Group:
        state.frames += 1
        return frame(svc.status_report(), alerts_v.list_alerts(svc, "open"), state, svc.now())

    if json_out:
        print_json({"status": svc.status_report(), "alerts": alerts_v.list_alerts(svc, "open")})
        return
    console = Console()
    if once:
        console.print(render())
        return
    with keys() as read, Live(render(), console=console, screen=True, auto_refresh=False) as live:
        deadline = time.monotonic() + interval
        while True:
            ch = read(max(deadline - time.monotonic(), 0.0))
            if ch is not None and not state.key(ch):
                break
            if ch is not None or time.monotonic() >= deadline:
                live.update(render(), refresh=True)
                if ch is None:
                    deadline = time.monotonic() + interval


def register(app: typer.Typer) -> None:
    app.command("watch")(watch)
