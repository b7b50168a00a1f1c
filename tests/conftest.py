"""Shared fixtures: a real store on SQLite and on PostgreSQL, a fixed clock, the shared fixture folder.

PostgreSQL cases read ``QUOTAWARDEN_TEST_PG_URL`` and are skipped, with that reason, only when it is unset.
Each PostgreSQL test gets its own schema, dropped afterwards.

The suite sees the built-in plug-ins only (``QUOTAWARDEN_LOAD_PLUGINS`` empty, set before any test module is
loaded and inherited by every CLI subprocess), so third-party plug-ins installed next to quotawarden change no
result; tests of third-party loading set the variable themselves.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from quotawarden.clock import FixedClock
from quotawarden.store import Store, open_store

os.environ["QUOTAWARDEN_LOAD_PLUGINS"] = ""  # built-ins only (see the docstring); read when plug-ins load

PG_URL = os.environ.get("QUOTAWARDEN_TEST_PG_URL")
FIXTURES = Path(__file__).parent / "fixtures"
NOW = datetime(2026, 8, 20, 14, 3, 11, tzinfo=UTC)  # the shared fixtures' clock


def pg_schema_url(base: str) -> Iterator[str]:
    """A PostgreSQL URL whose search_path is a fresh schema; the schema is dropped afterwards."""
    import psycopg

    schema = f"qw_{uuid.uuid4().hex[:12]}"
    plain = base.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    sep = "&" if "?" in base else "?"
    url = base if base.startswith("postgresql+psycopg") else base.replace("postgresql://", "postgresql+psycopg://")
    try:
        yield f"{url}{sep}options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(plain, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database URL on each backend: a SQLite file, and a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'qw.db'}"
        return
    if not PG_URL:
        pytest.skip("QUOTAWARDEN_TEST_PG_URL is not set: PostgreSQL cases skipped")
    yield from pg_schema_url(PG_URL)


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    s = open_store(db_url)
    try:
        yield s
    finally:
        s.close()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test reads or writes the real user's config, data or agent logs."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local/share"))
    for var in ("QUOTAWARDEN_CONFIG", "QUOTAWARDEN_DB_URL", "ANTHROPIC_API_KEY", "OPENAI_API_KEY",
                "GEMINI_API_KEY", "CLAUDE_CONFIG_DIR", "CODEX_HOME"):
        monkeypatch.delenv(var, raising=False)
