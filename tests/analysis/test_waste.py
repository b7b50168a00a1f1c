"""Cycles, wasted share and avoidable overage on a recorded history whose answers are worked out by hand (both
databases), through the service, ``analyze waste --json`` and the audit."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from decimal import Decimal

import orjson
import pytest

from quotawarden.analysis import cycles
from quotawarden.analysis.burn import Point
from quotawarden.app.service import Service
from quotawarden.clock import FixedClock
from quotawarden.config import Config, from_text
from quotawarden.domain import QuotaSample, Source, Unit, UsageEvent
from quotawarden.plugins import Plugins, hookimpl, load_plugins
from quotawarden.spec import ProviderSpec
from quotawarden.store import samples as samples_q
from quotawarden.store import usage as usage_q
from tests.analysis.test_cli import run
from tests.conftest import NOW

H = timedelta(hours=1)
R1, R2, R3 = NOW - 20 * H, NOW - 10 * H, NOW - timedelta(days=3)
"""Resets of two closed 5 h cycles and one closed 7 d cycle of ``sub1``."""

CONFIG = """
[[accounts]]
id = "sub1"
provider = "sub"
pool = "team"

[[accounts]]
id = "sub2"
provider = "sub"
pool = "team"

[[accounts]]
id = "key"
provider = "paid"
pool = "team"

