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
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path

MIGRATIONS = os.path.join(os.path.dirname(__file__), "migrations")
"""The migrations' folder (Alembic's script location). Paths here are plain strings: ``status`` reads
:func:`snapshot_heads` without loading ``pathlib``."""
VERSIONS = os.path.join(MIGRATIONS, "versions")
SNAPSHOT = os.path.join(MIGRATIONS, "sqlite_schema.sql")
_REV = r'^revision\s*(?::\s*str\s*)?=\s*["\']([^"\']+)["\']'
_DOWN = r'^down_revision\s*(?::[^=]+)?=\s*(.+)$'
_HEADS = "-- heads: "


def snapshot_heads(snapshot: str = SNAPSHOT) -> set[str] | None:
    """The heads the snapshot was taken at (its first line), or None when it cannot be read. Equal to
    ``known_revisions()[1]`` whenever the snapshot is current, which a test checks; a reader that only has to
    recognise the schema (``store.quick``) compares with these instead of reading every migration."""
    try:
        with open(snapshot, encoding="utf-8") as fh:
            first = fh.readline().rstrip("\n")
    except OSError:
        return None
    return set(first[len(_HEADS):].split(",")) if first.startswith(_HEADS) else None


def known_revisions() -> tuple[set[str], set[str]]:
    """All revision ids in ``migrations/versions``, and the heads among them (read as text, Alembic not imported)."""
    revs: set[str] = set()
    downs: set[str] = set()
    for name in sorted(os.listdir(VERSIONS)):
        if not name.endswith(".py"):
            continue
        with open(os.path.join(VERSIONS, name), encoding="utf-8") as fh:
            src = fh.read()
        m = re.search(_REV, src, re.M)
        if not m:
            continue
        revs.add(m.group(1))
        d = re.search(_DOWN, src, re.M)
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


def create_sqlite(path: str | Path, snapshot: str | Path = SNAPSHOT) -> bool:
    """Create the store at ``path`` (which must not exist) from ``snapshot``; False, with nothing created, when the
    snapshot is missing or stale, or the file appeared meanwhile (the caller then runs the migrations)."""
    from pathlib import Path

    try:
        text = Path(snapshot).read_text()
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
