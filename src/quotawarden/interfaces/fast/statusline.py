"""``quotawarden statusline``: the command Claude Code runs for its status line (reference section 8e).

Reads the JSON Claude Code pipes to stdin, stores ``rate_limits`` as official samples of the logged-in account
(values outside 0-100 are rejected, not stored) and prints one line: model, 5h and 7d used % with time to
reset, each model-scoped cap the store holds (``7d_opus``, ``7d_sonnet``: ``naming.window_scope``), today's cost,
burn rate. With no stdin it reads the store. It is on ``main.FAST_PATHS`` and runs after
every turn, so on a SQLite store it reads and writes the few rows it needs with plain ``sqlite3`` (samples as
tuples, the standard ``json``); it never imports typer, rich, SQLAlchemy, alembic, pydantic or the plug-ins.
PostgreSQL stores, and a database not created yet, go through the full store.

The logged-in account is :func:`account_for`: ``QUOTAWARDEN_STATUSLINE_ACCOUNT`` when set, else the one configured
account of provider ``claude`` when there is exactly one, else ``claude`` (the name ``accounts discover`` gives
Claude Code's login too). An account the config does not list is registered in the store (origin ``statusline``),
so ``status`` and ``summary`` show it.
"""

import os
import sys
import time
from typing import Any

from quotawarden.naming import window_scope

ACCOUNT = "claude"
"""Claude Code's account when neither the environment nor the config names one: ``domain.CLAUDE_CODE_ACCOUNT``
(a test keeps them equal; this path does not import the domain)."""
_WINDOWS = {"five_hour": ("5h", 18000), "seven_day": ("7d", 604800)}
Reading = tuple[dict[str, tuple[float, float | None]], float | None, float | None]


def account_for(config: Any) -> str:
    """The account Claude Code's readings belong to (see the module's docstring)."""
    if env := os.environ.get("QUOTAWARDEN_STATUSLINE_ACCOUNT"):
        return env
    accounts = config.get("accounts") if isinstance(config, dict) else None
    claude = [str(a["id"]) for a in accounts or [] if isinstance(a, dict) and a.get("id")
              and a.get("provider") == "claude" and a.get("enabled", True)]
    return claude[0] if len(claude) == 1 else ACCOUNT


def sample_rows(data: Any, now: float, account: str = ACCOUNT) -> list[tuple[Any, ...]]:
    """Official readings as rows in ``store.logs_sql.SAMPLE_COLUMNS`` order; impossible values are dropped."""
    limits = data.get("rate_limits") if isinstance(data, dict) else None
    out = []
    for key, (name, length) in _WINDOWS.items():
        w = limits.get(key) if isinstance(limits, dict) else None
        if not isinstance(w, dict):
            continue
        pct, resets = w.get("used_percentage"), w.get("resets_at")
        if isinstance(pct, bool) or not isinstance(pct, int | float) or not 0 <= pct <= 100:
            continue  # a known bug put the epoch here
        reset_ts = float(resets) if isinstance(resets, int | float) and resets > now - 86400 else None
        out.append((account, name, now, "statusline", "official", "percent", pct / 100, None, None, None, reset_ts,
                    None, length))
    return out


def samples_from(data: Any, now: float, account: str = ACCOUNT) -> list[Any]:
    """The same readings as ``QuotaSample`` objects (for the full store)."""
    from datetime import UTC, datetime

    from quotawarden.domain import Provenance, QuotaSample, Source, Unit

    def at(ts: float | None) -> datetime | None:
        return None if ts is None else datetime.fromtimestamp(ts, UTC)

    return [QuotaSample(observed_at=datetime.fromtimestamp(r[2], UTC), account_id=r[0], window=r[1],
                        unit=Unit.PERCENT, source=Source.STATUSLINE, provenance=Provenance.OFFICIAL,
                        used_ratio=r[6], resets_at=at(r[10]), window_length_s=r[12])
            for r in sample_rows(data, now, account)]


def _left(resets: float | None, now: float) -> str:
    if not resets:
        return ""
    s = max(0, int(resets - now))
    return f" ({s // 3600}h{(s % 3600) // 60:02d}m)" if s < 86400 else f" ({s // 86400}d{(s % 86400) // 3600}h)"


def shown(window: str) -> bool:
    """The account-wide 5h and 7d windows, and every model-scoped cap (``7d_opus``)."""
    return window in ("5h", "7d") or window_scope(window) is not None


def render(model: str, windows: dict[str, tuple[float, float | None]], today: float | None, burn: float | None,
           now: float) -> str:
    parts = [model or "claude"]
    for name in ("5h", "7d", *sorted(w for w in windows if w not in ("5h", "7d"))):
        if name in windows:
            ratio, resets = windows[name]
            parts.append(f"{name} {ratio * 100:.0f}%{_left(resets, now)}")
    if today is not None:
        parts.append(f"today ${today:,.2f}")
    if burn:
        parts.append(f"${burn:,.2f}/h")
    return " | ".join(parts)


