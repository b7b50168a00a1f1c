"""``quotawarden watch``: a refreshing full-screen view that fits the terminal (see ``watch_view``).

Keys: ↑/↓ or j/k move, PgUp/PgDn page, Home/End, ``/`` filter (enter keeps, esc clears), ``g`` group by provider,
enter (or →/←) opens and closes a group or an account's other windows, ``r`` red only, ``w`` yellow and red,
``a`` all, ``p`` next provider, ``q`` quit.
"""

from __future__ import annotations

import os
import select
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import typer
from rich.console import Console, Group
from rich.live import Live

from quotawarden.interfaces.cli.common import JsonOpt, print_json, service
from quotawarden.interfaces.cli.watch_view import ViewState, frame
from quotawarden.interfaces.views import alerts as alerts_v

SEQUENCES = {"\x1b[A": "up", "\x1b[B": "down", "\x1b[C": "right", "\x1b[D": "left", "\x1bOA": "up",
             "\x1bOB": "down", "\x1bOC": "right", "\x1bOD": "left", "\x1b[5~": "pgup", "\x1b[6~": "pgdn",
             "\x1b[H": "home", "\x1b[F": "end", "\x1bOH": "home", "\x1bOF": "end", "\x1b[1~": "home",
             "\x1b[4~": "end", "\x1b[7~": "home", "\x1b[8~": "end"}
SINGLE = {"\r": "enter", "\n": "enter", "\x7f": "backspace", "\x08": "backspace", "\x03": "ctrl-c", "\x1b": "esc"}


def decode(data: str) -> list[str]:
    """Key names from what the terminal sent: escape sequences (arrows, pages, home/end), control keys and text."""
    keys, i = [], 0
    while i < len(data):
        for seq, name in SEQUENCES.items():
            if data.startswith(seq, i):
                keys.append(name)
                i += len(seq)
                break
        else:
            if data[i] == "\x1b" and i + 1 < len(data) and data[i + 1] in "[O":  # an unknown sequence: skip it
                j = i + 2
                while j < len(data) and not (data[j].isalpha() or data[j] == "~"):
                    j += 1
                i = j + 1
                continue
            keys.append(SINGLE.get(data[i], data[i]))
            i += 1
    return keys


@contextmanager
def keys() -> Iterator[Callable[[float], list[str]]]:
    """A reader of key presses (cbreak mode) when stdin is a terminal; restores the terminal afterwards."""
    if not sys.stdin.isatty():

        def wait(timeout: float) -> list[str]:
            time.sleep(timeout)
            return []

        yield wait
        return
    import termios
    import tty

    fd = sys.stdin.fileno()
    saved = termios.tcgetattr(fd)
    tty.setcbreak(fd)

    def read(timeout: float) -> list[str]:
        ready, _, _ = select.select([fd], [], [], timeout)
        if not ready:
            return []
        data = os.read(fd, 256)
        while data.endswith(b"\x1b") or data[-3:-1] in (b"\x1b[", b"\x1bO"):  # a sequence split across reads
            if not select.select([fd], [], [], 0.05)[0]:
                break
            data += os.read(fd, 256)
        return decode(data.decode(errors="ignore"))

    try:
        yield read
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)


def watch(
    ctx: typer.Context,
    interval: float = typer.Option(5.0, "--interval", "-n", min=0.2, help="Seconds between refreshes."),
    once: bool = typer.Option(False, "--once", help="Draw one frame and exit (no full screen)."),
    red: bool = typer.Option(False, "--red", help="Start with only RED accounts shown."),
    group: bool = typer.Option(False, "--group", help="Start grouped by provider (g toggles)."),
    json_out: bool = JsonOpt,
) -> None:
    """A live, full-screen status view that fits the terminal: one row per account, most urgent first (RED, then
    the soonest exhaustion), scrolling, a filter, grouping by provider, the open alerts and the keys always shown.
    """
    svc = service(ctx)
    state = ViewState(mode="red" if red else "all", grouped=group)
    console = Console()

    def render() -> Group:
        state.frames += 1
        width, height = console.size
        return frame(svc.status_report(), alerts_v.list_alerts(svc, "open"), state, svc.now(), width,
                     None if once else height)

    if json_out:
        print_json({"status": svc.status_report(), "alerts": alerts_v.list_alerts(svc, "open")})
        return
    if once:
        console.print(render())
        return
    with keys() as read, Live(render(), console=console, screen=True, auto_refresh=False) as live:
        deadline = time.monotonic() + interval
        while True:
            pressed = read(max(deadline - time.monotonic(), 0.0))
            if not all(state.key(k) for k in pressed):
                break
            if pressed or time.monotonic() >= deadline:
                live.update(render(), refresh=True)
                if not pressed:
                    deadline = time.monotonic() + interval


def register(app: typer.Typer) -> None:
    app.command("watch")(watch)
