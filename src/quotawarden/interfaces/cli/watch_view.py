"""What ``watch`` shows and how keys move it: rows (grouped or flat, filtered, most urgent first), a cursor and
a scroll offset, laid out to fit the terminal with the alerts box and the key help always on screen.

Pure: a status report, open alerts, a size and ``now`` in; rich renderables out. ``watch.py`` owns the terminal.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from rich.console import Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from quotawarden.interfaces.views._common import human, seconds_until
from quotawarden.interfaces.views.status_text import STYLE
from quotawarden.interfaces.views.urgency import account_key, by_urgency, urgent_window, window_key

KEYS_WIDE = ("↑↓/jk move · PgUp/PgDn page · / filter · g group · enter open · r red · w warn · a all · "
             "p provider · q quit")
KEYS_NARROW = "↑↓ jk PgUp PgDn · / filter · g group · ⏎ open · r red · w warn · a all · q quit"
MODES = {"r": "red", "w": "warn", "a": "all"}
ALERT_LINES = 3
"""Open alerts listed in the box at most (more are counted in its title); fewer on a very short terminal."""


@dataclass
class Row:
    kind: str  # "group", "account" or "window"
    key: str  # provider for a group, account id otherwise
    account: dict[str, Any] | None = None
    window: dict[str, Any] | None = None
    count: int = 0  # accounts in a group
    statuses: dict[str, int] = field(default_factory=dict)


@dataclass
class ViewState:
    mode: str = "all"  # all | red | warn
    provider: str | None = None
    query: str = ""
    typing: bool = False  # reading the filter text after "/"
    grouped: bool = False
    expanded: set[str] = field(default_factory=set)  # open provider groups and accounts
    cursor: int = 0
    offset: int = 0
    page: int = 10  # body rows on screen, set by each layout
    frames: int = 0
    providers: list[str] = field(default_factory=list)
    rows: list[Row] = field(default_factory=list)

    def key(self, k: str) -> bool:
        """Apply one key (a character, or ``up``, ``down``, ``pgup``, ``pgdn``, ``home``, ``end``, ``enter``,
        ``esc``, ``backspace``); False means quit."""
        if self.typing:
            return self._type(k)
        if k in ("q", "Q", "ctrl-c") or (k == "esc" and not self.query):
            return False
        moves = {"up": -1, "k": -1, "down": 1, "j": 1, "home": -10**9, "end": 10**9}
        if k in moves:
            self.move(moves[k])
        elif k in ("pgup", "pgdn"):  # the view turns a page and the cursor goes with it
            step = self.page if k == "pgdn" else -self.page
            self.offset = max(0, min(self.offset + step, len(self.rows) - self.page))
            self.move(step)
        elif k == "esc":
            self.query = ""
        elif k == "/":
            self.typing, self.query = True, ""
        elif k in MODES:
            self.mode = MODES[k]
            if k == "a":
                self.provider, self.query = None, ""
        elif k == "p" and self.providers:
            order = [None, *self.providers]
            self.provider = order[(order.index(self.provider) + 1) % len(order)] if self.provider in order else None
        elif k == "g":
            self.grouped, self.cursor, self.offset = not self.grouped, 0, 0
        elif k in ("enter", " ", "right", "left", "l", "h"):
            self._toggle(None if k in ("enter", " ") else k in ("right", "l"))
        return True

    def _type(self, k: str) -> bool:
        if k == "ctrl-c":
            return False
        if k == "enter":
            self.typing = False
        elif k == "esc":
            self.typing, self.query = False, ""
        elif k == "backspace":
            self.query = self.query[:-1]
        elif len(k) == 1 and k.isprintable():
            self.query += k
        self.cursor = self.offset = 0
        return True

    def _toggle(self, open_: bool | None) -> None:
        if not self.rows:
            return
        row = self.rows[min(self.cursor, len(self.rows) - 1)]
        key = row.key if row.kind == "group" else f"@{row.key}"
        want = (key not in self.expanded) if open_ is None else open_
        if want:
            self.expanded.add(key)
        else:
            self.expanded.discard(key)
            if row.kind != "group" and self.grouped and open_ is False and row.account:  # left on an account:
                self.expanded.discard(row.account["provider"])  # close its group, as a tree does
                self.cursor = next(i for i, r in enumerate(self.rows)
                                   if r.kind == "group" and r.key == row.account["provider"])

    def move(self, delta: int) -> None:
        self.cursor = max(0, min(self.cursor + delta, len(self.rows) - 1))
        self.scroll()

    def scroll(self) -> None:
        """Keep the cursor on screen and the screen full."""
        self.cursor = max(0, min(self.cursor, len(self.rows) - 1))
        if self.cursor < self.offset:
            self.offset = self.cursor
        elif self.cursor >= self.offset + self.page:
            self.offset = self.cursor - self.page + 1
        self.offset = max(0, min(self.offset, len(self.rows) - self.page))

    def keep(self, account: dict[str, Any]) -> bool:
        if self.provider and account["provider"] != self.provider:
            return False
        if self.mode == "red" and account["status"] != "RED":
            return False
        if self.mode == "warn" and account["status"] not in ("RED", "YELLOW"):
            return False
        if self.query:
            hay = " ".join(str(account.get(k) or "") for k in ("id", "provider", "label", "plan", "pool", "status"))
            return all(word in hay.lower() for word in self.query.lower().split())
        return True

    def build_rows(self, accounts: list[dict[str, Any]], now: datetime) -> list[Row]:
        """The rows to show, most urgent first; sets ``rows`` and keeps the cursor in range."""
        self.providers = sorted({a["provider"] for a in accounts})
        kept = by_urgency([a for a in accounts if self.keep(a)], now)
        rows: list[Row] = []
        if self.grouped:
            groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
            for a in kept:
                groups[a["provider"]].append(a)
            for provider in sorted(groups, key=lambda p: (account_key(groups[p][0], now), p)):
                accs = groups[provider]
                counts = {s: sum(a["status"] == s for a in accs) for s in ("RED", "YELLOW", "GREEN", "UNKNOWN")}
                rows.append(Row("group", provider, count=len(accs), statuses=counts))
                if provider in self.expanded or self.query:  # a filter opens the groups it matches
                    rows.extend(r for a in accs for r in self._account_rows(a, now))
        else:
            rows.extend(r for a in kept for r in self._account_rows(a, now))
        self.rows = rows
        self.scroll()
        return self.rows

    def _account_rows(self, account: dict[str, Any], now: datetime) -> list[Row]:
        top = urgent_window(account, now)
        rows = [Row("account", account["id"], account, top)]
        if f"@{account['id']}" in self.expanded:
            rows += [Row("window", account["id"], account, w)
                     for w in sorted(account["windows"], key=lambda w: window_key(w, now)) if w is not top]
        return rows


def bar(ratio: float | None, status: str, width: int = 10) -> Text:
    if ratio is None:
        return Text("·" * width, style="dim")
    filled = max(0, min(width, round(ratio * width)))
    return Text("█" * filled, style=STYLE.get(status, "")) + Text("░" * (width - filled), style="dim")


def _in(secs: float | None) -> str:
    """A time ahead; one already past reads ``now`` (never a negative countdown)."""
    return "-" if secs is None else human(secs) if secs >= 1 else "now"


def _columns(width: int, grouped: bool) -> list[tuple[str, int, str]]:
    """(header, width, justify) per column; the account column takes what is left. Narrow terminals drop the
    provider (grouped rows already name it) and the burn rate."""
    cols = [("window", 7, "left"), ("used", 10, "left"), ("%", 4, "right")]
    if width >= 100:
        cols.append(("burn/h", 6, "right"))
    cols += [("exhausts", 8, "left"), ("resets", 7, "left"), ("status", 7, "left")]
    if width >= 96 and not grouped:
        cols.insert(0, ("provider", 10, "left"))
    return cols


def _table(state: ViewState, rows: list[Row], width: int, now: datetime, pad: int) -> Table:
    cols = _columns(width, state.grouped)
    fixed = sum(w for _, w, _ in cols) + 2 * len(cols)
    table = Table(box=None, pad_edge=False, show_edge=False, header_style="bold", expand=False,
                  width=min(width, fixed + max(14, width - fixed)))
    table.add_column("account", no_wrap=True, overflow="ellipsis", min_width=14, ratio=1)
    for name, w, justify in cols:
        table.add_column(name, no_wrap=True, overflow="ellipsis", width=w, justify=justify)  # type: ignore[arg-type]
    names = [c for c, _, _ in cols]
    for i, row in enumerate(rows, start=state.offset):
        selected = i == state.cursor
        cells = _cells(row, names, now, state)
        table.add_row(*cells, style="reverse" if selected else None)
    for _ in range(pad):  # blank rows keep the alerts box and the help in place
        table.add_row(*[""] * (len(cols) + 1))
    return table


def _cells(row: Row, names: list[str], now: datetime, state: ViewState) -> list[Text | str]:
    if row.kind == "group":
        mark = "▾" if row.key in state.expanded or state.query else "▸"
        head = Text(f"{mark} {row.key} ({row.count})", style="bold")
        counts = Text(" ").join(Text(f"{n}{s[0]}", style=STYLE[s]) for s, n in row.statuses.items() if n)
        worst = next((s for s, n in row.statuses.items() if n), "UNKNOWN")
        return [head, *[counts if n == "used" else Text(worst, style=STYLE[worst]) if n == "status" else ""
                        for n in names]]
    acc, w = row.account or {}, row.window
    if row.kind == "window":
        label: Text | str = Text("  └ ", style="dim")
    else:
        indent = "  " if state.grouped else ""
        more = len(acc.get("windows") or []) - 1
        opened = f"@{row.key}" in state.expanded
        label = Text(f"{indent}{acc['id']}") + (Text(f" {'−' if opened else '+'}{more}", style="dim")
                                                 if more > 0 else Text(""))
    if w is None:
        status = str(acc.get("status", "-"))
        values: dict[str, Text | str] = {"status": Text(status, style=STYLE.get(status, ""))}
    else:
        ratio, rate = w.get("used_ratio"), w.get("burn_rate_per_hour")
        values = {
            "window": w["name"], "used": bar(ratio, w["status"]),
            "%": f"{ratio * 100:.0f}" if ratio is not None else "-",
            "burn/h": f"{rate * 100:.1f}%" if rate is not None else "-",
            "exhausts": _in(seconds_until(w.get("exhausts_at"), now)),
            "resets": _in(seconds_until(w.get("resets_at"), now)),
            "status": Text(w["status"], style=STYLE.get(w["status"], "")),
        }
    values["provider"] = acc.get("provider", "")
    return [label, *[values.get(n, "-") for n in names]]


def _alerts_box(alerts: list[dict[str, Any]], lines: int) -> Panel:
    shown = [Text.assemble((f"{a['severity']:<8} ", "bold red" if a["severity"] == "critical" else "yellow"),
                           f"{a.get('account_id') or '-'}: {a['message']}", no_wrap=True, overflow="ellipsis")
             for a in alerts[:lines]]
    title = f"alerts ({len(alerts)} open" + (f", {lines} shown)" if len(alerts) > lines else ")")
    body = Group(*shown) if shown else Text("no open alerts", style="green")
    return Panel(body, title=title, title_align="left", height=max(len(shown), 1) + 2)


def frame(report: dict[str, Any], alerts: list[dict[str, Any]], state: ViewState, now: datetime,
          width: int = 80, height: int | None = 24) -> Group:
    """One screen of exactly ``height`` lines: header, table, alerts box, key help. ``height=None`` draws every
    row and up to twice as many alerts (``watch --once``)."""
    if height is None:
        alert_lines, state.page = max(1, min(len(alerts), 2 * ALERT_LINES)), 10**6
    else:
        alert_lines = max(1, min(len(alerts), ALERT_LINES, (height - 8) // 3))
        state.page = max(height - 3 - (alert_lines + 2), 1)  # header, table header, help line and the box
    rows = state.build_rows(report["accounts"], now)
    visible = rows[state.offset:state.offset + state.page]
    o = report["overall"]
    where = (f"{state.offset + 1}-{state.offset + len(visible)} of {len(rows)}" if rows else "nothing matches")
    filt = state.mode + (f" / {state.provider}" if state.provider else "") + (f" /{state.query}" if state.query else "")
    head = Text.assemble(("quotawarden watch ", "bold"),
                         *[(f"{o.get(k, 0)}{k[0]} ", STYLE[k]) for k in ("RED", "YELLOW", "GREEN", "UNKNOWN")],
                         (f"filter: {filt}  ", "cyan"), (f"{where}  ", ""),
                         (f"{now:%H:%M:%S} #{state.frames}", "dim"), no_wrap=True, overflow="ellipsis")
    if state.typing:
        help_line = Text.assemble(("filter: ", "cyan"), state.query, ("▏ enter keep · esc clear", "dim"),
                                  no_wrap=True, overflow="ellipsis")
    else:
        help_line = Text(KEYS_WIDE if width >= len(KEYS_WIDE) else KEYS_NARROW, style="dim", no_wrap=True,
                         overflow="ellipsis")
    pad = 0 if height is None else state.page - len(visible)
    return Group(head, _table(state, visible, width, now, pad), _alerts_box(alerts, alert_lines), help_line)
