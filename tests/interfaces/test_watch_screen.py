"""``quotawarden watch`` in a real 80x24 pseudo-terminal over 28 accounts: the screen is read back through a
terminal emulator (pyte), as a person would see it. The key help and the alerts box stay on screen, paging reaches
the last account, ``/`` narrows the list and ``g`` groups by provider."""

from __future__ import annotations

import os
import re
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import pexpect
import pyte
import pytest

from quotawarden.interfaces.cli.watch import decode
from quotawarden.store import Store
from tests.interfaces.many import PROVIDERS, many_ids, seed_many

ROWS, COLS = 24, 80
ACCOUNT = re.compile(r"\b(" + "|".join(PROVIDERS) + r")-\d\d\b")


class Terminal:
    """A child process on an 80x24 pty, its output interpreted by a VT emulator."""

    def __init__(self, argv: list[str]) -> None:
        env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
        env.update(TERM="xterm-256color", PYTHONPATH=os.pathsep.join(sys.path))
        self.screen = pyte.Screen(COLS, ROWS)
        self.stream = pyte.ByteStream(self.screen)
        self.child = pexpect.spawn(argv[0], argv[1:], env=env, dimensions=(ROWS, COLS), timeout=30)

    @property
    def lines(self) -> list[str]:
        return list(self.screen.display)

    def wait(self, what: str, ok: Callable[[list[str]], bool], timeout: float = 30.0) -> list[str]:
        """The screen once it satisfies ``ok`` and the child has stopped drawing (no half-drawn frame)."""
        deadline = time.monotonic() + timeout
        while not (ok(self.lines) and self._quiet()):
            if time.monotonic() > deadline:
                raise AssertionError(f"{what} not on screen:\n" + "\n".join(self.lines))
            try:
                self.stream.feed(self.child.read_nonblocking(65536, timeout=0.2))
            except pexpect.TIMEOUT:
                continue
        return self.lines

    def _quiet(self) -> bool:
        try:
            self.stream.feed(self.child.read_nonblocking(65536, timeout=0.3))
        except pexpect.TIMEOUT:
            return True
        return False

    def send(self, keys: str) -> None:
        self.child.send(keys)


def visible_accounts(lines: list[str]) -> list[str]:
    return [m.group(0) for line in lines[2:] if "│" not in line and (m := ACCOUNT.match(line.strip()))]


def chrome_ok(lines: list[str]) -> bool:
    """The key help is the last line and the alerts box sits right above it."""
    return "q quit" in lines[-1] and "/ filter" in lines[-1] and lines[-2].lstrip().startswith("╰") \
        and any(line.startswith("╭─ alerts (5 open") for line in lines)


@pytest.fixture
def term(store: Store, db_url: str) -> Iterator[Terminal]:
    seed_many(store, datetime.now(UTC).replace(microsecond=0))
    t = Terminal([sys.executable, "-m", "quotawarden.interfaces.cli.main", "--db", db_url, "watch",
                  "--interval", "30"])
    try:
        yield t
    finally:
        if t.child.isalive():
            t.child.terminate(force=True)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_watch_at_80x24_scrolls_filters_and_groups(term: Terminal) -> None:
    lines = term.wait("the first frame", lambda ls: chrome_ok(ls) and bool(visible_accounts(ls)))
    assert all(len(line.rstrip()) <= COLS for line in lines)
    assert "1-" in lines[0] and "of 28" in lines[0]
    first = visible_accounts(lines)
    assert 10 <= len(first) < 28 and "RED" in lines[2]  # a screenful, the most urgent first

    seen = set(first)
    for _ in range(4):  # PgDn until the end: every account is reachable and the chrome never moves
        term.send("\x1b[6~")
        lines = term.wait("a scrolled page", lambda ls, before=frozenset(seen): chrome_ok(ls) and (
            not set(visible_accounts(ls)) <= before or "28 of 28" in ls[0]))
        seen |= set(visible_accounts(lines))
    assert "28 of 28" in lines[0] and seen == set(many_ids())
    term.send("k" * 3 + "\x1b[A")  # up by keys and arrows: still on screen
    term.wait("moving up", lambda ls: chrome_ok(ls) and "28 of 28" in ls[0])
    term.send("\x1b[5~" * 3)
    term.wait("the top again", lambda ls: chrome_ok(ls) and "1-" in ls[0] and visible_accounts(ls) == first)

    term.send("/gemin")
    lines = term.wait("the filter narrowing", lambda ls: "filter: gemin" in ls[-1] and "of 3" in ls[0])
    assert sorted(visible_accounts(lines)) == ["gemini-01", "gemini-02", "gemini-03"]
    term.send("\r")
    lines = term.wait("the filter kept", lambda ls: chrome_ok(ls) and "/gemin" in ls[0])
    assert len(visible_accounts(lines)) == 3

    term.send("\x1bg")  # esc clears the filter, g groups by provider
    lines = term.wait("the groups", lambda ls: chrome_ok(ls) and "1-6 of 6" in ls[0])
    assert {f"{p} ({n})" for p, n in PROVIDERS.items()} <= {m.group(0) for line in lines
                                                           for m in re.finditer(r"[a-z]+ \(\d+\)", line)}
    assert not visible_accounts(lines)  # collapsed
    term.send("\r")  # opens the first group
    lines = term.wait("an open group", lambda ls: chrome_ok(ls) and bool(visible_accounts(ls)))
    group = lines[2].split("▾ ", 1)[1].split(" ", 1)[0]
    assert {a.rsplit("-", 1)[0] for a in visible_accounts(lines)} == {group}

    term.send("q")
    term.child.expect(pexpect.EOF, timeout=20)
    term.child.close()
    assert term.child.exitstatus == 0


def test_keys_decode_sequences() -> None:
    assert decode("\x1b[A\x1b[B\x1b[5~\x1b[6~\x1bOH\x1b[Fj/x\r\x7f\x1b") == [
        "up", "down", "pgup", "pgdn", "home", "end", "j", "/", "x", "enter", "backspace", "esc"]
    assert decode("\x1b[1;5Aq") == ["q"]  # an unknown sequence is skipped whole
