"""The dashboard in headless Debian chromium: every page loads clean, charts draw, ack works, nothing leaves loopback.

Screenshots go to a temporary folder; set ``QUOTAWARDEN_SCREENSHOTS=docs/screenshots`` to refresh the README's.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest

from quotawarden.app.service import Service
from quotawarden.clock import FixedClock
from quotawarden.config import from_text
from quotawarden.interfaces.web.dashboard import DashboardServer
from quotawarden.plugins import load_plugins
from quotawarden.store import open_store
from tests.conftest import NOW
from tests.interfaces.seed import seed

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(),
                       reason="Debian chromium is not installed (apt-get install chromium)"),
]

PAGES = [
    ("overview", "/", 0),
    ("account", "/accounts/home-claude", 2),
    ("costs", "/costs", 1),
    ("fairness", "/fairness", 1),
    ("alerts", "/alerts?state=all", 0),
    ("audit", "/audit", 0),
]


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url = f"sqlite:///{tmp_path_factory.mktemp('web') / 'qw.db'}"
    store = open_store(url)
    seed(store, NOW)
    store.close()
    plugins = load_plugins()
    svc = Service(config=from_text("", None, plugins), plugins=plugins, clock=FixedClock(NOW), store_url=url)
    with DashboardServer(svc) as base:
        yield base
    svc.close()


class Offline:
    """A page whose every request beyond loopback is refused and recorded; console errors are recorded too."""

    def __init__(self, browser: Any, **context: Any) -> None:
        self.context = browser.new_context(**context)
        self.outside: list[str] = []
        self.errors: list[str] = []
        self.context.route("**/*", self._route)
        self.page = self.context.new_page()
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))

    def _route(self, route: Any) -> None:
        host = urlparse(route.request.url).hostname
        if host in ("127.0.0.1", "localhost", "::1"):
            route.continue_()
        else:
            self.outside.append(route.request.url)
            route.abort()

    def close(self) -> None:
        self.context.close()


@pytest.mark.parametrize(("name", "path", "charts"), PAGES, ids=[p[0] for p in PAGES])
def test_page_loads_offline_with_charts(browser: Any, base_url: str, shots: Path, name: str, path: str,
                                        charts: int) -> None:
    tab = Offline(browser, viewport={"width": 1280, "height": 900})
    try:
        response = tab.page.goto(base_url + path, wait_until="networkidle")
        assert response is not None and response.status == 200
        drawn = tab.page.locator("figure.chart[data-drawn='1']")
        assert drawn.count() == charts
        assert tab.page.locator("figure.chart[data-error]").count() == 0
        for i in range(charts):  # every chart drew real marks, not just axes
            marks = drawn.nth(i).locator("path.series, rect.bar-rect")
            assert marks.count() > 0
        assert tab.page.locator("h1").count() == 1
        tab.page.screenshot(path=str(shots / f"{name}.png"), full_page=True)
        assert tab.errors == []
        assert tab.outside == []
    finally:
        tab.close()


def test_account_chart_marks_resets_and_projection(browser: Any, base_url: str) -> None:
    tab = Offline(browser)
    try:
        tab.page.goto(base_url + "/accounts/home-claude?range=24h", wait_until="networkidle")
        chart = tab.page.locator("figure.chart").first
        assert chart.locator("line.reset").count() >= 4  # the 5h window resets several times a day
        assert chart.locator("svg[role='img']").get_attribute("aria-label")
    finally:
        tab.close()


def test_ack_from_the_alerts_page(browser: Any, base_url: str) -> None:
    tab = Offline(browser)
    try:
        tab.page.goto(base_url + "/alerts", wait_until="networkidle")
        rows = tab.page.locator("tr[data-alert]")
        before = rows.count()
        assert before >= 1
        first = rows.first
        alert_id = first.get_attribute("data-alert")
        first.get_by_role("button", name=f"Acknowledge alert {alert_id}").click()
        tab.page.wait_for_function(
            f"document.querySelector('tr[data-alert=\"{alert_id}\"] [data-state]').textContent === 'acked'")
        tab.page.goto(base_url + "/alerts?state=acked", wait_until="networkidle")
        assert tab.page.locator(f"tr[data-alert='{alert_id}']").count() == 1
        tab.page.goto(base_url + "/alerts", wait_until="networkidle")
        assert tab.page.locator("tr[data-alert]").count() == before - 1
        assert tab.errors == [] and tab.outside == []
    finally:
        tab.close()


def test_ack_without_javascript(browser: Any, base_url: str) -> None:
    tab = Offline(browser, java_script_enabled=False)
    try:
        tab.page.goto(base_url + "/alerts", wait_until="load")
        row = tab.page.locator("tr[data-alert]").first
        alert_id = row.get_attribute("data-alert")
        row.get_by_role("button").click()
        tab.page.wait_for_url(base_url + "/alerts")
        assert tab.page.locator(f"tr[data-alert='{alert_id}']").count() == 0
    finally:
        tab.close()


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_phone_and_themes(browser: Any, base_url: str, shots: Path, scheme: str) -> None:
    tab = Offline(browser, viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True,
                  color_scheme=scheme)
    try:
        tab.page.goto(base_url + "/", wait_until="networkidle")
        width = tab.page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, "the overview scrolls sideways on a phone"
        bg = tab.page.evaluate("getComputedStyle(document.body).backgroundColor")
        assert (bg == "rgb(13, 17, 23)") == (scheme == "dark")
        tab.page.screenshot(path=str(shots / f"overview-phone-{scheme}.png"), full_page=False)
        tab.page.goto(base_url + "/accounts/work-claude", wait_until="networkidle")
        tab.page.screenshot(path=str(shots / f"account-phone-{scheme}.png"), full_page=False)
        assert tab.errors == [] and tab.outside == []
    finally:
        tab.close()


def test_self_refresh_keeps_charts(browser: Any, base_url: str) -> None:
    tab = Offline(browser)
    try:
        tab.page.goto(base_url + "/accounts/work-claude", wait_until="networkidle")
        tab.page.evaluate("document.querySelector('main h1').dataset.stale = '1'")
        tab.page.evaluate("document.dispatchEvent(new Event('qw-refresh'))")
        tab.page.wait_for_function("!document.querySelector('main h1').dataset.stale", timeout=5000)
        assert tab.page.locator("figure.chart[data-drawn='1']").count() == 2
        assert tab.errors == [] and tab.outside == []
    finally:
        tab.close()


def test_readme_shows_every_screenshot() -> None:
    readme = Path(__file__).parents[2] / "docs" / "readme" / "80-interfaces.md"
    text = readme.read_text(encoding="utf-8")
    for name, _, _ in PAGES:
        assert f"screenshots/{name}.png" in text
        assert (readme.parents[1] / "screenshots" / f"{name}.png").exists()


def test_under_the_daemon_the_admin_token_opens_it(svc: Any) -> None:
    import httpx

    from quotawarden.interfaces.api.app import create_app

    app = create_app(svc, admin_token="s3cret-admin")
    with DashboardServer(svc, app=app) as base:
        assert httpx.get(base + "/").status_code == 401
        first = httpx.get(base + "/?token=s3cret-admin")
        assert first.status_code == 200 and "qw_admin" in first.headers["set-cookie"]
        cookies = {"qw_admin": "s3cret-admin"}
        assert httpx.get(base + "/static/qw/qwchart.js", cookies=cookies).status_code == 200
        assert httpx.get(base + "/alerts", headers={"Authorization": "Bearer s3cret-admin"}).status_code == 200


def test_serve_with_emulator_data(browser: Any, tmp_path: Path) -> None:
    """The daemon's app (API + dashboard) over data that the emulator produced through a real poll."""
    from quotawarden.app.service import build_service
    from quotawarden.emulator import create_app as emulator_app
    from quotawarden.emulator import demo_scenario, serve, write_demo_config
    from quotawarden.interfaces.api.app import create_app

    scenario = demo_scenario()
    scenario.status["openai"] = "major"  # its status page reports a partial outage
    with serve(emulator_app(scenario)) as emu:
        svc = build_service(write_demo_config(scenario, emu, tmp_path, db_url=f"sqlite:///{tmp_path / 'qw.db'}"))
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(1) as pool:  # Playwright's sync API owns this thread's event loop
            pool.submit(lambda: (svc.poll(force=True), svc.evaluate_alerts())).result()
        with serve(create_app(svc, pages_public=True)) as base:
            tab = Offline(browser, viewport={"width": 1280, "height": 900})
            try:
                for path in ["/", "/alerts?state=all", "/costs", "/audit",
                             *(f"/accounts/{a.id}" for a in scenario.accounts)]:
                    response = tab.page.goto(base + path, wait_until="networkidle")
                    assert response is not None and response.status == 200, path
                    assert tab.page.locator("figure.chart[data-error]").count() == 0, path
                assert tab.page.locator("h1").first.inner_text().startswith(scenario.accounts[-1].id)
                tab.page.goto(base + "/", wait_until="networkidle")
                assert "openai status page: Partial System Outage" in tab.page.inner_text("body")
                assert tab.errors == [] and tab.outside == []
                body = tab.page.content()
                assert not any(a.credential in body for a in scenario.accounts)  # no key on any page
            finally:
                tab.close()
        svc.close()
