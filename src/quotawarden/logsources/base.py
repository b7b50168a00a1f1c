"""The log-source plug-in API: where an agent keeps its logs and how one record becomes a usage event.

A log source module registers a :class:`LogSourceSpec`::

    from quotawarden.logsources.base import hookimpl

    @hookimpl
    def register_log_sources(register):
        register(LogSourceSpec(slug="acme", display_name="Acme CLI", provider="acme", roots=..., discover=...,
                               reader=AcmeReader))

Everything here is pure: no store, no clock, no network. The tailer (``quotawarden.sources.log_tailer``) owns
the files, the offsets and the database. Two kinds of sources exist:

* **append** sources (JSONL that only grows): ``reader`` builds a :class:`LineReader` per file; it is fed one
  complete line at a time and may keep a small JSON-able state between runs (Codex keeps its cumulative totals).
* **whole** sources (a SQLite database, one JSON document per session, files rewritten in place): ``read_whole``
  turns the whole file into items every time it changes; dedup keys make the re-read idempotent.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, Protocol

import pluggy

from quotawarden.domain import QuotaSample, UsageEvent

hookimpl = pluggy.HookimplMarker("quotawarden")
"""The same marker as ``quotawarden.plugins.hookimpl``, without importing the provider plug-in API (keeps the
``usage`` and ``statusline`` fast paths light)."""


class MalformedRecord(ValueError):
    """A line or document that is not what the source writes; counted and skipped, never fatal."""


@dataclass(frozen=True, slots=True)
class Parsed:
    """One billable record with the facts dedup needs beyond its key."""

    event: UsageEvent
    message_id: str = ""
    sidechain: bool = False
    web_search_requests: int = 0


Item = Parsed | QuotaSample

Record = tuple[Any, ...]
"""A billable record as a plain tuple (the ingestion hot path builds no objects), fields in this order:"""
RECORD_FIELDS = ("dedup_key", "ts", "provider", "model", "source", "account_id", "consumer", "project", "session",
                 "host", "input_tokens", "output_tokens", "cache_write_tokens", "cache_write_1h_tokens",
                 "cache_read_tokens", "reasoning_tokens", "cost", "cost_recorded", "request_id",
                 "message_id", "sidechain")
"""The first 19 are the ``usage_events`` columns (``ts`` epoch seconds, ``cost`` filled in by the tailer,
``cost_recorded`` a float or None); ``message_id`` and ``sidechain`` only serve dedup."""


MAX_TOKENS = 10**12
"""The most tokens one record may count: a thousand times any model's context. A count beyond it (2^63, which no
database column holds) or below 0 is not a count an agent wrote for real: the line is malformed."""


def record_of(p: Parsed, host: str | None = None) -> Record:
    """The record of a parsed item; :class:`MalformedRecord` if a token count is out of range (a plug-in source's
    item that skipped :func:`as_int`)."""
    e = p.event
    counts = (e.input_tokens, e.output_tokens, e.cache_write_tokens, e.cache_write_1h_tokens, e.cache_read_tokens,
              e.reasoning_tokens)
    if not all(type(n) is int and 0 <= n <= MAX_TOKENS for n in counts):
        raise MalformedRecord(f"token count out of range: {counts!r}")
    return (e.dedup_key, e.ts.timestamp(), e.provider, e.model, "log", e.account_id, e.consumer, e.project,
            e.session, e.host or host, e.input_tokens, e.output_tokens, e.cache_write_tokens,
            e.cache_write_1h_tokens, e.cache_read_tokens, e.reasoning_tokens, None,
            None if e.cost_recorded is None else float(e.cost_recorded), e.request_id, p.message_id, p.sidechain)


def record_total(r: Record) -> int:
    """Input + output + cache write + cache read (what "keep the larger copy" compares)."""
    return int(r[10] + r[11] + r[12] + r[14])


@dataclass(frozen=True, slots=True)
class ReaderContext:
    path: Path
    root: Path
    host: str | None = None
    account_id: str | None = None
    """The account official quota readings in this log belong to (the tailer maps it from the config)."""
    state: Mapping[str, Any] = field(default_factory=dict)
    """What the previous run's reader returned from ``state()`` for this file (empty on a fresh read)."""


