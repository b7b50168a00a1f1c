"""``quotawarden push`` (a seat sends its new readings, usage and outcomes to the hub) and ``quotawarden team``
(the hub's view across seats)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import typer

from quotawarden.interfaces.cli.common import JsonOpt, console, fail, print_json, service

PUSH_HELP = ("Send this seat's readings, usage events and outcomes since the last acknowledged push to the hub "
             "([hub] url, token): batched, gzip, idempotent (a replay stores nothing twice). Never sends prompts, "
             "credentials or keys. A hub that is down loses nothing: the rows wait in this machine's store and go "
             "with the next push; the exit code is then 1.")
TEAM_HELP = ("The team view of the seats pushing to this hub: per seat its accounts' windows and health, who is "
             "near a cap, pooled capacity per provider and window across seats, cost per seat and project, and the "
             "last push's age (a seat silent for 3 intervals is flagged).")


def register(app: typer.Typer) -> None:
    @app.command("push", help=PUSH_HELP)
    def push_cmd(
        ctx: typer.Context,
        everything: bool = typer.Option(False, "--all", help="Send everything again from the start (the hub keeps "
                                                             "each row once)."),
        json_out: bool = JsonOpt,
    ) -> None:
        from quotawarden.errors import QuotawardenError

        try:
            report = service(ctx).hub_push(everything=everything)
        except QuotawardenError as exc:
            fail(exc)
        if json_out:
            print_json(report.json())
        else:
            out = console()
            sent = report.sent
            if report.requests:
                out.print(f"pushed to {report.hub}: {sent['samples']} readings, {sent['usage']} usage events, "
                          f"{sent['outcomes']} hourly call counts, {sent['accounts']} accounts "
                          f"in {report.requests} request(s), {report.seconds:.2f}s", markup=False, soft_wrap=True)
            if not report.ok:
                wait = report.pending
                out.print(f"waiting in this store for the next push: {wait['samples']} readings, "
                          f"{wait['usage']} usage events", markup=False, soft_wrap=True)
        if not report.ok:
            fail(report.error or "the push failed", 1)

    @app.command("team", help=TEAM_HELP)
    def team_cmd(
        ctx: typer.Context,
        seat: str = typer.Option(None, "--seat", help="Only this seat."),
        days: float = typer.Option(30, "--days", min=0.01, help="Cost over this many days."),
        remote: bool = typer.Option(False, "--hub", help="Ask the hub ([hub] url) with this seat's token: this "
                                                         "seat's part of the team view, from a seat."),
        json_out: bool = JsonOpt,
    ) -> None:
        from quotawarden.analysis.team import team_json

        data = _remote_team(ctx, seat, days) if remote else team_json(service(ctx).team(seat, days))
        if json_out:
            print_json(data)
            return
        _render(data, days)


def _remote_team(ctx: typer.Context, seat: str | None, days: float) -> dict[str, Any]:
    import httpx

    from quotawarden.app.hub import seat_settings
    from quotawarden.errors import QuotawardenError

    try:
        url, token = seat_settings(service(ctx))
    except QuotawardenError as exc:
        fail(exc)
    params: dict[str, Any] = {"days": days, **({"seat": seat} if seat else {})}
    try:
        r = httpx.get(url + "/v1/hub/team", params=params, headers={"Authorization": f"Bearer {token}"}, timeout=30)
    except httpx.HTTPError as exc:
        fail(f"hub {url} unreachable ({type(exc).__name__}: {exc})", 1)
    if r.status_code != 200:
        fail(f"hub {url} answered HTTP {r.status_code}: {r.text[:300]}", 1)
    data: dict[str, Any] = r.json()
    return data


def _render(t: dict[str, Any], days: float) -> None:
    from rich.table import Table

    from quotawarden.analysis.durations import human_duration

    out = console()
    now = _at(t["generated_at"])
    if not t["seats"]:
        out.print("no seats: declare [[hub.seats]] name, token on the hub and run `quotawarden push` on each "
                  "seat ([hub] url, token)", markup=False, soft_wrap=True)
        return
    seats = Table(title="Seats", title_justify="left")
    for col in ("seat", "health", "accounts", "last push", "state", f"cost {days:g}d"):
        seats.add_column(col)
    for v in t["seats"]:
        age = v["last_push_age_s"]
        seats.add_row(v["name"], v["status"], str(len(v["accounts"])),
                      "-" if age is None else f"{human_duration(age, signed=True)} ago",
                      ("! " if v["silent"] else "") + v["state"], f"${v['cost_usd']:,.2f}")
    out.print(seats)
    for p in t["pooled"]:
        out.print(p["line"], markup=False, soft_wrap=True)
    if t["near_cap"]:
        out.print("near a cap (windows judged RED):", markup=False)
        for n in t["near_cap"]:
            used = "?" if n["used_ratio"] is None else f"{n['used_ratio'] * 100:.0f}%"
            reset = "" if not n["resets_at"] else f", resets in {human_duration(_at(n['resets_at']) - now)}"
            out.print(f"  {n['account']} {n['window']}: {used} ({n['reason']}){reset}", markup=False,
                      soft_wrap=True)
    rows = t["costs"]["by_seat_project"]
    if rows:
        out.print(f"cost per seat and project, last {days:g} days:", markup=False)
        costs = Table()
        for col in ("seat", "project", "USD", "calls"):
            costs.add_column(col)
        for c in rows[:30]:
            costs.add_row(c["seat"], c["project"] or "-", f"{c['usd']:,.2f}", str(c["calls"]))
        out.print(costs)


def _at(iso: str) -> datetime:
    return datetime.fromisoformat(iso.replace("Z", "+00:00"))
