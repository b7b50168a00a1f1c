"""A read-only view of the latest state for latency-critical commands (``summary``, status lines).

Importing SQLAlchemy, pydantic and the plug-ins costs more than the whole 100 ms budget, so this reader resolves the
database URL and thresholds with ``tomllib`` alone and reads SQLite with the standard library. It reads what health
weighs, as ``status`` does (:mod:`quotawarden.store.health_inputs`): ``accounts`` (with what decides whether each
is current, ``analysis.current``), ``account_state`` and
``latest_samples`` (a few rows each), each window's recent samples in buckets (one index range per window, whatever
the history's size), the day's ``outcome_hours`` and the fresh ``provider_status`` readings. PostgreSQL stores fall
back to the full store, which is slower but correct.
"""

# No ``from __future__ import annotations`` here: a named tuple's field annotations written as strings cost a
# ``compile()`` each on import (~20 us a field), which the ``summary`` fast path pays on every call.
import os
import sqlite3
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple

from quotawarden.clock import parse_duration
from quotawarden.store import health_inputs as hi


class QuickWindow(NamedTuple):
    account_id: str
    window: str
    observed_ts: float
    unit: str
    used_ratio: float | None
    used: float | None
    remaining: float | None
    limit: float | None
    resets_ts: float | None
    status: str | None
    source: str
    window_length_s: float | None = None

    @property
    def ratio(self) -> float | None:
        if self.used_ratio is not None:
            return self.used_ratio
        if self.limit and self.limit > 0:
            if self.used is not None:
                return self.used / self.limit
            if self.remaining is not None:
                return 1.0 - self.remaining / self.limit
        return None


class QuickAccount(NamedTuple):
    id: str
    provider: str
    pool: str | None = None
    outcome: str = "UNKNOWN"
    reason: str = ""
    windows: list[QuickWindow] = []  # never mutated after construction
    origin: str = "config"
    """Where the store learnt of it (``config``, ``observed``, ``instance``); ``analysis.current`` weighs it."""
    fingerprint: str | None = None
    last_seen: float | None = None
    """Epoch seconds of its last outcome or reading."""


Bucket = tuple[float, float | None, float | None, float | None, float | None, float | None, int]
"""One averaged bucket of a window's recent samples, in ``analysis.burn.Point`` order."""


class QuickState(NamedTuple):
    accounts: list[QuickAccount]
    thresholds: Mapping[str, Any] = {}
    """The config's ``[thresholds]`` table as written (``analysis.health.Policy.from_mapping`` reads it)."""
    recent: Mapping[tuple[str, str], list[Bucket]] = {}
    """(account id, window) -> its recent samples, oldest first: what the burn rate rests on."""
    errors: Mapping[str, float] = {}
    """Account id -> its 24-hour error rate (accounts with enough calls)."""
    services: Mapping[str, str] = {}
    """Provider -> its status page's state, from readings fresh enough to count."""
    now: float = 0.0
    """When it was read (epoch seconds)."""
    configured: tuple[str, ...] = ()
    """The ids of the config file's accounts."""
    planner: Mapping[str, Any] = {}
    """The config's ``[planner]`` table as written (``analysis.planner.settings_from_mapping`` reads it)."""
    plans: Mapping[str, str] = {}
    """Account id -> its ``plan`` as written (``plan = "free"`` makes an API key's free tier included capacity)."""


def _user_dir(kind: str) -> str:
    """platformdirs' answer, without importing it (and pathlib) on Linux, where it is the XDG rule."""
    import sys

    if sys.platform.startswith("linux"):
        var, default = ("XDG_CONFIG_HOME", "~/.config") if kind == "config" else ("XDG_DATA_HOME", "~/.local/share")
        return os.path.join(os.environ.get(var, "").strip() or os.path.expanduser(default), "quotawarden")
    import platformdirs

    return platformdirs.user_config_dir("quotawarden") if kind == "config" else platformdirs.user_data_dir(
        "quotawarden")


def _config_file(explicit: str | None) -> str | None:
    if explicit:
        return os.path.expanduser(explicit)
    if env := os.environ.get("QUOTAWARDEN_CONFIG"):
        return os.path.expanduser(env)
    return os.path.join(_user_dir("config"), "config.toml")


