"""Agent tools as accounts: OpenCode, Cline and Antigravity, read from their local state and logs.

Sans-I/O like every probe: it yields ``GET file:///...`` requests (a directory answers with a JSON listing,
see ``quotawarden.sources.local_files``) and parses what comes back, so file reading stays at the edge. The
``base_url`` of such an account is the home directory to look in (default: the user's home).

What each tool reports: configured models, last activity (newest file time under its state folder), and
errors in the last 24 hours. Only the OpenCode data folder is described by the provider reference; the
config keys, log line shapes and the Cline/Antigravity locations are guesses, read tolerantly.

Cline also reports the MCP servers it is configured with (``cline_mcp_settings.json`` of the VS Code extension
and of the Cline CLI, the ``mcpServers`` schema of cline/cline ``src/services/mcp/schemas.ts``) and whether each
answers (``mcp_servers`` in the details; ``quotawarden.sources.mcp_check`` does the checking at the edge). A
stdio server is started only with ``mcp_spawn = true`` on the account. A server that does not answer is named
in the reason; it never makes the account's reading fail.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Generator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict

from quotawarden.domain import Provenance, Unit
from quotawarden.plugins import hookimpl
from quotawarden.providers._quota import SampleSet
from quotawarden.spec import HttpRequest, HttpResponse, ProbeContext, ProbeReading, ProviderSpec

DAY = timedelta(hours=24)
MAX_LOGS = 20
TAIL_BYTES = 256 * 1024


@dataclass(frozen=True, slots=True)
class Tool:
    slug: str
    display_name: str
    state_dir: str
    """Relative to home: its newest file is the last activity."""
    logs: tuple[str, int, str]
    """(folder relative to home, listing depth, file-name regex) of the files errors are counted in."""
    error_line: re.Pattern[bytes]
    configs: tuple[str, ...] = ()
    """JSON files whose model fields name the configured models."""
    mcp_settings: tuple[str, ...] = ()
    """``mcpServers`` settings files (relative to home) whose servers are checked."""
    also: tuple[str, ...] = ()
    """More folders (relative to home) read both as state and as logs, like ``logs`` (another install's data)."""
    docs: str = "Configured models, last activity, errors in the last 24 hours (local files)."
    """What ``quotawarden providers`` says of it."""


class ToolSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    mcp_spawn: bool = False
    """Start each configured stdio MCP server briefly to see whether it answers ``initialize`` (off: such a
    server is listed as ``not_checked``; starting a command may download packages)."""


def _models(raw: bytes) -> list[str]:
    """``model``/``small_model`` strings and the keys of ``provider`` (OpenCode's config shape)."""
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return []
    if not isinstance(data, dict):
        return []
    found = [str(data[k]) for k in ("model", "small_model", "modelId", "apiModelId") if isinstance(data.get(k), str)]
    providers = data.get("provider")
    if isinstance(providers, dict):
        for name, conf in providers.items():
            models = conf.get("models") if isinstance(conf, dict) else None
            found += [f"{name}/{m}" for m in models] if isinstance(models, dict) else []
    return found


def _listing(resp: HttpResponse) -> list[dict[str, Any]]:
    if resp.status != 200:
        return []
    try:
        entries = orjson.loads(resp.body).get("entries", [])
    except (orjson.JSONDecodeError, AttributeError):
        return []
    return [e for e in entries if isinstance(e, dict) and not e.get("dir")]


def _home(uri: str) -> str:
    """``file:///home/u`` -> ``file://localhost/home/u``: HTTP clients take a host-less URL for a relative one."""
    uri = uri.rstrip("/")
    return "file://localhost/" + uri[len("file:///"):] if uri.startswith("file:///") else uri


def _mcp_servers(resp: HttpResponse) -> list[str]:
    """The server names of an ``mcpServers`` settings file (none when it is missing or unreadable)."""
    if resp.status != 200:
        return []
    try:
        servers = orjson.loads(resp.body).get("mcpServers")
    except (orjson.JSONDecodeError, AttributeError):
        return []
    return sorted(str(k) for k in servers)[:50] if isinstance(servers, dict) else []


def _mcp_state(resp: HttpResponse) -> dict[str, str]:
    try:
        found = orjson.loads(resp.body) if resp.status == 200 else {}
    except orjson.JSONDecodeError:
        found = {}
    if not isinstance(found, dict) or "state" not in found:
        return {"state": "unknown", "detail": f"no check result (HTTP {resp.status})"}
    return {k: str(found[k]) for k in ("state", "type", "detail") if k in found}


def tool_probe(tool: Tool) -> Callable[[ProbeContext], Generator[HttpRequest, HttpResponse, ProbeReading]]:
    def probe(ctx: ProbeContext) -> Generator[HttpRequest, HttpResponse, ProbeReading]:
        home = _home(ctx.account.base_url or Path.home().as_uri())
        models: list[str] = []
        for rel in tool.configs:
            resp = yield HttpRequest("GET", f"{home}/{rel}", purpose="local")
            models += _models(resp.body) if resp.status == 200 else []
        files: list[dict[str, Any]] = []
        for state in (tool.state_dir, *tool.also):
            resp = yield HttpRequest("GET", f"{home}/{state}", params={"depth": "4"}, purpose="local")
            files += _listing(resp)
        last = max((float(e.get("mtime", 0)) for e in files), default=None)
        folder, depth, pattern = tool.logs
        since = (ctx.now - DAY).timestamp()
        found: list[tuple[str, dict[str, Any]]] = []
        for logs in dict.fromkeys((folder, *tool.also)):
            resp = yield HttpRequest("GET", f"{home}/{logs}", params={"depth": str(depth)}, purpose="local")
            found += [(logs, e) for e in _listing(resp) if re.search(pattern, str(e.get("path", "")))
                      and float(e.get("mtime", 0)) >= since]
        recent = sorted(found, key=lambda fe: -float(fe[1].get("mtime", 0)))
        errors = 0
        for logs, entry in recent[:MAX_LOGS]:
            resp = yield HttpRequest("GET", f"{home}/{logs}/{entry['path']}", params={"tail": str(TAIL_BYTES)},
                                     purpose="local")
            errors += len(tool.error_line.findall(resp.body)) if resp.status == 200 else 0
        mcp: list[dict[str, Any]] = []
        spawn = isinstance(ctx.settings, ToolSettings) and ctx.settings.mcp_spawn
        for rel in tool.mcp_settings:
            resp = yield HttpRequest("GET", f"{home}/{rel}", purpose="local")
            for name in _mcp_servers(resp):
                path = f"{home}/{rel}".replace("file://localhost/", "qw-mcp://localhost/", 1)
                check = yield HttpRequest("GET", path, params={"server": name, "spawn": "1" if spawn else "0"},
                                          purpose="mcp")
                mcp.append({"name": name, "settings": rel, **_mcp_state(check)})
        out = SampleSet.of(ctx)
        active = last is not None and last >= since
        out.add("errors_24h", Unit.REQUESTS, used=float(errors), status="active" if active else "idle",
                length_s=int(DAY.total_seconds()), provenance=Provenance.ESTIMATED)
        last_at = datetime.fromtimestamp(last, UTC).isoformat() if last is not None else None
        extra: dict[str, Any] = {}
        reason = ""
        if tool.mcp_settings:
            extra["mcp_servers"] = mcp
            down = [m["name"] for m in mcp if m["state"] == "down"]
            if down:
                reason = f"MCP server{'s' if len(down) > 1 else ''} not answering: {', '.join(down[:5])}"
        return out.reading(reason=reason, models=sorted(set(models)), last_activity=last_at, errors_24h=errors,
                           logs_read=min(len(recent), MAX_LOGS), installed=bool(files), **extra)

    return probe


TOOLS = (
    Tool("opencode", "OpenCode", ".local/share/opencode/storage", (".local/share/opencode/log", 1, r"\.log$"),
         re.compile(rb"(?m)^ERROR\b"), (".config/opencode/opencode.json", ".config/opencode/config.json")),
    Tool("cline", "Cline", ".config/Code/User/globalStorage/saoudrizwan.claude-dev/tasks",
         (".config/Code/User/globalStorage/saoudrizwan.claude-dev/tasks", 2, r"ui_messages\.json$"),
         re.compile(rb'"say"\s*:\s*"(?:error|api_req_failed)"'),
         mcp_settings=(".config/Code/User/globalStorage/saoudrizwan.claude-dev/settings/cline_mcp_settings.json",
                       ".cline/data/settings/cline_mcp_settings.json"),
         also=(".cline/data/tasks",)),
    Tool("antigravity", "Antigravity app (this machine's activity and errors)", ".gemini/antigravity",
         (".config/Antigravity/logs", 3, r"\.log$"), re.compile(rb"\[error\]"),
         docs="The Antigravity app on this machine: last activity, errors in the last 24 hours (local files). "
              "Its quotas are antigravity_quota, one account per Google login."),
)


def spec_of(tool: Tool) -> ProviderSpec:
    return ProviderSpec(slug=tool.slug, display_name=tool.display_name, needs_credential=False,
                        probe=tool_probe(tool), kind="tool",
                        settings_model=ToolSettings if tool.mcp_settings else None,
                        probe_cost="local file reads only (a few config files, listings, <= 20 log tails)",
                        docs=tool.docs)


@hookimpl
def register_providers(register: Callable[[ProviderSpec], None]) -> None:
    for tool in TOOLS:
        register(spec_of(tool))
