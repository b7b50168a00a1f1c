"""The hot status path: answers from the board equal the routed ones, keys added or revoked count at once, and
the board is rebuilt once at a time while the previous one is still served."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import httpx

from quotawarden.app import instances
from quotawarden.app.service import Service
from quotawarden.interfaces.api.hotpath import StatusFastPath
from quotawarden.interfaces.api.state import Refreshed
from tests.daemon.conftest import ADMIN, register

ADMIN_BEARER = {"Authorization": f"Bearer {ADMIN}"}


def test_fast_and_routed_answers_are_the_same(app: Any, client: httpx.Client) -> None:
    reg = register(client)
    iid, key = reg["instance_id"], {"X-API-Key": reg["api_key"]}
    answers = [client.get(f"/v1/status/{iid}", headers=key), client.get("/v1/status", headers=key),
               client.get(f"/v1/status/{iid}", headers=ADMIN_BEARER),
               client.get(f"/v1/status/{iid}", headers={"X-Admin-Token": ADMIN})]  # this one goes the routed way
    assert {r.status_code for r in answers} == {200}
    assert {r.headers["content-type"] for r in answers} == {"application/json"}
    assert len({r.content for r in answers}) == 1
    assert answers[0].json()["instance_id"] == iid
    door = StatusFastPath(app, app.state.qw)  # the requests above were answered at the door, before routing
    scope = {"path": f"/v1/status/{iid}", "headers": [(b"x-api-key", reg["api_key"].encode())]}
    assert door.answer(scope) == answers[0].content
    assert door.answer({**scope, "path": "/v1/status/someone-else"}) is None  # the routers say 403
    assert door.answer({**scope, "headers": [(b"x-admin-token", ADMIN.encode())]}) is None
    admin = client.get("/v1/status", headers=ADMIN_BEARER).json()
    assert iid in admin["instances"] and "generated_at" in admin


def test_keys_added_elsewhere_or_revoked_count_at_once(client: httpx.Client, svc: Service) -> None:
    a = register(client, project="a")
    ka = {"X-API-Key": a["api_key"]}
    assert client.get("/v1/status", headers=ka).status_code == 200  # the board is built now
    # registered on another replica: this one's board does not know the key yet, the database does
    other, key = instances.register(svc, project_name="b", framework="claude", poll_interval=300, provider_config={},
                                    hard_caps={}, auth={"opencode_auth": {"zai": {"key": "sk-zaikey0123456789abcdef"}}})
    r = client.get(f"/v1/status/{other.id}", headers={"X-API-Key": key})
    assert r.status_code == 200 and r.json()["instance_id"] == other.id
    assert client.get(f"/v1/status/{other.id}", headers=ka).status_code == 403  # someone else's id
    assert client.get("/v1/status", headers={"X-API-Key": a["api_key"] + "x"}).status_code == 401
    assert client.delete(f"/v1/instances/{a['instance_id']}", headers=ka).status_code == 200
    assert client.get("/v1/status", headers=ka).status_code == 401
    assert client.get(f"/v1/status/{a['instance_id']}", headers=ka).status_code == 401


def test_one_rebuild_at_a_time_and_the_old_value_meanwhile() -> None:
    builds: list[int] = []
    gate = threading.Event()

    def build() -> int:
        gate.wait(5)
        builds.append(len(builds) + 1)
        return builds[-1]

    box = Refreshed(build, ttl=0.5, stale=5.0)  # ttl well above the time 20 callers take on a slow machine

    async def scenario() -> None:
        gate.set()
        assert await asyncio.gather(*(box.get() for _ in range(20))) == [1] * 20  # one build for 20 callers
        gate.clear()
        time.sleep(0.55)  # stale now: callers get 1 at once while one rebuild waits on the gate
        assert [await box.get() for _ in range(5)] == [1] * 5 and box.peek() == 1
        gate.set()
        for _ in range(100):
            if box.peek() == 2:
                break
            await asyncio.sleep(0.01)
        assert builds == [1, 2]
        box.invalidate()  # revoked: nobody sees 2 again
        assert box.peek() is None and await box.get() == 3

    asyncio.run(scenario())
