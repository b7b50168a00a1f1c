"""Plain-text tables that fit the terminal, without rich: the layout rule every table of the CLI follows, and the
drawing ``status`` uses on both its paths (the full CLI and ``interfaces.fast.status``), so the two cannot differ.

A table never cuts a number: at a narrow width it drops its optional columns first (``Col.drop``, the highest
first), then moves the note column under the table as ``id: note`` lines, wrapped; ``width=None`` (``--wide``) shows
every column in full. A fold column (``quotawarden usage``'s Models) wraps inside its cell instead, in what the
other columns leave of the width. The look is rich's ``SIMPLE_HEAD`` box without edges: a title, a bold header (a
name may take several lines), one rule, two cells between columns. Styles become ANSI SGR codes only on a colour
terminal, decided as rich decides (``Ink``).
"""

import os
import sys
from collections.abc import Sequence
from typing import Literal, NamedTuple, TextIO

NOTE_MIN = 24
"""A note column narrower than this goes under the table instead."""
GAP = 2
"""Cells between two columns."""
PIPE_WIDTH = 160
"""The width of a pipe or a file when ``COLUMNS`` does not say one."""
RULE = "─"
_SGR = {"bold": "1", "dim": "2", "italic": "3", "red": "31", "green": "32", "yellow": "33", "cyan": "36"}


class Col(NamedTuple):
    name: str
    """The header; ``"Cache\\nwrite"`` takes two lines (the headers align at the bottom)."""
    kind: Literal["text", "num", "note", "fold"] = "text"
    """``note``: wraps in what is left of the width, dim, or goes under the table; ``fold``: wraps inside its cell,
    in the cell's style and keeping its leading indent, in what is left of the width but never below ``least``."""
    drop: int = 0
    """0: always shown; otherwise dropped at narrow widths, the highest first."""
    justify: Literal["left", "right"] = "left"
    least: int = 1
    """The narrowest a note or fold column gets (a fold column at ``least`` widens the table past the width)."""


class Styled(NamedTuple):
    """A cell's text and its style (rich's words: ``"bold red"``, ``"dim"``)."""

    text: str
    style: str = ""

    def __str__(self) -> str:
        return self.text


Cell = str | Styled


def _wide(ch: str) -> bool:
    import unicodedata

    return unicodedata.east_asian_width(ch) in ("W", "F")


def cell_len(text: str) -> int:
    """Terminal cells ``text`` takes (East Asian wide characters take two)."""
    if text.isascii():
        return len(text)
    return sum(2 if _wide(ch) else 1 for ch in text)


def is_terminal(stream: TextIO | None = None) -> bool:
    """As rich decides: ``FORCE_COLOR`` says yes, ``TTY_COMPATIBLE`` says yes or no, otherwise ``isatty``."""
    if os.environ.get("FORCE_COLOR"):
        return True
    compatible = os.environ.get("TTY_COMPATIBLE", "")
    if compatible in ("0", "1"):
        return compatible == "1"
    stream = stream or sys.stdout
    try:
        return stream.isatty()
    except (AttributeError, ValueError, OSError):
        return False


def terminal_width(stream: TextIO | None = None) -> int:
    """``COLUMNS``, else the terminal's width, else (a pipe or a file) ``PIPE_WIDTH``."""
    columns = os.environ.get("COLUMNS", "")
    if columns.isdigit() and int(columns) > 0:
        return int(columns)
    if not is_terminal(stream):
        return PIPE_WIDTH
    for fd in (1, 2, 0):
        try:
            return os.get_terminal_size(fd).columns or 80
        except OSError:
            continue
    return 80


class Ink:
    """Styles as SGR codes on a colour terminal; plain text elsewhere (not a terminal, ``NO_COLOR``, ``TERM=dumb``)."""

    def __init__(self, colour: bool) -> None:
        self.colour = colour

    @classmethod
    def for_stream(cls, stream: TextIO | None = None) -> "Ink":
        dumb = os.environ.get("TERM", "").lower() in ("dumb", "unknown")
        return cls(is_terminal(stream) and not dumb and not os.environ.get("NO_COLOR"))

    def __call__(self, text: str, style: str = "") -> str:
        if not (self.colour and style and text):
            return text
        codes = ";".join(_SGR[w] for w in style.split() if w in _SGR)
        return f"\x1b[{codes}m{text}\x1b[0m" if codes else text


PLAIN = Ink(False)


def _fold(word: str, width: int) -> list[str]:
    """A word longer than ``width`` cut into pieces that fit (only text is ever folded, never a number cell)."""
    pieces, piece = [], ""
    for ch in word:
        if piece and cell_len(piece + ch) > width:
            pieces.append(piece)
            piece = ""
        piece += ch
    return [*pieces, piece]


def _lines(parts: Sequence[Cell], width: int | None) -> list[list[tuple[str, str]]]:
    words: list[tuple[str, str]] = []
    for part in parts:
        text, style = (part.text, part.style) if isinstance(part, Styled) else (part, "")
        words += [(w, style) for w in text.split()]
    if width is None:
        return [words]
    lines: list[list[tuple[str, str]]] = []
    line: list[tuple[str, str]] = []
    used = 0
    for word, style in words:
        for piece in _fold(word, max(width, 1)) if cell_len(word) > width else [word]:
            n = cell_len(piece)
            if line and used + 1 + n > width:
                lines.append(line)
                line, used = [], 0
            used += n + (1 if line else 0)
            line.append((piece, style))
    if line or not lines:
        lines.append(line)
    return lines


