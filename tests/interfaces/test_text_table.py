"""The plain-text table ``status`` draws on both its paths (``views.table``): it fits the width, never cuts a
number, drops its optional columns in order, then puts the notes under itself; colour only on a colour terminal."""

from __future__ import annotations

import io
import re

import pytest

from quotawarden.interfaces.views.table import (
    PIPE_WIDTH,
    Cell,
    Col,
    Ink,
    Styled,
    cell_len,
    draw,
    terminal_width,
    wrap,
)

COLS = (Col("account"), Col("provider", drop=2), Col("window"), Col("used", "num", justify="right"),
        Col("remaining", "num", justify="right"), Col("observed", drop=1), Col("note", "note"))
NOTE = "rate limited (429) on tokens per minute; the organisation limit is shared by every project key"
ROWS = [
    ["team-openrouter-balance", "openrouter", "credits", "$12,345.67", "$7,654.33", "just now", ""],
    ["openai-big-org", "openai", "tpm", "1%", "29,876,543", "3m ago", NOTE],
    ["", "", "rpm", "0%", "3,999", "3m ago", ""],
    ["deepseek-cn", "deepseek", "balance", "-", "¥1,234,567.89", "25m ago", "no utilisation reported"],
]
NUMBERS = [c for r in ROWS for c in r[3:5] if c != "-"]


def header(lines: list[str]) -> list[str]:
    return lines[1].split()


@pytest.mark.parametrize("width", [60, 70, 80, 100, 120, 160, 200])
def test_fits_the_width_and_never_cuts_a_number(width: int) -> None:
    lines = draw("quota status", COLS, ROWS, width)
    assert all(cell_len(line) <= width for line in lines), lines
    text = "\n".join(lines)
    for n in NUMBERS:
        assert re.search(rf"(?<![\d,.]){re.escape(n)}(?![\d,])", text), (width, n)
    assert NOTE in " ".join(text.split())  # whole, wrapped in its column or under the table
    assert lines[0] == "quota status" and set(lines[2]) == {"─"}
    table = [line for line in lines[1:] if not line.startswith(("openai-big-org:", "deepseek-cn:"))]
    assert len(lines[2]) >= max(len(line) for line in table)  # the rule spans the table


def test_drops_columns_in_order_then_moves_notes_under_the_table() -> None:
    wide = draw("t", COLS, ROWS, None)
    assert header(wide) == ["account", "provider", "window", "used", "remaining", "observed", "note"]
    assert any(NOTE in line and line.startswith("openai-big-org") for line in wide)  # on its row, whole
    widths = {w: header(draw("t", COLS, ROWS, w)) for w in range(40, 200)}
    seen = [cols for _, cols in sorted(widths.items())]
    assert ["account", "window", "used", "remaining"] in seen  # the narrowest: notes below
    assert ["account", "window", "used", "remaining", "note"] in seen  # provider (drop=2) went first
    assert ["account", "window", "used", "remaining", "observed", "note"] in seen
    assert ["account", "provider", "window", "used", "remaining", "observed", "note"] in seen
    assert not any("provider" in cols and "observed" not in cols for cols in seen)  # never observed before provider
    narrow = draw("t", COLS, ROWS, 60)
    below = narrow[3 + len(ROWS):]
    assert below[0].startswith("openai-big-org: rate limited") and below[-1] == "deepseek-cn: no utilisation reported"


def test_numbers_right_aligned_and_notes_wrapped_in_their_column() -> None:
    lines = draw("t", COLS, ROWS, 120)
    rows = lines[3:]
    ends = {line.index("29,876,543") + len("29,876,543") for line in rows if "29,876,543" in line}
    ends |= {line.index("3,999") + len("3,999") for line in rows if "3,999" in line}
    assert len(ends) == 1
    note_at = lines[1].index("note")
    continued = [line for line in rows if line.strip() and not line[:note_at].strip()]
    assert continued and all(line[note_at - 1] == " " for line in continued)


