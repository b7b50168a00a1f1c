from __future__ import annotations

from collections.abc import Iterator

import pytest

from quotawarden.app.service import Service
from quotawarden.clock import FixedClock
from tests.analysis import seed
from tests.conftest import NOW


@pytest.fixture
def scripted(db_url: str) -> Iterator[Service]:
    """A service over a store filled by ``seed.populate`` (both backends), clock at the fixtures' now."""
    svc = Service(config=seed.config(), plugins=seed.plugins(), clock=FixedClock(NOW), store_url=db_url)
    seed.populate(svc.store, NOW, days=21, step_s=1800)
    try:
        yield svc
    finally:
        svc.close()


@pytest.fixture
def store_service(db_url: str) -> Iterator[Service]:
    """A service over an empty store with the seed's accounts."""
    svc = Service(config=seed.config(), plugins=seed.plugins(), clock=FixedClock(NOW), store_url=db_url)
    try:
        yield svc
    finally:
        svc.close()