def read_config(explicit: str | None) -> dict[str, Any]:
    """The raw TOML (validation is the full CLI's job; a broken file here just means defaults)."""
    import tomllib

    path = _config_file(explicit)
    if path is None or not os.path.exists(path):
        if explicit or os.environ.get("QUOTAWARDEN_CONFIG"):
            raise ValueError(f"{path}: config file not found (create one with `quotawarden config init`)")
        return {}
    try:
        with open(path, encoding="utf-8") as fh:
            return tomllib.loads(fh.read())
    except (OSError, tomllib.TOMLDecodeError):
        return {}


def database_url(config: dict[str, Any], explicit: str | None = None) -> str:
    url = explicit or os.environ.get("QUOTAWARDEN_DB_URL") or config.get("database", {}).get("url")
    if url:
        return str(url)
    return f"sqlite:///{os.path.join(_user_dir('data'), 'quotawarden.db')}"


def load(config_path: str | None = None, db_url: str | None = None, now: float | None = None) -> QuickState:
    now = time.time() if now is None else now
    config = read_config(config_path)
    url = database_url(config, db_url)
    try:
        interval = parse_duration(config.get("schedule", {}).get("status_interval", 300))
    except ValueError:
        interval = 300.0
    since = {"errors": now - hi.ERROR_WINDOW_S, "pages": now - hi.PAGE_FRESH_INTERVALS * interval}
    configured = [(str(a.get("id")), str(a.get("provider")), a.get("pool"))
                  for a in config.get("accounts", []) if a.get("id") and a.get("enabled", True)]
    read = _sqlite_rows(url.split("///", 1)[-1], since) if url.startswith("sqlite") else _store_rows(url, since)
    recent: dict[tuple[str, str], list[Bucket]] = {}
    for r in sorted(read.recent, key=lambda r: r[2]):
        recent.setdefault((r[0], r[1]), []).append(tuple(r[2:]))
    return QuickState(_assemble(configured, read.accounts, read.states, read.latest),
                      dict(config.get("thresholds", {})), recent, hi.error_rates(read.outcomes),
                      {str(p): str(state) for p, state in read.pages}, now, tuple(a[0] for a in configured),
                      dict(config.get("planner", {})),
                      {str(a["id"]): str(a["plan"]) for a in config.get("accounts", [])
                       if a.get("id") and a.get("plan")})


class Rows(NamedTuple):
    accounts: list[tuple[Any, ...]]
    states: list[tuple[Any, ...]]
    latest: list[tuple[Any, ...]]
    recent: list[tuple[Any, ...]]
    outcomes: list[tuple[Any, ...]]
    pages: list[tuple[Any, ...]]


_ACCOUNTS = hi.KNOWN_ACCOUNTS
_STATES = "SELECT account_id, outcome, reason FROM account_state"
_LATEST = ('SELECT account_id, "window", observed_ts, unit, used_ratio, used, remaining, "limit", resets_ts, '
           'status, source, window_length_s FROM latest_samples ORDER BY account_id, "window"')
_LENGTHS = "SELECT DISTINCT window_length_s FROM latest_samples"
_NOTHING = Rows([], [], [], [], [], [])

Query = Callable[[str, Mapping[str, Any]], list[tuple[Any, ...]]]


def _read(query: Query, dialect: str, since: Mapping[str, float]) -> Rows:
    recent: list[tuple[Any, ...]] = []
    for (length,) in query(_LENGTHS, {}):
        span, bucket = hi.lookback_for(length)
        recent += query(hi.recent_buckets_sql(dialect, length_known=length is not None),
                        {"lb": span, "b": bucket, "len": length})
    return Rows(query(_ACCOUNTS, {}), query(_STATES, {}), query(_LATEST, {}), recent,
                query(hi.OUTCOME_COUNTS, {"since": hi.hour_start(since["errors"])}),
                query(hi.PAGES, {"since": since["pages"]}))


