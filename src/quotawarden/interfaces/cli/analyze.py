"""``quotawarden analyze ...``: burn rates, resets, weekly history, underspend, rotation, anomalies, cost,
forecast, plan advice and fairness, each as a table or, with ``--json``, as data."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from enum import Enum
from typing import Any, Literal

import typer
from rich.cells import cell_len
from rich.text import Text

from quotawarden.analysis.durations import human_duration
from quotawarden.interfaces.cli.common import JsonOpt, console, print_json, service
from quotawarden.interfaces.cli.render import GAP, Col, fit_table

analyze = typer.Typer(help="Analyse quotas, costs and consumers from the store (no provider is called).",
                      no_args_is_help=True)


def plain(obj: Any) -> Any:
    """Dataclasses (and lists of them) as JSON-ready dicts."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: plain(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, list | tuple):
        return [plain(x) for x in obj]
    if isinstance(obj, dict):
        return {str(k): plain(v) for k, v in obj.items()}
    if isinstance(obj, datetime):
        return obj.replace(microsecond=0).isoformat().replace("+00:00", "Z")
    if isinstance(obj, Decimal):
        return float(obj)
    if isinstance(obj, Enum):
        return obj.value
    return obj


def _cell(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, int) and not isinstance(v, bool):
        return f"{v:,}"
    if isinstance(v, float):
        return f"{v:,.4g}" if abs(v) < 1000 else f"{v:,.0f}"
    return str(v)


Fmt = Literal["text", "num", "pct", "pct_h", "usd", "time", "note"]


@dataclass(frozen=True)
class F:
    """One column of an analyze table: the row's ``key``, its heading and how its value reads."""
    key: str
    label: str
    fmt: Fmt = "text"
    drop: int = 0
    """As :class:`render.Col`: 0 always shown, otherwise dropped at narrow widths, the highest first."""


def _value(v: Any, fmt: Fmt) -> str:
    """A cell as a person reads it: ratios as percentages, dollars with their sign, UTC times without seconds."""
    if v is None or v == "":
        return "-"
    if fmt == "pct":
        return f"{float(v) * 100:.0f}%"
    if fmt == "pct_h":
        return f"{float(v) * 100:.1f}%/h"
    if fmt == "usd":
        return f"{'-' if float(v) < 0 else ''}${abs(float(v)):,.2f}"
    if fmt == "time":
        at = v if isinstance(v, datetime) else datetime.fromisoformat(str(v).replace("Z", "+00:00"))
        return at.astimezone(UTC).strftime("%m-%d %H:%M")
    return _cell(v)


def show(rows: Sequence[dict[str, Any]], columns: Sequence[F], title: str, json_out: bool, data: Any = None,
         row_id: Callable[[dict[str, Any]], str] | None = None) -> None:
    """``rows`` as JSON (``data`` when given), or as a table that fits the terminal (``render.fit_table``: no
    number is cut; the ``note`` column moves under the table as ``id: note`` lines when the width is short)."""
    if json_out:
        print_json(plain(data if data is not None else rows))
        return
    out = console()
    if not rows:
        out.print(f"{title}: nothing to show", markup=False, highlight=False)
        return
    if any(c.fmt == "time" for c in columns):
        title += " (times UTC)"
    cols = [Col(c.label, "note" if c.fmt == "note" else "num" if c.fmt not in ("text", "time") else "text", c.drop,
                "right" if c.fmt not in ("text", "time", "note") else "left") for c in columns]
    cells: list[list[str | Text]] = [[Text(_value(r.get(c.key), c.fmt)) for c in columns] for r in rows]
    ids = [row_id(r) if row_id else _value(r.get(columns[0].key), "text") for r in rows]
    kept = [i for i, c in enumerate(columns) if not c.drop and c.fmt != "note"]
    least = sum(max([cell_len(cols[i].name), *(cell_len(str(r[i])) for r in cells)]) for i in kept) \
        + GAP * (len(kept) - 1)
    if least <= out.width:
        out.print(fit_table(title, cols, cells, out.width, ids))
        return
    out.print(title, markup=False, highlight=False)  # too narrow for any table: one wrapped line per row
    for rid, r in zip(ids, cells, strict=True):
        parts = [f"{cols[i].name} {r[i]}" for i in range(1, len(cols)) if str(r[i]) != "-"]
        out.print(Text(f"{rid}: " + ", ".join(parts)), highlight=False)