def test_wrap_breaks_between_words_and_folds_a_longer_one() -> None:
    assert wrap(["a bb ccc dddd"], 6) == ["a bb", "ccc", "dddd"]
    assert wrap(["x" * 10], 4) == ["xxxx", "xxxx", "xx"]
    assert wrap(["a  b"], None) == ["a b"]
    assert cell_len("界面") == 4 and wrap(["界面界面"], 5) == ["界面", "界面"]


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_colour_only_on_a_colour_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("NO_COLOR", "FORCE_COLOR", "TTY_COMPATIBLE", "TERM"):
        monkeypatch.delenv(var, raising=False)
    assert not Ink.for_stream(io.StringIO()).colour
    assert Ink.for_stream(Tty()).colour
    ink = Ink.for_stream(Tty())
    assert ink("RED", "bold red") == "\x1b[1;31mRED\x1b[0m" and ink("x") == "x"
    lines = draw("t", COLS, [[*ROWS[0][:3], Styled("1%", "green"), *ROWS[0][4:]]], 200, ink=ink)
    assert "\x1b[32m" in lines[3] and "\x1b[1m" in lines[1]
    monkeypatch.setenv("TERM", "dumb")
    assert not Ink.for_stream(Tty()).colour
    monkeypatch.setenv("TERM", "xterm-256color")
    monkeypatch.setenv("NO_COLOR", "1")
    assert not Ink.for_stream(Tty()).colour
    monkeypatch.delenv("NO_COLOR")
    monkeypatch.setenv("FORCE_COLOR", "1")
    assert Ink.for_stream(io.StringIO()).colour


def test_width_from_columns_else_the_terminal_else_a_pipes(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("FORCE_COLOR", "TTY_COMPATIBLE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("COLUMNS", "97")
    assert terminal_width(io.StringIO()) == 97
    monkeypatch.delenv("COLUMNS")
    assert terminal_width(io.StringIO()) == PIPE_WIDTH


FOLD_COLS = (Col("day"), Col("Models", "fold", least=12), Col("Input", "num", justify="right"),
             Col("Cache\nread", "num", justify="right"))
FOLD_ROWS: list[list[Cell]] = [
    ["2026-08-10", "claude-opus-4-1-20250805, claude-sonnet-4-5-20250929", "61,725", "296,296,296"],
    [Styled("", "dim"), Styled("  claude-sonnet-4-5-20250929", "dim"), Styled("37,035", "dim"),
     Styled("197,530,864", "dim")],
]


def test_a_fold_column_wraps_in_what_the_others_leave_never_below_its_least() -> None:
    wide = draw("t", FOLD_COLS, FOLD_ROWS, 200)
    assert wide[1:] == [" " * 80 + "Cache",
                        "day         Models" + " " * 49 + "Input         read",
                        "─" * 85,
                        "2026-08-10  claude-opus-4-1-20250805, claude-sonnet-4-5-20250929  61,725  296,296,296",
                        "              claude-sonnet-4-5-20250929                          37,035  197,530,864"]
    mid = draw("t", FOLD_COLS, FOLD_ROWS, 60)  # two cells apart, Models 60 - (10 + 6 + 11) - 3 * 2 = 27 wide
    assert all(len(line) <= 60 for line in mid) and len(mid[3]) == 60
    assert mid[4:] == ["2026-08-10  claude-opus-4-1-20250805,    61,725  296,296,296",
                       "            claude-sonnet-4-5-20250929",
                       "              claude-sonnet-4-5-2025092  37,035  197,530,864",
                       "              9"]
    narrow = draw("t", FOLD_COLS, FOLD_ROWS, 40)  # one cell apart, Models at its least, the indent kept
    assert narrow[4:] == ["2026-08-10 claude-opus- 61,725 296,296,296", "           4-1-20250805",
                          "           ,", "           claude-sonne", "           t-4-5-202509", "           29",
                          "             claude-son 37,035 197,530,864", "             net-4-5-20",
                          "             250929"]
    assert len(narrow[3]) == 10 + 12 + 6 + 11 + 3  # wider than 40: a number is never cut


def test_multi_line_headers_align_at_the_bottom_and_styles_stay_per_cell() -> None:
    ink = Ink(True)
    lines = draw("t", FOLD_COLS, FOLD_ROWS, 200, ink=ink)
    assert lines[1].endswith("\x1b[1mCache\x1b[0m") and "\x1b[1mday\x1b[0m" in lines[2]
    assert "\x1b[1mread\x1b[0m" in lines[2]
    assert "\x1b[2m  " not in lines[5] and "\x1b[2mclaude-sonnet-4-5-20250929\x1b[0m" in lines[5]
    assert "\x1b[2m37,035\x1b[0m" in lines[5]
