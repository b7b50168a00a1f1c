"""``quotawarden poll`` end to end: demo accounts on the emulator, both databases, CLI and JSON output."""

from __future__ import annotations

import json
import time
from pathlib import Path

from quotawarden.emulator import create_app, demo_scenario, serve, write_demo_config
from quotawarden.emulator.scenario import status_page_url
from quotawarden.store import open_store
from quotawarden.store import outcomes as outcomes_q


def test_poll_json_reports_outcomes_costs_and_status(emulator, cli, db_url, tmp_path: Path) -> None:
    url, scenario = emulator
    config = write_demo_config(scenario, url, tmp_path, db_url=db_url)
    code, out, _ = cli("poll", "--force", "--json", config=config)
    assert code == 0
    data = json.loads(out)
    results = {r["account"]: r for r in data["poll"]["results"]}
    assert len(results) == len(scenario.accounts) >= 12
    outcomes = {k: r["outcome"] for k, r in results.items()}
    assert outcomes["anthropic-prod"] == "OK" and outcomes["anthropic-ci"] == "THROTTLED"  # its minute buckets
    assert outcomes["claude-pro-carol"] == "OVERAGE" and outcomes["openai-old-key"] == "INVALID"
    assert outcomes["openai-intern"] == "LIMITED" and "insufficient_quota" in results["openai-intern"]["reason"]
    assert results["anthropic-prod"]["cost"] == {"requests": 1, "tokens": 9}
    assert results["claude-max-alice"]["cost"] == {"requests": 1, "tokens": 0}
    assert data["poll"]["requests"] >= 14
    status = {a["id"]: a for a in data["status"]["accounts"]}
    assert {w["name"] for w in status["claude-max-alice"]["windows"]} >= {"5h", "7d", "7d_opus"}
    store = open_store(db_url)  # each probe counted for the error rate: a limit or a bad key is no failure
    try:
        rates = outcomes_q.error_rates(store, time.time() - 3600, min_calls=1)
    finally:
        store.close()
    assert rates == {k: 1.0 if o in ("ERROR", "UNREACHABLE") else 0.0 for k, o in outcomes.items()}


def test_two_accounts_of_one_provider_are_stored_and_reported_apart(emulator, cli, db_url, tmp_path) -> None:
    url, scenario = emulator
    config = write_demo_config(scenario, url, tmp_path, db_url=db_url)
    assert cli("poll", "--force", "--provider", "anthropic", config=config)[0] == 0
    _code, out, _ = cli("status", "--json", config=config)
    accounts = {a["id"]: {w["name"]: w for w in a["windows"]} for a in json.loads(out)["accounts"]}
    prod, batch = accounts["anthropic-prod"], accounts["anthropic-batch"]
    assert prod["tpm"]["used"] == 300_000 and batch["tpm"]["used"] == 1_300_000
    assert prod["rpm"]["remaining"] != batch["rpm"]["remaining"]


def test_cache_guard_skips_recent_accounts_unless_forced(emulator, cli, tmp_path) -> None:
    url, scenario = emulator
    config = write_demo_config(scenario, url, tmp_path, db_url=f"sqlite:///{tmp_path / 'qw.db'}")
    cli("poll", "--account", "codex-plus", "--json", config=config)
    again = json.loads(cli("poll", "--account", "codex-plus", "--json", config=config)[1])["poll"]["results"][0]
    assert again["skipped"] and "cache guard" in again["reason"] and again["cost"]["requests"] == 0
    forced = json.loads(cli("poll", "--account", "codex-plus", "--force", "--json", config=config)[1])
    assert not forced["poll"]["results"][0]["skipped"]


def test_poll_table_and_providers_list(emulator, cli, tmp_path) -> None:
    url, scenario = emulator
    config = write_demo_config(scenario, url, tmp_path, db_url=f"sqlite:///{tmp_path / 'qw.db'}")
    code, out, _ = cli("poll", "--provider", "codex", config=config)
    assert code == 0 and "codex-plus" in out and "Overall" in out
    providers = json.loads(cli("providers", "--json")[1])["providers"]
    slugs = {p["slug"]: p for p in providers}
    assert {"anthropic", "claude", "codex", "openai", "openai_admin", "anthropic_admin", "gemini"} <= set(slugs)
    assert slugs["claude"]["min_probe_interval_s"] == 180 and slugs["openai"]["probe_cost"]


