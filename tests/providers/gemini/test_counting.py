"""Gemini API free-tier keys by count: proxied requests and Gemini CLI calls count against the account's configured
``rpm_limit``/``tpm_limit``/``rpd_limit`` as estimated windows, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import shutil
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from tests.proxy.conftest import serve as serve_proxy

from quotawarden.analysis import counting
from quotawarden.app.service import build_service
from quotawarden.clock import FixedClock
from quotawarden.domain import Account, Provenance, Source
from quotawarden.emulator import EmuAccount, Scenario, create_app, serve

KEY = "AIzaSy" + "C" * 33
LOGS = Path(__file__).parents[2] / "logs" / "fixtures" / "gemini_cli"


def _windows(report: dict[str, Any], account: str) -> dict[str, dict[str, Any]]:
    acct = next(a for a in report["accounts"] if a["id"] == account)
    return {w["name"]: w for w in acct["windows"]}


def test_requests_through_the_proxy_count_against_the_configured_limits(tmp_path: Path, db_url: str,
                                                                        monkeypatch: Any) -> None:
    scenario = Scenario(accounts=[EmuAccount("free", "gemini", KEY, limits={"rpm": 100, "rpd": 1000})])
    monkeypatch.setenv("FREE_GEMINI_KEY", KEY)
    with serve(create_app(scenario)) as emu:
        cfg = tmp_path / "config.toml"
        cfg.write_text(f"""
[proxy]
spill_dir = "{tmp_path / 'spill'}"
flush_interval = 0.05
upstreams = {{ gemini = "{emu}" }}

[[accounts]]
id = "gemini-free"
provider = "gemini"
credential = "env:FREE_GEMINI_KEY"
base_url = "{emu}"
rpm_limit = 5
tpm_limit = 250000
rpd_limit = 20
""", encoding="utf-8")
        service = build_service(cfg, store_url=db_url)
        before = _windows(service.status_report(), "gemini-free")
        assert before["rpd"]["used"] == 0 and before["rpd"]["status"] == "GREEN"  # limits set: never UNKNOWN
        with serve_proxy(service.build_proxy()) as url:
            from google import genai
            from google.genai import types

            client = genai.Client(api_key=KEY, http_options=types.HttpOptions(base_url=f"{url}/gemini"))
            for _ in range(2):  # the official SDK, as an application would call it
                answer = client.models.generate_content(model="gemini-2.5-flash", contents="hello")
                assert answer.usage_metadata is not None and answer.usage_metadata.prompt_token_count
            r = httpx.post(f"{url}/gemini/v1beta/models/gemini-2.5-flash:generateContent",  # and plain HTTP
                           headers={"x-goog-api-key": KEY},
                           json={"contents": [{"parts": [{"text": "hello"}]}]}, timeout=10)
            assert r.status_code == 200, r.text
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline:
                if _windows(service.status_report(), "gemini-free")["rpm"]["used"] == 3:
                    break
                time.sleep(0.05)
        report = service.status_report()
        w = _windows(report, "gemini-free")
        assert (w["rpm"]["used"], w["rpm"]["limit"], w["rpd"]["used"], w["rpd"]["limit"]) == (3, 5, 3, 20)
        from quotawarden.store import samples as samples_q

        stored = {x.window: x for x in samples_q.latest(service.store, ["gemini-free"])}  # the fast views' input
        assert stored["rpd"].used == 3 and stored["rpd"].source is Source.PROXY
        # 60 % of the minute used within seconds: at least YELLOW (RED when the stored counts show it burning fast)
        assert w["rpm"]["used_ratio"] == 0.6 and w["rpm"]["status"] in ("YELLOW", "RED")
        assert all(w[n]["provenance"] == "estimated" and w[n]["source"] == "proxy"
                   and w[n]["provider_status"] == "counted" for n in ("rpm", "tpm", "rpd"))
        assert 0 < w["tpm"]["used"] < 250000
        acct = next(a for a in report["accounts"] if a["id"] == "gemini-free")
        assert acct["status"] in ("YELLOW", "RED")
        assert KEY not in json.dumps(report)
        service.close()


def test_gemini_cli_calls_from_its_logs_count_until_midnight_pacific(tmp_path: Path, db_url: str,
                                                                      monkeypatch: Any) -> None:
    """The real Gemini CLI session of 2026-04-28 (four calls at 06:40 UTC, still 27 April in California)."""
    monkeypatch.setenv("HOME", str(tmp_path))
    root = tmp_path / "gemini" / "tmp" / "proj" / "chats"
    root.mkdir(parents=True)
    shutil.copy(LOGS / "session-2026-04-28T06-38-af959950.json", root)
    cfg = tmp_path / "config.toml"
    cfg.write_text(f"""
