"""Write (or ``--check``) ``store/migrations/sqlite_schema.sql``: what the migrations leave in a new SQLite store.

    python scripts/sqlite_schema.py          # after adding a migration
    python scripts/sqlite_schema.py --check  # exit 1 when the snapshot is stale

A new SQLite store is created from it without SQLAlchemy or Alembic (``store/schema_snapshot.py``); a stale
snapshot is never used, so forgetting this costs start-up time only.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from quotawarden.store import open_store
from quotawarden.store.schema_snapshot import SNAPSHOT, dump


def migrated_dump() -> str:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "qw.db"
        open_store(f"sqlite:///{path}").close()
        return dump(path)


def main() -> int:
    text = migrated_dump()
    if "--check" in sys.argv:
        if not Path(SNAPSHOT).exists() or Path(SNAPSHOT).read_text() != text:
            print(f"{SNAPSHOT} is stale: run python scripts/sqlite_schema.py")
            return 1
        return 0
    Path(SNAPSHOT).write_text(text)
    print(f"wrote {SNAPSHOT}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
