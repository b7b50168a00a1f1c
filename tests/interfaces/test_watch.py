"""``quotawarden watch`` under a real pseudo-terminal: it draws, refreshes, filters on a key and quits cleanly."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

from quotawarden.interfaces.cli.watch import ViewState
from quotawarden.store import Store

ALT_SCREEN_ON, ALT_SCREEN_OFF = b"\x1b[?1049h", b"\x1b[?1049l"


def _read_until(fd: int, needle: bytes, buf: bytearray, timeout: float = 30.0) -> bytes:
    deadline = time.monotonic() + timeout
    while needle not in buf:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"{needle!r} not seen; last output: {bytes(buf[-600:])!r}")
        ready, _, _ = select.select([fd], [], [], left)
        if ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                break
            buf.extend(chunk)
    return bytes(buf)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_watch_refreshes_filters_and_quits(seeded_live: Store, db_url: str, tmp_path: Path) -> None:
    main_fd, child_fd = pty.openpty()
    env = {**os.environ, "COLUMNS": "120", "LINES": "40", "TERM": "xterm-256color",
           "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.Popen([sys.executable, "-m", "quotawarden.interfaces.cli.main", "--db", db_url, "watch",
                             "--interval", "0.3"], stdin=child_fd, stdout=child_fd, stderr=child_fd, env=env,
                            close_fds=True)
    os.close(child_fd)
    buf = bytearray()
    try:
        _read_until(main_fd, b"#1", buf)  # first frame
        _read_until(main_fd, b"#2", buf)  # one refresh on the timer
        out = bytes(buf)
        assert ALT_SCREEN_ON in out
        assert b"home-claude" in out and b"work-claude" in out and b"alerts" in out
        os.write(main_fd, b"r")  # only RED accounts
        _read_until(main_fd, b"filter: red", buf)
        os.write(main_fd, b"q")
        assert proc.wait(timeout=20) == 0
        try:
            while select.select([main_fd], [], [], 0.5)[0]:
                buf.extend(os.read(main_fd, 65536))
        except OSError:
            pass
        assert ALT_SCREEN_OFF in bytes(buf)  # the terminal is given back
        assert b"Traceback" not in bytes(buf)
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(main_fd)


def test_keys_cycle_filters() -> None:
    st = ViewState(providers=["claude", "openai"])
    assert st.key("r") and st.mode == "red"
    assert st.key("p") and st.provider == "claude"
    assert st.key("p") and st.provider == "openai"
    assert st.key("p") and st.provider is None
    assert st.key("a") and st.mode == "all"
    assert not st.key("q")
    red = {"provider": "claude", "status": "RED"}
    green = {"provider": "claude", "status": "GREEN"}
    st.mode = "warn"
    assert st.keep(red) and not st.keep(green)


def test_once_and_json(seeded_live: Store, db_url: str) -> None:
    base = [sys.executable, "-m", "quotawarden.interfaces.cli.main", "--db", db_url, "watch"]
    once = subprocess.run([*base, "--once"], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "COLUMNS": "140"})
    assert once.returncode == 0, once.stderr
    assert "home-claude" in once.stdout and "q quit" in once.stdout
    js = subprocess.run([*base, "--json"], capture_output=True, text=True, timeout=60)
    assert js.returncode == 0 and '"alerts"' in js.stdout
