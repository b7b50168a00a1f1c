"""The dashboard's team page in headless chromium: two seats push over real HTTP to the hub serving it, a third
is declared and silent; the page shows each seat, who is near a cap, pooled capacity, and links to the seats'
accounts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from quotawarden.interfaces.api import create_app
from quotawarden.interfaces.web.dashboard import DashboardServer
from tests.daemon.conftest import make_service
from tests.daemon.test_hub import ALICE, BOB, SECRET, seat, work
from tests.interfaces.test_browser import CHROMIUM, Offline

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian chromium is not installed")]
SEATS = (f'[[hub.seats]]\nname = "alice"\ntoken = "{ALICE}"\n[[hub.seats]]\nname = "bob"\ntoken = "{BOB}"\n'
         '[[hub.seats]]\nname = "carol"\ntoken = "seat-carol-token-000000000000"\n')


def test_team_page_shows_seats_caps_and_pooled_capacity(browser: Any, tmp_path: Path, shots: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    for n in ("ALICE", "BOB"):
        monkeypatch.setenv(f"QW_{n}_CLAUDE", SECRET)
        monkeypatch.setenv(f"QW_{n}_API", SECRET)
    hub_svc = make_service(f"sqlite:///{tmp_path / 'hub.db'}", tmp_path, SEATS)
    now = datetime.now(UTC)
    with DashboardServer(hub_svc, app=create_app(hub_svc)) as base:  # serve's app: the API and the pages
        alice, bob = seat(tmp_path, "alice", base, ALICE), seat(tmp_path, "bob", base, BOB)
        work(alice, now - timedelta(minutes=10), 30, used=0.3)
        work(bob, now - timedelta(minutes=10), 30, used=0.9)
        assert alice.hub_push().ok and bob.hub_push().ok
        tab = Offline(browser, viewport={"width": 1280, "height": 900})
        try:
            response = tab.page.goto(base + "/team", wait_until="networkidle")
            assert response is not None and response.status == 200
            page = tab.page
            assert page.locator("h1").inner_text() == "Team"
            assert page.locator("tr[data-seat]").count() == 3
            assert page.locator("tr[data-seat='carol'][data-silent='true']").inner_text().count("never pushed") == 1
            assert page.locator("tr[data-seat='alice'][data-silent]").count() == 0
            assert page.locator("tr[data-near='bob/max']").count() == 2  # its 5h and 7d windows
            assert page.locator("tr[data-near='alice/max']").count() == 0
            pooled = page.locator("#pooled li[data-provider='claude'][data-window='5h']").inner_text()
            assert "across 2 seats: 60% used, next reset in" in pooled
            assert SECRET not in page.content()
            page.screenshot(path=str(shots / "team.png"), full_page=True)
            page.locator("tr[data-seat='alice'] a", has_text="max").first.click()
            page.wait_for_load_state("networkidle")
            assert page.locator("h1").inner_text().startswith("alice/max")
            assert tab.errors == [] and tab.outside == []
        finally:
            tab.close()
        alice.close()
        bob.close()
    hub_svc.close()
