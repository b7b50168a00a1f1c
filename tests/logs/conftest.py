"""Agent-log fixtures: a tailer bound to the ``store`` fixture, and helpers to write generated log trees."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest

from quotawarden.logsources import claude_code, codex, gemini_cli, opencode
from quotawarden.pricing import Pricer
from quotawarden.sources.log_plan import IngestReport
from quotawarden.sources.log_tailer import ingest
from quotawarden.store import Store
from quotawarden.store.ingest import StoreLogSink

HERE = Path(__file__).parent / "fixtures"
SPECS = {s.slug: s for s in (claude_code.SPEC, codex.SPEC, opencode.SPEC, gemini_cli.SPEC)}


def cc_line(msg: str, req: str, ts: str = "2026-08-20T09:00:00.000Z", out: int = 10, side: bool = False,
            model: str = "claude-sonnet-4-5-20250929", session: str = "s1") -> bytes:
    return orjson.dumps({
        "type": "assistant", "isSidechain": side, "sessionId": session, "version": "2.0.14", "requestId": req,
        "timestamp": ts, "message": {"id": msg, "model": model, "usage": {
            "input_tokens": 5, "output_tokens": out, "cache_creation_input_tokens": 100,
            "cache_read_input_tokens": 1000}},
    }) + b"\n"


@pytest.fixture
def run_ingest(store: Store) -> Callable[..., IngestReport]:
    def run(roots: dict[str, list[Path]], host: str = "laptop") -> IngestReport:
        return ingest(StoreLogSink(store, host, 0.0), [SPECS[s] for s in roots], roots, pricer=Pricer(), host=host)
    return run


def totals(store: Store) -> dict[str, Any]:
    from sqlalchemy import text

    with store.engine.connect() as c:
        r = c.execute(text("SELECT count(*), coalesce(sum(input_tokens),0), coalesce(sum(output_tokens),0) "
                           "FROM usage_events")).one()
        h = c.execute(text("SELECT coalesce(sum(events),0), coalesce(sum(output_tokens),0) FROM usage_hourly")).one()
    return {"events": r[0], "input": r[1], "output": r[2], "rollup_events": h[0], "rollup_output": h[1]}
