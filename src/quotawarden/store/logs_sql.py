"""Agent-log SQL on a plain DB-API connection (sqlite3 or psycopg): the ingestion sink, roll-ups, report rows.

Plain SQL because the hot paths cannot afford SQLAlchemy: its per-row parameter processing halves the insert rate,
and importing it costs more than the status line's whole budget. The package ``quotawarden.store`` imports
SQLAlchemy on import, so this module sits beside it; ``store.ingest.StoreLogSink`` binds it to a ``Store``, and
the fast CLI paths open SQLite with :func:`open_sqlite`. Tables: ``store/schema_logs.py``.

Both backends accept the same statements once ``?`` becomes ``%s``; PostgreSQL bulk writes go through COPY.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from itertools import chain
from operator import itemgetter
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # imported when used: the status line needs none of them (pathlib alone costs it ~3 ms)
    from pathlib import Path

    from quotawarden.domain import FileState

EVENT_COLUMNS = ("dedup_key", "ts", "provider", "model", "source", "account_id", "consumer", "project", "session",
                 "host", "input_tokens", "output_tokens", "cache_write_tokens", "cache_write_1h_tokens",
                 "cache_read_tokens", "reasoning_tokens", "cost", "cost_recorded", "request_id")
"""``logsources.base.RECORD_FIELDS[:19]``: the ``usage_events`` columns a record carries."""
SUMS = ("input_tokens", "output_tokens", "cache_write_tokens", "cache_write_1h_tokens", "cache_read_tokens",
        "reasoning_tokens")
SESSION_KEYS = ("source", "consumer", "provider", "host", "project", "session", "model")
MODEL_KEYS = ("source", "consumer", "provider", "host", "project", "model")
COSTS = ("cost_calc", "unknown_calc", "cost_recorded", "cost_auto", "unknown_auto")
REPORT_COLUMNS = ("hour_ts", "consumer", "host", "project", "session", "model", "events", "input_tokens",
                  "output_tokens", "cache_write_tokens", "cache_read_tokens", "reasoning_tokens", *COSTS, "first_ts",
                  "last_ts")
REQUIRED_TABLES = ("usage_events", "log_files", "usage_hourly", "usage_rollup", "samples", "latest_samples")
_BATCH = 5000
BYTES_PER_EVENT = 4096
"""Rough new bytes per unique event in Claude Code logs (1.2 kB lines, streamed copies): sizes a bulk load."""
BULK_EVENTS = 50_000
BULK_FIRST_EVENTS = 2_000
"""Into an empty store a bulk load pays from about this many events (8 MB of Claude Code logs) on."""
BULK_CACHE_KIB = 16 * 1024
OTEL_MATCH_S = 600.0
"""How far apart the OTLP copy and the local-log copy of one call may be stamped (``drop_otel_twins``)."""
_TOTAL = "({t}.input_tokens + {t}.output_tokens + {t}.cache_write_tokens + {t}.cache_read_tokens)"
_FILE_COLS = ("host", "path", "source", "device", "inode", "size", "offset", "lines", "head_hash", "mtime", "state",
              "updated_ts")
SAMPLE_COLUMNS = ("account_id", "window", "observed_ts", "source", "provenance", "unit", "used_ratio", "used",
                  "remaining", "limit", "resets_ts", "status", "window_length_s")


def _q(names: Iterable[str]) -> str:
    return ", ".join(f'"{n}"' for n in names)


def open_sqlite(path: str | Path) -> sqlite3.Connection:
    """A connection with the store's pragmas (WAL, NORMAL sync, busy timeout)."""
    conn = sqlite3.connect(str(path), timeout=10)
    for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "busy_timeout=10000", "cache_size=-65536"):
        conn.execute(f"PRAGMA {pragma}")
    return conn


def sqlite_ready(conn: sqlite3.Connection) -> bool:
    """Whether the migrations this module needs have run (else the full store must open and migrate first)."""
    names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    return all(t in names for t in REQUIRED_TABLES)