[logs]
sources = ["gemini_cli"]
paths = {{ gemini_cli = ["{tmp_path / 'gemini' / 'tmp'}"] }}

[[accounts]]
id = "gemini-free"
provider = "gemini"
credential = "env:NOT_SET_FOR_THIS_TEST"
rpm_limit = 10
tpm_limit = 250000
rpd_limit = 5
""", encoding="utf-8")
    clock = FixedClock(datetime(2026, 4, 28, 6, 41, tzinfo=UTC))
    service = build_service(cfg, store_url=db_url, clock=clock)
    report = service.ingest_logs()
    assert report.events == 4
    from quotawarden.store import samples as samples_q

    stored = {x.window: x for x in samples_q.latest(service.store, ["gemini-free"])}  # what the fast views read
    assert stored["rpd"].used == 4 and stored["rpd"].status == "counted"
    w = _windows(service.status_report(), "gemini-free")
    assert (w["rpm"]["used"], w["rpd"]["used"], w["tpm"]["used"]) == (4, 4, 67112 + 72464 + 46891 + 46991)
    assert w["rpd"]["resets_at"] == "2026-04-28T07:00:00Z"  # midnight PDT
    assert w["rpd"]["status"] == "YELLOW" and w["rpd"]["source"] == "log"  # 4 of 5
    clock.set(datetime(2026, 4, 28, 7, 0, 1, tzinfo=UTC))  # a new Pacific day, a new minute
    w = _windows(service.status_report(), "gemini-free")
    assert (w["rpm"]["used"], w["rpd"]["used"], w["tpm"]["used"]) == (0, 0, 0)
    assert w["rpd"]["resets_at"] == "2026-04-29T07:00:00Z"
    service.close()


def _account(**settings: Any) -> Account:
    return Account("g", "gemini", settings=settings)


def test_counting_is_a_pure_rule() -> None:
    now = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)  # PST: the day started at 08:00 UTC
    assert counting.limits_of(_account()) is None
    assert counting.limits_of(_account(rpm_limit=None, rpd_limit=0)) is None
    lim = counting.limits_of(_account(rpm_limit=15, rpd_limit=1500))
    assert lim == counting.Limits(15, None, 1500)
    assert counting.day_start(now) == datetime(2026, 1, 15, 8, 0, tzinfo=UTC)
    assert counting.since(now) == ((now - timedelta(minutes=1)).timestamp(), counting.day_start(now).timestamp())
    got = {s.window: s for s in counting.samples("g", lim, counting.Counts(16, 900, 1500, 0), now)}
    assert set(got) == {"rpm", "rpd"}
    assert got["rpm"].effective_ratio is not None and got["rpm"].effective_ratio > 1 and got["rpm"].remaining == 0
    assert got["rpd"].resets_at == datetime(2026, 1, 16, 8, 0, tzinfo=UTC)
    assert all(s.provenance is Provenance.ESTIMATED and s.source is Source.LOG for s in got.values())


def test_a_poll_stores_the_counted_windows_and_a_429_keeps_its_official_reading(tmp_path: Path, db_url: str,
                                                                                monkeypatch: Any) -> None:
    """After a poll the counted windows are in the store (the fast summary reads them); a window the probe found
    exhausted (429 per-day violation) keeps Google's own reading, in the store and in status."""
    from quotawarden.store import samples as samples_q

    emu_accounts = [EmuAccount("free", "gemini", KEY, limits={"rpm": 100, "rpd": 2}, used={"rpd": 2})]
    monkeypatch.setenv("FREE_GEMINI_KEY", KEY)
    with serve(create_app(Scenario(accounts=emu_accounts))) as emu:
        cfg = tmp_path / "config.toml"
        cfg.write_text(f"""
[[accounts]]
id = "gemini-free"
provider = "gemini"
credential = "env:FREE_GEMINI_KEY"
base_url = "{emu}"
probe = "generate"
rpm_limit = 5
rpd_limit = 2
""", encoding="utf-8")
        service = build_service(cfg, store_url=db_url)
        [result] = service.poll()
    stored = {s.window: s for s in samples_q.latest(service.store, ["gemini-free"])}
    assert stored["rpm"].status == "counted" and stored["rpm"].provenance is Provenance.ESTIMATED
    w = _windows(service.status_report(), "gemini-free")
    assert result.outcome.value == "LIMITED", result.reason  # the per-day 429: Google's reading stands
    assert stored["rpd"].provenance is Provenance.OFFICIAL and stored["rpd"].status == "RESOURCE_EXHAUSTED"
    assert w["rpd"]["provenance"] == "official" and w["rpd"]["status"] == "RED"
    assert w["rpm"]["provenance"] == "estimated" and w["rpm"]["limit"] == 5
    service.close()


