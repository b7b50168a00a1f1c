"""``status`` as text, from its report (``Service.status_report``'s dict): the table, the overall line and the lines
after it. The full CLI (``cli.status``, ``poll``, ``demo``) and the fast path (``interfaces.fast.status``) both
draw with these functions, without rich, so the two paths print the same bytes.

Numbers are printed whole (``number``): never shortened, never cut; a table too wide for the terminal drops
columns and moves notes under itself instead (``table.layout``).
"""

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from quotawarden.analysis.durations import human_duration
from quotawarden.interfaces.views.table import PLAIN, Cell, Col, Ink, Styled, draw, wrap

STYLE = {"GREEN": "green", "YELLOW": "yellow", "RED": "bold red", "UNKNOWN": "dim"}
MONEY = ("usd", "cny")
TITLE = "quota status"
NO_ACCOUNTS = ("No accounts yet. Add some with `quotawarden accounts discover --add` (the keys and logins found on "
               "this machine) or write a config with `quotawarden config init`; `quotawarden demo` shows it all "
               "on made-up accounts.")
EXIT_YELLOW, EXIT_RED = 10, 11
"""``status --check``'s exit codes."""
QUIET_PAGES = ("operational", "unknown")
"""Status-page states that say nothing worth a line."""


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


def resets_in(window: Mapping[str, Any], now: datetime) -> str:
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


def used_text(window: Mapping[str, Any]) -> str:
    """Money spent as money (``$2.37``), anything else as a share of its limit (``62%``) when that is known."""
    used, ratio, unit = window["used"], window["used_ratio"], window["unit"]
    if used is not None and (unit in MONEY or ratio is None):
        return number(used, unit)
    return percent(ratio) if ratio is not None else "-"


STATUS_COLS = (Col("account"), Col("provider", drop=2), Col("window"), Col("used", "num", justify="right"),
               Col("remaining", "num", justify="right"), Col("resets in"), Col("status"),
               Col("observed", drop=1), Col("note", "note"))


def table(report: Mapping[str, Any], now: datetime, width: int | None, ink: Ink = PLAIN) -> list[str]:
    """Every account's windows: one row each; the account's reason on its first row when it is not GREEN."""
    rows: list[list[Cell]] = []
    ids: list[str] = []
    for acc in report["accounts"]:
        style = STYLE.get(acc["status"], "")
        note = acc["reason"] if acc["status"] != "GREEN" else ""
        for i, w in enumerate(acc["windows"] or [None]):
            first = i == 0
            ids.append(acc["id"])
            if w is None:
                rows.append([acc["id"], acc["provider"], "-", "-", "-", "-", Styled(acc["status"], style), "-",
                             acc["reason"]])
                continue
            used = "stale" if w.get("stale") else used_text(w)
            rows.append([acc["id"] if first else "", acc["provider"] if first else "", w["name"], used,
                         number(w["remaining"], w["unit"]), resets_in(w, now),
                         Styled(w["status"], STYLE.get(w["status"], "")),
                         _ago(_since(w["observed_at"], now)), note if first else ""])
    return draw(TITLE, STATUS_COLS, rows, width, ids, ink)


def overall(report: Mapping[str, Any], ink: Ink = PLAIN) -> str:
    o = report["overall"]
    return "Overall: " + ", ".join(ink(f"{o.get(k, 0)} {k}", STYLE[k]) for k in ("RED", "YELLOW", "GREEN", "UNKNOWN"))


def exit_code(report: Mapping[str, Any]) -> int:
    """``--check``: 11 if any account is RED, 10 if any is YELLOW, else 0."""
    overall = report["overall"]
    return EXIT_RED if overall.get("RED") else EXIT_YELLOW if overall.get("YELLOW") else 0


def backlog_line(waiting: int, folder: str) -> str:
    return (f"{waiting} proxy usage record(s) are not in the store yet: they wait in {folder} and are stored when "
            "`quotawarden proxy` or `serve --with-proxy` starts again")


def lines(report: Mapping[str, Any], now: datetime, width: int | None, *, filtered: bool = False,
          backlog: tuple[int, str] | None = None, ink: Ink = PLAIN) -> list[str]:
    """``status``'s whole text: the table and the overall line (or, with no account at all and no ``--account``
    filter, how to add some), then the proxy's backlog when one waits and every status page that is not quiet.
    ``width`` None (``--wide``): nothing is fitted or wrapped."""
    if not report["accounts"] and not filtered:
        return wrap([NO_ACCOUNTS], width, ink)
    out = [*table(report, now, width, ink), overall(report, ink)]
    if backlog and backlog[0]:
        out += wrap([Styled(backlog_line(*backlog), "yellow")], width, ink)
    for provider, page in (report.get("services") or {}).items():
        if page["state"] not in QUIET_PAGES:
            out += wrap([Styled(f"{provider} status page: {page['description'] or page['state']}", "yellow")],
                        width, ink)
    return out
