"""``quotawarden statusline``: the command Claude Code runs for its status line (reference section 8e).

Reads the JSON Claude Code pipes to stdin, stores ``rate_limits`` as official samples of the logged-in account
(values outside 0-100 are rejected, not stored) and prints one line: model, 5h and 7d used % with time to
reset, today's cost, burn rate. With no stdin it reads the store. It is on ``main.FAST_PATHS``: on a SQLite store
it reads and writes the few rows it needs with plain ``sqlite3`` and never imports typer, rich, SQLAlchemy,
alembic or pydantic; PostgreSQL stores go through the full store.
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any

ACCOUNT = os.environ.get("QUOTAWARDEN_STATUSLINE_ACCOUNT", "claude")
_WINDOWS = {"five_hour": ("5h", 18000), "seven_day": ("7d", 604800)}


def samples_from(data: Any, now: float, account: str = ACCOUNT) -> list[Any]:
    from datetime import UTC, datetime

    from quotawarden.domain import Provenance, QuotaSample, Source, Unit

    limits = data.get("rate_limits") if isinstance(data, dict) else None
    out = []
    for key, (name, length) in _WINDOWS.items():
        w = limits.get(key) if isinstance(limits, dict) else None
        if not isinstance(w, dict):
            continue
        pct, resets = w.get("used_percentage"), w.get("resets_at")
        if not isinstance(pct, int | float) or not 0 <= pct <= 100:
            continue  # a known bug put the epoch here
        reset_dt = (datetime.fromtimestamp(float(resets), UTC)
                    if isinstance(resets, int | float) and resets > now - 86400 else None)
        out.append(QuotaSample(observed_at=datetime.fromtimestamp(now, UTC), account_id=account, window=name,
                               unit=Unit.PERCENT, source=Source.STATUSLINE, provenance=Provenance.OFFICIAL,
                               used_ratio=pct / 100, resets_at=reset_dt, window_length_s=length))
    return out


def _left(resets: float | None, now: float) -> str:
    if not resets:
        return ""
    s = max(0, int(resets - now))
    return f" ({s // 3600}h{(s % 3600) // 60:02d}m)" if s < 86400 else f" ({s // 86400}d{(s % 86400) // 3600}h)"


def render(model: str, windows: dict[str, tuple[float, float | None]], today: float | None, burn: float | None,
           now: float) -> str:
    parts = [model or "claude"]
    for name in ("5h", "7d"):
        if name in windows:
            ratio, resets = windows[name]
            parts.append(f"{name} {ratio * 100:.0f}%{_left(resets, now)}")
    if today is not None:
        parts.append(f"today ${today:,.2f}")
    if burn:
        parts.append(f"${burn:,.2f}/h")
    return " | ".join(parts)


def main(argv: list[str]) -> int:
    import orjson

    now = time.time()
    data: Any = {}
    if not sys.stdin.isatty():
        try:
            raw = sys.stdin.buffer.read()
            data = orjson.loads(raw) if raw.strip() else {}
        except (orjson.JSONDecodeError, OSError):
            data = {}
    model = ((data.get("model") or {}).get("display_name") or "") if isinstance(data, dict) else ""
    windows: dict[str, tuple[float, float | None]] = {}
    today = burn = None
    try:
        fresh = samples_from(data, now)
        read = _sqlite if (path := _sqlite_path()) else _store
        windows, today, burn = read(path, fresh, now)
    except Exception:  # a status line must always print something
        pass
    if not windows and isinstance(data, dict):
        for s in samples_from(data, now):
            windows[s.window] = (s.used_ratio or 0.0, s.resets_at.timestamp() if s.resets_at else None)
    sys.stdout.write(render(model, windows, today, burn, now) + "\n")
    return 0


Reading = tuple[dict[str, tuple[float, float | None]], float | None, float | None]


def _sqlite_path() -> str | None:
    """The SQLite file when the store is one that exists and is migrated (else the full store opens it)."""
    from quotawarden.interfaces.quickstore import database_url, read_config

    url = database_url(read_config(None))
    if not url.startswith("sqlite:///"):
        return None
    path = url.split("///", 1)[1]
    return path if path and path != ":memory:" and os.path.exists(path) else None


def _sqlite(path: str | None, fresh: list[Any], now: float) -> Reading:
    """Plain ``sqlite3``: a few rows written and read, no SQLAlchemy (its import alone is over the budget)."""
    from quotawarden.logs_db import LogDb, open_sqlite, sample_row, sqlite_ready, write_sample_rows

    conn = open_sqlite(str(path))
    if not sqlite_ready(conn):
        conn.close()
        return _store(None, fresh, now)
    db = LogDb(lambda: conn, "sqlite", "", now)
    try:
        write_sample_rows(db, [sample_row(s) for s in fresh])
        rows = db._read('SELECT "window", used_ratio, used, remaining, "limit", resets_ts FROM latest_samples '
                        "WHERE account_id = ?", (ACCOUNT,))
        windows = {}
        for win, ratio, used, remaining, limit, resets in rows:
            if ratio is None and limit:
                ratio = used / limit if used is not None else (1 - remaining / limit if remaining is not None
                                                               else None)
            if win in ("5h", "7d") and ratio is not None:
                windows[win] = (ratio, resets)
        today, burn = db.cost_since(now - now % 86400, now - 3600)
        return windows, today, burn
    finally:
        db.close()


def _store(_path: str | None, fresh: list[Any], now: float) -> Reading:
    """Any store (PostgreSQL, or a SQLite file not created or migrated yet) through SQLAlchemy: slower."""
    from quotawarden.interfaces.quickstore import database_url, read_config
    from quotawarden.logs_db import LogDb
    from quotawarden.store import open_store
    from quotawarden.store import samples as samples_q

    store = open_store(database_url(read_config(None)))
    try:
        if fresh:
            samples_q.write_samples(store, fresh)
        windows = {s.window: (s.effective_ratio, s.resets_at.timestamp() if s.resets_at else None)
                   for s in samples_q.latest(store, [ACCOUNT])
                   if s.window in ("5h", "7d") and s.effective_ratio is not None}
        db = LogDb(store.engine.raw_connection, store.dialect, "", now)
        try:
            today, burn = db.cost_since(now - now % 86400, now - 3600)
        finally:
            db.close()
        return windows, today, burn  # type: ignore[return-value]
    finally:
        store.close()
