"""An application service over a seeded store (both backends), shared by the interface tests."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

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
