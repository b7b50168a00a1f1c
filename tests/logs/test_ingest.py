"""Agent-log ingestion on the shared samples and on generated trees, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from sqlalchemy import text

from tests.logs.conftest import HERE, cc_line, totals


def _cc_tree(tmp_path: Path) -> Path:
    root = tmp_path / "claude" / "projects"
    (root / "-home-dev-src-widget").mkdir(parents=True)
    shutil.copy(HERE / "claude_code_sample.jsonl", root / "-home-dev-src-widget" / "s.jsonl")
    return root


def test_claude_code_sample_reproduces_expected_totals(store, run_ingest, tmp_path):
    expected = json.loads((HERE / "claude_code_sample.expected.json").read_text())
    report = run_ingest({"claude_code": [_cc_tree(tmp_path)]})
    assert report.malformed == expected["malformed_lines"]
    assert report.lines == expected["lines_total"]
    with store.engine.connect() as c:
        rows = c.execute(text("SELECT model, count(*), sum(input_tokens), sum(output_tokens), "
                              "sum(cache_write_tokens), sum(cache_write_1h_tokens), sum(cache_read_tokens), "
                              "min(dedup_key) FROM usage_events GROUP BY model")).fetchall()
        keys = sorted(r[0].split(":")[0] for r in c.execute(text("SELECT dedup_key FROM usage_events")))
    assert keys == expected["kept_message_ids"]
    got = {r[0]: r[1:7] for r in rows}
    for model, e in expected["by_model"].items():
        assert got[model] == (e["messages"], e["input_tokens"], e["output_tokens"], e["cache_creation_input_tokens"],
                              e["cache_creation_1h"], e["cache_read_input_tokens"])


def test_second_run_reads_nothing_and_changes_nothing(store, run_ingest, tmp_path):
    root = _cc_tree(tmp_path)
    run_ingest({"claude_code": [root]})
    before = totals(store)
    again = run_ingest({"claude_code": [root]})
    assert again.files_read == 0 and again.bytes_read == 0
    assert totals(store) == before


def test_dedup_keeps_larger_copy_and_drops_sidechain_replay(store, run_ingest, tmp_path):
    root = tmp_path / "projects" / "p"
    root.mkdir(parents=True)
    (root / "a.jsonl").write_bytes(cc_line("m1", "r1", out=5) + cc_line("m1", "r1", out=50)
                                   + cc_line("m1", "r9", out=50, side=True) + cc_line("m2", "r2", out=7, side=True))
    (root / "b.jsonl").write_bytes(cc_line("m1", "r1", out=20))  # a resumed session re-writes a smaller copy
    run_ingest({"claude_code": [root.parent]})
    t = totals(store)
    assert t["events"] == 2 and t["output"] == 57 and t["rollup_output"] == 57


def test_malformed_lines_are_counted_named_and_skipped(store, run_ingest, tmp_path):
    root = tmp_path / "projects" / "p"
    root.mkdir(parents=True)
    (root / "a.jsonl").write_bytes(cc_line("m1", "r1") + b'{"usage": {broken\n' + cc_line("m2", "r2"))
    report = run_ingest({"claude_code": [root.parent]})
    assert report.malformed == 1 and report.malformed_at == [f"{root / 'a.jsonl'}:2"]
    assert totals(store)["events"] == 2


def test_line_written_in_two_halves(store, run_ingest, tmp_path):
    root = tmp_path / "projects" / "p"
    root.mkdir(parents=True)
    f = root / "a.jsonl"
    line = cc_line("m2", "r2")
    f.write_bytes(cc_line("m1", "r1") + line[:40])
    first = run_ingest({"claude_code": [root.parent]})
    assert first.malformed == 0 and totals(store)["events"] == 1
    with f.open("ab") as fh:
        fh.write(line[40:])
    run_ingest({"claude_code": [root.parent]})
    assert totals(store)["events"] == 2


def test_append_truncate_rotate_delete(store, run_ingest, tmp_path):
    root = tmp_path / "projects" / "p"
    root.mkdir(parents=True)
    f = root / "a.jsonl"
    f.write_bytes(cc_line("m1", "r1"))
    run_ingest({"claude_code": [root.parent]})
    with f.open("ab") as fh:
        fh.write(cc_line("m2", "r2"))
    grown = run_ingest({"claude_code": [root.parent]})
    assert grown.bytes_read == len(cc_line("m2", "r2")) and totals(store)["events"] == 2
    f.write_bytes(cc_line("m3", "r3"))  # truncated and rewritten in place
    trunc = run_ingest({"claude_code": [root.parent]})
    assert trunc.files_reset == 1 and totals(store)["events"] == 3
    f.rename(root / "a.jsonl.1")
    (root / "a.jsonl").write_bytes(cc_line("m4", "r4") + cc_line("m3", "r3"))  # rotated: new inode
    run_ingest({"claude_code": [root.parent]})
    assert totals(store)["events"] == 4
    (root / "a.jsonl").unlink()
    gone = run_ingest({"claude_code": [root.parent]})
    assert gone.files_gone == 1 and totals(store)["events"] == 4  # history stays


def test_two_sources_at_once_and_quota_samples(store, run_ingest, tmp_path):
    codex_root = tmp_path / "codex" / "sessions" / "2026" / "08" / "20"
    codex_root.mkdir(parents=True)
    shutil.copy(HERE / "codex_rollout_sample.jsonl", codex_root / "rollout-2026-08-20T09-30-00-x.jsonl")
    gem = tmp_path / "gemini" / "tmp" / "hash" / "chats"
    gem.mkdir(parents=True)
    shutil.copy(HERE / "gemini_cli_session_sample.jsonl", gem / "session-1.jsonl")
    report = run_ingest({"claude_code": [_cc_tree(tmp_path)], "codex": [tmp_path / "codex" / "sessions"],
                         "gemini_cli": [tmp_path / "gemini" / "tmp"]})
    assert report.by_source["claude_code"] > 0 and report.by_source["gemini_cli"] > 0
    with store.engine.connect() as c:
        by = dict(c.execute(text("SELECT consumer, count(*) FROM usage_events GROUP BY consumer")).fetchall())
        windows = {r[0] for r in c.execute(text("SELECT \"window\" FROM samples WHERE account_id = 'codex'"))}
    assert by["claude_code"] == 8 and by["codex"] == 3 and by["gemini_cli"] >= 1
    assert windows == {"5h", "7d"}


def test_two_hosts_share_one_store_without_double_counting(store, run_ingest, tmp_path):
    root = _cc_tree(tmp_path)
    run_ingest({"claude_code": [root]}, host="laptop")
    run_ingest({"claude_code": [root]}, host="ci-runner")
    assert totals(store)["events"] == 8


def test_opencode_database(store, run_ingest, tmp_path):
    oc = tmp_path / "opencode"
    oc.mkdir()
    shutil.copy(HERE / "opencode_sample.db", oc / "opencode.db")
    report = run_ingest({"opencode": [oc]})
    assert report.events >= 1 and report.malformed == 0
