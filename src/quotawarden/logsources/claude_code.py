"""Claude Code: ``<root>/projects/<project-slug>/<session>.jsonl`` (and ``.../subagents/*.jsonl``).

Only ``assistant`` lines with ``message.usage`` bill. Key = ``message.id:requestId``; the tailer keeps the copy
with the larger token total and drops a sidechain replay of a message it already has (reference section 8a).

A sub-agent's calls are also copied into its parent's file as ``{"type": "progress", "data": {"type":
"agent_progress", "agentId": ..., "message": {"type": "assistant", "requestId": ..., "timestamp": ..., "message":
{id, model, usage}}}}`` lines (Claude Code 2.1.x). They count only when the sub-agent's own file
(``<session>/subagents/agent-<agentId>.jsonl``) is absent, as sidechain copies under the same key, so a
sub-agent file that appears later replaces them instead of adding to them (ccusage counts them always and relies
on the key alone).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

import msgspec
import orjson

from quotawarden.domain import Source, UsageEvent
from quotawarden.logsources.base import (
    MAX_TOKENS,
    Item,
    LogSourceSpec,
    MalformedRecord,
    Parsed,
    ReaderContext,
    Record,
    as_int,
    env_paths,
    hookimpl,
    record_total,
    walk,
)

_SEMVER = re.compile(r"^\d+\.\d+\.\d+")
_NOTHING: tuple[Item, ...] = ()


# The batch fast path decodes only the fields below, typed, in C (msgspec skips the message content, the bulk of
# every line, without building it): about twice as fast as orjson into dicts. A line these types do not fit (a
# token count written as a string, a missing time zone, no JSON at all) takes the dict path, which decides.
# A count out of range (below 0, above MAX_TOKENS) fails the typed decoder too, and the dict path calls it malformed.
_Tokens = Annotated[int, msgspec.Meta(ge=0, le=MAX_TOKENS)]
# Times are parsed in C too; one without a time zone fails here and the dict path decides (it reads it as UTC).
# Only the kept copy of a message turns its time into epoch seconds.
_Stamp = Annotated[datetime, msgspec.Meta(tz=True)]


class _Split(msgspec.Struct):
    ephemeral_1h_input_tokens: _Tokens = 0


class _Usage(msgspec.Struct):
    input_tokens: _Tokens = 0
    output_tokens: _Tokens = 0
    cache_creation_input_tokens: _Tokens = 0
    cache_read_input_tokens: _Tokens = 0
    cache_creation: _Split | None = None


class _Message(msgspec.Struct):
    id: str | None = None
    model: str | None = None
    usage: _Usage | None = None


class _Inner(msgspec.Struct):
    type: str | None = None
    message: _Message | None = None
    requestId: str | None = None
    timestamp: _Stamp | None = None
    costUSD: float | None = None


class _Data(msgspec.Struct):
    type: str | None = None
    agentId: str | None = None
    message: _Inner | None = None


class _Line(msgspec.Struct):
    type: str | None = None
    message: _Message | None = None
    data: _Data | None = None
    requestId: str | None = None
    sessionId: str | None = None
    version: str | None = None
    timestamp: _Stamp | None = None
    costUSD: float | None = None
    isSidechain: bool | None = None


_decode_line = msgspec.json.Decoder(_Line).decode


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


def record(obj: Any, project: str | None = None, host: str | None = None,
           counts_agent: Callable[[Any], bool] | None = None) -> Record | None:
    """One decoded line -> a billable :data:`Record`, or None for lines that do not bill (the hot path).

    ``counts_agent(agentId)`` decides whether an ``agent_progress`` copy of a sub-agent call bills (default: yes)."""
    if type(obj) is not dict:
        return None
    side = obj.get("isSidechain") is True
    if obj.get("type") != "assistant":
        inner = _progress_message(obj)
        if inner is None or (counts_agent is not None and not counts_agent(obj["data"].get("agentId"))):
            return None
        obj, side = {**inner, "sessionId": obj.get("sessionId"), "version": obj.get("version")}, True
    msg = obj.get("message")
    if type(msg) is not dict:
        return None
    usage = msg.get("usage")
    if type(usage) is not dict:
        return None
    msg_id, req_id, model, session = msg.get("id"), obj.get("requestId"), msg.get("model"), obj.get("sessionId")
    if not (msg_id and req_id and model and session) or model == "<synthetic>":
        return None
    version = obj.get("version")
    if version is not None and not _version_ok(version):
        return None
    g = usage.get
    inp, out, created, cr = g("input_tokens"), g("output_tokens"), g("cache_creation_input_tokens"), \
        g("cache_read_input_tokens")
    if not (type(inp) is int and type(out) is int and type(created) is int and type(cr) is int
            and min(inp, out, created, cr) >= 0 and max(inp, out, created, cr) <= MAX_TOKENS):
        inp, out, created, cr = as_int(inp), as_int(out), as_int(created), as_int(cr)
    split = g("cache_creation")
    one_hour = as_int(split.get("ephemeral_1h_input_tokens")) if type(split) is dict else 0
    cost = obj.get("costUSD")
    ts = epoch(obj.get("timestamp"))
    return (f"{msg_id}:{req_id}", ts, "anthropic", str(model), "log", None, "claude_code", project, str(session),
            host, inp, out, created, one_hour, cr, 0, None,
            float(cost) if isinstance(cost, int | float) and not isinstance(cost, bool) else None, str(req_id),
            str(msg_id), side)


def _progress_message(obj: dict[str, Any]) -> dict[str, Any] | None:
    """The assistant message inside an ``agent_progress`` line, or None."""
    if obj.get("type") != "progress":
        return None
    data = obj.get("data")
    if type(data) is not dict or data.get("type") != "agent_progress":
        return None
    inner = data.get("message")
    return inner if type(inner) is dict and inner.get("type") == "assistant" else None


def subagent_file(path: Path, agent_id: str) -> Path:
    """Where Claude Code keeps a sub-agent's own transcript, next to its parent session file."""
    return path.parent / path.stem / "subagents" / f"agent-{agent_id}.jsonl"


