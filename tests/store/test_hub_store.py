"""``store.hub`` on both databases: a push lands in the ordinary tables once, and the seat's reads (readings and
usage after a cursor, accounts, states, call counts), its cursor and the hub's seat records read back what was
written, costs as Decimals and tags as a mapping on both."""

from __future__ import annotations

import json
from decimal import Decimal

from quotawarden.store import Store
from quotawarden.store import hub as hub_q

T = 1_790_000_000.0
HOUR = T // 3600 * 3600


def _push(store: Store, seat: str, push_id: str, *, at: float = T) -> None:
    accounts = [(f"{seat}/{a}", "claude", a, "max", None, json.dumps({"seat": seat})) for a in ("a", "b")]
    states = [(f"{seat}/{a}", "OK", "", at, None) for a in ("a", "b")]
    samples = [(f"{seat}/{a}", w, at + i, "probe", "official", "percent", 0.25 * i, None, None, None, at + 3600,
                None, 18000) for i, (a, w) in enumerate((a, w) for a in ("a", "b") for w in ("5h", "7d"))]
    usage = [(f"{seat}/k{i}", at + (i // 2), "anthropic", "claude-sonnet-4-5", "log", f"{seat}/a", "dev",
              "web" if i % 2 else None, "s1", seat, 100 + i, 5, 0, 0, 0, 0, Decimal("0.01"),
              Decimal("0.02") if i == 0 else None, None) for i in range(3)]
    outcomes = [(f"{seat}/a", HOUR, 3, 1)]
    hub_q.store_push(store, seat, push_id, at, accounts=accounts, states=states, samples=samples, usage=usage,
                     outcomes=outcomes, interval_s=60.0, sent_ts=at - 1)


def test_a_push_reads_back_through_the_seats_queries(store: Store) -> None:
    _push(store, "s_1", "p1")
    _push(store, "s_1", "p1")  # a replay stores nothing twice
    _push(store, "sx1", "p2")

    assert hub_q.count_rows(store, "s_1/") == {"samples": 4, "usage": 3}  # "_" is no wildcard
    assert hub_q.count_rows(store, "sx1/") == {"samples": 4, "usage": 3}
    assert hub_q.count_rows(store, "s%") == {"samples": 0, "usage": 0}

    first = hub_q.samples_after(store, 0, 3)
    assert [r[0] for r in first] == sorted(r[0] for r in first) and len(first) == 3
    assert first[0][1] == ("s_1/a", "5h", T, "probe", "official", "percent", 0.0, None, None, None, T + 3600, None,
                           18000)
    rest = hub_q.samples_after(store, first[-1][0], 100)
    assert len(rest) == 5 and rest[0][0] > first[-1][0]

    usage = hub_q.usage_after(store, (0.0, ""), 100)
    assert [(r[1], r[0]) for r in usage] == sorted((r[1], r[0]) for r in usage) and len(usage) == 6
    k0 = next(r for r in usage if r[0] == "s_1/k0")
    assert k0 == ("s_1/k0", T, "anthropic", "claude-sonnet-4-5", "log", "s_1/a", "dev", None, "s1", "s_1", 100, 5,
                  0, 0, 0, 0, Decimal("0.01"), Decimal("0.02"), None)
    assert isinstance(k0[16], Decimal) and isinstance(k0[17], Decimal)
    after = hub_q.usage_after(store, (T, "s_1/k1"), 100)  # after (time, key): the same time's later keys
    assert [r[0] for r in after] == ["sx1/k0", "sx1/k1", "s_1/k2", "sx1/k2"]

    accounts = hub_q.account_rows(store)
    assert [a[0] for a in accounts] == ["s_1/a", "s_1/b", "sx1/a", "sx1/b"]
    assert accounts[0] == ("s_1/a", "claude", "a", "max", None, {"seat": "s_1"})
    assert [a[0] for a in hub_q.account_rows(store, ["sx1/b", "s_1/b", "nobody"])] == ["s_1/b", "sx1/b"]
    assert hub_q.account_rows(store, []) == []
    assert hub_q.state_rows(store)[0] == ("s_1/a", "OK", "", T, None)
    assert sorted(hub_q.outcome_hours_since(store, HOUR)) == [("s_1/a", HOUR, 3, 1), ("sx1/a", HOUR, 3, 1)]
    assert hub_q.outcome_hours_since(store, HOUR + 1) == []
    assert hub_q.pending(store, first[-1][0], T) == {"samples": 5, "usage": 2}

    seats = {s.seat: s for s in hub_q.seats(store)}
    assert list(seats) == ["s_1", "sx1"]
    assert seats["s_1"] == hub_q.SeatRow("s_1", T, T, "p1", 60.0, T - 1, 2, 14)

    costs = sorted(hub_q.cost_by_seat_project(store, ["s_1", "nobody"], T))
    assert [(s, p, n) for s, p, _, n in costs] == [("s_1", "", 2), ("s_1", "web", 1)]
    usd = {p: d for _, p, d, _ in costs}
    assert usd[""] == 0.02 + 0.01 and usd["web"] == 0.01  # the recorded cost where there is one
    assert hub_q.cost_by_seat_project(store, [], 0.0) == []
    assert hub_q.cost_by_seat_project(store, ["s_1"], T + 10) == []


def test_the_cursor_moves_forward_only_and_resets(store: Store) -> None:
    hub = "https://hub.example:7878"
    assert hub_q.cursor(store, hub) == hub_q.Cursor()
    hub_q.advance(store, hub, hub_q.Cursor(10, 100.5, 3600.0, T, 1))
    assert hub_q.cursor(store, hub) == hub_q.Cursor(10, 100.5, 3600.0, T, 1)
    hub_q.advance(store, hub, hub_q.Cursor(5, 50.0, 0.0, T + 1, 1))  # a slower push: progress kept
    assert hub_q.cursor(store, hub) == hub_q.Cursor(10, 100.5, 3600.0, T + 1, 2)
    hub_q.advance(store, hub, hub_q.Cursor(20, 200.0, 7200.0, T + 2, 3))
    assert hub_q.cursor(store, hub) == hub_q.Cursor(20, 200.0, 7200.0, T + 2, 3)
    hub_q.reset(store, "other")
    hub_q.reset(store, hub)
    assert hub_q.cursor(store, hub) == hub_q.Cursor()
