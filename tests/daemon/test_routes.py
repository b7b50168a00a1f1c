"""Auth over the app's own route table: every route but the open ones refuses a missing or a wrong key."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from starlette.routing import Mount

from tests.daemon.conftest import ADMIN, register

OPEN = {("GET", "/v1/health"), ("POST", "/v1/instances"), ("GET", "/openapi.json"), ("GET", "/metrics"),
        ("GET", "/docs"), ("GET", "/docs/oauth2-redirect"), ("GET", "/redoc")}


def route_table(app: Any) -> list[tuple[str, str]]:
    """(method, path) of every route, descending into included routers (FastAPI keeps them nested)."""
    out: list[tuple[str, str]] = []

    def walk(routes: list[Any], prefix: str) -> None:
        for r in routes:
            inner = getattr(r, "original_router", None)
            if inner is not None:
                walk(inner.routes, prefix + (getattr(r.include_context, "prefix", "") or ""))
            elif isinstance(r, Mount):
                out.append(("GET", prefix + r.path.rstrip("/") + "/"))
            elif getattr(r, "methods", None):
                out.extend((m, prefix + r.path) for m in sorted(r.methods) if m != "HEAD")

    walk(app.router.routes, "")
    return out


def concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "1", path)


@pytest.mark.parametrize("headers", [{}, {"X-API-Key": "qw_wrong"}, {"Authorization": "Bearer wrong"}],
                         ids=["no key", "wrong key", "wrong admin token"])
def test_every_route_but_the_open_ones_refuses(app: Any, client: httpx.Client, headers: dict[str, str]) -> None:
    table = route_table(app)
    assert ("PATCH", "/v1/instances/{instance_id}/heartbeat") in table  # the table is the real one
    checked = 0
    for method, path in table:
        if (method, path) in OPEN:
            continue
        r = client.request(method, concrete(path), headers=headers, json={})
        assert r.status_code in (401, 403), (method, path, r.status_code, r.text)
        assert r.json()["error"] in ("unauthorized", "forbidden")
        checked += 1
    assert checked >= 15


def test_an_instance_key_never_reads_another_instance(client: httpx.Client) -> None:
    a = register(client, project="a")
    b = register(client, key="sk-anotherdeepseekkey9876543210", project="b")
    ka = {"X-API-Key": a["api_key"]}
    for method, path in [("GET", f"/v1/status/{b['instance_id']}"), ("DELETE", f"/v1/instances/{b['instance_id']}"),
                         ("PATCH", f"/v1/instances/{b['instance_id']}/heartbeat")]:
        r = client.request(method, path, headers=ka, json={})
        assert r.status_code == 403, (method, path, r.text)
        assert r.json() == {"error": "forbidden", "detail": "this key belongs to another instance"}
    mine = client.get("/v1/status", headers=ka).json()
    assert mine["instance_id"] == a["instance_id"]
    assert client.get("/v1/providers/deepseek", headers=ka).json()["subscribers"] == [a["instance_id"]]
    # admin-only routes are 403 for an instance key
    assert client.get("/v1/accounts", headers=ka).status_code == 403
    assert client.get("/v1/accounts", headers={"Authorization": f"Bearer {ADMIN}"}).status_code == 200
