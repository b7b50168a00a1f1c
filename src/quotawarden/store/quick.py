"""A read-only view of the latest state for latency-critical commands (``summary``, status lines).

Importing SQLAlchemy, pydantic and the plug-ins costs more than the whole 100 ms budget, so this reader resolves the
database URL and thresholds with ``tomllib`` alone and reads SQLite with the standard library. Only the
``latest_samples``, ``account_state`` and ``accounts`` tables are touched (a few rows each, whatever the history's
size). PostgreSQL stores fall back to the full store, which is slower but correct.
"""

from __future__ import annotations

import os
import sqlite3
from typing import Any, NamedTuple


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


class QuickState(NamedTuple):
    accounts: list[QuickAccount]
    used_yellow: float = 0.5
    used_red: float = 0.8


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


def load(config_path: str | None = None, db_url: str | None = None) -> QuickState:
    config = read_config(config_path)
    url = database_url(config, db_url)
    th = config.get("thresholds", {})
    yellow, red = float(th.get("used_yellow", 0.5)), float(th.get("used_red", 0.8))
    configured = [(str(a.get("id")), str(a.get("provider")), a.get("pool"))
                  for a in config.get("accounts", []) if a.get("id") and a.get("enabled", True)]
    rows = _sqlite_rows(url.split("///", 1)[-1]) if url.startswith("sqlite") else _store_rows(url)
    return QuickState(_assemble(configured, *rows), yellow, red)


Rows = tuple[list[tuple[Any, ...]], list[tuple[Any, ...]], list[tuple[Any, ...]]]

_ACCOUNTS = "SELECT id, provider, pool FROM accounts ORDER BY id"
_STATES = "SELECT account_id, outcome, reason FROM account_state"
_LATEST = ('SELECT account_id, "window", observed_ts, unit, used_ratio, used, remaining, "limit", resets_ts, '
           'status, source FROM latest_samples ORDER BY account_id, "window"')


def _sqlite_rows(path: str) -> Rows:
    if not path or not os.path.exists(path):
        return [], [], []
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
    try:
        return (conn.execute(_ACCOUNTS).fetchall(), conn.execute(_STATES).fetchall(),
                conn.execute(_LATEST).fetchall())
    except sqlite3.OperationalError:  # a database never migrated: nothing to show yet
        return [], [], []
    finally:
        conn.close()


def _store_rows(url: str) -> Rows:
    from sqlalchemy import text

    from quotawarden.store import open_store

    store = open_store(url, migrate=False)
    try:
        with store.engine.connect() as conn:
            return tuple([tuple(r) for r in conn.execute(text(q))]  # type: ignore[return-value]
                         for q in (_ACCOUNTS, _STATES, _LATEST))
    finally:
        store.close()


def _assemble(configured: list[tuple[str, str, Any]], accounts: list[tuple[Any, ...]],
              states: list[tuple[Any, ...]], latest: list[tuple[Any, ...]]) -> list[QuickAccount]:
    known = {a[0]: a for a in configured}
    for a in accounts:
        known.setdefault(a[0], a)
    by_state = {s[0]: s for s in states}
    windows: dict[str, list[QuickWindow]] = {}
    for r in latest:
        windows.setdefault(r[0], []).append(QuickWindow(*r))
    out = []
    for acc_id, provider, pool in known.values():
        st = by_state.get(acc_id)
        out.append(QuickAccount(acc_id, provider, pool, st[1] if st else "UNKNOWN", (st[2] or "") if st else "",
                                windows.get(acc_id, [])))
    return out