_VERSIONS: dict[str, bool] = {}


def epoch(stamp: Any) -> float:
    """Epoch seconds of an ISO-8601 time (``parse_iso`` without building a UTC copy: an aware time knows its
    epoch already)."""
    try:
        t = datetime.fromisoformat(stamp)
    except (TypeError, ValueError):
        raise MalformedRecord(f"bad timestamp {stamp!r}") from None
    return t.timestamp() if t.tzinfo is not None else t.replace(tzinfo=UTC).timestamp()


def _version_ok(version: Any) -> bool:
    if not isinstance(version, str):
        return False
    ok = _VERSIONS.get(version)
    if ok is None:
        ok = _VERSIONS[version] = bool(_SEMVER.match(version))
    return ok


def parse_record(obj: Any, project: str | None = None, host: str | None = None,
                 counts_agent: Callable[[Any], bool] | None = None) -> Parsed | None:
    """One decoded line -> a billable record as domain objects (the slow path, for callers outside the tailer)."""
    r = record(obj, project, host, counts_agent)
    if r is None:
        return None
    event = UsageEvent(
        ts=datetime.fromtimestamp(r[1], UTC), provider=r[2], model=r[3], source=Source.LOG, dedup_key=r[0],
        project=project, session=r[8], host=host, input_tokens=r[10], output_tokens=r[11],
        cache_write_tokens=r[12], cache_write_1h_tokens=r[13], cache_read_tokens=r[14],
        cost_recorded=None if r[17] is None else Decimal(str(r[17])), request_id=r[18], consumer="claude_code",
    )
    msg = obj["message"] if obj.get("type") == "assistant" else obj["data"]["message"]["message"]
    tools = msg["usage"].get("server_tool_use")
    searches = as_int(tools.get("web_search_requests")) if isinstance(tools, dict) else 0
    return Parsed(event, r[19], r[20], searches)


