"""Surgical edits of JSON-with-comments text: replace string values in place, keep every other byte.

``json5`` reads such files but cannot write them back with their comments, so the switcher parses with
``json5`` (to know the values) and edits with :func:`replace_strings`, which only rewrites the string tokens it
is asked to. :func:`string_spans` is a small tolerant scanner (comments, trailing commas, single quotes and bare
keys, as JSON5 allows) that finds where each string value sits.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

Path = tuple[str | int, ...]
_BARE = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_$+-.")


class ScanError(ValueError):
    pass


class _Scanner:
    def __init__(self, text: str) -> None:
        self.text = text
        self.i = 0
        self.spans: dict[Path, tuple[int, int]] = {}

    def skip(self) -> None:
        t, n = self.text, len(self.text)
        while self.i < n:
            c = t[self.i]
            if c in " \t\r\n\ufeff\u00a0\u2028\u2029":
                self.i += 1
            elif t.startswith("//", self.i):
                end = t.find("\n", self.i)
                self.i = n if end < 0 else end + 1
            elif t.startswith("/*", self.i):
                end = t.find("*/", self.i + 2)
                if end < 0:
                    raise ScanError("unterminated comment")
                self.i = end + 2
            else:
                return

    def string(self) -> str:
        t = self.text
        quote = t[self.i]
        j = self.i + 1
        while j < len(t) and t[j] != quote:
            j += 2 if t[j] == "\\" else 1
        if j >= len(t):
            raise ScanError("unterminated string")
        raw = t[self.i + 1:j]
        self.i = j + 1
        if quote == "'":
            raw = raw.replace("\\'", "'").replace('"', '\\"')
        return str(json.loads(f'"{raw}"'))

    def bare(self) -> str:
        start = self.i
        while self.i < len(self.text) and self.text[self.i] in _BARE:
            self.i += 1
        if self.i == start:
            raise ScanError(f"unexpected character {self.text[self.i]!r} at offset {self.i}")
        return self.text[start:self.i]

    def value(self, path: Path) -> None:
        self.skip()
        c = self.text[self.i:self.i + 1]
        if c == "{":
            self.container(path, "}", keyed=True)
        elif c == "[":
            self.container(path, "]", keyed=False)
        elif c in ('"', "'"):
            start = self.i
            self.string()
            self.spans[path] = (start, self.i)
        else:
            self.bare()

    def container(self, path: Path, close: str, *, keyed: bool) -> None:
        self.i += 1
        index = 0
        while True:
            self.skip()
            if self.text[self.i:self.i + 1] == close:
                self.i += 1
                return
            if keyed:
                key = self.string() if self.text[self.i] in "\"'" else self.bare()
                self.skip()
                if self.text[self.i:self.i + 1] != ":":
                    raise ScanError(f"expected ':' at offset {self.i}")
                self.i += 1
                self.value((*path, key))
            else:
                self.value((*path, index))
                index += 1
            self.skip()
            if self.text[self.i:self.i + 1] == ",":
                self.i += 1
            elif self.text[self.i:self.i + 1] != close:
                raise ScanError(f"expected ',' or {close!r} at offset {self.i}")


def string_spans(text: str) -> dict[Path, tuple[int, int]]:
    """Where each string value is, by its path (``("agent", "build", "model")``); keys that repeat: last wins."""
    s = _Scanner(text)
    s.value(())
    return s.spans


def replace_strings(text: str, changes: Mapping[Path, str]) -> str:
    """``text`` with the string values at ``changes``' paths replaced; every other byte stays as it was."""
    spans = string_spans(text)
    missing = [p for p in changes if p not in spans]
    if missing:
        raise ScanError(f"no string value at {'.'.join(map(str, missing[0]))}")
    out = text
    for path, (start, end) in sorted(((p, spans[p]) for p in changes), key=lambda x: -x[1][0]):
        out = out[:start] + json.dumps(changes[path], ensure_ascii=False) + out[end:]
    return out
