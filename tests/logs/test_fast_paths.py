"""The speed paths give the same answers as the plain ones: worker processes, the SQLite bulk import, the
rates cache, and ``quotawarden usage`` run through ``main.FAST_PATHS`` vs the full service."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

from quotawarden.pricing import Pricer
from quotawarden.sources import log_tailer
from quotawarden.store import logs_sql
from tests.logs.conftest import cc_line, totals


def _tree(root: Path, files: int = 6) -> Path:
    """Several sessions with streamed copies, a resumed session's smaller re-write and sidechain replays."""
    for f in range(files):
        d = root / "projects" / f"-p{f % 2}"
        d.mkdir(parents=True, exist_ok=True)
        lines = []
        for m in range(20):
            msg, req, ts = f"m{f}-{m}", f"r{f}-{m}", f"2026-08-{10 + m % 5:02d}T0{m % 10}:00:00.000Z"
            lines += [cc_line(msg, req, ts, out=5), cc_line(msg, req, ts, out=40 + m)]
            if m % 7 == 0:  # a sidechain replay of this message (dropped) and a sidechain-only message (kept)
                lines.append(cc_line(msg, f"side-{f}-{m}", ts, out=99, side=True))
                lines.append(cc_line(f"x{f}-{m}", f"side-{f}-{m}", ts, out=9, side=True))
        lines.append(cc_line(f"m{(f + 1) % files}-3", f"r{(f + 1) % files}-3", out=1))
        (d / f"s{f}.jsonl").write_bytes(b"".join(lines))
    return root / "projects"


def _index_names(store) -> set[str]:
    with store.engine.connect() as c:
        if store.is_sqlite:
            rows = c.execute(text("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'usage_events'"))
        else:
            rows = c.execute(text("SELECT indexname FROM pg_indexes WHERE tablename = 'usage_events'"))
        return {r[0] for r in rows}


def test_two_workers_and_bulk_import_match_the_plain_path(store, run_ingest, tmp_path, monkeypatch):
    root = _tree(tmp_path / "a", files=30)  # > 500 rows: PostgreSQL writes them with COPY
    plain = run_ingest({"claude_code": [root]}, host="plain")
    expected = totals(store)
    indexes = _index_names(store)
    with store.engine.begin() as c:
        c.execute(text("DELETE FROM usage_events"))
    monkeypatch.setattr(log_tailer, "WORKER_BYTES", 0)
    forked: list[bool] = []
    # Earlier tests in the same process may leave (idle) threads behind, which makes the real check refuse to
    # fork; the worker path itself is what is under test here, so only fork support is required.
    can_fork = "fork" in __import__("multiprocessing").get_all_start_methods()
    monkeypatch.setattr(log_tailer, "_can_fork", lambda: forked.append(can_fork) or forked[-1])
    monkeypatch.setattr(logs_sql, "BULK_EVENTS", 1)
    monkeypatch.setattr(logs_sql, "BULK_FIRST_EVENTS", 1)
    monkeypatch.setattr(logs_sql, "BYTES_PER_EVENT", 1)
    fast = run_ingest({"claude_code": [root]}, host="fast")
    assert totals(store) == expected and expected["events"] == 30 * 20 + 30 * 3
    assert (fast.events, fast.duplicates, fast.lines) == (plain.events, plain.duplicates, plain.lines)
    assert forked == [True]  # the run above did parse in worker processes
    assert _index_names(store) == indexes


def test_a_failed_bulk_import_leaves_the_indexes(store, tmp_path, monkeypatch):
    if not store.is_sqlite:
        pytest.skip("the bulk import is SQLite's (PostgreSQL uses COPY)")
    from quotawarden.store.ingest import StoreLogSink

    indexes = _index_names(store)
    monkeypatch.setattr(logs_sql, "BULK_EVENTS", 1)
    monkeypatch.setattr(logs_sql, "BULK_FIRST_EVENTS", 1)
    sink = StoreLogSink(store, "h", 0.0)
    with pytest.raises(RuntimeError), sink.bulk(10**6):
        assert _index_names(store) == indexes  # another connection still sees them until the commit
        raise RuntimeError("interrupted")
    sink.close()
    assert _index_names(store) == indexes


def test_column_lists_agree():
    from quotawarden.analysis.usage_report import ROW_FIELDS
    from quotawarden.logsources.base import RECORD_FIELDS

    assert RECORD_FIELDS[:19] == logs_sql.EVENT_COLUMNS
    assert logs_sql.REPORT_COLUMNS == ROW_FIELDS


def test_rates_cache_gives_the_same_rates(tmp_path):
    models = [("anthropic", "claude-sonnet-4-5-20250929"), ("anthropic", "claude-opus-4-6"), ("openai", "gpt-5"),
              ("anthropic", "no-such-model")]
    moments = [1.70e9, 1.773e9, 1.79e9]
    plain = Pricer(cache_dir=False)
    want = {(p, m, t): plain.rates(p, m, t) for p, m in models for t in moments}
    Pricer(cache_dir=tmp_path).rates(*models[0], moments[0])  # writes the cache file
    for _ in range(2):  # the first fills the cache, the second reads only from it
        cached = Pricer(cache_dir=tmp_path)
        assert {(p, m, t): cached.rates(p, m, t) for p, m in models for t in moments} == want
    assert len(list(tmp_path.glob("prices-genai-*.json"))) == 1