def _paint(words: Sequence[tuple[str, str]], ink: Ink) -> str:
    """Words joined by one space, each run of one style painted once."""
    runs: list[tuple[str, str]] = []
    for word, style in words:
        if runs and runs[-1][1] == style:
            runs[-1] = (f"{runs[-1][0]} {word}", style)
        else:
            runs.append((word, style))
    return " ".join(ink(text, style) for text, style in runs)


def wrap(parts: Sequence[Cell], width: int | None, ink: Ink = PLAIN) -> list[str]:
    """``parts`` (each in its style) as lines of at most ``width`` cells, broken between words (a longer word is
    folded); ``None``: one line."""
    return [_paint(line, ink) for line in _lines(parts, width)]


class Layout(NamedTuple):
    keep: list[int]
    """The columns shown, in order."""
    widths: list[int]
    """Every column's natural width (its widest cell or its name)."""
    below: bool
    """The note column goes under the table."""


def layout(cols: Sequence[Col], rows: Sequence[Sequence[Cell]], width: int | None) -> Layout:
    """Which columns a table of ``width`` cells shows (None: all): those marked ``drop`` go first, the highest
    first, while the rest and a note column of ``NOTE_MIN`` cells do not fit; then the note column goes under the
    table if even ``NOTE_MIN`` cells of it do not fit. The other cells are never wrapped or cut."""
    natural = [max([*map(cell_len, c.name.split("\n")), *(cell_len(str(r[i])) for r in rows)])
               for i, c in enumerate(cols)]
    keep = list(range(len(cols)))
    note = next((i for i, c in enumerate(cols) if c.kind == "note"), None)
    below = False
    if width is not None:
        def used(idx: list[int]) -> int:
            return sum(min(natural[i], cols[i].least) if cols[i].kind == "fold" else natural[i]
                       for i in idx if i != note) + GAP * (len(idx) - 1)

        for level in sorted({c.drop for c in cols if c.drop}, reverse=True):
            if used(keep) + (GAP + NOTE_MIN if note in keep else 0) <= width:
                break
            keep = [i for i in keep if cols[i].drop != level]
        if note is not None and used(keep) + GAP + min(NOTE_MIN, natural[note]) > width:
            keep, below = [i for i in keep if i != note], True
    return Layout(keep, natural, below)


def _pad(cell: Cell, width: int, justify: str, ink: Ink) -> str:
    text, style = (cell.text, cell.style) if isinstance(cell, Styled) else (cell, "")
    space = " " * max(0, width - cell_len(text))
    return space + ink(text, style) if justify == "right" else ink(text, style) + space


def _wrapped(cell: Cell, width: int, ink: Ink, note: bool) -> list[str]:
    """A note (dim) or fold cell as lines of ``width`` cells; a fold cell keeps its style and its leading indent
    on every line."""
    text, style = (cell.text, cell.style) if isinstance(cell, Styled) else (cell, "")
    indent = 0 if note else len(text) - len(text.lstrip(" "))
    out = []
    for words in _lines([Styled(text, "dim" if note else style)], max(1, width - indent)):
        used = indent + cell_len(" ".join(w for w, _ in words)) if words else 0
        out.append((" " * indent + _paint(words, ink) if words else "") + " " * max(0, width - used))
    return out


def draw(title: str, cols: Sequence[Col], rows: Sequence[Sequence[Cell]], width: int | None,
         row_ids: Sequence[str] | None = None, ink: Ink = PLAIN) -> list[str]:
    """The table as lines within ``width`` cells (see :func:`layout`): title, bold header, a rule, the rows; the
    note column (dim) wraps within what is left of the width, or its notes follow the table as ``id: note``; a
    fold column wraps within what is left of the width, never below its ``least`` (the columns then stand one
    cell apart, and the table is wider than ``width`` only if even that does not fit: a number is never cut)."""
    fit = layout(cols, rows, width)
    keep, widths = fit.keep, list(fit.widths)
    gap = GAP
    wraps = next((i for i in keep if cols[i].kind in ("note", "fold")), None)
    if wraps is not None and width is not None:
        others = sum(widths[i] for i in keep if i != wraps)
        if cols[wraps].kind == "fold" and others + GAP * (len(keep) - 1) + cols[wraps].least > width:
            gap = 1
        widths[wraps] = max(cols[wraps].least, min(widths[wraps], width - others - gap * (len(keep) - 1)))
    total = sum(widths[i] for i in keep) + gap * (len(keep) - 1) if keep else 0
    sep = " " * gap
    heads = [cols[i].name.split("\n") for i in keep]
    tall = max(map(len, heads), default=1)
    out = [ink(title, "italic")]
    for k in range(tall):
        out.append(sep.join(_pad(Styled(h[k - tall + len(h)] if k >= tall - len(h) else "", "bold"), widths[i],
                                 cols[i].justify, ink) for i, h in zip(keep, heads, strict=True)).rstrip())
    out.append(RULE * total)
    for r in rows:
        cell = _wrapped(r[wraps], widths[wraps], ink, cols[wraps].kind == "note") if wraps is not None else [""]
        for k, text in enumerate(cell):
            out.append(sep.join(_pad(r[i] if k == 0 else "", widths[i], cols[i].justify, ink) if i != wraps
                                else text for i in keep).rstrip())
    note_col = next((i for i, c in enumerate(cols) if c.kind == "note"), None)
    if fit.below and note_col is not None:
        for rid, r in zip(row_ids or [str(r[0]) for r in rows], rows, strict=True):
            if str(r[note_col]):
                out += wrap([Styled(f"{rid}:", "bold"), Styled(str(r[note_col]), "dim")], width, ink)
    return out
