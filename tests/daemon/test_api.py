"""The API on a real uvicorn, on both databases: quota-sentinel's README requests, restart, secrets at rest."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx

from quotawarden.app.service import Service
from quotawarden.domain import QuotaSample, Source, Unit
from quotawarden.interfaces.api import create_app
from quotawarden.redact import fingerprint
from quotawarden.store import samples as samples_q
from tests.daemon.conftest import ADMIN, DEEPSEEK_KEY, Uvicorn, make_service, register

# The README's full registration example (keys shortened into valid-looking fakes).
FULL = {
    "project_name": "my-project", "framework": "opencode", "poll_interval": 300,
    "provider_config": {"minimax": {"group_id": "group-123"}, "copilot": {"github_username": "myuser", "plan": "pro"}},
    "hard_caps": {"deepseek_default": 90.0, "claude_five_hour": 70.0},
    "auth": {
        "opencode_auth": {"deepseek-coding-plan": {"key": DEEPSEEK_KEY},
                          "minimax-coding-plan": {"key": "sk-minimaxkey0123456789abcd", "group_id": "group-123"}},
        "claude_credentials": {"accessToken": "sk-ant-oat01-claudeaccess0123456789",
                               "refreshToken": "sk-ant-ort01-refresh0123456789", "expiresAt": 1234567890000},
        "github_token": "gho_githubtoken0123456789abcdef",
    },
}


def _sample(aid: str, ratio: float, svc: Service) -> QuotaSample:
    now = svc.now()
    return QuotaSample(observed_at=now - timedelta(seconds=5), account_id=aid, window="balance", unit=Unit.PERCENT,
                       source=Source.PROBE, used_ratio=ratio, resets_at=now + timedelta(hours=3))


def test_quota_sentinel_readme_flow(client: httpx.Client, svc: Service) -> None:
    r = client.post("/v1/instances", json=FULL)
    assert r.status_code == 201
    reg = r.json()
    assert set(reg) == {"instance_id", "api_key", "providers", "poll_interval"}
    assert reg["providers"] == ["claude", "copilot", "deepseek", "minimax"] and reg["poll_interval"] == 300
    h = {"X-API-Key": reg["api_key"]}

    aid = next(a.id for a in svc.accounts() if a.provider == "deepseek")
    samples_q.write_samples(svc.store, [_sample(aid, 0.95, svc)])  # over the 90% cap the instance asked for

    st = client.get("/v1/status", headers=h).json()
    assert {"timestamp", "framework", "overall_status", "recommendation", "message", "providers",
            "alternative_providers", "all_exhausted", "central_watchdog"} <= set(st)
    assert st["providers"]["deepseek"]["status"] == "RED"
    w = st["providers"]["deepseek"]["windows"]["balance"]
    assert w["utilization"] == 95.0 and {"velocity_pct_per_hour", "projected_exhaustion_min", "resets_at"} <= set(w)
    assert st["providers"]["claude"] == {"status": "UNKNOWN", "error": "UNKNOWN: no data yet"}
    assert st["recommendation"] == "STOP"  # opencode: every provider with data is RED
    assert st["central_watchdog"] == {"active_instances": 1, "budget_weight": 1.0, "mode": "centralized"}
    assert client.get(f"/v1/status/{reg['instance_id']}", headers=h).json()["recommendation"] == "STOP"

    provs = client.get("/v1/providers", headers=h).json()
    assert provs["deepseek"]["status"] == "RED" and provs["deepseek"]["windows"]["balance"]["utilization"] == 95.0
    detail = client.get("/v1/providers/deepseek", headers=h).json()
    assert {"name", "fingerprint", "subscribers"} <= set(detail) and detail["subscribers"] == [reg["instance_id"]]
    assert DEEPSEEK_KEY not in str(detail)
    assert client.post("/v1/poll", headers=h).json()["status"] == "poll triggered"
    assert client.patch(f"/v1/instances/{reg['instance_id']}/heartbeat", headers=h,
                        json={"state": "idle"}).json() == {"status": "ok"}
    health = client.get("/v1/health").json()
    assert health["status"] == "ok" and health["instances"] == 1
    assert client.delete(f"/v1/instances/{reg['instance_id']}", headers=h).json() == {"status": "ok"}
    assert client.get("/v1/status", headers=h).status_code == 401


def test_claude_is_strict_and_budget_is_split_by_state(client: httpx.Client, svc: Service) -> None:
    a = register(client, framework="claude", project="a")
    b = register(client, framework="claude", project="b")  # same key: one account, one poller
    aid = next(x.id for x in svc.accounts() if x.provider == "deepseek")
    assert len([x for x in svc.accounts() if x.provider == "deepseek"]) == 1
    samples_q.write_samples(svc.store, [_sample(aid, 0.70, svc)])
    ha = {"X-API-Key": a["api_key"]}
    # two active instances: 85% cap * 0.5 * 1.5 overcommit = 63.75% each -> 70% is RED -> claude STOPs
    assert client.get("/v1/status", headers=ha).json()["recommendation"] == "STOP"
    client.patch(f"/v1/instances/{b['instance_id']}/heartbeat", headers={"X-API-Key": b["api_key"]},
                 json={"state": "paused"})
    # b paused: a gets the whole cap (85%), 70% is below it
    st = client.get("/v1/status", headers=ha).json()
    assert st["providers"]["deepseek"]["windows"]["balance"]["cap"] == 85.0
    assert st["recommendation"] in ("PROCEED", "PROCEED_SMALL_ONLY")


def test_bad_requests_get_clear_bodies(client: httpx.Client) -> None:
    r = client.post("/v1/instances", json={"project_name": "x", "auth": {}})
    assert r.status_code == 422 and r.json()["error"] == "invalid request"  # the schema names what is needed
    assert "no known provider in auth" in str(r.json()["detail"])
    r = client.post("/v1/instances", json={"framework": "claude"})
    assert r.status_code == 422 and r.json()["error"] == "invalid request"
    assert any(e["loc"][-1] == "project_name" for e in r.json()["detail"])
    r = client.get("/v1/status/nope", headers={"Authorization": f"Bearer {ADMIN}"})
    assert r.status_code == 404 and r.json()["error"] == "not found"


def test_restart_keeps_registrations_and_history(db_url: str, tmp_path: Path) -> None:
    svc = make_service(db_url, tmp_path)
    with Uvicorn(create_app(svc, admin_token=ADMIN)) as url, httpx.Client(base_url=url) as c:
        reg = register(c)
        aid = next(a.id for a in svc.accounts() if a.provider == "deepseek")
        samples_q.write_samples(svc.store, [_sample(aid, 0.4, svc)])
    svc.close()
    svc2 = make_service(db_url, tmp_path)
    with Uvicorn(create_app(svc2, admin_token=ADMIN)) as url, httpx.Client(base_url=url) as c:
        st = c.get(f"/v1/status/{reg['instance_id']}", headers={"X-API-Key": reg["api_key"]})
        assert st.status_code == 200
        assert st.json()["providers"]["deepseek"]["windows"]["balance"]["utilization"] == 40.0
        hist = c.get(f"/v1/accounts/{aid}/samples", headers={"Authorization": f"Bearer {ADMIN}"}).json()
        assert len(hist) == 1
    # the credential is sealed: neither the key nor the API key is in the database in plaintext
    assert svc2.resolve_credential(f"vault:instance/{fingerprint(DEEPSEEK_KEY)}") == DEEPSEEK_KEY
    dump = _dump(svc2)
    assert DEEPSEEK_KEY not in dump and reg["api_key"] not in dump
    svc2.close()


def _dump(svc: Service) -> str:
    from sqlalchemy import select

    from quotawarden.store import schema
    from quotawarden.store.schema_daemon import instance_secrets

    out: list[Any] = []
    with svc.store.engine.connect() as conn:
        for t in (schema.consumers, schema.accounts, instance_secrets, schema.audit_events):
            out += [tuple(r) for r in conn.execute(select(t))]
    return repr(out)