class ClaudeCodeReader:
    def __init__(self, ctx: ReaderContext) -> None:
        self._project = project_of(ctx.path, ctx.root)
        self._host = ctx.host
        self._path = ctx.path
        self._agents: dict[str, bool] = {}

    def counts_agent(self, agent_id: Any) -> bool:
        """An ``agent_progress`` copy bills only while the sub-agent has no file of its own."""
        key = str(agent_id or "")
        ok = self._agents.get(key)
        if ok is None:
            ok = self._agents[key] = not (key and subagent_file(self._path, key).exists())
        return ok

    def feed(self, line: bytes) -> Sequence[Item]:
        try:
            obj = orjson.loads(line)
        except orjson.JSONDecodeError:
            raise MalformedRecord("not JSON") from None
        parsed = parse_record(obj, self._project, self._host, self.counts_agent)
        return _NOTHING if parsed is None else (parsed,)

    def records(self, lines: Sequence[bytes]) -> tuple[list[Record], list[int], int]:
        # dedup on the decoded lines, so only the copy that is kept becomes a tuple (most lines are streamed
        # copies of a message written again as it grows)
        best: dict[tuple[str, str, bool], tuple[int, int, datetime, _Line, _Message, str, float | None]] = {}
        other: list[tuple[int, Record]] = []
        bad: list[int] = []
        hint, fast, versions = SPEC.usage_hint or b"", _decode_line, _VERSIONS
        dups = 0
        for i, line in enumerate(lines):
            if hint not in line:
                continue
            try:
                o = fast(line)
            except (msgspec.ValidationError, msgspec.DecodeError):
                self._slow(i, line, other, bad)
                continue
            if o.type == "assistant":
                m, req_id, stamp, cost, side = o.message, o.requestId, o.timestamp, o.costUSD, o.isSidechain is True
            elif o.type == "progress" and (d := o.data) is not None and d.type == "agent_progress" \
                    and (inner := d.message) is not None and inner.type == "assistant":
                if not self.counts_agent(d.agentId):
                    continue
                m, req_id, stamp, cost, side = inner.message, inner.requestId, inner.timestamp, inner.costUSD, True
            else:
                continue
            if m is None or (u := m.usage) is None:
                continue
            msg_id, model = m.id, m.model
            if not (msg_id and req_id and model and o.sessionId) or model == "<synthetic>":
                continue
            v = o.version
            if v is not None and not (versions.get(v) or _version_ok(v)):
                continue
            if stamp is None:  # no time at all: the dict path decides
                self._slow(i, line, other, bad)
                continue
            key = (msg_id, req_id, side)
            total = u.input_tokens + u.output_tokens + u.cache_creation_input_tokens + u.cache_read_input_tokens
            cur = best.get(key)
            if cur is None:
                best[key] = (total, i, stamp, o, m, req_id, cost)
                continue
            if not key[2]:
                dups += 1
            if total > cur[0]:
                best[key] = (total, i, stamp, o, m, req_id, cost)
        out: dict[tuple[str, bool], tuple[int, Record]] = {}
        for (_m, _r, side), (_t, i, stamp, o, m, req_id, cost) in best.items():
            r = self._record(o, m, req_id, cost, side, stamp.timestamp())
            out[(r[0], side)] = (i, r)
        for i, r in other:  # lines the typed decoder could not take: the same rule against the rest
            key2 = (r[0], r[20])
            cur2 = out.get(key2)
            if cur2 is None:
                out[key2] = (i, r)
                continue
            if not r[20]:
                dups += 1
            t, ct = record_total(r), record_total(cur2[1])
            if t > ct or (t == ct and i < cur2[0]):
                out[key2] = (i, r)
        return [r for _i, r in out.values()], sorted(bad), dups

    def _record(self, o: _Line, m: _Message, req_id: str, cost: float | None, side: bool, ts: float) -> Record:
        assert m.usage is not None
        u, split = m.usage, m.usage.cache_creation
        return (f"{m.id}:{req_id}", ts, "anthropic", m.model, "log", None, "claude_code",
                self._project, o.sessionId, self._host, u.input_tokens, u.output_tokens,
                u.cache_creation_input_tokens, 0 if split is None else split.ephemeral_1h_input_tokens,
                u.cache_read_input_tokens, 0, None, cost, req_id, m.id, side)

    def _slow(self, i: int, line: bytes, other: list[tuple[int, Record]], bad: list[int]) -> None:
        try:
            r = record(orjson.loads(line), self._project, self._host, self.counts_agent)
        except (orjson.JSONDecodeError, MalformedRecord):
            if line.strip():
                bad.append(i)
            return
        if r is not None:
            other.append((i, r))

    def state(self) -> dict[str, Any]:
        return {}


SPEC = LogSourceSpec(
    slug="claude_code", display_name="Claude Code", provider="anthropic", roots=roots, discover=discover,
    reader=ClaudeCodeReader, usage_hint=b'"usage"', on_conflict="larger",
)


@hookimpl
def register_log_sources(register: Any) -> None:
    register(SPEC)
