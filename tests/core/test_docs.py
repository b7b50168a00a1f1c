"""Docs that the tests keep honest: the README is assembled from docs/readme/, every command has --help."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from quotawarden.interfaces.cli.app import build_app

ROOT = Path(__file__).resolve().parents[2]


def test_readme_is_assembled_from_docs_readme() -> None:
    proc = subprocess.run([sys.executable, str(ROOT / "scripts/build_readme.py"), "--check"], capture_output=True,
                          text=True, check=False)
    assert proc.returncode == 0, proc.stdout


def test_quickstart_has_exactly_two_commands() -> None:
    readme = (ROOT / "README.md").read_text()
    block = readme.split("## Quickstart", 1)[1].split("```sh", 1)[1].split("```", 1)[0]
    commands = [line for line in block.strip().splitlines() if line.strip()]
    assert len(commands) == 2
    assert "demo" in commands[0] and commands[1].startswith("./scripts/test")


def _commands() -> list[list[str]]:
    import typer.main

    group = typer.main.get_command(build_app())
    out: list[list[str]] = []
    for name, cmd in group.commands.items():  # type: ignore[attr-defined]
        out.append([name])
        for sub in getattr(cmd, "commands", {}):
            out.append([name, sub])
    return out


@pytest.mark.parametrize("argv", _commands(), ids=lambda a: " ".join(a))
def test_every_command_has_help(argv: list[str]) -> None:
    result = CliRunner().invoke(build_app(), [*argv, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage" in result.output