def main(argv: list[str]) -> int:
    now = time.time()
    data: Any = {}
    if not sys.stdin.isatty():
        try:
            raw = sys.stdin.buffer.read()
            if raw.strip():
                import json  # only for what Claude Code pipes in: a status line over the store alone needs none

                data = json.loads(raw)
        except (ValueError, OSError):
            data = {}
    model = ((data.get("model") or {}).get("display_name") or "") if isinstance(data, dict) else ""
    config = _config()
    account = account_for(config)
    fresh = sample_rows(data, now, account)
    windows: dict[str, tuple[float, float | None]] = {}
    today = burn = None
    try:
        url = _db_url(config)
        path = url.split("///", 1)[1] if url.startswith("sqlite:///") else ""
        read = _sqlite if path and path != ":memory:" and os.path.exists(path) else _store
        windows, today, burn = read(url, path, fresh, now, account)
    except Exception:  # a status line must always print something
        pass
    if not windows:
        windows = {r[1]: (r[6], r[10]) for r in fresh}
    sys.stdout.write(render(model, windows, today, burn, now) + "\n")
    return 0


def _config() -> dict[str, Any]:
    """The config file as written (``{}`` when missing or broken: a status line must print anyway)."""
    import tomllib

    cfg = os.environ.get("QUOTAWARDEN_CONFIG")
    if not cfg:
        import platformdirs

        cfg = os.path.join(platformdirs.user_config_dir("quotawarden"), "config.toml")
    try:
        with open(os.path.expanduser(cfg), "rb") as f:
            return tomllib.load(f)
    except (OSError, tomllib.TOMLDecodeError):
        return {}


def _db_url(config: dict[str, Any]) -> str:
    """``QUOTAWARDEN_DB_URL``, else ``[database] url`` of the config file, else the default SQLite file."""
    if os.environ.get("QUOTAWARDEN_DB_URL"):
        return os.environ["QUOTAWARDEN_DB_URL"]
    database = config.get("database")
    url = database.get("url") if isinstance(database, dict) else None
    if url:
        return str(url)
    import platformdirs

    return f"sqlite:///{os.path.join(platformdirs.user_data_dir('quotawarden'), 'quotawarden.db')}"


_REGISTER = ("INSERT INTO accounts (id, provider, label, tags, origin, created_ts, updated_ts) "
             "VALUES (?, 'claude', 'Claude Code status line', '{}', 'statusline', ?, ?) ON CONFLICT (id) DO NOTHING")
"""An account the config does not list gets a row (never replacing one), so every view lists it."""


def _sqlite(url: str, path: str, fresh: list[tuple[Any, ...]], now: float, account: str = ACCOUNT) -> Reading:
    """Plain ``sqlite3``: a few rows written and read, no SQLAlchemy (its import alone is over the budget)."""
    from quotawarden.store.logs_sql import LogDb, open_sqlite, sqlite_ready, write_sample_rows

    conn = open_sqlite(path)
    if not sqlite_ready(conn):
        conn.close()
        return _store(url, path, fresh, now, account)
    db = LogDb(lambda: conn, "sqlite", "", now)
    try:
        if fresh:
            db._write([(_REGISTER, (account, now, now))])
        write_sample_rows(db, fresh)
        rows = db._read('SELECT "window", used_ratio, used, remaining, "limit", resets_ts FROM latest_samples '
                        "WHERE account_id = ?", (account,))
        windows = {}
        for win, ratio, used, remaining, limit, resets in rows:
            if ratio is None and limit:
                ratio = used / limit if used is not None else (1 - remaining / limit if remaining is not None
                                                               else None)
            if shown(win) and ratio is not None:
                windows[win] = (ratio, resets)
        today, burn = db.cost_since(now - now % 86400, now - 3600)
        return windows, today, burn
    finally:
        db.close()


def _store(url: str, _path: str, fresh: list[tuple[Any, ...]], now: float, account: str = ACCOUNT) -> Reading:
    """Any store (PostgreSQL, or a SQLite file not created or migrated yet) through SQLAlchemy: slower."""
    from quotawarden.store import open_store
    from quotawarden.store import samples as samples_q
    from quotawarden.store.logs_sql import LogDb, write_sample_rows

    store = open_store(url)
    try:
        db = LogDb(store.raw_connection, store.dialect, "", now)
        try:
            if fresh:
                db._write([(_REGISTER, (account, now, now))])
            write_sample_rows(db, fresh)
            today, burn = db.cost_since(now - now % 86400, now - 3600)
        finally:
            db.close()
        windows: dict[str, tuple[float, float | None]] = {}
        for s in samples_q.latest(store, [account]):
            ratio = s.effective_ratio
            if shown(s.window) and ratio is not None:
                windows[s.window] = (ratio, s.resets_at.timestamp() if s.resets_at else None)
        return windows, today, burn
    finally:
        store.close()