def test_import_token_monitor(cli, tmp_path) -> None:
    log = tmp_path / "monitor.jsonl"
    log.write_text('{"ts": "2026-08-20T14:00:00Z", "provider": "claude", "status": "allowed", '
                   '"utilization_5h": 0.42, "utilization_7d": 18, "reset_in_seconds": 3600}\n'
                   'not json\n{"ts": "2026-08-20T14:05:00Z", "utilization_5h": 1700000000}\n')
    config = tmp_path / "c.toml"
    config.write_text(f'[database]\nurl = "sqlite:///{tmp_path / "qw.db"}"\n')
    code, out, _ = cli("import", "token-monitor", str(log), "--json", config=config)
    data = json.loads(out)
    assert code == 0 and data["samples"] == 2 and len(data["skipped"]) == 2
    from quotawarden.store import open_store
    from quotawarden.store.samples import latest

    got = {s.window: s for s in latest(open_store(f"sqlite:///{tmp_path / 'qw.db'}"))}
    assert got["5h"].used_ratio == 0.42 and got["7d"].used_ratio == 0.18 and got["5h"].source.value == "import"


def test_discover_offers_references_only(cli, tmp_path, monkeypatch) -> None:
    home = Path.home()
    (home / ".claude").mkdir(parents=True, exist_ok=True)
    secret = "sk-ant-oat01-discoversecret0000000000000000000000000000"
    (home / ".claude/.credentials.json").write_text(json.dumps(
        {"claudeAiOauth": {"accessToken": secret, "scopes": ["user:profile"], "subscriptionType": "pro"}}))
    monkeypatch.setenv("OPENAI_API_KEY", "sk-proj-envsecret000000000000000000000001")
    config = tmp_path / "c.toml"
    config.write_text("")
    _code, out, _ = cli("accounts", "discover", "--json", config=config)
    found = {f["provider"]: f for f in json.loads(out)["found"]}
    assert found["claude"]["credential"].startswith("file:") and found["openai"]["credential"] == "env:OPENAI_API_KEY"
    assert cli("accounts", "discover", "--add", "--yes", config=config)[0] == 0
    text = config.read_text()
    assert "env:OPENAI_API_KEY" in text and secret not in text and "envsecret" not in text


def test_status_pages_weigh_in_on_health_and_are_read_once_per_interval(cli, db_url, tmp_path) -> None:
    scenario = demo_scenario()
    scenario.status["openai"] = "major"
    app = create_app(scenario)
    with serve(app) as url:
        config = write_demo_config(scenario, url, tmp_path, db_url=db_url)
        # a page that cannot be read says "unknown", never a health problem of the provider's
        config.write_text(config.read_text().replace(status_page_url(url, "anthropic"), "http://127.0.0.1:9/down"))
        for _ in range(2):
            assert cli("poll", "--force", "--json", config=config)[0] == 0
        reads = dict(app.state.emulator.status_reads)
        _code, out, _ = cli("status", "--json", config=config)
    assert reads == {p: 1 for p in {a.provider for a in scenario.accounts} - {"anthropic"}}  # once per interval
    report = json.loads(out)
    assert report["services"]["openai"]["state"] == "partial_outage"
    assert report["services"]["openai"]["description"] == "Partial System Outage"
    assert report["services"]["anthropic"]["state"] == "unknown"
    accounts = report["accounts"]
    openai = [a for a in accounts if a["provider"] == "openai" and a["windows"]]
    assert openai and all(a["status"] in ("YELLOW", "RED") for a in openai)
    assert any("service partial_outage" in w["reason"] for a in openai for w in a["windows"])
    assert not any("service" in w["reason"] for a in accounts if a["provider"] != "openai" for w in a["windows"])