@analyze.command()
def burn(ctx: typer.Context, json_out: bool = JsonOpt) -> None:
    """Burn rate of every window (robust slope of the current segment), and when it runs out vs its reset."""
    keys = ("used_ratio", "burn_rate_per_hour", "burn_units_per_hour", "unit", "burn_samples", "projection",
            "status")
    rows = [{"account": a["id"], "window": w["name"], **{k: w.get(k) for k in keys}}
            for a in service(ctx).status_report()["accounts"] for w in a["windows"]]
    if json_out:
        print_json(rows)
        return
    for r in rows:  # native units per hour with their unit, for the table only
        units = r["burn_units_per_hour"]
        r["units_h"] = None if units is None else f"{_cell(float(units))} {r['unit']}/h"
    show(rows, [F("account", "account"), F("window", "window"), F("used_ratio", "used", "pct"),
                F("burn_rate_per_hour", "burn", "pct_h"), F("units_h", "units/h", "num", drop=2),
                F("burn_samples", "samples", "num", drop=1), F("status", "status"),
                F("projection", "projection", "note")],
         "burn rate (share of the limit per hour)", False, row_id=lambda r: f"{r['account']} {r['window']}")


@analyze.command("schedule")
def schedule_cmd(ctx: typer.Context, hours: float = typer.Option(48, "--hours", help="Look this far ahead."),
                 json_out: bool = JsonOpt) -> None:
    """Windows that reset within the next HOURS, soonest first."""
    resets = service(ctx).schedule(hours)
    rows = [{**plain(r), "in": human_duration(r.in_minutes * 60)} for r in resets]
    show(rows, [F("account_id", "account"), F("window", "window"), F("resets_at", "resets at", "time"),
                F("in", "in", "num"), F("used_ratio", "used", "pct"), F("status", "status")],
         f"resets in the next {hours:g} h", json_out, resets)


@analyze.command()
def weekly(ctx: typer.Context, weeks: int = typer.Option(8, "--weeks", help="How many weeks back."),
           json_out: bool = JsonOpt) -> None:
    """Peak and mean utilisation per account, window and ISO week, with exhaustion events."""
    stats = service(ctx).weekly(weeks)
    show(plain(stats), [F("account_id", "account"), F("window", "window"), F("week", "week"),
                        F("peak_ratio", "peak", "pct"), F("mean_ratio", "mean", "pct"),
                        F("samples", "samples", "num", drop=1), F("exhaustion_events", "exhausted", "num")],
         f"weekly utilisation, last {weeks} weeks", json_out, stats)


@analyze.command()
def underspend(ctx: typer.Context, json_out: bool = JsonOpt) -> None:
    """Use it or lose it: windows with >= 40% unused and less than 2 h to their reset."""
    items = service(ctx).underspend()
    show(plain(items), [F("account_id", "account"), F("window", "window"), F("unused_ratio", "unused", "pct"),
                        F("resets_at", "resets at", "time"), F("message", "message", "note")],
         "underspend: >= 40% unused, < 2 h to the reset", json_out, items,
         row_id=lambda r: f"{r['account_id']} {r['window']}")


