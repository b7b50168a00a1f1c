"""Usage reports (daily, weekly, monthly, session, 5-hour blocks) over the hourly roll-up of agent-log usage.

Pure: roll-up rows in (tuples in ``ROW_FIELDS`` order, from ``store.logs_sql.LogDb.report_rows``), plain dicts
out, ``now`` passed in. The JSON uses ccusage 20's shape and field names (``{"daily": [...], "totals": {...}}``,
``period``, ``inputTokens``, ..., ``modelBreakdowns``) so its scripts keep working; extra fields are additive. A
cost that contains events with no known price carries ``unknownCostEvents`` > 0: the dollar figure then covers
only the priced events.

Rows are assigned to a local date by their first event time inside the hour, which is exact for every zone with
whole-hour offsets (a half-hour zone can move up to 30 minutes of usage across midnight).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal, NamedTuple
from zoneinfo import ZoneInfo

Kind = Literal["daily", "weekly", "monthly", "session", "blocks"]
CostMode = Literal["auto", "calculate", "display"]
BLOCK_S = 5 * 3600


class Row(NamedTuple):
    """One roll-up row (``store.logs_sql.REPORT_COLUMNS``)."""

    hour_ts: float
    consumer: str | None
    host: str | None
    project: str | None
    session: str | None
    model: str
    events: int
    input_tokens: int
    output_tokens: int
    cache_write_tokens: int
    cache_read_tokens: int
    reasoning_tokens: int
    cost_calc: float
    unknown_calc: int
    cost_recorded: float
    cost_auto: float
    unknown_auto: int
    first_ts: float
    last_ts: float


ROW_FIELDS = Row._fields
_COST_COL = {"auto": ("cost_auto", "unknown_auto"), "calculate": ("cost_calc", "unknown_calc"),
             "display": ("cost_recorded", None)}


@dataclass(frozen=True)
class ReportQuery:
    kind: Kind = "daily"
    since: date | None = None
    until: date | None = None
    source: str | None = None
    project: str | None = None
    host: str | None = None
    timezone: str = "UTC"
    cost_mode: CostMode = "auto"
    breakdown: bool = False
    by_host: bool = False


class _Acc:
    __slots__ = ("cache_create", "cache_read", "cost", "events", "first", "hosts", "inp", "last", "models", "out",
                 "projects", "reasoning", "unknown")

    def __init__(self) -> None:
        self.inp = self.out = self.cache_create = self.cache_read = self.reasoning = self.events = self.unknown = 0
        self.cost = 0.0
        self.first = float("inf")
        self.last = 0.0
        self.models: dict[str, _Acc] = {}
        self.hosts: dict[str, _Acc] = {}
        self.projects: set[str] = set()

    def add(self, r: Any, cost: float, unknown: int, deep: bool = True) -> None:
        self.inp += r.input_tokens
        self.out += r.output_tokens
        self.cache_create += r.cache_write_tokens
        self.cache_read += r.cache_read_tokens
        self.reasoning += r.reasoning_tokens
        self.cost += cost
        self.unknown += unknown
        self.events += r.events
        if r.first_ts < self.first:
            self.first = r.first_ts
        if r.last_ts > self.last:
            self.last = r.last_ts
        if deep:
            _child(self.models, r.model).add(r, cost, unknown, False)
            _child(self.hosts, r.host or "").add(r, cost, unknown, False)
            if r.project:
                self.projects.add(r.project)

    @property
    def total(self) -> int:
        return self.inp + self.out + self.cache_create + self.cache_read

    def tokens(self) -> dict[str, Any]:
        """ccusage's token fields. ``outputTokens`` leaves reasoning out (it is in ``reasoningTokens``, an
        additive field); ``totalTokens`` counts it once."""
        return {"inputTokens": self.inp, "outputTokens": self.out - self.reasoning,
                "cacheCreationTokens": self.cache_create, "cacheReadTokens": self.cache_read,
                "reasoningTokens": self.reasoning, "totalTokens": self.total}

    def item(self, period: str, q: ReportQuery) -> dict[str, Any]:
        d: dict[str, Any] = {"period": period, **self.tokens(), "totalCost": float(self.cost),
                             "modelsUsed": sorted(m for m in self.models if m),
                             "modelBreakdowns": [
                                 {"modelName": m, **{k: v for k, v in a.tokens().items() if k != "totalTokens"},
                                  "cost": float(a.cost), "unknownCostEvents": a.unknown}
                                 for m, a in sorted(self.models.items(), key=lambda kv: -kv[1].cost)],
                             "unknownCostEvents": self.unknown, "events": self.events}
        if q.by_host:
            d["hostBreakdowns"] = [{"host": h or None, **a.tokens(), "cost": float(a.cost)}
                                   for h, a in sorted(self.hosts.items())]
        return d


def _child(accs: dict[str, _Acc], key: str) -> _Acc:
    acc = accs.get(key)
    if acc is None:
        acc = accs[key] = _Acc()
    return acc


def _keep(r: Any, q: ReportQuery) -> bool:
    if q.source and q.source != "otel" and r.consumer != q.source:  # otel: rows already chosen by their source
        return False
    if q.project and (not r.project or q.project not in r.project):
        return False
    return not (q.host and r.host != q.host)


def _period(kind: Kind, d: date) -> str:
    if kind == "weekly":
        return (d - timedelta(days=d.weekday())).isoformat()
    if kind == "monthly":
        return d.strftime("%Y-%m")
    return d.isoformat()


def build(rows: Iterable[Sequence[Any]], q: ReportQuery, now: datetime) -> dict[str, Any]:
    """Rows: the per-session roll-up for ``session`` reports, the one without sessions for the others."""
    tz = ZoneInfo(q.timezone)
    col, unknown_col = _COST_COL[q.cost_mode]
    make = Row._make
    kept = [r for r in map(make, rows) if _keep(r, q)]
    if q.kind == "blocks":
        return blocks(kept, q, now, col, unknown_col)
    groups: dict[str, _Acc] = {}
    totals = _Acc()
    for r in kept:
        day = datetime.fromtimestamp(r.first_ts, tz).date()
        if (q.since and day < q.since) or (q.until and day > q.until):
            continue
        key = (r.session or "") if q.kind == "session" else _period(q.kind, day)
        cost, unknown = float(getattr(r, col) or 0), getattr(r, unknown_col) if unknown_col else 0
        groups.setdefault(key, _Acc()).add(r, cost, unknown)
        totals.add(r, cost, unknown, False)
    items = []
    for key, acc in sorted(groups.items(), key=lambda kv: kv[1].last if q.kind == "session" else kv[0]):
        item = acc.item(key, q)
        if q.kind == "daily":
            item["date"] = key
        elif q.kind == "weekly":
            item["week"] = key
        elif q.kind == "monthly":
            item["month"] = key
        else:
            item["sessionId"] = key
            item["projectPath"] = sorted(acc.projects)[0] if acc.projects else None
            item["lastActivity"] = _iso(acc.last)
        items.append(item)
    return {q.kind: items, "totals": {**totals.tokens(), "totalCost": float(totals.cost),
                                      "unknownCostEvents": totals.unknown}}


def blocks(rows: Sequence[Any], q: ReportQuery, now: datetime, col: str, unknown_col: str | None) -> dict[str, Any]:
    """ccusage's 5-hour billing blocks (its ``blocks --json`` shape, ``_session-blocks.ts`` / ``blocks.rs``): a block
    starts at the hour of its first event and ends 5 h later, or earlier when 5 h pass without activity; such a
    pause becomes a gap block (``isGap``) from 5 h after the last event to the next one. Rows are hourly
    roll-ups, so a block boundary falls on the hour row that crosses it."""
    out: list[dict[str, Any]] = []
    cur: _Acc | None = None
    start = 0.0
    now_ts = now.timestamp()
    totals = _Acc()
    for r in sorted(rows, key=lambda r: r.first_ts):
        if cur is None or r.first_ts >= start + BLOCK_S or r.first_ts - cur.last > BLOCK_S:
            if cur is not None:
                out.append(_block(cur, start, now_ts, q))
                if r.first_ts - cur.last > BLOCK_S:
                    out.append(_gap(cur.last + BLOCK_S, r.first_ts, q))
            cur, start = _Acc(), float(int(r.first_ts // 3600) * 3600)
        cost, unknown = float(getattr(r, col) or 0), getattr(r, unknown_col) if unknown_col else 0
        cur.add(r, cost, unknown)
        totals.add(r, cost, unknown, False)
    if cur is not None:
        out.append(_block(cur, start, now_ts, q))
    if q.since or q.until:
        tz = ZoneInfo(q.timezone)
        out = [b for b in out if (not q.since or datetime.fromtimestamp(b["_start"], tz).date() >= q.since)
               and (not q.until or datetime.fromtimestamp(b["_start"], tz).date() <= q.until)]
    for b in out:
        b.pop("_start")
    return {"blocks": out, "totals": {**totals.tokens(), "totalCost": float(totals.cost),
                                      "unknownCostEvents": totals.unknown}}


def _block_fields(acc: _Acc, block_id: str, start: float, end: float, last: float | None, active: bool,
                  gap: bool) -> dict[str, Any]:
    """ccusage's block fields, in its order."""
    return {"id": block_id, "startTime": _iso(start), "endTime": _iso(end),
            "actualEndTime": None if last is None else _iso(last), "isActive": active, "isGap": gap,
            "entries": acc.events,
            "tokenCounts": {"inputTokens": acc.inp, "outputTokens": acc.out - acc.reasoning,
                            "cacheCreationInputTokens": acc.cache_create, "cacheReadInputTokens": acc.cache_read,
                            "reasoningTokens": acc.reasoning},
            "totalTokens": acc.total, "costUSD": float(acc.cost), "models": list(acc.models),
            "burnRate": None, "projection": None}


