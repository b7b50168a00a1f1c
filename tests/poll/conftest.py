from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from quotawarden.emulator import Scenario, create_app, demo_scenario, serve


@pytest.fixture(scope="module")
def emulator() -> Iterator[tuple[str, Scenario]]:
    scenario = demo_scenario()  # the CLI runs on the system clock, so the emulator does too
    with serve(create_app(scenario)) as url:
        yield url, scenario


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch):
    """Run the CLI in-process; returns (exit_code, stdout, stderr)."""
    from quotawarden.interfaces.cli.app import build_app

    def run(*args: str, config: Path | None = None) -> tuple[int, str, str]:
        argv = [*(["--config", str(config)] if config else []), *args]
        result = CliRunner().invoke(build_app(), argv, catch_exceptions=False)
        return result.exit_code, result.stdout, result.stderr

    return run
