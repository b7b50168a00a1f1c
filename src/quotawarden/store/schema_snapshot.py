"""A new SQLite store built from a snapshot of the migrated schema, without SQLAlchemy or Alembic.

A user's first ``quotawarden usage daily`` would otherwise import SQLAlchemy and Alembic and replay every migration
(~0.4 s of its start-up, a third of a first import of 100k log lines). ``migrations/sqlite_schema.sql`` is what those
migrations leave in a new SQLite file (``python scripts/sqlite_schema.py`` writes it; a test checks it against a
store the migrations build). It is used only when the heads it was taken at are the heads of
``migrations/versions``; otherwise, or on any error, nothing is created and the migrations run as before.
"""

from __future__ import annotations

import contextlib
import os
import re
import sqlite3
from pathlib import Path

VERSIONS = Path(__file__).parent / "migrations" / "versions"
SNAPSHOT = Path(__file__).parent / "migrations" / "sqlite_schema.sql"
_REV = re.compile(r'^revision\s*(?::\s*str\s*)?=\s*["\']([^"\']+)["\']', re.M)
_DOWN = re.compile(r'^down_revision\s*(?::[^=]+)?=\s*(.+)$', re.M)
_HEADS = "-- heads: "


def known_revisions() -> tuple[set[str], set[str]]:
    """All revision ids in ``migrations/versions``, and the heads among them (read as text, Alembic not imported)."""
    revs: set[str] = set()
    downs: set[str] = set()
    for f in VERSIONS.glob("*.py"):
        src = f.read_text()
        m = _REV.search(src)
        if not m:
            continue
        revs.add(m.group(1))
        d = _DOWN.search(src)
        if d:
            downs.update(re.findall(r'["\']([^"\']+)["\']', d.group(1)))
    return revs, revs - downs


def dump(path: str | Path) -> str:
    """The snapshot text of the SQLite database at ``path``: its heads, then its schema and rows as SQL."""
    conn = sqlite3.connect(str(path))
    try:
        heads = sorted(r[0] for r in conn.execute("SELECT version_num FROM alembic_version"))
        lines = [line for line in conn.iterdump() if line not in ("BEGIN TRANSACTION;", "COMMIT;")]
        # the heads' rows in a stable order (Alembic writes them in an order that may change from run to run)
        marks = [i for i, line in enumerate(lines) if line.startswith('INSERT INTO "alembic_version"')]
        for i, line in zip(marks, sorted(lines[i] for i in marks), strict=True):
            lines[i] = line
    finally:
        conn.close()
    return f"{_HEADS}{','.join(heads)}\n" + "\n".join(lines) + "\n"


def create_sqlite(path: str | Path, snapshot: Path = SNAPSHOT) -> bool:
    """Create the store at ``path`` (which must not exist) from ``snapshot``; False, with nothing created, when the
    snapshot is missing or stale, or the file appeared meanwhile (the caller then runs the migrations)."""
    try:
        text = snapshot.read_text()
    except OSError:
        return False
    first, _, sql = text.partition("\n")
    if not first.startswith(_HEADS) or set(first[len(_HEADS):].split(",")) != known_revisions()[1]:
        return False
    target = Path(path)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.new")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(str(tmp), isolation_level=None)
        try:
            conn.executescript(f"BEGIN;\n{sql}COMMIT;")
            conn.execute("PRAGMA journal_mode=WAL")
        finally:
            conn.close()
        os.link(tmp, target)  # never over a store another process has just created
        return True
    except (OSError, sqlite3.Error):
        return False
    finally:
        for leftover in (tmp, Path(f"{tmp}-wal"), Path(f"{tmp}-shm")):
            with contextlib.suppress(OSError):
                leftover.unlink()
