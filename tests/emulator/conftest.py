from __future__ import annotations

from collections.abc import Iterator

import pytest

from quotawarden.clock import FixedClock
from quotawarden.emulator import Scenario, create_app, demo_scenario, serve
from tests.conftest import NOW


@pytest.fixture(scope="module")
def demo() -> Scenario:
    return demo_scenario(NOW)


@pytest.fixture(scope="module")
def emulator(demo: Scenario) -> Iterator[tuple[str, object]]:
    app = create_app(demo, FixedClock(NOW))
    with serve(app) as url:
        yield url, app.state.emulator
