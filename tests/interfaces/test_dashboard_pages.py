"""The dashboard's pages in headless Debian chromium at desktop and phone widths: the audit report as sections,
the alerts page fitting a phone, HTML error pages (JSON under ``/v1``), local tools shown by whether they answer,
and the overview's server-drawn sparklines and capacity chart.

Screenshots go to a temporary folder, or to ``QUOTAWARDEN_SCREENSHOTS`` when set (as in ``test_browser.py``).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from quotawarden.app.service import Service
from quotawarden.clock import FixedClock
from quotawarden.config import from_text
from quotawarden.domain import Account, AccountState, Outcome, QuotaSample, Source, Unit
from quotawarden.interfaces.views import overview as overview_v
from quotawarden.interfaces.web.dashboard import DashboardServer
from quotawarden.plugins import load_plugins
from quotawarden.store import Store, open_store, sample_buckets
from quotawarden.store import accounts as accounts_q
from quotawarden.store import samples as samples_q
from tests.conftest import NOW
from tests.interfaces.seed import seed
from tests.interfaces.test_browser import CHROMIUM, Offline

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian chromium is not installed")

DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
SIZES = [("desktop", DESKTOP), ("phone", PHONE)]
LOCAL = [Account("home-ollama", "ollama"), Account("box-llama", "llamacpp"), Account("my-cline", "cline")]
LONG = ("openrouter credits at 97% of the monthly limit (https://openrouter.ai/settings/credits?tab=limits-and-"
        "keys-for-this-organisation) with no reset before the end of the month")


def seed_local(store: Store) -> None:
    """Three quota-free accounts: Ollama and Cline answer, llama.cpp does not."""
    accounts_q.upsert_accounts(store, LOCAL)
    samples_q.write_samples(store, [
        QuotaSample(NOW - timedelta(minutes=2), "home-ollama", "health", Unit.REQUESTS, Source.PROBE,
                    used_ratio=0.0, status="idle"),
        QuotaSample(NOW - timedelta(minutes=2), "my-cline", "health", Unit.REQUESTS, Source.PROBE, used_ratio=0.0,
                    status="ok")])
    accounts_q.set_states(store, [
        AccountState("home-ollama", Outcome.OK, "", NOW),
        AccountState("my-cline", Outcome.OK, "", NOW),
        AccountState("box-llama", Outcome.UNREACHABLE, "connection refused", NOW)])


def long_alert(store: Store) -> None:
    from sqlalchemy import insert

    from quotawarden.store import schema

    with store.engine.begin() as conn:
        conn.execute(insert(schema.alerts), [{
            "key": "health:openrouter:credits", "kind": "health", "severity": "critical", "state": "open",
            "account_id": "openrouter", "window": "credits", "message": LONG,
            "action": "top up the credits or move the agents to another provider", "opened_ts": NOW.timestamp() - 60,
            "updated_ts": NOW.timestamp()}])


def service(url: str) -> Service:
    plugins = load_plugins()
    return Service(config=from_text("", None, plugins), plugins=plugins, clock=FixedClock(NOW), store_url=url)


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url = f"sqlite:///{tmp_path_factory.mktemp('pages') / 'qw.db'}"
    store = open_store(url)
    seed(store, NOW)
    seed_local(store)
    long_alert(store)
    store.close()
    svc = service(url)
    with DashboardServer(svc) as base:
        yield base
    svc.close()


def open_tab(browser: Any, size: dict[str, int]) -> Offline:
    extra = {"device_scale_factor": 2, "is_mobile": True} if size is PHONE else {}
    return Offline(browser, viewport=size, **extra)


def fits(tab: Offline) -> bool:
    return bool(tab.page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))


def in_view(tab: Offline, locator: Any) -> bool:
    box = locator.bounding_box()
    width = tab.page.evaluate("window.innerWidth")
    return box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width


# -- 1. the audit report as sections and tables -------------------------------------------------------------------

@pytest.mark.browser
@pytest.mark.parametrize(("size_name", "size"), SIZES, ids=[s[0] for s in SIZES])
def test_audit_page_is_sections_not_a_dict(browser: Any, base_url: str, shots: Path, size_name: str,
                                           size: dict[str, int]) -> None:
    tab = open_tab(browser, size)
    try:
        response = tab.page.goto(base_url + "/audit", wait_until="networkidle")
        assert response is not None and response.status == 200
        for part in ("summary", "alerts", "accounts", "recommendations", "trends", "waste"):
            assert tab.page.locator(f"#audit-{part} h2").is_visible(), part
        waste = tab.page.inner_text("#audit-waste")
        assert "Avoidable overage" in waste and "work-claude" in waste
        text = tab.page.inner_text("main")
        assert "{'" not in text and "'expected':" not in text  # no Python repr anywhere
        assert "Month-end forecast" in tab.page.inner_text("#audit-summary")
        accounts = tab.page.locator("#audit-accounts tbody")
        for acc in ("work-claude", "home-claude", "openrouter"):
            assert accounts.get_by_role("link", name=acc).count() == 1
        assert "5h" in accounts.inner_text() and "%" in accounts.inner_text()
        assert tab.page.locator("#audit-trends table").count() >= 1
        assert fits(tab), "the audit page scrolls sideways"
        tab.page.screenshot(path=str(shots / f"audit-{size_name}.png"), full_page=True)
        assert tab.errors == [] and tab.outside == []
    finally:
        tab.close()


# -- 2. the alerts page on a phone ----------------------------------------------------------------------------------

@pytest.mark.browser
@pytest.mark.parametrize(("size_name", "size"), SIZES, ids=[s[0] for s in SIZES])
def test_alerts_fit_and_ack_is_reachable(browser: Any, base_url: str, shots: Path, size_name: str,
                                         size: dict[str, int]) -> None:
    tab = open_tab(browser, size)
    try:
        tab.page.goto(base_url + "/alerts?state=all", wait_until="networkidle")
        assert tab.page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), \
            "the alerts page scrolls sideways"
        buttons = tab.page.get_by_role("button", name="Acknowledge alert")
        assert buttons.count() >= 2
        for i in range(buttons.count()):
            assert in_view(tab, buttons.nth(i)), f"Ack button {i} is off screen"
        row = tab.page.locator("tr[data-alert]", has_text="openrouter credits at 97%")
        assert row.is_visible() and in_view(tab, row.locator(".c-msg"))
        tab.page.screenshot(path=str(shots / f"alerts-{size_name}.png"), full_page=True)
        assert tab.errors == [] and tab.outside == []
    finally:
        tab.close()


# -- 3. errors: HTML for pages, JSON under /v1 ----------------------------------------------------------------------

@pytest.mark.browser
@pytest.mark.parametrize(("path", "status", "words"), [
    ("/accounts/no-such-account", 404, "no account 'no-such-account'"),
    ("/accounts/work-claude?range=2y", 422, "range must be one of"),
    ("/costs?days=abc", 422, "days"),
    ("/alerts?state=everything", 422, "state"),
    ("/no/such/page", 404, "Not Found"),
], ids=["unknown-account", "bad-range", "bad-days", "bad-state", "unknown-path"])
def test_errors_are_pages_with_a_way_back(browser: Any, base_url: str, shots: Path, path: str, status: int,
                                          words: str) -> None:
    for size_name, size in SIZES:
        tab = open_tab(browser, size)
        try:
            response = tab.page.goto(base_url + path, wait_until="networkidle")
            assert response is not None and response.status == status
            assert response.headers["content-type"].startswith("text/html")
            assert tab.page.locator("h1").count() == 1
            assert words in tab.page.inner_text("main")
            back = tab.page.get_by_role("link", name="Back to the overview")
            assert in_view(tab, back) and fits(tab)
            if path.startswith("/accounts/no"):
                tab.page.screenshot(path=str(shots / f"error-{size_name}.png"), full_page=False)
            back.click()
            tab.page.wait_for_url(base_url + "/")
            # the browser logs the error status itself; nothing else may go wrong
            assert [e for e in tab.errors if "status of" not in e] == [] and tab.outside == []
        finally:
            tab.close()


def test_errors_stay_json_for_scripts_and_the_api(svc: Service) -> None:
    from quotawarden.interfaces.api.app import create_app

    admin = {"Authorization": "Bearer s3cret-admin"}
    html = {**admin, "Accept": "text/html,application/xhtml+xml"}
    with DashboardServer(svc, app=create_app(svc, admin_token="s3cret-admin", pages_public=True)) as base:
        api = httpx.get(base + "/v1/accounts/no-such-account", headers=html)
        assert api.status_code == 404 and api.headers["content-type"].startswith("application/json")
        assert api.json()["error"] == "not found"
        bad = httpx.get(base + "/v1/audit/events", params={"limit": "many"}, headers=html)
        assert bad.status_code == 422 and bad.json()["error"] == "invalid request"
        nowhere = httpx.get(base + "/v1/no-such-route", headers=html)
        assert nowhere.status_code == 404 and nowhere.headers["content-type"].startswith("application/json")
        page = httpx.get(base + "/accounts/no-such-account")
        assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
        assert "Back to the overview" in page.text
        script = httpx.get(base + "/accounts/no-such-account", headers={"Accept": "application/json"})
        assert script.status_code == 404 and script.json()["error"] == "not found"
        ack = httpx.post(base + "/alerts/999999/ack", headers={"Accept": "application/json"})
        assert ack.status_code == 403 and ack.headers["content-type"].startswith("application/json")  # no CSRF
        ack = httpx.post(base + "/alerts/999999/ack", headers={"Accept": "application/json", **admin})
        assert ack.status_code == 404 and ack.headers["content-type"].startswith("application/json")


# -- 4. local tools ---------------------------------------------------------------------------------------------------

def test_local_tools_are_not_quota(svc: Service) -> None:
    seed_local(svc.store)
    data = overview_v.overview(svc)
    assert {a["id"] for a in data["local"]} == {"home-ollama", "box-llama", "my-cline"}
    assert {a["id"]: a["health"] for a in data["local"]} == {
        "home-ollama": "answering", "my-cline": "answering", "box-llama": "not answering"}
    assert not {a["id"] for a in data["accounts"]} & {"home-ollama", "box-llama", "my-cline"}
    assert all(p["provider"] not in ("ollama", "llamacpp", "cline") for p in data["providers"])
    assert all(r["pool"] not in ("ollama", "llamacpp", "cline") for r in data["rotation"])
    assert not any(w["account"] == "box-llama" for w in data["warnings"])
    assert sum(data["overall"].values()) == len(data["accounts"])


@pytest.mark.browser
@pytest.mark.parametrize(("size_name", "size"), SIZES, ids=[s[0] for s in SIZES])
def test_local_tools_shown_neutrally(browser: Any, base_url: str, size_name: str, size: dict[str, int]) -> None:
    tab = open_tab(browser, size)
    try:
        tab.page.goto(base_url + "/", wait_until="networkidle")
        local = tab.page.locator("#h-local").locator("xpath=..")
        assert "answering" in local.locator("[data-local='home-ollama']").inner_text()
        assert "not answering" in local.locator("[data-local='box-llama']").inner_text()
        assert local.locator(".RED, .badge.RED").count() == 0
        main = tab.page.inner_text("main")
        assert "nothing usable" not in main
        assert tab.page.locator("tr[data-account='box-llama']").count() == 0
        assert fits(tab)
        assert tab.errors == [] and tab.outside == []
    finally:
        tab.close()


# -- 5. sparklines and the capacity chart -------------------------------------------------------------------------

def test_worst_window_history(svc: Service) -> None:
    """48 half-hour steps over 24 h; each the most-used window's highest reading in that step."""
    history = svc.worst_window_history(24, 48)
    work = history["work-claude"]
    assert len(work) == 48 and all(v is not None for v in work)
    samples = svc.samples("work-claude", since=NOW - timedelta(hours=24))
    assert max(v for v in work if v is not None) == pytest.approx(
        max(s.effective_ratio or 0 for s in samples if s.observed_at > NOW - timedelta(hours=24)))
    assert work[-1] == pytest.approx(max(s.effective_ratio or 0 for s in samples
                                         if s.observed_at >= NOW - timedelta(minutes=30)))
    credits = history["openrouter"]  # used/limit only: derived
    assert credits[-1] == pytest.approx((20 + (3 * 24 * 4 - 1) * 0.05) / 50, abs=0.01)
    assert "deepseek" not in history  # a balance with no limit has no ratio
    only = svc.worst_window_history(24, 48, ["home-claude"])
    assert set(only) == {"home-claude"}


