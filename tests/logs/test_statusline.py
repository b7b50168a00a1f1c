"""``quotawarden statusline`` as Claude Code runs it: a real process, stdin JSON in, one line out, on both stores."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

from quotawarden.store import open_store
from tests.logs.conftest import HERE

HEAVY = ("sqlalchemy", "typer", "rich", "alembic", "pydantic")
# runs the fast path in-process so the test can list what it imported
PROBE = ("import sys\nfrom quotawarden.interfaces.cli.main import main\ntry:\n    main(['statusline'])\n"
         "except SystemExit:\n    pass\n"
         "print('IMPORTED', *sorted(m for m in %r if m in sys.modules), file=sys.stderr)\n")


def statusline(db_url: str, tmp_path: Path, stdin: bytes | None) -> tuple[str, list[str]]:
    (tmp_path / "config.toml").write_text("")
    env = {**os.environ, "QUOTAWARDEN_DB_URL": db_url, "QUOTAWARDEN_CONFIG": str(tmp_path / "config.toml")}
    p = subprocess.run([sys.executable, "-c", PROBE % (HEAVY,)], input=stdin or b"", env=env, capture_output=True,
                       timeout=60, check=True)
    imported = p.stderr.decode().split("IMPORTED", 1)[1].split()
    return p.stdout.decode(), imported


def latest(db_url: str) -> dict[str, tuple[float, str, str]]:
    s = open_store(db_url)
    try:
        with s.engine.connect() as c:
            rows = c.execute(text("SELECT \"window\", used_ratio, source, provenance FROM latest_samples "
                                  "WHERE account_id = 'claude'")).fetchall()
    finally:
        s.close()
    return {r[0]: (r[1], r[2], r[3]) for r in rows}


def test_stdin_readings_become_official_samples_and_one_line(store, db_url, tmp_path):
    raw = (HERE / "claude_code_statusline_input.json").read_bytes()
    out, imported = statusline(db_url, tmp_path, raw)
    assert out.count("\n") == 1 and out.startswith("Sonnet 4.5 | 5h 39%") and "7d 61%" in out
    assert "today $" in out
    assert latest(db_url) == {"5h": (pytest.approx(0.386), "statusline", "official"),
                              "7d": (pytest.approx(0.61), "statusline", "official")}
    if db_url.startswith("sqlite"):
        assert imported == []  # the SQLite fast path: plain sqlite3 only


def test_no_stdin_reads_the_store(store, db_url, tmp_path):
    statusline(db_url, tmp_path, (HERE / "claude_code_statusline_input.json").read_bytes())
    out, _ = statusline(db_url, tmp_path, None)
    assert out.startswith("claude | 5h 39% | 7d 61%")


@pytest.mark.parametrize("bad", [1787245200, -5, 100.5, "40"])
def test_impossible_values_are_rejected_not_stored(store, db_url, tmp_path, bad):
    data = json.loads((HERE / "claude_code_statusline_input.json").read_text())
    data["rate_limits"]["five_hour"]["used_percentage"] = bad
    out, _ = statusline(db_url, tmp_path, json.dumps(data).encode())
    assert "5h" not in out and "7d 61%" in out
    assert set(latest(db_url)) == {"7d"}


def test_broken_stdin_still_prints_a_line(store, db_url, tmp_path):
    out, _ = statusline(db_url, tmp_path, b"{not json")
    assert out.strip().startswith("claude")
