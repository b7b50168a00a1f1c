"""Whether an MCP server an agent tool is configured with answers, checked at the edge (``LocalFileTransport``).

A local-tool probe stays sans-I/O: it yields ``GET qw-mcp://localhost/<settings file>?server=<name>`` and gets
``200 {"state", "detail"}`` back, whatever happened; a check never fails the probe.

* ``sse``: ``GET url`` with ``Accept: text/event-stream``; an answer below 500 within the timeout answers.
* ``streamableHttp``: ``POST url`` with a JSON-RPC ``initialize``; an answer below 500 answers.
* ``stdio``: started only when the account allows it (``mcp_spawn = true``, ``?spawn=1``): the command runs with
  its configured args, env and cwd, gets ``initialize`` on stdin and must answer a JSON-RPC result line within
  the timeout; it is then stopped (its whole process group). Otherwise ``not_checked``: starting a configured
  command may download packages or touch files, so it is never done by default.

States: ``answers``, ``down`` (with why), ``not_checked``, ``disabled``, ``unknown`` (not in the file). Details
never hold headers, env values or a URL's query (tokens hide there): a URL is shown as scheme, host and path.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import orjson

TIMEOUT_S = 3.0
SPAWN_TIMEOUT_S = 8.0
INITIALIZE = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
              "params": {"protocolVersion": "2025-06-18", "capabilities": {},
                         "clientInfo": {"name": "quotawarden", "version": "check"}}}


def server_type(conf: dict[str, Any]) -> str:
    """Cline's rule (``src/services/mcp/schemas.ts``): ``type``, else the legacy ``transportType``, else ``stdio``
    with a ``command``, ``sse`` with a ``url``."""
    kind = conf.get("type") or {"stdio": "stdio", "sse": "sse", "http": "streamableHttp"}.get(
        str(conf.get("transportType") or ""))
    if kind:
        return str(kind)
    return "stdio" if conf.get("command") else "sse"


def shown_url(url: str) -> str:
    p = urlsplit(url)
    return f"{p.scheme}://{p.hostname or ''}{f':{p.port}' if p.port else ''}{p.path}"


async def check_http(conf: dict[str, Any], kind: str, timeout: float = TIMEOUT_S) -> tuple[str, str]:
    url = str(conf.get("url") or "")
    if not url.startswith(("http://", "https://")):
        return "down", "no http(s) url"
    headers = {str(k): str(v) for k, v in (conf.get("headers") or {}).items()} if isinstance(
        conf.get("headers"), dict) else {}
    try:
        async with httpx.AsyncClient(timeout=timeout) as client:
            if kind == "sse":
                async with client.stream("GET", url, headers={**headers, "Accept": "text/event-stream"}) as r:
                    status = r.status_code
            else:
                r = await client.post(url, json=INITIALIZE, headers={
                    **headers, "Accept": "application/json, text/event-stream"})
                status = r.status_code
    except httpx.TimeoutException:
        return "down", f"{shown_url(url)}: no answer within {timeout:g}s"
    except httpx.HTTPError as exc:
        return "down", f"{shown_url(url)}: {type(exc).__name__}"
    if status >= 500:
        return "down", f"{shown_url(url)}: HTTP {status}"
    return "answers", f"{shown_url(url)}: HTTP {status}"


async def check_stdio(conf: dict[str, Any], timeout: float = SPAWN_TIMEOUT_S) -> tuple[str, str]:
    command = str(conf.get("command") or "")
    args = [str(a) for a in conf.get("args") or []] if isinstance(conf.get("args"), list) else []
    env = {**os.environ, **{str(k): str(v) for k, v in (conf.get("env") or {}).items()}} if isinstance(
        conf.get("env"), dict) else dict(os.environ)
    cwd = str(conf["cwd"]) if isinstance(conf.get("cwd"), str) and Path(conf["cwd"]).is_dir() else None
    name = Path(command).name or "command"
    try:
        proc = await asyncio.create_subprocess_exec(
            command, *args, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL, env=env, cwd=cwd, start_new_session=True)
    except (OSError, ValueError) as exc:
        return "down", f"{name}: cannot start ({type(exc).__name__})"
    try:
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write(orjson.dumps(INITIALIZE) + b"\n")
        await proc.stdin.drain()

        async def first_result() -> bool:
            assert proc.stdout is not None
            while line := await proc.stdout.readline():
                with contextlib.suppress(orjson.JSONDecodeError):
                    msg = orjson.loads(line)
                    if isinstance(msg, dict) and msg.get("id") == 1:
                        return "result" in msg
            return False

        ok = await asyncio.wait_for(first_result(), timeout)
        return ("answers", f"{name}: initialize answered") if ok else ("down", f"{name}: no initialize result")
    except TimeoutError:
        return "down", f"{name}: no answer within {timeout:g}s"
    except (OSError, ConnectionError) as exc:
        return "down", f"{name}: {type(exc).__name__}"
    finally:
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(proc.wait(), 5)


async def check(settings_file: Path, server: str, spawn: bool) -> dict[str, str]:
    """The state of one server of an ``mcpServers`` settings file (never raises)."""
    try:
        data = orjson.loads(settings_file.read_bytes())
        conf = data["mcpServers"][server]
    except (OSError, orjson.JSONDecodeError, KeyError, TypeError):
        return {"state": "unknown", "detail": "not in the settings file"}
    if not isinstance(conf, dict):
        return {"state": "unknown", "detail": "not an object"}
    kind = server_type(conf)
    if conf.get("disabled"):
        return {"state": "disabled", "detail": "disabled in the settings", "type": kind}
    if kind == "stdio":
        if not spawn:
            return {"state": "not_checked", "type": kind,
                    "detail": "stdio server not started (set mcp_spawn = true on the account to check it)"}
        state, detail = await check_stdio(conf)
    else:
        state, detail = await check_http(conf, kind)
    return {"state": state, "detail": detail, "type": kind}
