"""Help and the --json documentation, through the real entry point: ``statusline`` is listed and answers
``--help``, every ``--json`` help names docs/cli-json.md and that page agrees with every command's real output,
and help and messages print TOML table names such as ``[[accounts]]`` as written."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import typer.main

from quotawarden.interfaces.cli.app import build_app

ROOT = Path(__file__).resolve().parents[2]
MAIN = [sys.executable, "-m", "quotawarden.interfaces.cli.main"]


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*MAIN, *args], capture_output=True, text=True, timeout=120, check=False,
                          env={**os.environ, "COLUMNS": "100", **(env or {})}, stdin=subprocess.DEVNULL)


def json_commands() -> list[str]:
    out: list[str] = []

    def walk(cmd: object, path: list[str]) -> None:
        subs = getattr(cmd, "commands", None)
        if subs:
            for name, sub in subs.items():
                walk(sub, [*path, name])
        elif any("--json" in getattr(p, "opts", ()) for p in getattr(cmd, "params", [])):
            out.append(" ".join(path))

    walk(typer.main.get_command(build_app()), [])
    return out


def test_statusline_is_listed_and_has_help() -> None:
    top = cli("--help")
    assert top.returncode == 0 and "statusline" in top.stdout
    own = cli("statusline", "--help")
    assert own.returncode == 0, own.stderr
    assert "Usage: quotawarden statusline" in own.stdout and "settings.json" in own.stdout


def test_every_json_command_is_in_the_doc() -> None:
    doc = (ROOT / "docs" / "cli-json.md").read_text()
    commands = json_commands()
    assert len(commands) > 30
    missing = [c for c in commands if f"### `quotawarden {c}`" not in doc]
    assert not missing, missing
    status = cli("status", "--help")
    assert "docs/cli-json.md" in "".join(status.stdout.split())  # wrapped by the help formatter


@pytest.mark.slow
def test_the_doc_agrees_with_real_json_output() -> None:
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "cli_json.py"), "--check"], capture_output=True,
                          text=True, timeout=600, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_help_and_messages_keep_toml_table_names(tmp_path: Path) -> None:
    accounts = cli("accounts", "--help")
    assert "Append an [[accounts]] table" in accounts.stdout
    assert "[[accounts]]" in cli("accounts", "remove", "--help").stdout
    config = tmp_path / "config.toml"
    config.write_text("")
    msg = cli("--config", str(config), "--db", f"sqlite:///{tmp_path / 'qw.db'}", "alerts", "test")
    assert "(configure [alerts] channels)" in msg.stdout + msg.stderr
    bad = cli("--config", str(tmp_path / "none.toml"), "accounts", "remove", "nosuch")
    assert "[]" not in bad.stderr and "Traceback" not in bad.stderr
