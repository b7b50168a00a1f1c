"""A quiet daemon does not load what only some requests use: the MCP SDK is imported by the first ``/mcp`` request,
and that request is then answered by the official MCP client as before."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

from quotawarden.interfaces.daemon.serve import build, local_token_file
from tests.daemon.conftest import Uvicorn, make_service

BUILD = """
import sys
from quotawarden.app.service import build_service
from quotawarden.interfaces.daemon.serve import build
svc = build_service(sys.argv[1], store_url=sys.argv[2])
build(svc, "127.0.0.1")
heavy = sorted(m for m in ("mcp", "alembic", "websockets") if m in sys.modules)
print(",".join(heavy) or "-")
"""


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_the_daemon_app_is_built_without_the_mcp_sdk(tmp_path: Path, db_url: str) -> None:
    make_service(db_url, tmp_path).close()  # the store exists and is migrated, as on a restart
    cfg = tmp_path / "config.toml"
    cfg.write_text("")
    done = subprocess.run([sys.executable, "-c", BUILD, str(cfg), db_url], capture_output=True, text=True,
                          timeout=60, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "-"


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_mcp_answers_through_the_lazy_mount(tmp_path: Path, db_url: str) -> None:
    svc = make_service(db_url, tmp_path)
    app, _daemon = build(svc, "127.0.0.1")

    token = local_token_file().read_text().strip()

    async def tools(url: str) -> set[str]:
        http = create_mcp_http_client(headers={"Authorization": f"Bearer {token}"})
        async with http, Client(streamable_http_client(f"{url}/mcp/", http_client=http)) as client:
            return {t.name for t in (await client.list_tools()).tools}

    with Uvicorn(app) as url:
        assert httpx.post(f"{url}/mcp/", json={}).status_code == 401  # the daemon's auth, before any import
        first, again = asyncio.run(tools(url)), asyncio.run(tools(url))
    assert {"status", "list_alerts"} <= first
    assert again == first
    svc.close()