class LogDb:
    """The tailer's ``LogSink`` (and the report reads) over one DB-API connection, for one host."""

    def __init__(self, connect: Callable[[], Any], dialect: str, host: str, now_ts: float) -> None:
        self._connect, self.pg, self.host, self.now_ts = connect, dialect == "postgresql", host, now_ts
        self._conn: Any = None
        self.twins_dropped = 0
        self._indexes: list[str] | None = None  # while a bulk load runs: the dropped indexes' DDL
        self._fresh: _FreshHours | None = None  # while a bulk load into an empty table runs: its hourly sums

    @contextmanager
    def bulk(self, new_bytes: int) -> Iterator[None]:
        """A first import on SQLite, or a big one: one transaction, secondary indexes of ``usage_events``
        dropped and rebuilt at the end (a sorted build costs a fraction of 300k random index inserts). Only into
        an empty table (from ``BULK_FIRST_EVENTS`` on) or when the new data outweighs what is stored; SQLite DDL
        is transactional, so a crash leaves the indexes as they were. Other writers wait for the commit (their
        busy timeout applies). Into an empty table, the hourly roll-up is summed while the rows are written
        (:class:`_FreshHours`), not grouped from all of them at the end."""
        expected = new_bytes // BYTES_PER_EVENT
        if self.pg or expected < BULK_FIRST_EVENTS:
            yield
            return
        if self._read("SELECT 1 FROM usage_events LIMIT 1") and (  # a first import is always one bulk load
                expected < BULK_EVENTS or expected < self._read("SELECT count(*) FROM usage_events")[0][0]):
            yield
            return
        cur = self.conn.cursor()
        cache = cur.execute("PRAGMA cache_size").fetchone()[0]
        cur.execute(f"PRAGMA cache_size = {-BULK_CACHE_KIB}")  # index builds sort within it: bounds peak memory
        temp = cur.execute("PRAGMA temp_store").fetchone()[0]
        cur.execute("PRAGMA temp_store = MEMORY")  # the roll-ups' GROUP BY sorts without temporary files
        cur.execute("BEGIN IMMEDIATE")
        if cur.execute("SELECT 1 FROM usage_events LIMIT 1").fetchone() is None:
            self._fresh = _FreshHours()  # nothing stored, and nobody else writes until the commit
        found = cur.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND "
                            "tbl_name = 'usage_events' AND sql IS NOT NULL").fetchall()
        for name, _sql in found:
            cur.execute(f'DROP INDEX "{name}"')
        self._indexes = sql = [r[1] for r in found]
        try:
            yield
            for stmt in sql:
                cur.execute(stmt)
            self._indexes = None
            self.conn.commit()
        except BaseException:
            self._indexes = None
            self.conn.rollback()
            raise
        finally:
            self._fresh = None
            cur.execute(f"PRAGMA cache_size = {int(cache)}")
            cur.execute(f"PRAGMA temp_store = {int(temp)}")
            cur.close()

    def _commit(self) -> None:
        if self._indexes is None:
            self.conn.commit()

    @property
    def conn(self) -> Any:
        if self._conn is None:
            self._conn = self._connect()
        return self._conn

    def sql(self, text: str) -> str:
        return text.replace("?", "%s") if self.pg else text

    def close(self) -> None:
        if self._conn is not None:
            conn, self._conn = self._conn, None
            conn.rollback()  # nothing is pending: every write below commits
            conn.close()

    def _write(self, statements: Iterable[tuple[str, Sequence[Any]]], many: bool = False) -> None:
        cur = self.conn.cursor()
        try:
            for stmt, params in statements:
                (cur.executemany if many else cur.execute)(self.sql(stmt), params)
            self._commit()
        except BaseException:
            if self._indexes is None:
                self.conn.rollback()
            raise
        finally:
            cur.close()

    def _read(self, stmt: str, params: Sequence[Any] = ()) -> list[Any]:
        cur = self.conn.cursor()
        try:
            cur.execute(self.sql(stmt), params)
            return list(cur.fetchall())
        finally:
            cur.close()
            self._commit()  # end the read transaction (PostgreSQL, and SQLite WAL snapshots)

    # -- file positions -------------------------------------------------------------------------------------------

    def load_files(self) -> dict[str, FileState]:
        from quotawarden.domain import FileState

        rows = self._read(f"SELECT {_q(_FILE_COLS[1:11])} FROM log_files WHERE host = ?", (self.host,))
        return {r[0]: FileState(*r) for r in rows}

    def save_files(self, states: Sequence[FileState]) -> None:
        rows = [(self.host, s.path, s.source, s.device, s.inode, s.size, s.offset, s.lines, s.head_hash, s.mtime,
                 s.state, self.now_ts) for s in states]
        update = ", ".join(f'"{c}" = excluded."{c}"' for c in _FILE_COLS[2:])
        stmt = (f"INSERT INTO log_files ({_q(_FILE_COLS)}) VALUES ({', '.join('?' * len(_FILE_COLS))}) "
                f"ON CONFLICT (host, path) DO UPDATE SET {update}")
        self._write(((stmt, part) for part in _chunks(rows, _BATCH)), many=True)

    def forget_files(self, paths: Iterable[str]) -> None:
        stmt = "DELETE FROM log_files WHERE host = ? AND path = ?"
        self._write([(stmt, [(self.host, p) for p in paths])], many=True)

    # -- events ---------------------------------------------------------------------------------------------------

    def upsert_events(self, rows: list[tuple[Any, ...]], on_conflict: str) -> None:
        """Insert events; on a known key keep the larger token total (``larger``) or the new copy (``replace``).
        Keys within one call are unique (the tailer dedups in memory first)."""
        if not rows:
            return
        update = ", ".join(f"{c} = excluded.{c}" for c in EVENT_COLUMNS[1:])
        where = (f" WHERE {_TOTAL.format(t='excluded')} > {_TOTAL.format(t='usage_events')}"
                 if on_conflict == "larger" else "")
        tail = f"ON CONFLICT (dedup_key) DO UPDATE SET {update}{where}"
        cols = _q(EVENT_COLUMNS)
        if self.pg and len(rows) > 500:
            self._copy_events(rows, cols, tail)
            return
        if self.pg:
            stmt = f"INSERT INTO usage_events ({cols}) VALUES ({', '.join('?' * len(EVENT_COLUMNS))}) {tail}"
            self._write([(stmt, rows)], many=True)
            return
        # SQLite: keys in index order (each page of the primary-key B-tree is visited once per batch, not once
        # per row), in multi-row statements of power-of-two sizes (a handful of statements, all cached)
        rows = sorted(rows, key=_key)
        if self._fresh is not None:
            self._fresh.add(self, rows)  # before the write: a key met again is looked up as it was
        self._write(_multi_row(f"INSERT INTO usage_events ({cols}) VALUES ", tail, len(EVENT_COLUMNS), rows))

    def _copy_events(self, rows: list[tuple[Any, ...]], cols: str, tail: str) -> None:
        cur = self.conn.cursor()
        try:
            cur.execute("CREATE TEMP TABLE IF NOT EXISTS _events_in (LIKE usage_events INCLUDING DEFAULTS) "
                        "ON COMMIT DELETE ROWS")
            with cur.copy(f"COPY _events_in ({cols}) FROM STDIN") as copy:
                for r in rows:
                    copy.write_row(r)
            cur.execute(f"INSERT INTO usage_events ({cols}) SELECT {cols} FROM _events_in {tail}")
            self.conn.commit()
        except BaseException:
            self.conn.rollback()
            raise
        finally:
            cur.close()

    def keys_with_prefix(self, prefixes: Iterable[str]) -> set[str]:
        """Which prefixes (``msg_id:``) some stored dedup key starts with: an indexed range scan each."""
        stmt = "SELECT 1 FROM usage_events WHERE dedup_key >= ? AND dedup_key < ? LIMIT 1"
        return {p for p in prefixes if self._read(stmt, (p, p[:-1] + chr(ord(p[-1]) + 1)))}

    def delete_events(self, keys: Sequence[str]) -> list[float]:
        """Remove events by key; returns their times (so the caller can rebuild those hours)."""
        if self._fresh is not None:
            self._fresh.whole = False  # the sums may hold what is deleted: every hour is grouped in SQL
        times: list[float] = []
        for k in keys:
            times += [r[0] for r in self._read("SELECT ts FROM usage_events WHERE dedup_key = ?", (k,))]
        self._write([("DELETE FROM usage_events WHERE dedup_key = ?", [(k,) for k in keys])], many=True)
        return times

    def write_samples(self, samples: Sequence[Any]) -> None:
        """Quota readings (``QuotaSample``) into ``samples`` (idempotent) and ``latest_samples``."""
        write_sample_rows(self, [sample_row(s) for s in samples])

    # -- roll-ups -------------------------------------------------------------------------------------------------

    def otel_twins(self, rows: Sequence[tuple[Any, ...]], rolled_up: bool = True) -> set[str]:
        """Which of these OTLP rows (``EVENT_COLUMNS`` order) a local log also holds, by dedup key. Twins: same
        session, model, input and cache tokens, stamped at most ``OTEL_MATCH_S`` apart (output is left out: a
        transcript may hold a streamed copy's partial count). ``rolled_up``: the log events looked for already have
        their roll-ups (true unless called from inside a rebuild)."""
        by: dict[tuple[Any, ...], list[tuple[float, str]]] = {}
        for r in rows:
            if r[8]:
                by.setdefault((r[8], r[3], r[10], r[14], r[12]), []).append((r[1], r[0]))
        if not by:
            return set()
        lo = min(r[1] for r in rows) - OTEL_MATCH_S
        hi = max(r[1] for r in rows) + OTEL_MATCH_S
        sessions = sorted({k[0] for k in by})
        if rolled_up:  # only sessions a log holds are looked up in the raw events: a hub whose agents' logs stay
            sessions = self._logged_sessions(sessions, lo, hi)  # on their machines pays one small query
        found: set[str] = set()
        for part in _chunks(sessions, 500):
            marks = ", ".join("?" * len(part))
            for sess, model, inp, cr, cw, ts in self._read(
                    "SELECT session, model, input_tokens, cache_read_tokens, cache_write_tokens, ts FROM usage_events "
                    f"WHERE source = 'log' AND ts >= ? AND ts <= ? AND session IN ({marks})", (lo, hi, *part)):
                for t, key in by.get((sess, model, inp, cr, cw), ()):
                    if abs(t - ts) <= OTEL_MATCH_S:
                        found.add(key)
        return found

    def _logged_sessions(self, sessions: list[str], lo: float, hi: float) -> list[str]:
        """Which of these sessions the per-session roll-up (a row per session and hour) has log events of."""
        out: list[str] = []
        for part in _chunks(sessions, 500):
            out += [r[0] for r in self._read(
                f"SELECT DISTINCT session FROM usage_hourly WHERE source = 'log' AND hour_ts >= ? AND hour_ts < ? "
                f"AND session IN ({', '.join('?' * len(part))})", (lo // 3600 * 3600, hi, *part))]
        return out

    def drop_otel_twins(self, lo: float, hi: float) -> list[float]:
        """Calls received over OTLP (``source = 'otel'``, stamped in ``[lo, hi)``) that a local log also holds
        (:meth:`otel_twins`): removed, so each call counts once whichever way arrived first; the log's copy, with
        its request and message ids, is kept. Returns their times. Costs one lookup in the partial index
        ``ix_usage_otel_ts`` when no OTLP event is stored there."""
        rows = self._read(f"SELECT {_q(EVENT_COLUMNS)} FROM usage_events WHERE source = 'otel' AND ts >= ? AND ts < ?",
                          (lo, hi))
        twins = self.otel_twins(rows, rolled_up=False) if rows else set()
        if twins:
            self._write([("DELETE FROM usage_events WHERE dedup_key = ?", [(k,) for k in twins])], many=True)
        self.twins_dropped += len(twins)
        return [float(r[1]) for r in rows if r[0] in twins]

    def rebuild_hours(self, hours: Iterable[int], drop_twins: bool = True) -> int:
        """Recompute both roll-ups for these UTC hour indexes (epoch // 3600) from the raw events (agent logs and
        OTLP): the per-session ``usage_hourly`` from ``usage_events``, then ``usage_rollup`` from ``usage_hourly``.
        OTLP copies of calls a log now also holds are dropped first (:meth:`drop_otel_twins`), unless the caller
        wrote only OTLP rows it had checked itself (``drop_twins=False``)."""
        hours = set(hours)
        fresh, self._fresh = self._fresh, None
        if fresh is not None and fresh.whole:  # a bulk load into an empty table: no OTLP copy can be stored
            return self._write_fresh_hours(fresh, hours)
        for a, b in hour_ranges(hours) if drop_twins else ():
            hours |= {int(t // 3600) for t in self.drop_otel_twins(a * 3600.0 - OTEL_MATCH_S,
                                                                   b * 3600.0 + OTEL_MATCH_S)}
        session_sel, model_sel = _session_select(self.pg), _MODEL_SELECT
        tail = ("events", *SUMS, *COSTS, "first_ts", "last_ts")
        statements: list[tuple[str, Sequence[Any]]] = []
        for a, b in hour_ranges(hours):
            lo, hi = a * 3600.0, b * 3600.0
            statements += [
                ("DELETE FROM usage_hourly WHERE hour_ts >= ? AND hour_ts < ?", (lo, hi)),
                (f"INSERT INTO usage_hourly (hour_ts, {', '.join((*SESSION_KEYS, *tail))}) SELECT {session_sel} "
                 f"FROM usage_events WHERE source IN ('log', 'otel') AND ts >= ? AND ts < ? "
                 f"GROUP BY 1, {', '.join(SESSION_KEYS)}", (lo, hi)),
                ("DELETE FROM usage_rollup WHERE hour_ts >= ? AND hour_ts < ?", (lo, hi)),
                (f"INSERT INTO usage_rollup (hour_ts, {', '.join((*MODEL_KEYS, *tail))}) SELECT {model_sel} "
                 f"FROM usage_hourly WHERE hour_ts >= ? AND hour_ts < ? GROUP BY hour_ts, {', '.join(MODEL_KEYS)}",
                 (lo, hi)),
            ]
        self._write(statements)
        return int(self._read("SELECT count(*) FROM usage_hourly")[0][0]) if statements else 0

    def _write_fresh_hours(self, fresh: _FreshHours, hours: set[int]) -> int:
        """``rebuild_hours`` from the sums :class:`_FreshHours` kept; hours where a key was written twice are
        grouped from the raw events in one pass (``_dirty_hours``, a temporary table of hour indexes)."""
        cols = ("hour_ts", *SESSION_KEYS, "events", *SUMS, *COSTS, "first_ts", "last_ts")
        statements: list[tuple[str, Sequence[Any]]] = []
        for a, b in hour_ranges(hours):
            statements += [("DELETE FROM usage_hourly WHERE hour_ts >= ? AND hour_ts < ?", (a * 3600.0, b * 3600.0)),
                           ("DELETE FROM usage_rollup WHERE hour_ts >= ? AND hour_ts < ?", (a * 3600.0, b * 3600.0))]
        self._write(statements)
        dirty = fresh.dirty & hours
        rows = [(float(hour * 3600), *names, *v) for (hour, names), v in fresh.groups.items()
                if hour in hours and hour not in dirty]
        self._write([(f"INSERT INTO usage_hourly ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
                      rows)], many=True)
        if dirty:
            self._write([("CREATE TEMP TABLE IF NOT EXISTS _dirty_hours (h INTEGER PRIMARY KEY)", ()),
                         ("DELETE FROM _dirty_hours", ())])
            self._write([("INSERT INTO _dirty_hours (h) VALUES (?)", [(h,) for h in sorted(dirty)])], many=True)
            self._write([(f"INSERT INTO usage_hourly ({', '.join(cols)}) SELECT {_session_select(self.pg)} "
                          "FROM usage_events WHERE source IN ('log', 'otel') AND "
                          "CAST(ts / 3600 AS INTEGER) IN (SELECT h FROM _dirty_hours) "
                          f"GROUP BY 1, {', '.join(SESSION_KEYS)}", ())])
        tail = ("events", *SUMS, *COSTS, "first_ts", "last_ts")
        self._write([(f"INSERT INTO usage_rollup (hour_ts, {', '.join((*MODEL_KEYS, *tail))}) SELECT {_MODEL_SELECT} "
                      f"FROM usage_hourly WHERE hour_ts >= ? AND hour_ts < ? GROUP BY hour_ts, {', '.join(MODEL_KEYS)}",
                      (a * 3600.0, b * 3600.0)) for a, b in hour_ranges(hours)])
        return int(self._read("SELECT count(*) FROM usage_hourly")[0][0])

    def report_rows(self, sessions: bool, since_ts: float | None = None, consumer: str | None = None,
                    project: str | None = None, host: str | None = None) -> list[tuple[Any, ...]]:
        """Roll-up rows in ``REPORT_COLUMNS`` order, oldest first, filtered here (``project``: a substring).

        Per session from ``usage_hourly``; otherwise from ``usage_rollup`` summed over projects to one row per
        hour, consumer, host and model (what daily, weekly, monthly and block reports need: a few thousand rows
        for a year of heavy use). Such a row's ``project`` is one of its projects, all of which match."""
        cond, params = [], []
        otel = consumer == "otel"  # ``--source otel``: what arrived over OTLP, whoever the consumer
        for value, sql in ((since_ts, "last_ts >= ?"), (None if otel else consumer, "consumer = ?"),
                           ("otel" if otel else None, "source = ?"), (host, "host = ?"),
                           (project, "strpos(project, ?) > 0" if self.pg else "instr(project, ?) > 0")):
            if value is not None:
                cond.append(sql)
                params.append(value)
        where = f"WHERE {' AND '.join(cond)} " if cond else ""
        if sessions:
            return self._read(f"SELECT {', '.join(REPORT_COLUMNS)} FROM usage_hourly {where}ORDER BY hour_ts",
                              params)
        sums = ", ".join(f"sum({c})" for c in REPORT_COLUMNS[6:-2])
        return self._read(f"SELECT hour_ts, consumer, host, min(project), NULL, model, {sums}, min(first_ts), "
                          f"max(last_ts) FROM usage_rollup {where}GROUP BY hour_ts, consumer, host, model "
                          f"ORDER BY hour_ts", params)

    def cost_since(self, since_ts: float, active_since_ts: float) -> tuple[float, float]:
        """(cost since ``since_ts``, cost of the hours active since ``active_since_ts``), ``--cost-mode auto``."""
        r = self._read("SELECT coalesce(sum(CASE WHEN hour_ts >= ? THEN cost_auto ELSE 0 END), 0), "
                       "coalesce(sum(CASE WHEN last_ts >= ? THEN cost_auto ELSE 0 END), 0) FROM usage_rollup "
                       "WHERE last_ts >= ?", (since_ts, active_since_ts, min(since_ts, active_since_ts)))
        return float(r[0][0] or 0), float(r[0][1] or 0)


def _session_select(pg: bool) -> str:
    """``usage_hourly``'s columns grouped from ``usage_events`` (``_FreshHours.add`` sums the same in Python)."""
    hour = "floor(ts / 3600) * 3600" if pg else "CAST(ts / 3600 AS INTEGER) * 3600"
    auto = "coalesce(cost_recorded, cost)"
    return (f"{hour}, {', '.join(SESSION_KEYS)}, count(*), " + ", ".join(f"sum({s})" for s in SUMS)
            + f", coalesce(sum(cost), 0), sum(CASE WHEN cost IS NULL THEN 1 ELSE 0 END), "
              f"coalesce(sum(cost_recorded), 0), coalesce(sum({auto}), 0), "
              f"sum(CASE WHEN {auto} IS NULL THEN 1 ELSE 0 END), min(ts), max(ts)")


_MODEL_SELECT = (f"hour_ts, {', '.join(MODEL_KEYS)}, sum(events), "
                 + ", ".join(f"sum({c})" for c in (*SUMS, *COSTS)) + ", min(first_ts), max(last_ts)")
_ROW = {c: i for i, c in enumerate(EVENT_COLUMNS)}
_GROUP_KEY = itemgetter(*(_ROW[c] for c in SESSION_KEYS))
_ROLLED_UP = frozenset(("log", "otel"))


class _FreshHours:
    """``usage_hourly`` summed in Python while a bulk load writes rows into an empty ``usage_events`` (grouping all
    of them at the end took ~1.5 s of a million-line first import, on one core while the other idled). Exact as long
    as each key is written once; a key written again (its later copy may replace the first) makes both copies'
    hours dirty, and those are grouped in SQL from the stored rows. ``whole`` turns False when events are deleted:
    then every hour is grouped in SQL, as before."""

    def __init__(self) -> None:
        self.seen: set[int] = set()
        self.groups: dict[tuple[int, tuple[Any, ...]], list[Any]] = {}
        """(UTC hour index, the ``SESSION_KEYS`` values) -> the sums in ``usage_hourly``'s column order."""
        self.dirty: set[int] = set()
        self.whole = True

    def add(self, db: LogDb, rows: Sequence[tuple[Any, ...]]) -> None:
        hashes = [hash(r[0]) for r in rows]
        fresh = set(hashes)
        if len(fresh) == len(rows) and self.seen.isdisjoint(fresh):
            self.seen |= fresh  # the usual case: every key new
        else:
            rows = self._drop_rewritten(db, rows, hashes)
        groups, key_of, rolled_up = self.groups, _GROUP_KEY, _ROLLED_UP
        for r in rows:
            if r[4] not in rolled_up:
                continue
            ts = r[1]
            key = (int(ts / 3600), key_of(r))  # the hour as CAST(ts / 3600 AS INTEGER) truncates
            cost, rec = r[16], r[17]
            auto = cost if rec is None else rec
            g = groups.get(key)
            if g is None:
                groups[key] = [1, r[10], r[11], r[12], r[13], r[14], r[15], 0 if cost is None else cost,
                               1 if cost is None else 0, 0 if rec is None else rec, 0 if auto is None else auto,
                               1 if auto is None else 0, ts, ts]
                continue
            g[0] += 1
            g[1] += r[10]
            g[2] += r[11]
            g[3] += r[12]
            g[4] += r[13]
            g[5] += r[14]
            g[6] += r[15]
            if cost is None:
                g[8] += 1
            else:
                g[7] += cost
            if rec is not None:
                g[9] += rec
            if auto is None:
                g[11] += 1
            else:
                g[10] += auto
            if ts < g[12]:
                g[12] = ts
            if ts > g[13]:
                g[13] = ts

    def _drop_rewritten(self, db: LogDb, rows: Sequence[tuple[Any, ...]], hashes: list[int],
                        ) -> list[tuple[Any, ...]]:
        """Rows whose key was written before in this load (or shares its hash) are left to SQL: their hour and
        the stored copy's become dirty."""
        seen, dirty = self.seen, self.dirty
        keep: list[tuple[Any, ...]] = []
        here: dict[int, int] = {}
        for r, k in zip(rows, hashes, strict=True):
            hour = int(r[1] / 3600)
            if k in seen:
                dirty.add(hour)
                if k in here:  # twice in this batch: the first copy may be replaced as well
                    dirty.add(here[k])
                dirty.update(int(t / 3600) for (t,) in db._read(
                    "SELECT ts FROM usage_events WHERE dedup_key = ?", (r[0],)))
                continue
            seen.add(k)
            here[k] = hour
            keep.append(r)
        return keep


def sample_row(s: Any) -> tuple[Any, ...]:
    return (s.account_id, s.window, s.observed_at.timestamp(), s.source.value, s.provenance.value, s.unit.value,
            s.used_ratio, s.used, s.remaining, s.limit, None if s.resets_at is None else s.resets_at.timestamp(),
            s.status, s.window_length_s)


def write_sample_rows(db: LogDb, rows: list[tuple[Any, ...]]) -> None:
    """Rows in ``SAMPLE_COLUMNS`` order: history kept once per (account, window, time, source); the latest value
    per account/window replaced only by a newer one."""
    if not rows:
        return
    marks = ", ".join("?" * len(SAMPLE_COLUMNS))
    update = ", ".join(f'"{c}" = excluded."{c}"' for c in SAMPLE_COLUMNS[2:])
    db._write([
        (f"INSERT INTO samples ({_q(SAMPLE_COLUMNS)}) VALUES ({marks}) ON CONFLICT DO NOTHING", rows),
        (f"INSERT INTO latest_samples ({_q(SAMPLE_COLUMNS)}) VALUES ({marks}) ON CONFLICT (account_id, \"window\") "
         f"DO UPDATE SET {update} WHERE latest_samples.observed_ts <= excluded.observed_ts",
         sorted(rows, key=lambda r: r[2])),
    ], many=True)


def hour_ranges(hours: Iterable[int]) -> list[tuple[int, int]]:
    """Sorted hour indexes -> [start, end) ranges of consecutive hours."""
    out: list[tuple[int, int]] = []
    for h in sorted(set(hours)):
        if out and out[-1][1] == h:
            out[-1] = (out[-1][0], h + 1)
        else:
            out.append((h, h + 1))
    return out


def _key(row: tuple[Any, ...]) -> Any:
    return row[0]


_MULTI_MAX = 256  # x 19 columns stays far below SQLite's 32,766 bound variables


def _multi_row(head: str, tail: str, ncols: int, rows: list[tuple[Any, ...]]) -> Iterator[tuple[str, list[Any]]]:
    one = "(" + ", ".join("?" * ncols) + ")"
    i = 0
    while i < len(rows):
        n = min(_MULTI_MAX, 1 << ((len(rows) - i).bit_length() - 1))
        yield f"{head}{', '.join([one] * n)} {tail}", list(chain.from_iterable(rows[i:i + n]))
        i += n


def _chunks(rows: list[Any], size: int) -> list[list[Any]]:
    return [rows[i:i + size] for i in range(0, len(rows), size)]