[[accounts]]
id = "box"
provider = "box"
"""


class Kinds:
    @hookimpl
    def register_providers(self, register):  # type: ignore[no-untyped-def]
        for slug, kind in (("sub", "subscription"), ("paid", "api"), ("box", "local")):
            register(ProviderSpec(slug=slug, display_name=slug, needs_credential=False, kind=kind))


def plugins() -> Plugins:
    return load_plugins([Kinds()], entry_points=False)


def config() -> Config:
    return from_text(CONFIG, None, plugins())


def pct(acc: str, window: str, at: datetime, ratio: float, resets: datetime, length: int) -> QuotaSample:
    return QuotaSample(at, acc, window, Unit.PERCENT, Source.PROBE, used_ratio=ratio, resets_at=resets,
                       window_length_s=length)


def usd(acc: str, at: datetime, used: float) -> QuotaSample:
    return QuotaSample(at, acc, "extra_usage", Unit.USD, Source.PROBE, used=used, limit=50.0)


J = timedelta(seconds=1)
FIVE, WEEK = 18000, 604800
HISTORY = [
    # 5h cycle A: resets R1 (stated with a few seconds of jitter), peak 40 % -> 60 % wasted
    pct("sub1", "5h", R1 - 4 * H, 0.10, R1 + 3 * J, FIVE),
    pct("sub1", "5h", R1 - 2 * H, 0.30, R1 - 2 * J, FIVE),
    pct("sub1", "5h", R1 - H / 2, 0.40, R1, FIVE),
    # 5h cycle B: resets R2, peak 97 % -> 3 % wasted (and no headroom just before it)
    pct("sub1", "5h", R2 - 3 * H, 0.50, R2 + 20 * J, FIVE),
    pct("sub1", "5h", R2 - H, 0.97, R2, FIVE),
    # 5h, running: not a cycle yet
    pct("sub1", "5h", NOW - H, 0.20, NOW + 2 * H, FIVE),
    # 7d cycle: resets R3, peak 80 % -> 20 % wasted; then the running one
    pct("sub1", "7d", R3 - timedelta(days=1), 0.70, R3 + 10 * J, WEEK),
    pct("sub1", "7d", R3 - H, 0.80, R3, WEEK),
    pct("sub1", "7d", NOW - 12 * H, 0.05, R3 + timedelta(days=7), WEEK),
    pct("sub1", "7d", NOW - H, 0.10, R3 + timedelta(days=7), WEEK),
    # extra usage of sub1: $1 -> $4, so $3 paid at NOW - 40 min
    usd("sub1", NOW - 2 * H, 1.0),
    usd("sub1", NOW - 40 * timedelta(minutes=1), 4.0),
    # sub2: half used, resets in an hour (headroom for the whole last hour)
    pct("sub2", "5h", NOW - H, 0.50, NOW + H, FIVE),
    # the local box reads 0 % forever: never a quota account
    pct("box", "5h", NOW - H, 0.0, NOW + 4 * H, FIVE),
]


def spend(at: datetime, cost: str, n: int) -> UsageEvent:
    return UsageEvent(at, "paid", "m", Source.PROXY, f"e{n}", account_id="key", input_tokens=1000,
                      cost=Decimal(cost))


USAGE = [
    spend(R2 - H / 2, "2.00", 1),  # sub1's 5h is at 97 % and sub2 unread: not avoidable
    spend(NOW - H / 2, "3.00", 2),  # sub1 at 20 % / 10 %, sub2 at 50 %: avoidable
    spend(NOW - timedelta(days=5), "1.50", 3),  # nothing read yet: unknown, not avoidable
]


@pytest.fixture
def recorded(db_url: str) -> Iterator[Service]:
    svc = Service(config=config(), plugins=plugins(), clock=FixedClock(NOW), store_url=db_url)
    samples_q.write_samples(svc.store, HISTORY)
    usage_q.write_usage(svc.store, USAGE)
    try:
        yield svc
    finally:
        svc.close()


def test_cycles_waste_and_avoidable_overage_known_answers(recorded: Service) -> None:
    w = recorded.waste(30)
    by = {a.id: a for a in w.accounts}
    assert set(by) == {"sub1", "sub2", "key"}  # the local box is no quota account
    five = next(x for x in by["sub1"].windows if x.name == "5h")
    assert [(c.started_at, c.reset_at, c.peak_used_ratio, c.wasted_ratio) for c in five.cycles] == [
        (R1 - 5 * H, R1, 0.4, 0.6), (R2 - 5 * H, R2, 0.97, pytest.approx(0.03))]
    assert five.wasted_ratio == pytest.approx(0.315)
    week = next(x for x in by["sub1"].windows if x.name == "7d")
    assert [(c.started_at, c.reset_at, c.wasted_ratio) for c in week.cycles] == [
        (R3 - timedelta(days=7), R3, pytest.approx(0.2))]
    assert [(k.week, k.cycles) for k in five.weeks] == [("2026-W34", 2)]
    assert by["sub1"].wasted_ratio == pytest.approx((0.315 + 0.2) / 2)
    assert by["sub2"].wasted_ratio is None  # no cycle has reset yet
    assert w.wasted_ratio == pytest.approx((0.315 + 0.2) / 2)
    assert by["key"].paid_usd == pytest.approx(6.5) and by["key"].avoidable_overage_usd == pytest.approx(3.0)
    assert by["sub1"].paid_usd == pytest.approx(3.0) and by["sub1"].avoidable_overage_usd == pytest.approx(3.0)
    assert w.paid_usd == pytest.approx(9.5) and w.avoidable_overage_usd == pytest.approx(6.0)
    # a shorter period keeps only the cycles that reset in it (and the spend in it)
    short = recorded.waste(0.5)
    sub1 = next(a for a in short.accounts if a.id == "sub1")
    assert [len(x.cycles) for x in sub1.windows] == [1, 0]
    assert short.avoidable_overage_usd == pytest.approx(6.0) and short.paid_usd == pytest.approx(8.0)


def test_waste_json_shape_and_cli(recorded: Service) -> None:
    code, out = run(recorded, "analyze", "waste", "--json")
    assert code == 0, out
    data = orjson.loads(out)
    assert data["avoidable_overage_usd"] == 6.0
    acc = next(a for a in data["accounts"] if a["id"] == "sub1")
    win = next(w for w in acc["windows"] if w["name"] == "5h")
    assert win["wasted_ratio"] == pytest.approx(0.315)
    assert win["cycles"][0] == {"started_at": "2026-08-19T13:03:11Z", "reset_at": "2026-08-19T18:03:11Z",
                                "peak_used_ratio": 0.4, "wasted_ratio": 0.6}
    code, out = run(recorded, "analyze", "waste")
    assert code == 0 and "avoidable overage: $6.00 of $9.50 paid" in out


def test_audit_counts_quota_accounts_and_shows_waste(recorded: Service) -> None:
    report = recorded.audit_report()
    assert report["summary"]["total_accounts"] == 3 and report["summary"]["local_tools"] == 1
    assert report["summary"]["avoidable_overage_usd"] == 6.0
    waste = report["historical_trends"]["waste"]
    assert waste["avoidable_overage_usd"] == 6.0
    five = next(w for a in waste["accounts"] if a["id"] == "sub1" for w in a["windows"] if w["name"] == "5h")
    assert five["cycles"] == 2 and five["last_cycle"]["peak_used_ratio"] == 0.97  # counted, not listed
    assert any(r["kind"] == "overage" for r in report["recommendations"])


def test_cycle_split_tolerates_countdown_jitter() -> None:
    """Readings whose stated reset wanders by seconds (a countdown) stay one cycle; a 2-minute move is a reset."""
    base = NOW.timestamp()
    pts = [Point(base + i * 600, 0.1 * i, resets_t=base + 18000 + (-1) ** i * 30) for i in range(1, 6)]
    assert cycles.cycles(pts, NOW + timedelta(hours=6), FIVE)[0].peak_used_ratio == pytest.approx(0.5)
    assert len(cycles.cycles(pts, NOW + timedelta(hours=6), FIVE)) == 1
    moved = [*pts, Point(base + 3600, 0.6, resets_t=base + 18000 + 150)]
    assert len(cycles.cycles(moved, NOW + timedelta(hours=6), FIVE)) == 2


def test_metrics_export_wasted_share_and_avoidable_overage(recorded: Service) -> None:
    import httpx

    from quotawarden.interfaces.api import create_app
    from tests.daemon.conftest import Uvicorn

    with Uvicorn(create_app(recorded)) as url:
        text = httpx.get(f"{url}/metrics", timeout=30).raise_for_status().text
    assert 'quotawarden_window_wasted_ratio{account="sub1",provider="sub",window="5h"} 0.315' in text
    assert 'quotawarden_window_wasted_ratio{account="sub1",provider="sub",window="7d"} 0.2' in text
    assert 'quotawarden_window_cycles{account="sub2",provider="sub",window="5h"} 0.0' in text
    assert 'quotawarden_avoidable_overage_usd{account="key",provider="paid"} 3.0' in text
    assert 'account="box"' not in text.split("quotawarden_window_wasted_ratio", 1)[1].split("# HELP", 1)[0]
