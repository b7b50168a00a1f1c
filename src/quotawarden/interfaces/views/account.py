"""One account over time: utilisation per window with resets marked, the burn-rate projection, samples by source,
and the provider anomalies found on it."""

from __future__ import annotations

import itertools
from collections import Counter
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from quotawarden.interfaces.views import alerts as alerts_v
from quotawarden.interfaces.views import evidence as evidence_v
from quotawarden.interfaces.views import overview as overview_v
from quotawarden.interfaces.views._common import iso, parse_iso

if TYPE_CHECKING:
    from quotawarden.app.service import Service

RANGES = {"24h": timedelta(hours=24), "7d": timedelta(days=7), "30d": timedelta(days=30)}
MAX_POINTS = 600
RESET_DROP = 0.05


def _thin(points: list[list[float]], limit: int = MAX_POINTS) -> list[list[float]]:
    if len(points) <= limit:
        return points
    step = len(points) / limit
    kept = [points[int(i * step)] for i in range(limit)]
    return [*kept[:-1], points[-1]]


def _resets(samples: list[Any]) -> list[float]:
    """Where a window reset: usage fell, or a sample came after the previous sample's stated reset time."""
    marks = []
    for prev, cur in itertools.pairwise(samples):
        pr, cr = prev.effective_ratio, cur.effective_ratio
        dropped = pr is not None and cr is not None and cr < pr - RESET_DROP
        passed = prev.resets_at is not None and cur.observed_at >= prev.resets_at
        if dropped or passed:
            marks.append((prev.resets_at if passed and prev.resets_at else cur.observed_at).timestamp())
    return marks


def _projection(window: dict[str, Any], last: list[float] | None) -> list[list[float]]:
    """From the latest point along the burn rate to exhaustion, or to the reset when that comes first."""
    rate = window.get("burn_rate_per_hour")
    if last is None or rate is None or rate <= 0:
        return []
    t0, r0 = last
    exhaust = parse_iso(window.get("exhausts_at"))
    t_full = exhaust.timestamp() if exhaust else t0 + max(1.0 - r0, 0) / rate * 3600
    reset = parse_iso(window.get("resets_at"))
    t_end = min(t_full, reset.timestamp()) if reset else t_full
    t_end = min(t_end, t0 + 30 * 86400)
    return [[t0, r0], [t_end, min(r0 + rate * (t_end - t0) / 3600, 1.0)]]


def detail(svc: Service, account_id: str, range_: str = "7d") -> dict[str, Any]:
    if range_ not in RANGES:
        raise ValueError(f"range must be one of {', '.join(RANGES)}, not {range_!r}")
    if account_id not in {a.id for a in svc.accounts()}:
        raise alerts_v.NotFound(f"no account {account_id!r}")
    report = svc.status_report([account_id])
    account = report["accounts"][0]
    now = svc.now()
    since = now - RANGES[range_]
    samples = svc.samples(account_id, since=since)
    by_window: dict[str, list[Any]] = {}
    for s in samples:
        by_window.setdefault(s.window, []).append(s)
    windows = {w["name"]: w for w in account["windows"]}
    series = []
    for name in sorted(set(by_window) | set(windows)):
        items = by_window.get(name, [])
        pts = [[s.observed_at.timestamp(), s.effective_ratio] for s in items if s.effective_ratio is not None]
        w = windows.get(name, {"name": name})
        series.append({
            "window": name, "unit": items[-1].unit.value if items else w.get("unit"), "status": w.get("status"),
            "points": _thin(pts), "resets": _resets(items), "projection": _projection(w, pts[-1] if pts else None),
            "burn_rate_per_hour": w.get("burn_rate_per_hour"), "exhausts_at": w.get("exhausts_at"),
            "resets_at": w.get("resets_at"), "samples": len(items),
        })
    sources = Counter(s.source.value for s in samples)
    events = [{"at": iso(e.at), "actor": e.actor, "action": e.action, "detail": e.detail}
              for e in svc.audit_events(500) if e.subject == account_id][:50]
    return {
        "account": account, "range": range_, "since": since.timestamp(), "until": now.timestamp(),
        "series": series, "sources": dict(sorted(sources.items())), "events": events,
        "alerts": [a for a in alerts_v.list_alerts(svc) if a.get("account_id") == account_id][:50],
        "anomalies": evidence_v.rows(svc, account_id),
        "local_health": overview_v.local_health(account) if overview_v.quota_free(svc, account["provider"]) else None,
    }
