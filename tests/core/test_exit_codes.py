"""Every exit code of the README's "Exit codes" table, each triggered through the real entry point, and the table
lists exactly those codes: the documentation and the behaviour cannot drift apart."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import NamedTuple

import pytest

from quotawarden.clock import FixedClock
from quotawarden.emulator import create_app, demo_scenario, serve
from quotawarden.store import open_store
from quotawarden.store import samples as samples_q
from tests.actions.test_alerts import sample

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "readme" / "10-configuration.md"
SWITCH_DATA = ROOT / "tests" / "actions" / "data" / "opencode.json"
KEY_ENV, SECRET_ENV = "QW_EXIT_TEST_KEY", "QW_EXIT_TEST_SECRET"


def documented_codes() -> set[int]:
    """The codes in the first column of the table under ``### Exit codes``."""
    section = DOC.read_text(encoding="utf-8").split("### Exit codes", 1)[1].split("\n#", 1)[0]
    return {int(m.group(1)) for m in re.finditer(r"^\|\s*(\d+)\s*\|", section, re.M)}


def run(config: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in (KEY_ENV, SECRET_ENV, "QUOTAWARDEN_CONFIG",
                                                              "QUOTAWARDEN_DB_URL")}
    return subprocess.run([sys.executable, "-m", "quotawarden.interfaces.cli.main", "--config", str(config), *args],
                          env={**clean, "COLUMNS": "100", **(env or {})}, capture_output=True, text=True, timeout=120)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Hanging(NamedTuple):
    url: str
    accepted: threading.Event
    """Set once a client has connected (and is waiting for an answer that never comes)."""


@pytest.fixture
def hanging() -> Iterator[Hanging]:
    """A host that accepts connections and never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    held: list[socket.socket] = []
    stop, accepted = threading.Event(), threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
                accepted.set()
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield Hanging(f"http://127.0.0.1:{server.getsockname()[1]}", accepted)
    stop.set()
    thread.join()
    for c in held:
        c.close()
    server.close()


def account(id_: str, provider: str, base_url: str, credential: str = f"env:{KEY_ENV}") -> str:
    return (f'[[accounts]]\nid = "{id_}"\nprovider = "{provider}"\ncredential = "{credential}"\n'
            f'base_url = "{base_url}"\n')


def write(path: Path, db: Path, *tables: str) -> Path:
    path.write_text(f'[database]\nurl = "sqlite:///{db}"\n\n' + "\n".join(tables), encoding="utf-8")
    return path


def test_every_documented_exit_code_is_produced_and_only_those(tmp_path: Path, hanging: Hanging) -> None:
    seen: dict[int, str] = {}

    def expect(code: int, what: str, proc: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
        assert proc.returncode == code, f"{what}: exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
        assert "Traceback" not in proc.stderr, proc.stderr
        seen[code] = what
        return proc

    # 0: nothing to do is no failure, and says how to start
    empty = write(tmp_path / "empty.toml", tmp_path / "empty.db")
    assert "accounts discover --add" in expect(0, "status, no accounts", run(empty, "status")).stdout

    # 2: a configuration error names the file, the line and the field
    bad = write(tmp_path / "bad.toml", tmp_path / "bad.db", "[thresholds]\nused_red = 80\n")
    err = expect(2, "config check, used_red = 80", run(bad, "config", "check")).stderr
    assert "bad.toml:5: thresholds.used_red" in err and "did you mean 0.8?" in err
    expect(2, "unknown option", run(empty, "status", "--no-such-option"))

    scenario = demo_scenario()
    with serve(create_app(scenario)) as emu:
        ok_key = scenario.by_id("anthropic-prod").credential
        # 0 then 11: the emulator answers; an unset key is INVALID (RED) but no failure of the poll itself
        red = write(tmp_path / "red.toml", tmp_path / "red.db", account("prod", "anthropic", emu),
                    account("gone", "openai", emu, "env:QW_EXIT_TEST_UNSET"))
        expect(0, "poll, every account read", run(red, "poll", "--force", env={KEY_ENV: ok_key}))
        expect(11, "status --check, an account RED", run(red, "status", "--check"))

        # 1 then 10: one host never answers in time; the other account is still probed and stored
        closed = f"http://127.0.0.1:{free_port()}"
        down = write(tmp_path / "down.toml", tmp_path / "down.db", account("prod", "anthropic", emu),
                     account("dead", "openai", closed))
        proc = expect(1, "poll, a provider unreachable", run(down, "poll", "--force", env={KEY_ENV: ok_key}))
        assert "dead (UNREACHABLE)" in proc.stderr and "UNREACHABLE" in proc.stdout
        proc = run(down, "status", "--json")
        accounts = {a["id"]: a for a in json.loads(proc.stdout)["accounts"]}
        assert accounts["prod"]["outcome"] == "OK" and accounts["prod"]["windows"]
        assert accounts["dead"]["status"] == "YELLOW" and "UNREACHABLE" in accounts["dead"]["reason"]
        expect(10, "status --check, an account unreachable", run(down, "status", "--check"))

    # 1: serve on a port already taken, said before any poll
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        proc = expect(1, "serve, port busy", run(empty, "serve", "--port", str(port)))
        assert f"127.0.0.1:{port} is already in use" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1

    # 3: switch changed the files but its notice could not be sent (the channel's secret is unset)
    swdb = tmp_path / "switch.db"
    switch = write(tmp_path / "switch.toml", swdb, '[[accounts]]\nid = "work-claude"\nprovider = "anthropic"\n',
                   '[[accounts]]\nid = "side-openai"\nprovider = "openai"\n',
                   '[autonomy]\nswitch_models = "auto"\n',
                   f'[[alerts.channels]]\nurl = "json://127.0.0.1:{free_port()}/hook"\n'
                   f'hmac_secret = "env:{SECRET_ENV}"\n'
                   'severities = ["info", "warning", "critical"]\n')
    store = open_store(f"sqlite:///{swdb}")
    clock = FixedClock(datetime.now(UTC))
    try:
        samples_q.write_samples(store, [sample(clock, 0.95), sample(clock, 0.1, account="side-openai")])
    finally:
        store.close()
    opencode = tmp_path / "opencode.json"
    opencode.write_bytes(SWITCH_DATA.read_bytes())
    proc = expect(3, "switch --once, notice not sent", run(switch, "switch", "--once", str(opencode)))
    assert "warning:" in proc.stderr and opencode.read_bytes() != SWITCH_DATA.read_bytes()

    # 130: Ctrl-C while a probe waits on a host that never answers
    slow = write(tmp_path / "slow.toml", tmp_path / "slow.db", account("slow", "openai", hanging.url))
    clean = {k: v for k, v in os.environ.items() if k not in ("QUOTAWARDEN_CONFIG", "QUOTAWARDEN_DB_URL")}
    child = subprocess.Popen([sys.executable, "-m", "quotawarden.interfaces.cli.main", "--config", str(slow), "poll"],
                             env={**clean, KEY_ENV: ok_key}, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True, start_new_session=True)
    # once the probe waits on the host: a fixed sleep raced a slow start on a loaded machine (the signal then came
    # during start-up, and the poll went on to wait out the host)
    assert hanging.accepted.wait(60), "the poll never reached the hanging host"
    time.sleep(0.2)
    child.send_signal(signal.SIGINT)
    _out, err = child.communicate(timeout=30)
    assert child.returncode == 130 and "Traceback" not in err, err
    seen[130] = "Ctrl-C"

    assert set(seen) == documented_codes(), (seen, documented_codes())