class LineReader(Protocol):
    def feed(self, line: bytes) -> Sequence[Item]:
        """Items in one complete line (without its newline); raise :class:`MalformedRecord` if it is broken."""

    def state(self) -> dict[str, Any]:
        """JSON-able state to resume this file later from the next byte."""


class BatchReader(LineReader, Protocol):
    """Optional fast path for sources with no quota readings and no state (Claude Code): whole batches of lines
    straight to :data:`Record` tuples, so the tailer may also parse them in worker processes."""

    def records(self, lines: Sequence[bytes]) -> tuple[list[Record], list[int], int]:
        """(records, indexes of malformed lines, duplicates dropped); lines without ``usage_hint`` are skipped
        unparsed. Records are already deduplicated within the batch by the source's ``on_conflict`` rule, main
        and sidechain copies apart (only main duplicates are counted)."""


@dataclass(frozen=True, slots=True)
class WholeFile:
    items: list[Item]
    malformed: list[str] = field(default_factory=list)
    """Where each malformed record was (``file:line`` or ``file:message-id``)."""
    retracted: list[str] = field(default_factory=list)
    """Dedup keys this file no longer holds (Gemini rewinds): removed from the store."""


@dataclass(frozen=True)
class LogSourceSpec:
    slug: str
    display_name: str
    provider: str
    roots: Callable[[Mapping[str, str], Path], list[Path]]
    """``(environ, home) -> candidate roots``; roots that do not exist are skipped by the tailer."""
    discover: Callable[[Path], Iterable[Path]]
    reader: Callable[[ReaderContext], LineReader] | None = None
    read_whole: Callable[[ReaderContext], WholeFile] | None = None
    usage_hint: bytes | None = None
    """Fast path: a line without these bytes cannot hold usage and is skipped before JSON parsing."""
    on_conflict: Literal["larger", "replace"] = "larger"
    """Same dedup key seen again: keep the copy with the larger token total, or the latest copy."""

    @property
    def kind(self) -> Literal["append", "whole"]:
        return "append" if self.reader is not None else "whole"

    def default_roots(self, environ: Mapping[str, str] | None = None, home: Path | None = None) -> list[Path]:
        return self.roots(os.environ if environ is None else environ, home or Path.home())


def walk(root: Path, suffixes: tuple[str, ...]) -> Iterator[Path]:
    """Files under ``root`` ending in one of ``suffixes``, fast (``os.scandir``), in a stable order."""
    try:
        entries = sorted(os.scandir(root), key=lambda e: e.name)
    except OSError:
        return
    for entry in entries:
        try:
            if entry.is_dir(follow_symlinks=False):
                yield from walk(Path(entry.path), suffixes)
            elif entry.name.endswith(suffixes) and entry.is_file():
                yield Path(entry.path)
        except OSError:
            continue


def parse_iso(value: Any) -> datetime:
    """ISO-8601 with ``Z`` (what every agent writes) to an aware UTC datetime."""
    if not isinstance(value, str) or not value:
        raise MalformedRecord(f"bad timestamp {value!r}")
    try:
        t = datetime.fromisoformat(value)
    except ValueError:
        raise MalformedRecord(f"bad timestamp {value!r}") from None
    return t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)


def as_int(value: Any) -> int:
    """Token counts arrive as numbers, numeric strings or null; anything else (a list, an object, text, a count
    below 0 or above :data:`MAX_TOKENS`, NaN, infinity) is :class:`MalformedRecord`."""
    if value is None or isinstance(value, bool):
        return 0
    if isinstance(value, int):
        n = value
    else:
        try:
            n = int(float(value))
        except (TypeError, ValueError, OverflowError):
            raise MalformedRecord(f"bad token count {str(value)[:40]!r}") from None
    if not 0 <= n <= MAX_TOKENS:
        raise MalformedRecord(f"token count out of range: {str(n)[:40]}")
    return n


def env_paths(environ: Mapping[str, str], name: str) -> list[Path]:
    """A comma-separated list of folders in an environment variable (``CLAUDE_CONFIG_DIR``)."""
    raw = environ.get(name, "")
    return [Path(p.strip()).expanduser() for p in raw.split(",") if p.strip()]
