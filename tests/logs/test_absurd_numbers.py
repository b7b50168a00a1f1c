"""A token count no agent can have written (2^63 and more, negative, a list) is a malformed line: counted, named,
skipped; the lines around it, and every later run, count as usual (``usage ingest/daily/session``, both stores)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson
import pytest

from quotawarden.logsources.base import MalformedRecord, as_int
from tests.logs.conftest import cc_line

HUGE = 2**63


def _dumps(obj: Any) -> bytes:
    return json.dumps(obj).encode()  # the standard library writes integers of any size, as a buggy agent might


def _claude(root: Path, bads: list[Any]) -> Path:
    d = root / "projects" / "p"
    d.mkdir(parents=True)
    lines = [cc_line("m1", "r1", out=10)]
    for i, bad in enumerate(bads):
        line = orjson.loads(cc_line(f"m-bad{i}", f"r-bad{i}", out=7))
        line["message"]["usage"]["input_tokens"] = bad
        lines.append(_dumps(line) + b"\n")
    (d / "a.jsonl").write_bytes(b"".join([*lines, cc_line("m2", "r2", out=20)]))
    return root / "projects"


def _codex(root: Path, bads: list[Any]) -> Path:
    d = root / "sessions" / "2026" / "08" / "20"
    d.mkdir(parents=True)
    meta = {"timestamp": "2026-08-20T09:30:00.412Z", "type": "session_meta",
            "payload": {"id": "0198c7a2-5e1f-7d30-9b4a-2c6e8f0a1b3d", "cwd": "/home/dev/src/widget"}}
    ctx = {"timestamp": "2026-08-20T09:30:05.001Z", "type": "turn_context", "payload": {"model": "gpt-5-codex"}}

    def count(inp: Any, out: int) -> dict[str, Any]:
        return {"timestamp": "2026-08-20T09:31:00Z", "type": "event_msg", "payload": {"type": "token_count", "info": {
            "total_token_usage": {"input_tokens": inp, "cached_input_tokens": 0, "output_tokens": out,
                                  "reasoning_output_tokens": 0}}}}

    lines = [meta, ctx, count(100, 10), *(count(bad, 15) for bad in bads), count(300, 30)]
    (d / "rollout-2026-08-20T09-30-00-0198c7a2-5e1f-7d30-9b4a-2c6e8f0a1b3d.jsonl").write_bytes(
        b"".join(_dumps(x) + b"\n" for x in lines))
    return root / "sessions"


def _gemini(root: Path, bads: list[Any]) -> Path:
    d = root / "tmp" / "b1946ac9" / "chats"
    d.mkdir(parents=True)
    head = {"sessionId": "5e0c1a9b-3f7d-4b2e-8c61-0a9d4e7f2b13", "projectHash": "b1946ac9",
            "startTime": "2026-08-20T11:02:03.114Z", "lastUpdated": "2026-08-20T11:02:03.114Z", "kind": "main"}

    def msg(i: int, inp: Any, out: int) -> dict[str, Any]:
        return {"id": f"g{i}", "timestamp": f"2026-08-20T11:{i:02d}:09.880Z", "type": "gemini", "content": [],
                "model": "gemini-2.5-pro", "tokens": {"input": inp, "output": out, "cached": 0, "thoughts": 0,
                                                      "tool": 0}}

    lines = [head, msg(3, 100, 10), *(msg(10 + i, bad, 15) for i, bad in enumerate(bads)), msg(50, 300, 20)]
    (d / "session-2026-08-20T11-02-5e0c1a9b.jsonl").write_bytes(b"".join(_dumps(x) + b"\n" for x in lines))
    return root / "tmp"


def _opencode(root: Path, bads: list[Any]) -> Path:
    def msg(i: int, inp: Any, out: int) -> dict[str, Any]:
        return {"id": f"msg_{i:02d}", "sessionID": "ses_1", "role": "assistant",
                "time": {"created": 1787219342118 + i * 1000, "completed": 1787219359402 + i * 1000},
                "modelID": "claude-sonnet-4-5-20250929", "providerID": "anthropic",
                "path": {"cwd": "/home/dev/src/widget", "root": "/home/dev/src/widget"},
                "tokens": {"input": inp, "output": out, "reasoning": 0, "cache": {"read": 0, "write": 0}}}

    d = root / "storage" / "message" / "ses_1"
    d.mkdir(parents=True)
    for i, (inp, out) in enumerate([(100, 10), *((bad, 15) for bad in bads), (300, 20)]):
        (d / f"msg_{i:02d}.json").write_bytes(_dumps(msg(i, inp, out)))
    return root


SOURCES = {"claude_code": _claude, "codex": _codex, "gemini_cli": _gemini, "opencode": _opencode}
BAD = [HUGE, 2**64 + 5, 10**30, -5, [1, 2], {"n": 1}, "12abc"]


@pytest.mark.parametrize("bad", BAD, ids=["2^63", "2^64+5", "10^30", "negative", "list", "object", "text"])
def test_as_int_refuses_what_is_not_a_count(bad: Any) -> None:
    with pytest.raises(MalformedRecord):
        as_int(bad)


def test_absurd_token_counts_are_malformed_lines_in_every_agent_log(db_url: str, tmp_path: Path) -> None:
    roots = {slug: make(tmp_path / slug, BAD) for slug, make in SOURCES.items()}
    cfg = tmp_path / "config.toml"
    paths = ", ".join(f'{slug} = ["{root}"]' for slug, root in roots.items())
    cfg.write_text(f"[logs]\nsources = {json.dumps(sorted(roots))}\npaths = {{{paths}}}\n")
    env = {**os.environ, "QUOTAWARDEN_DB_URL": db_url, "QUOTAWARDEN_CONFIG": str(cfg)}

    def cli(*args: str) -> dict[str, Any]:
        p = subprocess.run([sys.executable, "-m", "quotawarden.interfaces.cli.main", "usage", *args, "--json"],
                           env=env, capture_output=True, timeout=120, check=False)
        assert p.returncode == 0, p.stderr.decode()[-2000:]
        assert b"Traceback" not in p.stderr
        return json.loads(p.stdout)  # type: ignore[no-any-return]

    first = cli("ingest")
    assert first["malformed"] == len(BAD) * len(SOURCES), first
    assert all(str(tmp_path) in where for where in first["malformed_at"])
    for slug in SOURCES:  # each source's absurd lines are named
        assert any(slug in where for where in first["malformed_at"]), slug
    good_output = 30 * len(SOURCES)  # the good lines around the bad ones: 10 + 20 (Codex: totals 10 -> 30)
    for _ in range(2):  # later runs: nothing to re-read, nothing breaks, the same totals
        assert cli("daily")["totals"]["outputTokens"] == good_output
        assert cli("session")["totals"]["outputTokens"] == good_output
    assert cli("ingest")["malformed"] == 0
