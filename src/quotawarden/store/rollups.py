"""Pruning: raw samples older than ``keep_raw_days`` become hourly roll-ups (kept for ever), then go."""

from __future__ import annotations

from typing import Any

from quotawarden.store import db
from quotawarden.store._sql import chunks
from quotawarden.store.engine import Store

_BATCH = 20000
_KEYS_PER_QUERY = 3000
"""Roll-up keys (three values each) looked up per statement: well under SQLite's 32,766 bound values."""
_IDS_PER_QUERY = 10000

ROLLUP_COLS = ("account_id", "window", "hour_ts", "unit", "n", "used_ratio_max", "used_ratio_last", "used_last",
               "remaining_last", "limit_last", "resets_ts_last")
"""Every column of ``sample_rollups``, in the table's order (the keys of :func:`rollups`' dicts)."""
_QUOTED = ", ".join(f'"{c}"' for c in ROLLUP_COLS)
_ROLLUP_SELECT = f"SELECT {_QUOTED} FROM sample_rollups"
_ROLLUP_INSERT = f"INSERT INTO sample_rollups ({_QUOTED}) VALUES ({', '.join(':' + c for c in ROLLUP_COLS)})"
_SAMPLES = ('SELECT id, account_id, "window", observed_ts, unit, used_ratio, used, remaining, "limit", resets_ts '
            "FROM samples WHERE observed_ts < :cutoff ORDER BY id LIMIT :batch")


def _merge(acc: dict[str, Any], r: Any) -> None:
    ratio = r.used_ratio
    if ratio is None and r.limit:
        base = r.used if r.used is not None else (r.limit - r.remaining if r.remaining is not None else None)
        ratio = None if base is None else base / r.limit
    acc["n"] += 1
    if ratio is not None:
        acc["used_ratio_max"] = ratio if acc["used_ratio_max"] is None else max(acc["used_ratio_max"], ratio)
    if r.observed_ts >= acc["_last"]:
        acc.update(_last=r.observed_ts, used_ratio_last=ratio, used_last=r.used, remaining_last=r.remaining,
                   limit_last=r.limit, resets_ts_last=r.resets_ts)


def _existing(conn: db.Conn, keys: list[tuple[str, str, float]]) -> dict[tuple[str, str, float], Any]:
    """The stored roll-ups of these (account id, window, hour) keys."""
    out: dict[tuple[str, str, float], Any] = {}
    for part in chunks(keys, _KEYS_PER_QUERY):
        params: dict[str, Any] = {}
        tuples = ", ".join(f"(:a{i}, :w{i}, :h{i})" for i in range(len(part)))
        for i, (a, w, h) in enumerate(part):
            params.update({f"a{i}": a, f"w{i}": w, f"h{i}": h})
        for e in conn.execute(f'{_ROLLUP_SELECT} WHERE (account_id, "window", hour_ts) IN (VALUES {tuples})', params):
            out[(e.account_id, e.window, e.hour_ts)] = e
    return out


def prune(store: Store, cutoff_ts: float) -> tuple[int, int]:
    """Roll up and delete samples observed before ``cutoff_ts``; returns (samples removed, roll-ups written)."""
    removed = written = 0
    while True:
        with store.begin() as conn:
            rows = conn.rows(_SAMPLES, {"cutoff": cutoff_ts, "batch": _BATCH})
            if not rows:
                return removed, written
            groups: dict[tuple[str, str, float], dict[str, Any]] = {}
            for r in rows:
                key = (r.account_id, r.window, float(int(r.observed_ts // 3600) * 3600))
                acc = groups.setdefault(key, {"unit": r.unit, "n": 0, "used_ratio_max": None, "_last": -1.0})
                _merge(acc, r)
            existing = _existing(conn, list(groups))
            replaced, new = [], []
            for key, acc in groups.items():
                old = existing.get(key)
                row = {k: v for k, v in acc.items() if not k.startswith("_")}
                if old is not None:
                    row["n"] += old.n
                    if old.used_ratio_max is not None:
                        row["used_ratio_max"] = max(old.used_ratio_max, row["used_ratio_max"] or 0.0)
                    replaced.append({"a": key[0], "w": key[1], "h": key[2]})
                new.append({"account_id": key[0], "window": key[1], "hour_ts": key[2], **row})
            if replaced:
                conn.executemany('DELETE FROM sample_rollups WHERE account_id = :a AND "window" = :w '
                                 "AND hour_ts = :h", replaced)
            conn.executemany(_ROLLUP_INSERT, new)
            written += len(new)
            for ids in chunks([r.id for r in rows], _IDS_PER_QUERY):
                params: dict[str, Any] = {}
                conn.execute(f"DELETE FROM samples WHERE id IN {db.in_list('id', ids, params)}", params)
            removed += len(rows)


def rollups(store: Store, account_id: str, window: str | None = None) -> list[dict[str, Any]]:
    params: dict[str, Any] = {"a": account_id}
    where = "account_id = :a"
    if window:
        where, params["w"] = where + ' AND "window" = :w', window
    with store.connect() as conn:
        return [dict(zip(ROLLUP_COLS, r, strict=True))
                for r in conn.execute(f"{_ROLLUP_SELECT} WHERE {where} ORDER BY hour_ts", params)]