def test_usage_fast_path_matches_the_service(store, db_url, tmp_path):
    if not store.is_sqlite:
        pytest.skip("the fast path serves SQLite stores; PostgreSQL runs the full CLI")
    root = _tree(tmp_path / "claude")
    (tmp_path / "config.toml").write_text(f'[logs]\npaths = {{claude_code = ["{root}"]}}\n')
    env = {**os.environ, "QUOTAWARDEN_DB_URL": db_url, "QUOTAWARDEN_CONFIG": str(tmp_path / "config.toml")}

    def cli(*args: str) -> dict:
        p = subprocess.run([sys.executable, "-m", "quotawarden.interfaces.cli.main", "usage", *args], env=env,
                           capture_output=True, timeout=120, check=True)
        return json.loads(p.stdout)

    fast = {k: cli(k, "--json") for k in ("daily", "weekly", "monthly", "session", "blocks")}
    from quotawarden.analysis.usage_report import ReportQuery
    from quotawarden.app.service import build_service

    svc = build_service(tmp_path / "config.toml", store_url=db_url)
    for kind, data in fast.items():
        assert data == json.loads(json.dumps(svc.usage_report(ReportQuery(kind)))), kind  # type: ignore[arg-type]
    assert fast["daily"]["totals"]["outputTokens"] == totals(store)["output"]
    help_text = subprocess.run([sys.executable, "-m", "quotawarden.interfaces.cli.main", "usage", "daily", "--help"],
                               env=env, capture_output=True, text=True, check=True).stdout
    assert "--since" in help_text and "--json" in help_text


def test_a_first_run_creates_the_store_and_stays_on_the_fast_path(tmp_path):
    root = _tree(tmp_path / "claude")
    (tmp_path / "config.toml").write_text(f'[logs]\npaths = {{claude_code = ["{root}"]}}\n')
    db = tmp_path / "new" / "qw.db"
    env = {**os.environ, "QUOTAWARDEN_DB_URL": f"sqlite:///{db}", "QUOTAWARDEN_CONFIG": str(tmp_path / "config.toml")}
    code = ("import sys, runpy\nsys.argv = ['quotawarden', 'usage', 'daily', '--json']\n"
            "try:\n    runpy.run_module('quotawarden.interfaces.cli.main', run_name='__main__')\n"
            "except SystemExit:\n    pass\n"
            "sys.stderr.write('typer loaded: %s' % ('typer' in sys.modules))\n")
    p = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120, check=True)
    assert p.stderr.endswith("typer loaded: False")  # no full CLI: the store's migrations ran alone
    assert json.loads(p.stdout)["totals"]["outputTokens"] > 0
    from quotawarden.store import open_store

    store = open_store(f"sqlite:///{db}")  # migrated to the heads: opening it changes nothing
    try:
        assert totals(store)["events"] == 6 * 20 + 6 * 3
    finally:
        store.close()


def _rollups(store) -> dict[str, list[tuple]]:
    def norm(row) -> tuple:
        return tuple(round(float(v), 9) if isinstance(v, float) else v for v in row)

    with store.engine.connect() as c:
        return {t: sorted((norm(r) for r in c.execute(text(f"SELECT * FROM {t}"))), key=repr)
                for t in ("usage_hourly", "usage_rollup")}


@pytest.mark.parametrize("flush", [10**6, 7])
def test_bulk_import_into_an_empty_store_sums_the_same_rollups(store, run_ingest, tmp_path, monkeypatch, flush):
    """A first import sums the hourly roll-up while writing; a key written in two batches (``flush`` 7: the resumed
    session's re-write lands in a later batch) sends its hours back to SQL. Same roll-ups as grouping in SQL."""
    if not store.is_sqlite:
        pytest.skip("the bulk import is SQLite's (PostgreSQL uses COPY)")
    root = _tree(tmp_path / "a", files=12)
    monkeypatch.setattr(log_tailer, "FLUSH_EVENTS", flush)
    run_ingest({"claude_code": [root]})
    expected = _rollups(store)
    with store.engine.begin() as c:
        for t in ("usage_events", "usage_hourly", "usage_rollup", "log_files"):
            c.execute(text(f"DELETE FROM {t}"))
    monkeypatch.setattr(logs_sql, "BULK_EVENTS", 1)
    monkeypatch.setattr(logs_sql, "BULK_FIRST_EVENTS", 1)
    monkeypatch.setattr(logs_sql, "BYTES_PER_EVENT", 1)
    fresh: list[object] = []
    real = logs_sql._FreshHours.add
    monkeypatch.setattr(logs_sql._FreshHours, "add", lambda self, db, rows: fresh.append(self) or real(self, db, rows))
    run_ingest({"claude_code": [root]})
    assert fresh and all(f.whole for f in fresh)  # the sums were kept, not the SQL pass
    assert bool(fresh[-1].dirty) == (flush == 7)
    assert _rollups(store) == expected and expected["usage_hourly"]


def test_a_report_that_finds_nothing_says_where_it_looked(tmp_path):
    """A new user's first ``usage daily`` with no agent logs: the empty table, and on stderr the folders read."""
    home = tmp_path / "home"
    home.mkdir()
    (tmp_path / "config.toml").write_text("")
    env = {**os.environ, "HOME": str(home), "QUOTAWARDEN_DB_URL": f"sqlite:///{tmp_path / 'qw.db'}",
           "QUOTAWARDEN_CONFIG": str(tmp_path / "config.toml"), "COLUMNS": "100"}
    p = subprocess.run([sys.executable, "-m", "quotawarden.interfaces.cli.main", "usage", "daily"], env=env,
                       capture_output=True, text=True, timeout=120, check=True)
    assert "no agent usage found in: " in p.stderr
    assert str(home / ".claude" / "projects") in p.stderr and str(home / ".codex" / "sessions") in p.stderr
    codex = subprocess.run([sys.executable, "-m", "quotawarden.interfaces.cli.main", "usage", "daily", "--source",
                            "codex"], env=env, capture_output=True, text=True, timeout=120, check=True)
    assert ".codex" in codex.stderr and ".claude" not in codex.stderr
