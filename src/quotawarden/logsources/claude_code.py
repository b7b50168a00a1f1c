"""Claude Code: ``<root>/projects/<project-slug>/<session>.jsonl`` (and ``.../subagents/*.jsonl``).

Only ``assistant`` lines with ``message.usage`` bill. Key = ``message.id:requestId``; the tailer keeps the copy
with the larger token total and drops a sidechain replay of a message it already has (reference section 8a).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson

from quotawarden.domain import Source, UsageEvent
from quotawarden.logsources.base import (
    Item,
    LogSourceSpec,
    MalformedRecord,
    Parsed,
    ReaderContext,
    as_int,
    env_paths,
    parse_iso,
    walk,
)
from quotawarden.plugins import hookimpl

_SEMVER = re.compile(r"^\d+\.\d+\.\d+")
_NOTHING: tuple[Item, ...] = ()


def roots(environ: Mapping[str, str], home: Path) -> list[Path]:
    configured = env_paths(environ, "CLAUDE_CONFIG_DIR")
    bases = configured or [home / ".config" / "claude", home / ".claude"]
    return [b / "projects" for b in bases]


def discover(root: Path) -> list[Path]:
    return list(walk(root, (".jsonl",)))


def project_of(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).parts[0]
    except (ValueError, IndexError):
        return path.parent.name


def parse_record(obj: Any, project: str | None = None, host: str | None = None) -> Parsed | None:
    """One decoded line -> a billable record, or None for lines that do not bill."""
    if not isinstance(obj, dict) or obj.get("type") != "assistant":
        return None
    msg = obj.get("message")
    if not isinstance(msg, dict):
        return None
    usage = msg.get("usage")
    if not isinstance(usage, dict):
        return None
    msg_id, req_id, model, session = msg.get("id"), obj.get("requestId"), msg.get("model"), obj.get("sessionId")
    if not (msg_id and req_id and model and session) or model == "<synthetic>":
        return None
    version = obj.get("version")
    if version is not None and not (isinstance(version, str) and _SEMVER.match(version)):
        return None
    split = usage.get("cache_creation")
    created = as_int(usage.get("cache_creation_input_tokens"))
    one_hour = as_int(split.get("ephemeral_1h_input_tokens")) if isinstance(split, dict) else 0
    cost = obj.get("costUSD")
    tools = usage.get("server_tool_use")
    event = UsageEvent(
        ts=parse_iso(obj.get("timestamp")), provider="anthropic", model=str(model), source=Source.LOG,
        dedup_key=f"{msg_id}:{req_id}", project=project, session=str(session), host=host,
        input_tokens=as_int(usage.get("input_tokens")), output_tokens=as_int(usage.get("output_tokens")),
        cache_write_tokens=created, cache_write_1h_tokens=one_hour,
        cache_read_tokens=as_int(usage.get("cache_read_input_tokens")),
        cost_recorded=Decimal(str(cost)) if isinstance(cost, int | float) and not isinstance(cost, bool) else None,
        request_id=str(req_id), consumer="claude_code",
    )
    searches = as_int(tools.get("web_search_requests")) if isinstance(tools, dict) else 0
    return Parsed(event, str(msg_id), obj.get("isSidechain") is True, searches)


class ClaudeCodeReader:
    def __init__(self, ctx: ReaderContext) -> None:
        self._project = project_of(ctx.path, ctx.root)
        self._host = ctx.host

    def feed(self, line: bytes) -> Sequence[Item]:
        try:
            obj = orjson.loads(line)
        except orjson.JSONDecodeError:
            raise MalformedRecord("not JSON") from None
        parsed = parse_record(obj, self._project, self._host)
        return _NOTHING if parsed is None else (parsed,)

    def state(self) -> dict[str, Any]:
        return {}


SPEC = LogSourceSpec(
    slug="claude_code", display_name="Claude Code", provider="anthropic", roots=roots, discover=discover,
    reader=ClaudeCodeReader, usage_hint=b'"usage"', on_conflict="larger",
)


@hookimpl
def register_log_sources(register: Any) -> None:
    register(SPEC)
