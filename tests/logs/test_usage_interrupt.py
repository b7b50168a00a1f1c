"""Ctrl-C in the middle of a large ``quotawarden usage`` import: one line on stderr, exit 130, and the next run
totals every line once. Run through the real entry point with stderr on a terminal (so the progress bar shows)
and SIGINT sent to the whole process group, as a terminal does; on SQLite that is the fast path, on PostgreSQL
the typer one."""

from __future__ import annotations

import json
import os
import pty
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyte

from quotawarden.interfaces.cli.usage import INTERRUPTED
from tests.logs.conftest import cc_line

FILES, LINES = 120, 2500  # about 90 MB: a second or more of reading even with byte-code cached, far past the
# progress bar's threshold (at 30 MB a fast import could end before the Ctrl-C reached it)


def _tree(root: Path) -> int:
    """The log tree; returns its output tokens (every line a distinct message)."""
    total = 0
    for f in range(FILES):
        d = root / "projects" / f"-p{f % 4}"
        d.mkdir(parents=True, exist_ok=True)
        lines = []
        for m in range(LINES):
            out = 1 + m % 50
            total += out
            lines.append(cc_line(f"m{f}-{m}", f"r{f}-{m}", f"2026-08-{10 + m % 15:02d}T0{m % 10}:00:00.000Z",
                                 out=out, session=f"s{f}"))
        (d / f"s{f}.jsonl").write_bytes(b"".join(lines))
    return total


def _screen(data: bytes) -> list[str]:
    screen = pyte.Screen(100, 30)
    pyte.ByteStream(screen).feed(data.replace(b"\n", b"\r\n"))
    return [line.rstrip() for line in screen.display if line.strip()]


def test_ctrl_c_during_a_large_import(db_url: str, tmp_path: Path) -> None:
    want = _tree(tmp_path / "claude")
    (tmp_path / "config.toml").write_text(f'[logs]\npaths = {{claude_code = ["{tmp_path / "claude/projects"}"]}}\n')
    env = {**os.environ, "QUOTAWARDEN_DB_URL": db_url, "QUOTAWARDEN_CONFIG": str(tmp_path / "config.toml"),
           "TERM": "xterm", "COLUMNS": "100"}
    argv = [sys.executable, "-m", "quotawarden.interfaces.cli.main", "usage", "daily"]
    main_fd, err_fd = pty.openpty()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=err_fd, stdin=subprocess.DEVNULL, env=env,
                            start_new_session=True)
    os.close(err_fd)
    err = bytearray()
    try:
        deadline = time.monotonic() + 60
        while b"reading agent logs" not in err:  # the progress bar is up: the import is under way
            assert time.monotonic() < deadline and proc.poll() is None, bytes(err)
            if select.select([main_fd], [], [], 0.2)[0]:
                err += os.read(main_fd, 65536)
        os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C: the terminal signals the foreground group, workers too
        code = proc.wait(timeout=60)
        while True:
            try:
                if not select.select([main_fd], [], [], 0.3)[0]:
                    break
                chunk = os.read(main_fd, 65536)
            except OSError:
                break
            if not chunk:
                break
            err += chunk
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(main_fd)
    assert code == 130, bytes(err)
    assert b"Traceback" not in err and proc.stdout is not None and proc.stdout.read() == b""
    assert _screen(bytes(err)) == [INTERRUPTED]  # the bar is gone; one line is left

    again = subprocess.run([*argv, "--json"], env=env, capture_output=True, timeout=180, check=False)
    assert again.returncode == 0, again.stderr.decode()
    assert json.loads(again.stdout)["totals"]["outputTokens"] == want
