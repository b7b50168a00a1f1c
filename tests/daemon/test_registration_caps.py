"""``POST /v1/instances`` is open (as in quota-sentinel) within caps: 20 registrations per client address per hour
without the admin token, and at most ``MAX_INSTANCES`` registered in all; beyond either, 429 with Retry-After."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from quotawarden.app import instances
from tests.daemon.conftest import ADMIN, DEEPSEEK_KEY

BODY = {"project_name": "loop", "auth": {"opencode_auth": {"deepseek": {"key": DEEPSEEK_KEY}}}}


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_registrations_per_source_are_capped(client: httpx.Client) -> None:
    for _ in range(instances.MAX_REGISTRATIONS_PER_SOURCE):
        assert client.post("/v1/instances", json=BODY).status_code == 201
    refused = client.post("/v1/instances", json=BODY)
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) > 0
    assert "per hour" in refused.json()["detail"]
    admin = client.post("/v1/instances", json=BODY, headers={"authorization": f"Bearer {ADMIN}"})
    assert admin.status_code == 201  # the admin registers beyond the per-source cap


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_registered_instances_are_capped_in_total(client: httpx.Client, monkeypatch: Any) -> None:
    monkeypatch.setattr(instances, "MAX_INSTANCES", 3)  # the cap's value; the rule under test is unchanged
    admin = {"authorization": f"Bearer {ADMIN}"}
    made = [client.post("/v1/instances", json=BODY, headers=admin) for _ in range(3)]
    assert [r.status_code for r in made] == [201, 201, 201]
    refused = client.post("/v1/instances", json=BODY, headers=admin)
    assert refused.status_code == 429 and "3 instances are registered" in refused.json()["detail"]
    first = made[0].json()
    gone = client.delete(f"/v1/instances/{first['instance_id']}", headers={"x-api-key": first["api_key"]})
    assert gone.status_code == 200
    assert client.post("/v1/instances", json=BODY, headers=admin).status_code == 201  # room again


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("body", [
    {"project_name": "p", "auth": {"opencode_auth": {"some-other-tool": {"key": "x"}}}},
    {"project_name": "p", "auth": {"github_token": ""}},
    {"project_name": "p", "auth": {}},
])
def test_a_registration_without_a_known_provider_is_refused_by_the_schema(client: httpx.Client,
                                                                         body: dict[str, Any]) -> None:
    r = client.post("/v1/instances", json=body)
    assert r.status_code == 422 and "no known provider" in r.text


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_an_integral_float_poll_interval_is_an_integer(client: httpx.Client) -> None:
    r = client.post("/v1/instances", json={**BODY, "poll_interval": 600.0})
    assert r.status_code == 201 and r.json()["poll_interval"] == 600