@analyze.command()
def rotation(ctx: typer.Context, pool: str = typer.Option(None, "--pool", help="Only this pool."),
             json_out: bool = JsonOpt) -> None:
    """Accounts of each pool ranked by the [planner] strategy (or the pool's own), then the pool's fallback
    tiers."""
    from quotawarden.analysis.rotation import rotation_json

    rots = [rotation_json(r) for r in service(ctx).rotation(pool)]
    if json_out:
        print_json(rots)
        return
    if not rots:
        what = f"no pool named {pool!r}" if pool else "no pools"
        console().print(f"{what}: give accounts a `pool = \"NAME\"` (or add a [[pools]] table with name and "
                        "fallback) in the config, then run this again.", markup=False, highlight=False)
        return
    for r in rots:
        rows = [*r["ranked"], *({"account": s["account"], "reason": f"skipped: {s['reason']}"} for s in r["skipped"])]
        show(rows, [F("account", "account"), F("pool", "pool", drop=1), F("tier", "tier", "num"),
                    F("headroom", "headroom", "pct"), F("binding_window", "window"),
                    F("resets_at", "resets at", "time"), F("reason", "reason", "note")],
             f"pool {r['pool']} ({' -> '.join(r['chain'])})", False)


@analyze.command()
def anomalies(ctx: typer.Context, json_out: bool = JsonOpt) -> None:
    """Usage and cost spikes against the same hour of earlier weeks, new models, error bursts."""
    found = service(ctx).anomalies()
    show(plain(found), [F("kind", "kind"), F("subject", "subject"), F("at", "at", "time"), F("value", "value", "num"),
                        F("baseline", "usual", "num"), F("score", "score", "num", drop=1),
                        F("message", "message", "note")],
         "anomalies", json_out, found, row_id=lambda r: str(r["kind"]))  # the message names the subject


@analyze.command()
def cost(ctx: typer.Context, period: str = typer.Option("day", "--period", help="day, week or month."),
         by: str = typer.Option("provider", "--by", help="provider, account_id, model, project or consumer."),
         days: float = typer.Option(30, "--days", help="How many days back."), json_out: bool = JsonOpt) -> None:
    """Cost per period and group, from priced usage events (unpriced events are counted, never zero)."""
    lines = service(ctx).cost(period, by, days)
    show(plain(lines), [F("period", "period"), F("group", by.removesuffix("_id")), F("cost", "cost", "usd"),
                        F("calls", "calls", "num"), F("tokens", "tokens", "num"),
                        F("unpriced", "unpriced calls", "num")],
         f"cost by {by.removesuffix('_id')} per {period}, last {days:g} days", json_out, lines)


@analyze.command()
def forecast(ctx: typer.Context, json_out: bool = JsonOpt) -> None:
    """Month-end spend forecast with a 90% interval, and every budget's state."""
    fc, budgets = service(ctx).forecast()
    if json_out:
        print_json({"forecast": plain(fc), "budgets": plain(budgets)})
        return
    show([plain(fc)], [F("month", "month"), F("to_date", "to date", "usd"), F("expected", "expected", "usd"),
                       F("low", "low (5%)", "usd"), F("high", "high (95%)", "usd"),
                       F("days_left", "days left", "num"), F("daily_mean", "per day", "usd"),
                       F("basis_days", "days of data", "num", drop=1)],
         "month-end spend forecast (90% interval)", False)
    if not budgets:
        console().print("budgets: none declared (add [[budgets]] entries to the config)", markup=False,
                        highlight=False)
        return
    show([{"budget": b.budget.name, "state": b.state, "message": b.message} for b in budgets],
         [F("budget", "budget"), F("state", "state"), F("message", "message", "note")], "budgets", False)


@analyze.command()
def tiers(ctx: typer.Context, json_out: bool = JsonOpt) -> None:
    """Which subscription plan the recorded days fit (replayed against each plan's limits), the monthly saving and
    the confidence; no advice before 7 days of readings (it says how many are missing)."""
    advice = service(ctx).tier_advice()
    if json_out:
        print_json(plain(advice))
        return
    rows = [plain(a) for a in advice]
    no_plan = [r for r in rows if r["current"] is None and r["rationale"].startswith("no plan set")]
    rows = [r for r in rows if r not in no_plan]
    for r in rows:
        r["advice"] = f"{r['action']} to {r['plan']}" if r["plan"] and r["action"] != "keep" else r["action"]
        if r["action"] == "unknown":
            r["monthly_saving"] = None  # no advice, no saving: "-", not "$0.00"
        r["days"] = f"{r['days_of_data']}/{r['days_of_data'] + r['days_missing']}" if r["days_missing"] \
            else str(r["days_of_data"])
    if rows or not no_plan:
        show(rows, [F("account_id", "account"), F("current", "plan", drop=1), F("advice", "advice"),
                    F("monthly_saving", "saving/month", "usd"), F("confidence", "confidence", "pct"),
                    F("days", "days read", "num", drop=2), F("rationale", "why", "note")],
             "plan advice (at least 7 days of readings)", False)
    if no_plan:
        _note(f"no plan set (add plan = \"...\" to their [[accounts]] entry for advice): "
              f"{', '.join(r['account_id'] for r in no_plan)}")