def test_bucket_peaks_agree_on_both_backends(svc: Service) -> None:
    peaks = sample_buckets.peaks(svc.store, NOW - timedelta(hours=2), 1800, ["home-claude"])
    assert {p.bucket for p in peaks} == {0, 1, 2, 3, 4}  # 4: the reading taken right at the end
    first = [p for p in peaks if p.bucket == 0 and p.window == "5h"]
    expected = [s.used_ratio for s in svc.samples("home-claude", "5h", since=NOW - timedelta(hours=2),
                                                   until=NOW - timedelta(hours=1, minutes=30, seconds=1))]
    assert len(first) == 1 and first[0].used_ratio == pytest.approx(max(r for r in expected if r is not None))
    assert {p.window for p in peaks} == {"5h", "7d"}
    with pytest.raises(ValueError):
        sample_buckets.peaks(svc.store, NOW, 0)


@pytest.mark.browser
@pytest.mark.parametrize(("size_name", "size"), SIZES, ids=[s[0] for s in SIZES])
def test_overview_sparklines_and_capacity(browser: Any, base_url: str, shots: Path, size_name: str,
                                          size: dict[str, int]) -> None:
    tab = open_tab(browser, size)
    try:
        response = tab.page.goto(base_url + "/", wait_until="networkidle")
        assert response is not None and response.status == 200
        capacity = tab.page.locator("svg.capacity")
        assert capacity.count() == 1 and capacity.is_visible()
        assert capacity.locator("rect.cap-seg").count() >= 4
        assert "claude" in (capacity.get_attribute("aria-label") or "")
        sparks = tab.page.locator("tr[data-account] svg.spark")
        assert sparks.count() >= 3
        assert tab.page.locator("tr[data-account='work-claude'] svg.spark path.spark-line").count() == 1
        if size is DESKTOP:
            assert sparks.first.is_visible()
        assert tab.page.locator("script[src*='chart'], script[src*='spark']").count() <= 1  # no new script
        assert fits(tab), "the overview scrolls sideways"
        tab.page.screenshot(path=str(shots / f"overview-{size_name}.png"), full_page=True)
        assert tab.errors == [] and tab.outside == []
    finally:
        tab.close()


@pytest.mark.browser
def test_local_tool_account_page_is_neutral(browser: Any, base_url: str) -> None:
    tab = open_tab(browser, PHONE)
    try:
        response = tab.page.goto(base_url + "/accounts/box-llama", wait_until="networkidle")
        assert response is not None and response.status == 200
        heading = tab.page.locator("h1")
        assert "not answering" in heading.inner_text()
        assert heading.locator(".badge.RED").count() == 0
        assert fits(tab)
        assert tab.errors == [] and tab.outside == []
    finally:
        tab.close()
