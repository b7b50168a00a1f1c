"""``serve`` on loopback with no token configured: MCP needs the per-install token (a local MCP client reads it
from the data dir), the dashboard answers loopback Host names only, and its ack needs the page's CSRF token and
no foreign Origin."""

from __future__ import annotations

import asyncio
import re
import stat
from pathlib import Path

import httpx
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

from quotawarden.interfaces.daemon.serve import build, local_token_file
from tests.daemon.conftest import Uvicorn, make_service


def test_mcp_over_http_needs_the_local_token(tmp_path: Path) -> None:
    svc = make_service(f"sqlite:///{tmp_path / 'a.db'}", tmp_path)
    app, _ = build(svc, "127.0.0.1", tick_s=3600)
    token_file = local_token_file()
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    token = token_file.read_text().strip()
    with Uvicorn(app) as url:
        init = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
        accept = {"accept": "application/json, text/event-stream"}
        refused = httpx.post(f"{url}/mcp/", json=init, headers=accept)
        assert refused.status_code == 401 and "admin-token" in refused.json()["detail"]
        assert token not in refused.text
        api = httpx.get(f"{url}/v1/status")  # the API's 401 says where the token is, never the token
        assert api.status_code == 401 and "admin-token" in api.json()["detail"] and token not in api.text

        async def tools() -> set[str]:
            http = create_mcp_http_client(headers={"Authorization": f"Bearer {token}"})
            async with http, Client(streamable_http_client(f"{url}/mcp/", http_client=http)) as client:
                return {t.name for t in (await client.list_tools()).tools}

        assert {"list_keys", "add_key", "ack_alert", "trigger_poll"} <= asyncio.run(tools())
    svc.close()


def test_dashboard_checks_host_origin_and_csrf(tmp_path: Path) -> None:
    svc = make_service(f"sqlite:///{tmp_path / 'a.db'}", tmp_path)
    app, _ = build(svc, "127.0.0.1", tick_s=3600)
    with Uvicorn(app) as url, httpx.Client(base_url=url, timeout=10) as c:
        assert c.get("/alerts").status_code == 200
        for host in ("localhost", "127.0.0.1", "[::1]:7878", "localhost:7878"):
            assert c.get("/", headers={"host": host}).status_code == 200, host
        for host in ("evil.example", "evil.example:7878", "127.0.0.1.nip.io", "0.0.0.0"):  # DNS rebinding
            r = c.get("/", headers={"host": host})
            assert r.status_code == 403 and "Host" in r.text, host
        found = re.search(r'<meta name="csrf-token" content="([0-9a-f]+)">', c.get("/alerts").text)
        assert found is not None
        token = found.group(1)
        assert c.post("/alerts/999/ack", headers={"accept": "application/json"}).status_code == 403
        assert c.post("/alerts/999/ack", data={"csrf": "0" * 40}).status_code == 403
        foreign = {"origin": "http://evil.example", "x-csrf-token": token, "accept": "application/json"}
        assert c.post("/alerts/999/ack", headers=foreign).status_code == 403
        own = {"origin": url, "x-csrf-token": token, "accept": "application/json"}
        assert c.post("/alerts/999/ack", headers=own).status_code == 404  # past the guard: no such alert
        assert c.post("/alerts/999/ack", data={"csrf": token}, headers={"origin": url}).status_code == 404
    svc.close()