def test_gemini_cli_signed_in_with_google_does_not_count_against_the_key(tmp_path: Path, monkeypatch: Any) -> None:
    """Its ``settings.json`` selects ``oauth-personal`` (Code Assist's own quota): its calls are not the key's."""
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / ".gemini").mkdir()
    (tmp_path / ".gemini" / "settings.json").write_text('{"security": {"auth": {"selectedType": "oauth-personal"}}}')
    root = tmp_path / "gemini" / "tmp" / "proj" / "chats"
    root.mkdir(parents=True)
    shutil.copy(LOGS / "session-2026-04-28T06-38-af959950.json", root)
    cfg = tmp_path / "config.toml"
    cfg.write_text(f"""
[logs]
sources = ["gemini_cli"]
paths = {{ gemini_cli = ["{tmp_path / 'gemini' / 'tmp'}"] }}

[[accounts]]
id = "gemini-free"
provider = "gemini"
credential = "env:NOT_SET_FOR_THIS_TEST"
rpd_limit = 5
""", encoding="utf-8")
    service = build_service(cfg, store_url=f"sqlite:///{tmp_path / 'qw.db'}",
                            clock=FixedClock(datetime(2026, 4, 28, 6, 41, tzinfo=UTC)))
    assert service.ingest_logs().events == 4
    assert _windows(service.status_report(), "gemini-free")["rpd"]["used"] == 0
    (tmp_path / ".gemini" / "settings.json").write_text('{"selectedAuthType": "gemini-api-key"}')  # older builds
    from quotawarden.app.agent_logs import gemini_cli_uses_api_key

    assert gemini_cli_uses_api_key(tmp_path)
    service.close()


def test_an_official_429_stands_until_its_window_resets_then_the_count_does() -> None:
    from quotawarden.analysis import reconcile
    from quotawarden.domain import QuotaSample, Unit

    now = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
    lim = counting.Limits(rpd=1500)
    counted = counting.samples("g", lim, counting.Counts(day_requests=12), now)[0]

    def exhausted(resets_at: datetime) -> QuotaSample:
        return QuotaSample(observed_at=now - timedelta(hours=5), account_id="g", window="rpd", unit=Unit.REQUESTS,
                           source=Source.PROXY, used_ratio=1.0, resets_at=resets_at, status="RESOURCE_EXHAUSTED",
                           window_length_s=86400)

    current = exhausted(datetime(2026, 1, 16, 8, 0, tzinfo=UTC))
    assert reconcile.reconcile([current, counted], now)[("g", "rpd")].sample is current
    over = exhausted(datetime(2026, 1, 15, 8, 0, tzinfo=UTC))  # that day ended at midnight Pacific
    assert reconcile.reconcile([over, counted], now)[("g", "rpd")].sample is counted
