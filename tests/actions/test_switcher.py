"""OpenCode switching on real opencode.json files: switch, hold, recover, restore, crashes, unparsable files."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import json5
import pytest

from quotawarden.actions.switcher import Switcher, side_path, switch_files
from quotawarden.domain import Health
from quotawarden.errors import ConfigError

DATA = Path(__file__).parent / "data"
NOW = datetime(2026, 8, 20, 14, 3, 11, tzinfo=UTC)
G, Y, R = Health.GREEN, Health.YELLOW, Health.RED


def health(**by_provider: Health):  # type: ignore[no-untyped-def]
    return lambda p: by_provider.get(p, Health.GREEN)


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "opencode.json"
    path.write_bytes((DATA / "opencode.json").read_bytes())
    return path


def models(path: Path) -> dict[str, str]:
    data = json5.loads(path.read_text())
    return {"(default)": data["model"], **{k: v["model"] for k, v in data["agent"].items()}}


ORIGINAL = {"(default)": "anthropic/claude-sonnet-4-5", "build": "anthropic/claude-opus-4-1",
            "plan": "openai/gpt-5", "review": "zai/glm-4.6"}
SWITCHED = {**ORIGINAL, "(default)": "openai/gpt-5", "build": "openai/gpt-5-codex"}


@pytest.mark.parametrize("status", [Y, R])
def test_switch_keeps_every_other_byte(config: Path, status: Health) -> None:
    before = config.read_text()
    result = Switcher(config).poll(health(anthropic=status), NOW)
    assert [c.agent for c in result.changes] == ["(default)", "build"]
    assert models(config) == SWITCHED
    after = config.read_text()
    expected = before.replace('"model": "anthropic/claude-sonnet-4-5"', '"model": "openai/gpt-5"').replace(
        '"model": "anthropic/claude-opus-4-1"', '"model": "openai/gpt-5-codex"')
    assert after == expected  # comments, trailing commas, single quotes, bare keys: all as they were


def test_first_green_fallback_is_chosen(config: Path) -> None:
    Switcher(config).poll(health(anthropic=R, openai=Y), NOW)
    assert models(config)["(default)"] == "zai/glm-4.6"
    assert models(config)["build"] == "zai/glm-4.6"
    assert models(config)["plan"] == "openai/gpt-5"  # its only fallback is RED: stays


def test_no_green_fallback_means_no_change(config: Path) -> None:
    before = config.read_bytes()
    result = Switcher(config).poll(health(anthropic=R, openai=R, zai=Y), NOW)
    assert result.changes == [] and config.read_bytes() == before


def test_hold_then_recover_after_n_green_polls(config: Path) -> None:
    Switcher(config, hold=3).poll(health(anthropic=R), NOW)
    for _ in range(2):  # a fresh Switcher each poll: the side file carries the state across restarts
        result = Switcher(config, hold=3).poll(health(), NOW)
        assert result.changes == [] and sorted(result.held) == ["(default)", "build"]
        assert models(config) == SWITCHED
    Switcher(config, hold=3).poll(health(anthropic=Y), NOW)  # not GREEN: the count starts again
    for _ in range(2):
        Switcher(config, hold=3).poll(health(), NOW)
    assert models(config) == SWITCHED
    result = Switcher(config, hold=3).poll(health(), NOW)
    assert [c.new for c in result.changes] == ["anthropic/claude-sonnet-4-5", "anthropic/claude-opus-4-1"]
    assert config.read_bytes() == (DATA / "opencode.json").read_bytes()
    assert not side_path(config).exists()


def test_restore_puts_originals_back(config: Path) -> None:
    Switcher(config).poll(health(anthropic=R), NOW)
    assert side_path(config).exists()
    result = Switcher(config).restore(NOW)
    assert len(result.changes) == 2
    assert config.read_bytes() == (DATA / "opencode.json").read_bytes()
    assert not side_path(config).exists()


def test_a_hand_edited_model_is_left_alone(config: Path) -> None:
    Switcher(config).poll(health(anthropic=R), NOW)
    config.write_text(config.read_text().replace('"openai/gpt-5-codex"', '"zai/glm-4.6"', 1))
    Switcher(config, hold=1).poll(health(), NOW)
    assert models(config)["build"] == "zai/glm-4.6"  # the user's choice stands
    assert models(config)["(default)"] == ORIGINAL["(default)"]


def test_unparsable_file_is_untouched_with_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "opencode.json"
    text = '{\n  "model": "anthropic/claude-sonnet-4-5",\n  "agent": { "build": { "model": } }\n}\n'
    bad.write_text(text)
    with pytest.raises(ConfigError) as err:
        Switcher(bad).poll(health(anthropic=R), NOW)
    assert str(bad) in str(err.value) and ":3:" in str(err.value)
    assert bad.read_text() == text and not side_path(bad).exists()
    (result,) = switch_files([bad], health(anthropic=R), NOW)
    assert result.error and "left untouched" in result.error


def test_several_files_one_poll(tmp_path: Path, config: Path) -> None:
    other = tmp_path / "b" / "opencode.json"
    other.parent.mkdir()
    other.write_text('{"model": "anthropic/claude-sonnet-4-5", "fallback_models": ["zai/glm-4.6"]}')
    results = switch_files([config, other, tmp_path / "missing.json"], health(anthropic=R), NOW)
    assert [len(r.changes) for r in results] == [2, 1, 0]
    assert results[2].error and "cannot read" in results[2].error


def test_crash_between_side_file_and_config_write(config: Path) -> None:
    before = config.read_bytes()

    def crash(_path: Path) -> None:
        raise KeyboardInterrupt("power cut")

    with pytest.raises(KeyboardInterrupt):
        Switcher(config, before_replace=crash).poll(health(anthropic=R), NOW)
    assert config.read_bytes() == before  # old file, whole
    assert not list(config.parent.glob(".opencode.json.*.tmp"))
    Switcher(config).poll(health(), NOW)  # recovered, nothing switched: the stale memory is dropped
    assert config.read_bytes() == before and not side_path(config).exists()


CHILD = """
import sys
from datetime import UTC, datetime
from quotawarden.actions.switcher import Switcher
from quotawarden.domain import Health
path = sys.argv[1]
i = 0
while True:
    bad = Health.RED if i % 2 == 0 else Health.GREEN
    Switcher(path, hold=1).poll(lambda p: bad if p == "anthropic" else Health.GREEN, datetime.now(UTC))
    i += 1
"""


def test_killed_mid_write_leaves_old_or_new_never_broken(config: Path) -> None:
    original = config.read_bytes()
    Switcher(config).poll(health(anthropic=R), NOW)
    switched = config.read_bytes()
    Switcher(config).restore(NOW)
    rng = random.Random(8)
    seen = set()
    for _ in range(12):
        proc = subprocess.Popen([sys.executable, "-c", CHILD, str(config)], env={**os.environ})
        time.sleep(0.6 + rng.random() * 0.4)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        data = config.read_bytes()
        assert data in (original, switched)
        seen.add(data)
        Switcher(config).restore(NOW)  # the side file always lets us recover the originals
        assert config.read_bytes() == original
    assert seen  # (both states are usually seen; either is correct)
