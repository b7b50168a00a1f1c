"""``quotawarden switch`` through the real entry point: what it changed is reported first, and a notice that could
not be sent (an alert channel's secret unset) is a warning with exit code 3, never an error that hides the change."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import json5
import orjson
import pytest

from quotawarden.clock import FixedClock
from quotawarden.store import open_store
from quotawarden.store import samples as samples_q

from .test_alerts import sample

DATA = Path(__file__).parent / "data"
SECRET_ENV = "QW_WEBHOOK_SECRET"


@pytest.fixture
def setup(tmp_path: Path, webhook: Any, db_url: str) -> tuple[Path, Path]:
    """work-claude (anthropic) RED and side-openai GREEN now; a signed webhook whose secret is an env reference."""
    config = tmp_path / "config.toml"
    config.write_text(f"""
[database]
url = "{db_url}"

[[accounts]]
id = "work-claude"
provider = "anthropic"

[[accounts]]
id = "side-openai"
provider = "openai"

[autonomy]
switch_models = "auto"

[[alerts.channels]]
url = "json://{webhook.url}/signed"
hmac_secret = "env:{SECRET_ENV}"
severities = ["info", "warning", "critical"]
""")
    store = open_store(db_url)
    clock = FixedClock(datetime.now(UTC))
    try:
        samples_q.write_samples(store, [sample(clock, 0.95), sample(clock, 0.1, account="side-openai")])
    finally:
        store.close()
    opencode = tmp_path / "opencode.json"
    opencode.write_bytes((DATA / "opencode.json").read_bytes())
    return config, opencode


def _switch(config: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k != SECRET_ENV}
    return subprocess.run([sys.executable, "-m", "quotawarden.interfaces.cli.main", "--config", str(config),
                           "switch", *args], env={**clean, **env}, capture_output=True, text=True, timeout=120)


def test_unset_channel_secret_reports_the_change_then_warns_with_exit_3(setup, webhook: Any) -> None:  # type: ignore[no-untyped-def]
    config, opencode = setup
    proc = _switch(config, "--once", str(opencode))
    assert proc.returncode == 3, proc.stderr
    assert json5.loads(opencode.read_text())["model"] == "openai/gpt-5"
    assert f"{opencode}: (default): anthropic/claude-sonnet-4-5 -> openai/gpt-5" in proc.stdout
    assert f"{opencode}: build: anthropic/claude-opus-4-1 -> openai/gpt-5-codex" in proc.stdout
    err = " ".join(proc.stderr.split())
    assert "error" not in err and err.startswith("warning:") and "in [alerts] channels" in err
    assert f"environment variable {SECRET_ENV} is not set" in err
    assert webhook.requests == []  # nothing goes out unsigned

    restored = _switch(config, "--restore", "--json", str(opencode))
    assert restored.returncode == 3
    data = json.loads(restored.stdout)["files"][0]
    assert [c["agent"] for c in data["changes"]] == ["(default)", "build"]
    assert len(data["warnings"]) == 1 and SECRET_ENV in data["warnings"][0]
    assert opencode.read_bytes() == (DATA / "opencode.json").read_bytes()


def test_with_the_secret_set_the_notices_go_out_and_the_exit_is_0(setup, webhook: Any) -> None:  # type: ignore[no-untyped-def]
    config, opencode = setup
    proc = _switch(config, "--once", "--json", str(opencode), **{SECRET_ENV: "whsec-test-0123"})
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)["files"][0]
    assert data["warnings"] == [] and len(data["changes"]) == 2
    bodies = [orjson.loads(r["body"]) for r in webhook.wait(2)]
    assert {b["event"] for b in bodies} == {"action"} and len(bodies) == 2
