"""A new SQLite store built from the schema snapshot is the store the migrations build (a first ``usage`` report
creates it so, without SQLAlchemy or Alembic)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from quotawarden.store import open_store
from quotawarden.store.migrate import current_revisions
from quotawarden.store.schema_snapshot import SNAPSHOT, create_sqlite, dump, known_revisions, snapshot_heads

ROOT = Path(__file__).resolve().parents[2]


def test_snapshot_is_what_the_migrations_build(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, str(ROOT / "scripts/sqlite_schema.py"), "--check"], capture_output=True,
                          text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert snapshot_heads() == known_revisions()[1]  # what status's reader recognises a current schema by


def test_store_from_snapshot_needs_no_migration(tmp_path: Path) -> None:
    path = tmp_path / "new" / "qw.db"
    assert create_sqlite(path)
    assert dump(path) == Path(SNAPSHOT).read_text()
    store = open_store(f"sqlite:///{path}")
    try:
        assert current_revisions(store) == known_revisions()[1]
    finally:
        store.close()
    assert dump(path) == Path(SNAPSHOT).read_text()  # opening it ran no migration
    assert not create_sqlite(path)  # never over an existing store
    assert [p.name for p in path.parent.iterdir() if p.name.endswith(".new")] == []


def test_stale_snapshot_is_not_used(tmp_path: Path) -> None:
    stale = tmp_path / "stale.sql"
    stale.write_text(Path(SNAPSHOT).read_text().replace("-- heads: ", "-- heads: gone_0001,", 1))
    assert not create_sqlite(tmp_path / "qw.db", stale)
    assert not (tmp_path / "qw.db").exists()
    assert snapshot_heads(str(stale)) == known_revisions()[1] | {"gone_0001"}
    assert snapshot_heads(str(tmp_path / "missing.sql")) is None
