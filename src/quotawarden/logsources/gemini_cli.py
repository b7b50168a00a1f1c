"""Gemini CLI: ``~/.gemini/tmp/<projectHash>/chats/session-*.jsonl`` (older builds: one ``.json`` per session).

Thoughts are output tokens (billed at the output price) kept apart as reasoning: ``output_tokens`` holds
``tokens.output + tokens.thoughts`` and ``reasoning_tokens`` the thoughts, and reports show output without them
(``outputTokens``) next to ``reasoningTokens``, as ccusage does.

The same message id is re-appended when its tokens arrive, so the last record per id wins (messages inside a
``{"$set": {"messages": [...]}}`` batch count as re-appended too; a batch never retracts what it leaves out), and
``{"$rewindTo": id}`` drops that message and everything after it (reference section 8d). Both need the whole
file, so this source re-reads a session file when it changes; dedup keys keep that idempotent.

Each call is attributed to the first configured ``gemini`` account, when there is one and Gemini CLI's settings
do not select a Google or Vertex sign-in (``app.agent_logs.gemini_cli_uses_api_key``), and counts against its
``rpm_limit``/``tpm_limit``/``rpd_limit`` (``analysis.counting``).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import orjson

from quotawarden.domain import Source, UsageEvent
from quotawarden.logsources.base import (
    LogSourceSpec,
    MalformedRecord,
    Parsed,
    ReaderContext,
    WholeFile,
    as_int,
    hookimpl,
    parse_iso,
    walk,
)


def roots(environ: Mapping[str, str], home: Path) -> list[Path]:
    if environ.get("GEMINI_DATA_DIR"):
        return [Path(environ["GEMINI_DATA_DIR"]).expanduser() / "tmp"]
    return [home / ".gemini" / "tmp"]


def discover(root: Path) -> list[Path]:
    return [p for p in walk(root, (".jsonl", ".json")) if "chats" in p.parts]


def _records(ctx: ReaderContext, malformed: list[str]) -> list[Any]:
    raw = ctx.path.read_bytes()
    if ctx.path.suffix == ".json":
        try:
            doc = orjson.loads(raw)
        except orjson.JSONDecodeError:
            malformed.append(f"{ctx.path}:1")
            return []
        if not isinstance(doc, dict):
            return []
        return [doc, *(doc.get("messages") or [])]
    out = []
    for n, line in enumerate(raw.split(b"\n"), 1):
        if not line.strip():
            continue
        if n == raw.count(b"\n") + 1:
            break  # a last line without its newline is still being written
        try:
            out.append(orjson.loads(line))
        except orjson.JSONDecodeError:
            malformed.append(f"{ctx.path}:{n}")
    return out


def tokens_of(tokens: Mapping[str, Any]) -> tuple[int, int, int, int, int]:
    """(uncached input, output, cache read, thoughts, tool) of one ``tokens`` object, as ccusage reads it.

    ``input`` is Gemini's ``promptTokenCount``, which includes the cached part, and ``total`` is then
    input + output + thoughts + tool; only in that case is ``cached`` subtracted from ``input`` (a record whose
    ``total`` also adds ``cached`` keeps its input as written)."""
    inp, out, cached = as_int(tokens.get("input")), as_int(tokens.get("output")), as_int(tokens.get("cached"))
    thoughts, tool = as_int(tokens.get("thoughts")), as_int(tokens.get("tool"))
    total = tokens.get("total")
    inclusive = inp + out + thoughts + tool
    if cached and total is not None and as_int(total) == inclusive and as_int(total) != inclusive + cached:
        inp -= min(inp, cached)
    return inp, out, cached, thoughts, tool


def _upsert(messages: dict[str, dict[str, Any]], rec: Any) -> None:
    """A re-appended message replaces its earlier copy: the latest copy, at the latest position."""
    if isinstance(rec, dict) and rec.get("id") and rec.get("type"):
        messages.pop(str(rec["id"]), None)
        messages[str(rec["id"])] = rec


def read_whole(ctx: ReaderContext) -> WholeFile:
    malformed: list[str] = []
    session = ctx.path.stem
    project = ctx.path.parent.parent.name if ctx.path.parent.name == "chats" else ctx.path.parent.name
    messages: dict[str, dict[str, Any]] = {}
    retracted: list[str] = []
    for rec in _records(ctx, malformed):
        if not isinstance(rec, dict):
            continue
        if "sessionId" in rec and "id" not in rec:
            session = str(rec["sessionId"])
        elif "$rewindTo" in rec:
            ids = list(messages)
            target = rec["$rewindTo"]
            if target in messages:
                for mid in ids[ids.index(target):]:
                    messages.pop(mid)
                    retracted.append(mid)
        elif isinstance(rec.get("$set"), dict) and isinstance(rec["$set"].get("messages"), list):
            for msg in rec["$set"]["messages"]:  # a batch of whole messages: each upserted like a re-append
                _upsert(messages, msg)
        else:
            _upsert(messages, rec)
    items: list[Parsed | Any] = []
    for mid, rec in messages.items():
        tokens = rec.get("tokens")
        if rec.get("type") != "gemini" or not isinstance(tokens, dict):
            continue
        try:
            inp, out, cached, thoughts, tool = tokens_of(tokens)
            items.append(Parsed(UsageEvent(
                ts=parse_iso(rec.get("timestamp")), provider="google", model=str(rec.get("model") or "gemini"),
                source=Source.LOG, dedup_key=f"gemini:{session}:{mid}", project=project, session=session,
                host=ctx.host, input_tokens=inp + tool, cache_read_tokens=cached, output_tokens=out + thoughts,
                reasoning_tokens=thoughts, consumer="gemini_cli", account_id=ctx.account_id,
            ), message_id=mid))
        except MalformedRecord:
            malformed.append(f"{ctx.path}:{mid}")
    live = {f"gemini:{session}:{m}" for m in messages}
    return WholeFile(items, malformed, [f"gemini:{session}:{m}" for m in retracted
                                        if f"gemini:{session}:{m}" not in live])


SPEC = LogSourceSpec(
    slug="gemini_cli", display_name="Gemini CLI", provider="google", roots=roots, discover=discover,
    read_whole=read_whole, on_conflict="replace",
)


@hookimpl
def register_log_sources(register: Any) -> None:
    register(SPEC)
