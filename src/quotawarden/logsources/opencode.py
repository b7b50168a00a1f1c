"""OpenCode: the SQLite database ``opencode.db`` (and channel databases ``opencode-*.db``) first, then the older
``storage/message/<session>/<message>.json`` files for messages the database does not hold (reference 8c).

Tokens: input <- ``tokens.input``, cache read <- ``tokens.cache.read``, cache write <- ``tokens.cache.write``,
reasoning <- ``tokens.reasoning``. Output is every token billed at the output price, so reasoning is part of it:
current OpenCode (AI SDK v6, anomalyco/opencode#21047) writes ``tokens.total`` and keeps reasoning *apart* from
``tokens.output`` (``total = input + output + reasoning + cache.read + cache.write``), older versions wrote no
``total`` and counted reasoning *inside* ``output``. :func:`output_with_reasoning` tells them apart from the
record. ``cost`` is kept as the recorded cost only when it is above 0 (subscription providers write 0, which is
not a price).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from datetime import UTC, datetime
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
    WholeFile,
    as_int,
    hookimpl,
    walk,
)


def roots(environ: Mapping[str, str], home: Path) -> list[Path]:
    if environ.get("OPENCODE_DATA_DIR"):
        return [Path(environ["OPENCODE_DATA_DIR"]).expanduser()]
    xdg = environ.get("XDG_DATA_HOME")
    return [(Path(xdg) if xdg else home / ".local" / "share") / "opencode"]


def discover(root: Path) -> list[Path]:
    # legacy JSON first, databases last: a message in both ends up as the database copy (on_conflict=replace)
    legacy = list(walk(root / "storage" / "message", (".json",)))
    dbs = sorted(p for p in root.glob("opencode*.db") if p.is_file())
    return [*legacy, *dbs]


def output_with_reasoning(tokens: Mapping[str, Any]) -> tuple[int, int]:
    """(output tokens including reasoning, reasoning tokens) of one OpenCode ``tokens`` object.

    Reasoning is apart from ``output`` when the record has ``total`` and ``total`` is not the sum without it (a
    record whose ``total`` equals input + output + cache has its reasoning inside ``output``, like every record
    without ``total``)."""
    out, reasoning = as_int(tokens.get("output")), as_int(tokens.get("reasoning"))
    total = tokens.get("total")
    if total is None or not reasoning:
        return out, min(reasoning, out)
    cache_info = tokens.get("cache")
    cache: Mapping[str, Any] = cache_info if isinstance(cache_info, dict) else {}
    without = as_int(tokens.get("input")) + out + as_int(cache.get("read")) + as_int(cache.get("write"))
    if as_int(total) == without:
        return out, min(reasoning, out)
    return out + reasoning, reasoning


def parse_message(data: Any, msg_id: str | None = None, session: str | None = None,
                  host: str | None = None) -> Parsed | None:
    if not isinstance(data, dict) or data.get("role") != "assistant":
        return None
    tokens = data.get("tokens")
    if not isinstance(tokens, dict):
        return None
    mid = msg_id or data.get("id")
    created = (data.get("time") or {}).get("created")
    if not mid or not isinstance(created, int | float):
        raise MalformedRecord("assistant message without id or time.created")
    cache_info = tokens.get("cache")
    cache: dict[str, Any] = cache_info if isinstance(cache_info, dict) else {}
    cost = data.get("cost")
    provider = str(data.get("providerID") or "unknown")
    path_info = data.get("path")
    path: dict[str, Any] = path_info if isinstance(path_info, dict) else {}
    output, reasoning = output_with_reasoning(tokens)
    return Parsed(UsageEvent(
        ts=datetime.fromtimestamp(created / 1000, UTC), provider=provider, model=str(data.get("modelID") or ""),
        source=Source.LOG, dedup_key=f"opencode:{mid}", project=path.get("root") or path.get("cwd"),
        session=str(session or data.get("sessionID") or ""), host=host,
        input_tokens=as_int(tokens.get("input")), output_tokens=output,
        reasoning_tokens=reasoning, cache_read_tokens=as_int(cache.get("read")),
        cache_write_tokens=as_int(cache.get("write")), consumer="opencode",
        cost_recorded=Decimal(str(cost)) if isinstance(cost, int | float) and cost > 0 else None,
    ), message_id=str(mid))


def read_whole(ctx: ReaderContext) -> WholeFile:
    return _read_db(ctx) if ctx.path.suffix == ".db" else _read_json(ctx)


def _read_json(ctx: ReaderContext) -> WholeFile:
    try:
        parsed = parse_message(orjson.loads(ctx.path.read_bytes()), host=ctx.host)
    except (orjson.JSONDecodeError, MalformedRecord):
        return WholeFile([], [f"{ctx.path}:1"])
    return WholeFile([parsed] if parsed else [])


def _read_db(ctx: ReaderContext) -> WholeFile:
    items: list[Item] = []
    bad: list[str] = []
    conn = sqlite3.connect(f"file:{ctx.path}?mode=ro", uri=True)
    try:
        rows = conn.execute("SELECT id, session_id, data FROM message").fetchall()
    except sqlite3.Error as exc:
        return WholeFile([], [f"{ctx.path}: {exc}"])
    finally:
        conn.close()
    for mid, session, data in rows:
        try:
            parsed = parse_message(orjson.loads(data), mid, session, ctx.host)
        except (orjson.JSONDecodeError, MalformedRecord):
            bad.append(f"{ctx.path}:{mid}")
            continue
        if parsed is not None:
            items.append(parsed)
    return WholeFile(items, bad)


SPEC = LogSourceSpec(
    slug="opencode", display_name="OpenCode", provider="opencode", roots=roots, discover=discover,
    read_whole=read_whole, on_conflict="replace",
)


@hookimpl
def register_log_sources(register: Any) -> None:
    register(SPEC)
