"""``quotawarden analyze ...``: burn rates, resets, weekly history, underspend, rotation, anomalies, cost,
forecast, plan advice and fairness, each as a table or, with ``--json``, as data."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import Any

import typer
from rich.table import Table
from rich.text import Text

from quotawarden.interfaces.cli.common import JsonOpt, console, print_json, service

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
    if isinstance(v, float):
        return f"{v:,.4g}" if abs(v) < 1000 else f"{v:,.0f}"
    return str(v)


def show(rows: Sequence[dict[str, Any]], columns: Sequence[str], title: str, json_out: bool, data: Any = None) -> None:
    if json_out:
        print_json(plain(data if data is not None else rows))
        return
    table = Table(title=title, title_justify="left")
    for c in columns:
        table.add_column(c)
    for r in rows:
        table.add_row(*(Text(_cell(r.get(c))) for c in columns))  # advice may name [[accounts]]: no markup
    console().print(table)
    if not rows:
        console().print("[dim]nothing to show[/]")


@analyze.command()
def burn(ctx: typer.Context, json_out: bool = JsonOpt) -> None:
    """Burn rate of every window (robust slope of the current segment), and when it runs out vs its reset."""
    keys = ("used_ratio", "burn_rate_per_hour", "burn_units_per_hour", "unit", "burn_samples", "projection",
            "status")
    rows = [{"account": a["id"], "window": w["name"], **{k: w.get(k) for k in keys}}
            for a in service(ctx).status_report()["accounts"] for w in a["windows"]]
    show(rows, ["account", "window", *keys], "burn rate (fractions of the limit per hour)", json_out)


@analyze.command("schedule")
def schedule_cmd(ctx: typer.Context, hours: float = typer.Option(48, "--hours", help="Look this far ahead."),
                 json_out: bool = JsonOpt) -> None:
    """Windows that reset within the next HOURS, soonest first."""
    resets = service(ctx).schedule(hours)
    rows = [{**plain(r), "in": f"{r.in_minutes / 60:.1f} h"} for r in resets]
    show(rows, ["account_id", "window", "resets_at", "in", "used_ratio", "status"], f"resets in {hours:g} h",
         json_out, resets)


@analyze.command()
def weekly(ctx: typer.Context, weeks: int = typer.Option(8, "--weeks", help="How many weeks back."),
           json_out: bool = JsonOpt) -> None:
    """Peak and mean utilisation per account, window and ISO week, with exhaustion events."""
    stats = service(ctx).weekly(weeks)
    show(plain(stats), ["account_id", "window", "week", "peak_ratio", "mean_ratio", "samples", "exhaustion_events"],
         "weekly", json_out, stats)


@analyze.command()
def underspend(ctx: typer.Context, json_out: bool = JsonOpt) -> None:
    """Use it or lose it: windows with >= 40% unused and less than 2 h to their reset."""
    items = service(ctx).underspend()
    show(plain(items), ["account_id", "window", "unused_ratio", "resets_at", "message"], "underspend", json_out,
         items)


@analyze.command()
def rotation(ctx: typer.Context, pool: str = typer.Option(None, "--pool", help="Only this pool."),
             json_out: bool = JsonOpt) -> None:
    """Accounts of each pool ranked by headroom until reset, then the pool's fallback tiers."""
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
        show(rows, ["account", "pool", "tier", "headroom", "binding_window", "resets_at", "reason"],
             f"pool {r['pool']} ({' -> '.join(r['chain'])})", False)


@analyze.command()
def anomalies(ctx: typer.Context, json_out: bool = JsonOpt) -> None:
    """Usage and cost spikes against the same hour of earlier weeks, new models, error bursts."""
    found = service(ctx).anomalies()
    show(plain(found), ["kind", "subject", "at", "value", "baseline", "score", "message"], "anomalies", json_out,
         found)


@analyze.command()
def cost(ctx: typer.Context, period: str = typer.Option("day", "--period", help="day, week or month."),
         by: str = typer.Option("provider", "--by", help="provider, account_id, model, project or consumer."),
         days: float = typer.Option(30, "--days", help="How many days back."), json_out: bool = JsonOpt) -> None:
    """Cost per period and group, from priced usage events (unpriced events are counted, never zero)."""
    lines = service(ctx).cost(period, by, days)
    show(plain(lines), ["period", "group", "cost", "calls", "tokens", "unpriced"], f"cost by {by} per {period}",
         json_out, lines)


@analyze.command()
def forecast(ctx: typer.Context, json_out: bool = JsonOpt) -> None:
    """Month-end spend forecast with a 90% interval, and every budget's state."""
    fc, budgets = service(ctx).forecast()
    if json_out:
        print_json({"forecast": plain(fc), "budgets": plain(budgets)})
        return
    show([plain(fc)], ["month", "to_date", "expected", "low", "high", "days_left", "daily_mean"], "forecast", False)
    show([{"budget": b.budget.name, "state": b.state, "message": b.message} for b in budgets],
         ["budget", "state", "message"], "budgets", False)


@analyze.command()
def tiers(ctx: typer.Context, json_out: bool = JsonOpt) -> None:
    """Which subscription plan the recorded days fit (replayed against each plan's limits), the monthly saving and
    the confidence; no advice before 7 days of readings (it says how many are missing)."""
    advice = service(ctx).tier_advice()
    show(plain(advice), ["account_id", "current", "action", "plan", "monthly_saving", "confidence", "rationale"],
         "plan advice", json_out, advice)


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
    rows = [{"account": a["id"], "window": w["name"], "cycles": len(w["cycles"]),
             "wasted": _pct(w["wasted_ratio"]),
             "last reset": w["cycles"][-1]["reset_at"] if w["cycles"] else None,
             "last peak": _pct(w["cycles"][-1]["peak_used_ratio"]) if w["cycles"] else None}
            for a in data["accounts"] for w in a["windows"]]
    show(rows, ["account", "window", "cycles", "wasted", "last peak", "last reset"],
         f"included capacity left unused at reset, last {days:g} days", False)
    payers = [{"account": a["id"], "paid": f"${a['paid_usd']:,.2f}",
               "avoidable": f"${a['avoidable_overage_usd']:,.2f}"} for a in data["accounts"] if a["paid_usd"]]
    if payers:
        show(payers, ["account", "paid", "avoidable"], "paid fall-backs (avoidable: included capacity was left)",
             False)
    console().print(f"wasted overall: {_pct(data['wasted_ratio']) or '-'}; avoidable overage: "
                    f"${data['avoidable_overage_usd']:,.2f} of ${data['paid_usd']:,.2f} paid",
                    markup=False, highlight=False)


def _pct(v: Any) -> str | None:
    return None if v is None else f"{float(v) * 100:.0f}%"


@analyze.command()
def fairness(ctx: typer.Context, hours: float = typer.Option(24, "--hours", help="How many hours back."),
             anonymize: bool = typer.Option(False, "--anonymize", help="Replace other consumers' names."),
             me: str = typer.Option(None, "--as", help="With --anonymize: the consumer whose name stays."),
             json_out: bool = JsonOpt) -> None:
    """Each consumer's share, density, peak/off-peak split, Jain index, Gini, and advice (throttle/proceed)."""
    f = service(ctx).fairness(hours, anonymize, me)
    show(plain(f.consumers), ["consumer", "calls", "cost", "share", "calls_per_active_hour", "peak_share",
                              "overlap_share", "advice", "reason"],
         f"fairness by {f.weight}: Jain {_cell(f.jain)}, Gini {_cell(f.gini)}", json_out, f)


def register(app: typer.Typer) -> None:
    app.add_typer(analyze, name="analyze")
