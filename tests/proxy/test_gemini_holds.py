"""A Gemini key's 429 is told apart by its body through the real proxy: a per-minute quota
(``GenerateRequestsPerMinutePerProjectPerModel-FreeTier``) holds the account until that minute's retry, a per-day
one (``...PerDayPerProjectPerModel...``) benches it until midnight Pacific whatever ``retryDelay`` says. The
emulator's exact Gemini 429 bodies; the pool answers from the other key; SQLite and PostgreSQL."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from quotawarden.app.service import build_service
from quotawarden.domain import AccountState, Outcome
from quotawarden.emulator import EmuAccount, Scenario, create_app, serve
from quotawarden.providers.gemini import next_pacific_midnight
from quotawarden.store import accounts as accounts_q
from quotawarden.store import samples as samples_q
from tests.proxy.conftest import serve as serve_proxy

KEYS = {"a": "AIzaSy" + "A" * 33, "b": "AIzaSy" + "B" * 33}


def _refused(tmp: Path, db_url: str, monkeypatch: pytest.MonkeyPatch, limits: dict[str, float],
             used: dict[str, float]) -> tuple[AccountState, dict[str, float | None]]:
    for name, key in KEYS.items():
        monkeypatch.setenv(f"QW_GEMINI_{name.upper()}", key)
    scenario = Scenario(accounts=[EmuAccount("a", "gemini", KEYS["a"], limits, used),
                                  EmuAccount("b", "gemini", KEYS["b"], {"rpm": 100, "rpd": 1000})])
    with serve(create_app(scenario)) as emu:
        cfg = tmp / "config.toml"
        cfg.write_text(f'[database]\nurl = "{db_url}"\n[proxy]\nspill_dir = "{tmp / "spill"}"\nflush_interval = 0.05\n'
                       '[autonomy]\nrotate_keys = "auto"\n'
                       + "".join(f'[[accounts]]\nid = "{n}"\nprovider = "gemini"\ncredential = "env:QW_GEMINI_'
                                 f'{n.upper()}"\nbase_url = "{emu}"\npool = "free"\n' for n in KEYS)
                       + '[[pools]]\nname = "free"\naccounts = ["a", "b"]\n', encoding="utf-8")
        svc = build_service(cfg, store_url=db_url)
        try:
            state = None
            with serve_proxy(svc.build_proxy()) as url:
                for _ in range(3):  # the pool may try b first: ask until a has been tried (and refused)
                    r = httpx.post(f"{url}/free/v1beta/models/gemini-2.5-flash:generateContent",
                                   headers={"x-goog-api-key": "anything"},
                                   json={"contents": [{"parts": [{"text": "hi"}]}]}, timeout=10)
                    assert r.status_code == 200, r.text  # b answered
                    deadline = time.monotonic() + 5
                    while time.monotonic() < deadline and state is None:
                        state = accounts_q.states(svc.store).get("a")
                        time.sleep(0.05)
                    if state is not None:
                        break
                deadline = time.monotonic() + 5
                stored: dict[str, float | None] = {}
                while time.monotonic() < deadline and not stored:
                    stored = {s.window: s.used_ratio for s in samples_q.latest(svc.store, ["a"])}
                    time.sleep(0.05)
        finally:
            svc.close()
    assert state is not None
    return state, stored


def test_a_per_minute_quota_holds_the_key_for_the_minute(tmp_path: Path, db_url: str,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    state, stored = _refused(tmp_path, db_url, monkeypatch, {"rpm": 2, "rpd": 1000}, {"rpm": 2})
    assert state.outcome is Outcome.THROTTLED and "rpm" in state.reason
    assert state.retry_at is not None and state.retry_at - state.observed_at <= timedelta(seconds=61)
    assert stored.get("rpm") == 1.0  # the body's violation is kept as official evidence


def test_a_per_day_quota_benches_the_key_until_midnight_pacific(tmp_path: Path, db_url: str,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    state, stored = _refused(tmp_path, db_url, monkeypatch, {"rpm": 100, "rpd": 5}, {"rpd": 5})
    assert state.outcome is Outcome.LIMITED and "rpd" in state.reason
    midnight = next_pacific_midnight(datetime.now(UTC))
    assert state.retry_at is not None and abs((state.retry_at - midnight).total_seconds()) < 5  # not the 47 s
    assert stored.get("rpd") == 1.0
