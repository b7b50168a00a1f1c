"""``quotawarden statusline``: the command Claude Code runs for its status line (reference section 8e).

Reads the JSON Claude Code pipes to stdin, stores ``rate_limits`` as official samples of the logged-in account
(values outside 0-100 are rejected, not stored) and prints one line: model, 5h and 7d used % with time to
reset, today's cost, burn rate. With no stdin it reads the store. Imports stay lazy (no typer, rich, alembic):
it is on ``main.FAST_PATHS``.
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


def _db_url() -> str | None:
    if os.environ.get("QUOTAWARDEN_DB_URL"):
        return os.environ["QUOTAWARDEN_DB_URL"]
    import tomllib
    from pathlib import Path

    import platformdirs

    cfg = Path(os.environ.get("QUOTAWARDEN_CONFIG") or
               Path(platformdirs.user_config_dir("quotawarden")) / "config.toml")
    try:
        return tomllib.loads(cfg.read_text()).get("database", {}).get("url")
    except (OSError, tomllib.TOMLDecodeError):
        return None


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
        from sqlalchemy import func, select

        from quotawarden.store import open_store
        from quotawarden.store import samples as samples_q
        from quotawarden.store.schema_logs import usage_hourly

        store = open_store(_db_url())
        fresh = samples_from(data, now)
        if fresh:
            samples_q.write_samples(store, fresh)
        for s in samples_q.latest(store, [ACCOUNT]):
            if s.window in ("5h", "7d") and s.effective_ratio is not None:
                windows[s.window] = (s.effective_ratio, s.resets_at.timestamp() if s.resets_at else None)
        day0 = now - now % 86400
        with store.engine.connect() as conn:
            today = float(conn.execute(select(func.coalesce(func.sum(usage_hourly.c.cost_auto), 0))
                                       .where(usage_hourly.c.hour_ts >= day0)).scalar() or 0)
            last_hour = conn.execute(select(func.coalesce(func.sum(usage_hourly.c.cost_auto), 0))
                                     .where(usage_hourly.c.last_ts >= now - 3600)).scalar()
            burn = float(last_hour or 0)
        store.close()
    except Exception:  # a status line must always print something
        pass
    if not windows and isinstance(data, dict):
        for s in samples_from(data, now):
            windows[s.window] = (s.used_ratio or 0.0, s.resets_at.timestamp() if s.resets_at else None)
    sys.stdout.write(render(model, windows, today, burn, now) + "\n")
    return 0
