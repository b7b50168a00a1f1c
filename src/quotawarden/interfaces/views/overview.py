"""The overview: per provider health, capacity and trend; warnings; next resets; next rotation; cost this month;
a 24-hour sparkline per account; local tools (no quota) with their own health only."""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from quotawarden.interfaces.views import alerts as alerts_v
from quotawarden.interfaces.views import money as money_v
from quotawarden.interfaces.views._common import human, seconds_until
from quotawarden.spec import QUOTA_FREE_KINDS

if TYPE_CHECKING:
    from quotawarden.app.service import Service

_RANK = {"UNKNOWN": 0, "GREEN": 1, "YELLOW": 2, "RED": 3}
SPARK_HOURS, SPARK_POINTS = 24, 48
TREND_EPSILON = 0.01
"""A worst-window change smaller than one point of utilisation per hour counts as flat."""


def quota_free(svc: Service, provider: str) -> bool:
    """True for a local server or tool: nothing to run out of, so never a quota colour."""
    spec = svc.plugins.providers.get(provider)
    return spec is not None and spec.kind in QUOTA_FREE_KINDS


def local_health(account: dict[str, Any]) -> str:
    """A quota-free account's own health: ``answering`` when its last check got an answer."""
    return "answering" if account.get("outcome") == "OK" else "not answering"