def _block(acc: _Acc, start: float, now_ts: float, q: ReportQuery) -> dict[str, Any]:
    end = start + BLOCK_S
    active = now_ts - acc.last < BLOCK_S and now_ts < end
    item = _ccusage_first(_block_fields(acc, _iso(start), start, end, acc.last, active, False),
                          acc.item(_iso(start), q), start)
    minutes = (acc.last - acc.first) / 60
    if active and minutes > 0:
        per_min = acc.total / minutes
        per_hour = float(acc.cost) / minutes * 60
        left_min = float(round((end - now_ts) / 60))
        item["burnRate"] = {"tokensPerMinute": per_min,
                            "tokensPerMinuteForIndicator": (acc.inp + acc.out - acc.reasoning) / minutes,
                            "costPerHour": per_hour}
        item["projection"] = {"totalTokens": round(acc.total + per_min * left_min),
                              "totalCost": round((float(acc.cost) + per_hour / 60 * left_min) * 100) / 100,
                              "remainingMinutes": int(left_min)}
    return item


def _gap(start: float, end: float, q: ReportQuery) -> dict[str, Any]:
    empty = _Acc()
    return _ccusage_first(_block_fields(empty, f"gap-{_iso(start)}", start, end, None, False, True),
                          empty.item(_iso(start), q), start)


def _ccusage_first(fields: dict[str, Any], own: dict[str, Any], start: float) -> dict[str, Any]:
    """ccusage's fields in its order, then quotawarden's own (``period``, ``modelBreakdowns``, ... for the table)."""
    return {**fields, **{k: v for k, v in own.items() if k not in fields}, "_start": start}


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
