"""The Claude Code batch reader's typed fast path gives exactly what the dict path and the tailer's dedup rule give,
on lines built to take every branch: odd token types, missing fields, naive and broken times, bad versions, ties."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import orjson

from quotawarden.logsources.base import MalformedRecord, ReaderContext, Record, record_total
from quotawarden.logsources.claude_code import ClaudeCodeReader, record


def _reference(lines: list[bytes]) -> tuple[list[Record], list[int], int]:
    """One line at a time through ``record`` (orjson into dicts), then keep the first largest copy per key."""
    kept: dict[tuple[str, bool], Record] = {}
    bad, dups = [], 0
    for i, line in enumerate(lines):
        if b'"usage"' not in line:
            continue
        try:
            r = record(orjson.loads(line), "proj", "host")
        except (orjson.JSONDecodeError, MalformedRecord):
            if line.strip():
                bad.append(i)
            continue
        if r is None:
            continue
        cur = kept.get((r[0], r[20]))
        if cur is not None and not r[20]:
            dups += 1
        if cur is None or record_total(r) > record_total(cur):
            kept[(r[0], r[20])] = r
    return list(kept.values()), bad, dups


ODD_VALUES: list[tuple[str, Any]] = [
    ("output_tokens", "17"), ("input_tokens", None), ("cache_read_input_tokens", 3.0), ("output_tokens", True),
    ("timestamp", "2026-08-20T09:00:00"), ("timestamp", "2026-08-20T09:00:00+02:00"), ("timestamp", "yesterday"),
    ("timestamp", None), ("timestamp", 1755680400), ("version", "beta"), ("version", 2), ("costUSD", "0.5"),
    ("costUSD", 0.25), ("costUSD", 1), ("isSidechain", "true"), ("model", "<synthetic>"), ("model", 7),
    ("type", "user"), ("requestId", None), ("sessionId", ""), ("cache_creation", {"ephemeral_1h_input_tokens": 40}),
    ("cache_creation", "none"), ("message", "text"), ("usage", None),
]


def _line(rng: random.Random) -> bytes:
    usage: dict[str, Any] = {"input_tokens": rng.randint(0, 9), "output_tokens": rng.choice([5, 10, 10, 20]),
                             "cache_creation_input_tokens": 100, "cache_read_input_tokens": 1000}
    msg: dict[str, Any] = {"id": f"m{rng.randint(1, 6)}", "model": "claude-sonnet-4-5-20250929", "usage": usage}
    obj: dict[str, Any] = {"type": "assistant", "isSidechain": rng.random() < 0.2, "sessionId": "s1",
                           "version": "2.0.14", "requestId": f"r{rng.randint(1, 3)}",
                           "timestamp": f"2026-08-20T09:00:{rng.randint(0, 59):02d}.000Z", "message": msg}
    if rng.random() < 0.3:
        field, value = rng.choice(ODD_VALUES)
        target = usage if field in usage or field == "cache_creation" else msg if field in msg else obj
        target[field] = value
    if rng.random() < 0.05:
        return b'{"type": "assistant", "message": {"usage": '  # cut short
    return orjson.dumps(obj)


def test_the_fast_path_matches_the_dict_path_on_odd_lines(tmp_path: Path) -> None:
    reader = ClaudeCodeReader(ReaderContext(tmp_path / "proj" / "s.jsonl", tmp_path, "host"))
    rng = random.Random(5)
    for _ in range(300):
        lines = [_line(rng) for _ in range(rng.randint(1, 40))]
        got, bad, dups = reader.records(lines)
        want, want_bad, want_dups = _reference(lines)
        assert sorted(got, key=repr) == sorted(want, key=repr)
        assert (bad, dups) == (want_bad, want_dups)