@analyze.command()
def waste(ctx: typer.Context, days: float = typer.Option(30, "--days", help="How many days back.", min=0.01),
          json_out: bool = JsonOpt) -> None:
    """Use it or lose it: each included window's cycles (start, reset, peak used) and the share that went unused,
    and the paid fall-back spend while included capacity had headroom (avoidable overage)."""
    from quotawarden.analysis.cycles import waste_json

    data = waste_json(service(ctx).waste(days))
    if json_out:
        print_json(data)
        return
    title = f"included capacity left unused at reset, last {days:g} days"
    rows = [{"account": a["id"], "window": w["name"], "cycles": len(w["cycles"]), "wasted": w["wasted_ratio"],
             "last reset": w["cycles"][-1]["reset_at"] if w["cycles"] else None,
             "last peak": w["cycles"][-1]["peak_used_ratio"] if w["cycles"] else None}
            for a in data["accounts"] for w in a["windows"]]
    if not rows:
        _note(f"{title}: no included windows (subscription accounts, or accounts with a catalog plan)")
    elif not any(r["cycles"] for r in rows):
        _note(f"{title}: no window has reset since its first reading yet; waste is counted per cycle, from the "
              f"first reset on ({len(rows)} windows watched)")
    else:
        show(rows, [F("account", "account"), F("window", "window"), F("cycles", "cycles", "num"),
                    F("wasted", "wasted", "pct"), F("last peak", "last peak", "pct"),
                    F("last reset", "last reset", "time")], title, False)
    payers = [a for a in data["accounts"] if a["paid_usd"]]
    if payers:
        show(payers, [F("id", "account"), F("paid_usd", "paid", "usd"),
                      F("avoidable_overage_usd", "avoidable", "usd")],
             "paid fall-backs (avoidable: included capacity was left)", False)
    wasted = _value(data["wasted_ratio"], "pct")
    _note(f"wasted overall: {wasted}; avoidable overage: ${data['avoidable_overage_usd']:,.2f} of "
          f"${data['paid_usd']:,.2f} paid")


def _note(text: str) -> None:
    console().print(text, markup=False, highlight=False)


@analyze.command()
def fairness(ctx: typer.Context, hours: float = typer.Option(24, "--hours", help="How many hours back."),
             anonymize: bool = typer.Option(False, "--anonymize", help="Replace other consumers' names."),
             me: str = typer.Option(None, "--as", help="With --anonymize: the consumer whose name stays."),
             json_out: bool = JsonOpt) -> None:
    """Each consumer's share, density, peak/off-peak split, Jain index, Gini, and advice (throttle/proceed)."""
    f = service(ctx).fairness(hours, anonymize, me)
    show(plain(f.consumers), [F("consumer", "consumer"), F("calls", "calls", "num"), F("cost", "cost", "usd"),
                              F("share", "share", "pct"), F("calls_per_active_hour", "calls/h", "num", drop=2),
                              F("peak_share", "peak", "pct", drop=1), F("overlap_share", "overlap", "pct", drop=1),
                              F("advice", "advice"), F("reason", "reason", "note")],
         f"fairness by {f.weight}, last {hours:g} h: Jain {_cell(f.jain)}, Gini {_cell(f.gini)}", json_out, f)


def register(app: typer.Typer) -> None:
    app.add_typer(analyze, name="analyze")