def capacity_rows(providers_: list[dict[str, Any]], accounts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per provider, what each account with a known ratio has left (0..1), for the stacked capacity chart."""
    by_id = {a["id"]: a for a in accounts}
    rows = []
    for p in providers_:
        accs = [by_id[i] for i in p["accounts"] if by_id[i]["worst_ratio"] is not None]
        rows.append({"provider": p["provider"], "accounts": [
            {"id": a["id"], "left": 1 - min(a["worst_ratio"], 1.0), "status": a["status"]} for a in accs]})
    return rows


def worst_ratio(account: dict[str, Any]) -> float | None:
    ratios = [w["used_ratio"] for w in account["windows"] if w["used_ratio"] is not None]
    return max(ratios, default=None)


def account_trend(svc: Service, account: dict[str, Any]) -> str:
    """``up`` (using more), ``down`` or ``flat``: the burn rate when known, else the last hour's change."""
    rates = [w["burn_rate_per_hour"] for w in account["windows"] if w.get("burn_rate_per_hour") is not None]
    if rates:
        rate = max(rates)
    else:
        rate = _hourly_change(svc, account)
        if rate is None:
            return "flat"
    return "up" if rate > TREND_EPSILON else "down" if rate < -TREND_EPSILON else "flat"


def _hourly_change(svc: Service, account: dict[str, Any]) -> float | None:
    now = svc.now()
    worst = max((w for w in account["windows"] if w["used_ratio"] is not None),
                key=lambda w: w["used_ratio"], default=None)
    if worst is None:
        return None
    hist = svc.samples(account["id"], worst["name"], since=now - timedelta(hours=1))
    ratios = [(s.observed_at, s.effective_ratio) for s in hist if s.effective_ratio is not None]
    if len(ratios) < 2 or ratios[-1][1] < ratios[0][1]:  # a reset inside the hour says nothing about the trend
        return None
    hours = max((ratios[-1][0] - ratios[0][0]).total_seconds() / 3600, 1 / 60)
    return (ratios[-1][1] - ratios[0][1]) / hours


def providers(svc: Service, accounts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for a in accounts:
        groups[a["provider"]].append(a)
    out = []
    for provider, accs in sorted(groups.items()):
        ratios = [r for r in (worst_ratio(a) for a in accs) if r is not None]
        trends = [account_trend(svc, a) for a in accs]
        trend = "up" if "up" in trends else "down" if trends and all(t == "down" for t in trends) else "flat"
        out.append({
            "provider": provider, "total": len(accs), "healthy": sum(a["status"] == "GREEN" for a in accs),
            "worst": max((a["status"] for a in accs), key=lambda s: _RANK[s]),
            "capacity_left": (1 - sum(min(r, 1.0) for r in ratios) / len(ratios)) if ratios else None,
            "trend": trend, "accounts": [a["id"] for a in accs],
        })
    return out


def next_resets(accounts: list[dict[str, Any]], now: Any, limit: int = 8) -> list[dict[str, Any]]:
    rows = []
    for a in accounts:
        for w in a["windows"]:
            secs = seconds_until(w["resets_at"], now)
            if secs is not None and secs > 0:
                rows.append({"account": a["id"], "window": w["name"], "resets_at": w["resets_at"],
                             "in_s": secs, "in": human(secs), "used_ratio": w["used_ratio"]})
    return sorted(rows, key=lambda r: r["in_s"])[:limit]


def next_rotation(svc: Service, accounts: list[dict[str, Any]], local: frozenset[str] = frozenset()
                  ) -> list[dict[str, Any]]:
    """Per pool (or provider, for accounts in no pool): the account to use next and the ones to avoid. A pool of
    ``local`` (quota-free) accounts only is left out: the local tools list says whether they answer."""
    if rotations := svc.rotation():
        members = [{x.account_id for x in r.ranked} | {acc for acc, _ in r.skipped} for r in rotations]
        rotations = [r for r, m in zip(rotations, members, strict=True) if not m or not m <= local]
        return [{"pool": r.pool, "use": r.ranked[0].account_id if r.ranked else None,
                 "then": [x.account_id for x in r.ranked[1:3]], "avoid": [acc for acc, _ in r.skipped],
                 "reason": r.ranked[0].reason if r.ranked else "; ".join(f"{a}: {why}" for a, why in r.skipped)}
                for r in rotations]
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for a in accounts:
        groups[a.get("pool") or a["provider"]].append(a)
    out = []
    for pool, accs in sorted(groups.items()):
        usable = sorted((a for a in accs if a["status"] in ("GREEN", "YELLOW")),
                        key=lambda a: (_RANK[a["status"]], worst_ratio(a) or 0.0))
        out.append({"pool": pool, "use": usable[0]["id"] if usable else None,
                    "then": [a["id"] for a in usable[1:3]],
                    "avoid": [a["id"] for a in accs if a["status"] == "RED"]})
    return out


def warnings(accounts: list[dict[str, Any]], open_alerts: list[dict[str, Any]],
             services: dict[str, dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    seen = set()
    out: list[dict[str, Any]] = [
        {"severity": "critical" if page["state"] == "major_outage" else "warning", "account": provider,
         "message": f"{provider} status page: {page['description'] or page['state']}", "action": ""}
        for provider, page in (services or {}).items() if page["state"] not in ("operational", "unknown")]
    for al in open_alerts:
        seen.add(al.get("account_id"))
        out.append({"severity": al["severity"], "account": al.get("account_id"), "message": al["message"],
                    "action": al.get("action", "")})
    for a in accounts:
        if a["status"] in ("RED", "YELLOW") and a["id"] not in seen:
            out.append({"severity": "critical" if a["status"] == "RED" else "warning", "account": a["id"],
                        "message": a["reason"], "action": ""})
    return out


def overview(svc: Service) -> dict[str, Any]:
    report = svc.status_report()
    now = svc.now()
    local, accounts = [], []
    for a in report["accounts"]:
        if quota_free(svc, a["provider"]):
            local.append({**a, "health": local_health(a)})
        else:
            a["worst_ratio"] = worst_ratio(a)
            accounts.append(a)
    history = svc.worst_window_history(SPARK_HOURS, SPARK_POINTS, [a["id"] for a in accounts])
    for a in accounts:
        a["spark"] = history.get(a["id"], [])
    overall = {k: sum(a["status"] == k for a in accounts) for k in report["overall"]}
    open_alerts = alerts_v.list_alerts(svc, "open")
    by_provider = providers(svc, accounts)
    return {
        "generated_at": report["generated_at"], "overall": overall, "accounts": accounts, "local": local,
        "providers": by_provider, "capacity": capacity_rows(by_provider, accounts),
        "warnings": warnings(accounts, open_alerts, report.get("services")),
        "next_resets": next_resets(accounts, now),
        "rotation": next_rotation(svc, accounts, frozenset(a["id"] for a in local)),
        "forecast": money_v.forecast(svc), "open_alerts": len(open_alerts), "spark_hours": SPARK_HOURS,
    }