def _sqlite_rows(path: str, since: Mapping[str, float]) -> Rows:
    if not path or not os.path.exists(path):
        return _NOTHING
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
    try:
        return _read(lambda sql, params: conn.execute(sql, dict(params)).fetchall(), "sqlite", since)
    except sqlite3.OperationalError:  # a database never migrated: nothing to show yet
        return _NOTHING
    finally:
        conn.close()


def _store_rows(url: str, since: Mapping[str, float]) -> Rows:
    from quotawarden.store import open_store

    store = open_store(url, migrate=False)
    try:
        with store.connect() as conn:
            return _read(lambda sql, params: [tuple(r) for r in conn.execute(sql, dict(params))],
                         store.dialect, since)
    finally:
        store.close()


def _assemble(configured: list[tuple[str, str, Any]], accounts: list[tuple[Any, ...]],
              states: list[tuple[Any, ...]], latest: list[tuple[Any, ...]]) -> list[QuickAccount]:
    stored = {a[0]: a for a in accounts}
    known: dict[str, tuple[Any, ...]] = {}
    for acc_id, provider, pool in configured:  # the config's word on provider and pool; the store's on the key
        row = stored.get(acc_id)
        known[acc_id] = (acc_id, provider, pool, "config", row[4] if row else None, None, None, None)
    for a in accounts:
        known.setdefault(a[0], a)
    by_state = {s[0]: s for s in states}
    windows: dict[str, list[QuickWindow]] = {}
    for r in latest:
        windows.setdefault(r[0], []).append(QuickWindow(*r))
    out = []
    for acc_id, provider, pool, origin, fp, _, state_ts, sample_ts in known.values():
        st = by_state.get(acc_id)
        seen = max((t for t in (state_ts, sample_ts) if t is not None), default=None)
        out.append(QuickAccount(acc_id, provider, pool, st[1] if st else "UNKNOWN", (st[2] or "") if st else "",
                                windows.get(acc_id, []), origin or "config", fp, seen))
    return out


# -- ``status``'s inputs (``interfaces.fast.status``): the rows the full store reads, through ``sqlite3`` ----------

