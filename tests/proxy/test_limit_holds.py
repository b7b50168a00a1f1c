"""The proxy's pool benches an account only for an exhausted account-wide window: a Claude account whose 429 names
only one model's weekly cap (``7d_opus`` rejected, ``5h``/``7d`` allowed) is held seconds, not until that cap's
weekly reset; one whose ``5h`` window is used up is benched until that reset; an overloaded one (529) is held
seconds. Real proxy, the emulator's Claude subscription answers, the official Anthropic SDK as client; SQLite and
PostgreSQL."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import anthropic
import pytest

from quotawarden.app.service import build_service
from quotawarden.domain import AccountState, Outcome
from quotawarden.emulator import EmuAccount, Scenario, create_app, serve
from quotawarden.store import accounts as accounts_q
from tests.proxy.conftest import serve as serve_proxy

KEYS = {"a": "sk-ant-oat01-" + "a" * 60, "b": "sk-ant-oat01-" + "b" * 60}


def _first_request(tmp: Path, db_url: str, monkeypatch: pytest.MonkeyPatch, used: dict[str, float],
                   week: datetime, fault: str | None = None) -> tuple[AccountState, int]:
    for name, key in KEYS.items():
        monkeypatch.setenv(f"QW_CLAUDE_{name.upper()}", key)
    limits = {"5h": 1.0, "7d": 1.0, "7d_opus": 1.0}
    resets = {"5h": week - timedelta(days=6) + timedelta(hours=3), "7d": week, "7d_opus": week}
    scenario = Scenario(accounts=[EmuAccount("a", "claude", KEYS["a"], limits, used, resets=resets, fault=fault),
                                  EmuAccount("b", "claude", KEYS["b"], limits, {"5h": 0.1}, resets=resets)])
    with serve(create_app(scenario)) as emu:
        cfg = tmp / "config.toml"
        cfg.write_text(f'[database]\nurl = "{db_url}"\n[proxy]\nspill_dir = "{tmp / "spill"}"\n'
                       '[autonomy]\nrotate_keys = "auto"\n'
                       + "".join(f'[[accounts]]\nid = "{n}"\nprovider = "claude"\ncredential = "env:QW_CLAUDE_'
                                 f'{n.upper()}"\nbase_url = "{emu}"\npool = "team"\n' for n in KEYS)
                       + '[[pools]]\nname = "team"\naccounts = ["a", "b"]\n', encoding="utf-8")
        svc = build_service(cfg, store_url=db_url)
        try:
            state = None
            with serve_proxy(svc.build_proxy()) as url:
                client = anthropic.Anthropic(base_url=f"{url}/team", api_key="anything", max_retries=0)
                for _ in range(3):  # the pool may try b first: ask until a has been tried (and refused)
                    answer = client.messages.with_raw_response.create(
                        model="claude-sonnet-4-5", max_tokens=10, messages=[{"role": "user", "content": "hi"}])
                    assert answer.http_response.status_code == 200
                    deadline = time.monotonic() + 5
                    while time.monotonic() < deadline and state is None:
                        state = accounts_q.states(svc.store).get("a")
                        time.sleep(0.05)
                    if state is not None:
                        break
        finally:
            svc.close()
    assert state is not None
    return state, answer.http_response.status_code


def test_one_models_weekly_cap_holds_the_account_seconds(tmp_path: Path, db_url: str,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    week = datetime.now(UTC) + timedelta(days=6)
    state, status = _first_request(tmp_path, db_url, monkeypatch, {"5h": 0.2, "7d": 0.3, "7d_opus": 1.0}, week)
    assert status == 200  # b answered
    assert state.outcome is Outcome.THROTTLED and "7d_opus" in state.reason
    assert state.retry_at is not None and state.retry_at - state.observed_at <= timedelta(seconds=31)  # not a week


def test_an_exhausted_5h_window_benches_the_account_until_its_reset(tmp_path: Path, db_url: str,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    week = datetime.now(UTC) + timedelta(days=6)
    state, status = _first_request(tmp_path, db_url, monkeypatch, {"5h": 1.0, "7d": 0.3, "7d_opus": 0.1}, week)
    assert status == 200
    assert state.outcome is Outcome.LIMITED and "5h" in state.reason
    five = week - timedelta(days=6) + timedelta(hours=3)
    assert state.retry_at is not None and abs((state.retry_at - five).total_seconds()) < 2  # hours, not seconds


@pytest.mark.parametrize("fault", ["529", "503"])
def test_an_overloaded_upstream_holds_the_account_seconds_and_fails_over(tmp_path: Path, db_url: str,
                                                                         monkeypatch: pytest.MonkeyPatch,
                                                                         fault: str) -> None:
    """Anthropic's 529 ``overloaded_error`` or a 503 (the request was not served): the request goes to b, a is
    OVERLOADED for a short while, not benched."""
    week = datetime.now(UTC) + timedelta(days=6)
    state, status = _first_request(tmp_path, db_url, monkeypatch, {"5h": 0.2, "7d": 0.3}, week, fault=fault)
    assert status == 200  # b answered
    assert state.outcome is Outcome.OVERLOADED and fault in state.reason
    assert state.retry_at is not None and state.retry_at - state.observed_at <= timedelta(seconds=61)
