"""Local Cline: the MCP servers of its ``cline_mcp_settings.json`` and whether each answers, read through the real
``file://``/``qw-mcp://`` transport: a real MCP server over streamable HTTP (the ``mcp`` SDK on a loopback port),
one over stdio (started only with ``mcp_spawn``), one that is down and one disabled. A check never fails the probe
and no header, env value or URL query reaches the details."""

from __future__ import annotations

import asyncio
import json
import socket
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from quotawarden.clock import FixedClock
from quotawarden.domain import Account, Outcome
from quotawarden.sources.local_files import LocalFileTransport
from quotawarden.sources.probe_runner import ProbeJob, ProbeResult, ProbeRunner
from tests.providers.more_kit import NOW, spec
from tests.proxy.conftest import serve

SETTINGS = ".config/Code/User/globalStorage/saoudrizwan.claude-dev/settings/cline_mcp_settings.json"
TASK = ".config/Code/User/globalStorage/saoudrizwan.claude-dev/tasks/1787230000000/ui_messages.json"
STDIO_SERVER = "from mcp.server.mcpserver import MCPServer\nMCPServer('local-notes').run('stdio')\n"


def _closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return int(port)


def _probe(home: Path, spawn: bool) -> ProbeResult:
    s = spec("cline")
    assert s.settings_model is not None
    runner = ProbeRunner(FixedClock(NOW), transport=LocalFileTransport(), tries=1, timeout=15)
    account = Account(id="cline-local", provider="cline", base_url=home.as_uri())
    return asyncio.run(runner.run(ProbeJob(s, account, None, s.settings_model(mcp_spawn=spawn))))


@pytest.fixture(scope="module")
def http_mcp() -> Iterator[str]:
    from mcp.server.mcpserver import MCPServer

    app = MCPServer("docs").streamable_http_app(stateless_http=True, json_response=True)
    with serve(app) as url:
        yield f"{url}/mcp"


@pytest.mark.parametrize("spawn", [False, True])
def test_mcp_servers_and_whether_each_answers(tmp_path: Path, http_mcp: str, spawn: bool) -> None:
    (tmp_path / "notes_server.py").write_text(STDIO_SERVER)
    settings = {"mcpServers": {
        "docs": {"type": "streamableHttp", "url": http_mcp + "?token=secret-in-query-123",
                 "headers": {"Authorization": "Bearer hdr-secret-456"}, "disabled": False},
        "notes": {"command": sys.executable, "args": [str(tmp_path / "notes_server.py")],
                  "env": {"NOTES_TOKEN": "env-secret-789"}, "disabled": False, "autoApprove": []},
        "gone": {"url": f"http://127.0.0.1:{_closed_port()}/sse", "type": "sse"},
        "off": {"url": "http://127.0.0.1:9/mcp", "transportType": "http", "disabled": True},
    }}
    (tmp_path / SETTINGS).parent.mkdir(parents=True)
    (tmp_path / SETTINGS).write_text(json.dumps(settings))
    (tmp_path / TASK).parent.mkdir(parents=True)
    (tmp_path / TASK).write_text('[{"ts":1787230001000,"type":"say","say":"api_req_failed"}]')
    r = _probe(tmp_path, spawn)
    assert r.outcome is Outcome.OK, r.reason
    got = {m["name"]: m for m in r.details["mcp_servers"]}
    assert {n: (m["type"], m["state"]) for n, m in got.items()} == {
        "docs": ("streamableHttp", "answers"), "gone": ("sse", "down"), "off": ("streamableHttp", "disabled"),
        "notes": ("stdio", "answers" if spawn else "not_checked")}, got
    assert r.reason == "MCP server not answering: gone"
    text = json.dumps([r.reason, r.details, r.as_json()], default=str)
    for secret in ("secret-in-query-123", "hdr-secret-456", "env-secret-789"):
        assert secret not in text


def test_no_settings_file_means_no_servers(tmp_path: Path) -> None:
    r = _probe(tmp_path, False)
    assert r.outcome is Outcome.OK and r.details["mcp_servers"] == [] and r.reason == ""


def test_a_malformed_settings_file_lists_nothing_and_never_fails(tmp_path: Path) -> None:
    (tmp_path / SETTINGS).parent.mkdir(parents=True)
    (tmp_path / SETTINGS).write_text('{"mcpServers": ')
    r = _probe(tmp_path, True)
    assert r.outcome is Outcome.OK and r.details["mcp_servers"] == []


def test_the_cline_cli_folder_counts_as_activity_and_errors_too(tmp_path: Path) -> None:
    task = tmp_path / ".cline/data/tasks/1787230000001/ui_messages.json"
    task.parent.mkdir(parents=True)
    task.write_text('[{"ts":1787230001000,"type":"say","say":"error"},{"ts":1787230002000,"type":"say","say":"text"}]')
    import os

    os.utime(task, (NOW.timestamp() - 600, NOW.timestamp() - 600))
    r = _probe(tmp_path, False)
    assert r.outcome is Outcome.OK and r.details["installed"] is True
    assert r.details["errors_24h"] == 1 and r.details["last_activity"] == "2026-08-20T13:53:11+00:00"
