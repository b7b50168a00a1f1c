"""An application service over a seeded store (both backends), shared by the interface tests."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from quotawarden.app.service import Service
from quotawarden.clock import FixedClock
from quotawarden.config import from_text
from quotawarden.plugins import load_plugins
from quotawarden.store import Store
from tests.conftest import NOW
from tests.interfaces.seed import seed


@pytest.fixture
def seeded(store: Store) -> Store:
    seed(store, NOW)
    return store


@pytest.fixture
def seeded_live(store: Store) -> Store:
    """The same history ending at the wall clock, for subprocesses that run on the system clock."""
    seed(store, datetime.now(UTC).replace(microsecond=0))
    return store


@pytest.fixture
def svc(seeded: Store, db_url: str) -> Iterator[Service]:
    plugins = load_plugins()
    service = Service(config=from_text("", None, plugins), plugins=plugins, clock=FixedClock(NOW), store_url=db_url)
    try:
        yield service
    finally:
        service.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's Chromium through Playwright, one per test module (the browser tests skip without it)."""
    from playwright.sync_api import sync_playwright

    from tests.interfaces.test_browser import ARGS, CHROMIUM

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    """Where screenshots go: ``QUOTAWARDEN_SCREENSHOTS`` (e.g. docs/screenshots) or the test's own folder."""
    target = os.environ.get("QUOTAWARDEN_SCREENSHOTS")
    if target:
        path = Path(target)
        path.mkdir(parents=True, exist_ok=True)
        return path
    return tmp_path