class StatusReader:
    """A read-only SQLite connection that answers the queries behind ``Service.status_report`` with the same rows
    (``store.accounts``, ``store.samples``, ``store.provider_anomalies``, ``store.analysis_queries``,
    ``store.outcomes``, ``store.provider_status``). :meth:`open` says None when the file is missing or its schema
    is not this version's (the full store then creates or migrates it)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    @classmethod
    def open(cls, url: str) -> "StatusReader | None":
        path = url[len("sqlite:///"):] if url.startswith("sqlite:///") else ""
        if not path or "?" in path or path == ":memory:" or not os.path.isfile(path):
            return None
        from quotawarden.store.schema_snapshot import snapshot_heads

        try:
            conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
        except sqlite3.Error:
            return None
        try:
            current = {r[0] for r in conn.execute("SELECT version_num FROM alembic_version")}
        except sqlite3.Error:
            conn.close()
            return None
        if current != snapshot_heads():
            conn.close()
            return None
        return cls(conn)

    def close(self) -> None:
        self.conn.close()

    def _in(self, sql: str, values: Sequence[Any], params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """``sql`` with ``{ids}`` replaced by one placeholder per value."""
        return self.conn.execute(sql.replace("{ids}", ", ".join("?" * len(values))), (*params, *values)).fetchall()

    def accounts(self) -> list[tuple[Any, ...]]:
        """(id, provider, label, credential_ref, base_url, plan, pool, tags) of every stored account, by id."""
        return self.conn.execute("SELECT id, provider, label, credential_ref, base_url, plan, pool, tags "
                                 "FROM accounts ORDER BY id").fetchall()

    def known(self) -> list[tuple[Any, ...]]:
        return self.conn.execute(_ACCOUNTS).fetchall()

    def states(self) -> list[tuple[Any, ...]]:
        return self.conn.execute("SELECT account_id, outcome, reason, observed_ts, retry_ts "
                                 "FROM account_state").fetchall()

    def latest(self, account_ids: Sequence[str] | None) -> list[tuple[Any, ...]]:
        sql = f"SELECT {_sample_cols()} FROM latest_samples"
        if account_ids is None:
            return self.conn.execute(sql + ' ORDER BY account_id, "window"').fetchall()
        return self._in(sql + ' WHERE account_id IN ({ids}) ORDER BY account_id, "window"', account_ids)

    def latest_per_source(self, since: float, account_ids: Sequence[str], windows: Sequence[str]
                          ) -> list[tuple[Any, ...]]:
        """The newest sample of every (account, window, source) at or after ``since``."""
        from quotawarden.domain import Source

        sql, params = hi.latest_per_source(_sample_cols("s."), since, [s.value for s in Source], account_ids, windows)
        return self.conn.execute(sql, params).fetchall()

    def buckets(self, account_ids: Sequence[str] | None) -> dict[tuple[str, str], list[Bucket]]:
        """What ``store.analysis_queries.recent_buckets`` returns, oldest first per window."""
        out: dict[tuple[str, str], list[Bucket]] = {}
        if account_ids is not None and not account_ids:
            return out
        for (length,) in self.conn.execute(_LENGTHS).fetchall():
            span, bucket = hi.lookback_for(length)
            sql = hi.recent_buckets_sql("sqlite", length_known=length is not None,
                                        by_account=account_ids is not None)
            params: dict[str, Any] = {"lb": span, "b": bucket, "len": length}
            if account_ids is not None:
                sql = sql.replace(":ids", "(" + ", ".join(f":id{i}" for i in range(len(account_ids))) + ")")
                params.update({f"id{i}": a for i, a in enumerate(account_ids)})
            for r in self.conn.execute(sql, params):
                out.setdefault((r[0], r[1]), []).append(tuple(r[2:]))
        for found in out.values():
            found.sort(key=lambda x: x[0])
        return out

    def outcome_counts(self, since: float, account_ids: Sequence[str] | None) -> list[tuple[Any, ...]]:
        """(account id, answered, failed) per account since the hour ``since`` falls in."""
        sql = "SELECT account_id, SUM(ok), SUM(errors) FROM outcome_hours WHERE hour_ts >= ?"
        if account_ids is None:
            return self.conn.execute(sql + " GROUP BY account_id", (hi.hour_start(since),)).fetchall()
        return self._in(sql + " AND account_id IN ({ids}) GROUP BY account_id", account_ids,
                        (hi.hour_start(since),))

    def pages(self, since: float) -> dict[str, tuple[str, str, float]]:
        return {p: (state, desc, ts) for p, state, desc, ts in self.conn.execute(
            "SELECT provider, state, description, observed_ts FROM provider_status WHERE observed_ts >= ?",
            (since,))}

    def counted_usage(self, account_ids: Sequence[str], minute_since: float, day_since: float
                      ) -> dict[str, tuple[int, int, int, int]]:
        """As ``store.analysis_queries.counted_usage``."""
        if not account_ids:
            return {}
        sql = ("SELECT account_id, SUM(CASE WHEN ts >= ? THEN 1 ELSE 0 END), "
               "SUM(CASE WHEN ts >= ? THEN input_tokens + cache_read_tokens ELSE 0 END), "
               "SUM(CASE WHEN ts >= ? THEN 1 ELSE 0 END), "
               "SUM(CASE WHEN ts >= ? AND source = 'proxy' THEN 1 ELSE 0 END) "
               "FROM usage_events WHERE account_id IN ({ids}) AND ts >= ? GROUP BY account_id")
        found = self._in(sql, account_ids, (minute_since, minute_since, day_since, day_since,
                                            min(minute_since, day_since)))
        return {str(r[0]): (int(r[1] or 0), int(r[2] or 0), int(r[3] or 0), int(r[4] or 0)) for r in found}

    def details(self, account_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """As ``store.accounts.state_details``."""
        import json

        out = {}
        for acc, raw in self._in("SELECT account_id, details FROM account_state WHERE account_id IN ({ids})",
                                 account_ids):
            value = json.loads(raw) if isinstance(raw, str | bytes) else raw
            if isinstance(value, dict) and value:
                out[acc] = value
        return out


def _sample_cols(prefix: str = "") -> str:
    from quotawarden.store.rows import SAMPLE_COLS  # the domain's import waits until status asks (summary never)

    return ", ".join(f'{prefix}"{c}"' for c in SAMPLE_COLS)
