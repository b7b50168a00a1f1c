"""The daily audit: findings as plain :class:`~quotawarden.domain.Alert` values, and the report that gathers them.

Report shape (YAML by default, ``account-audit-YYYY-MM-DD.yaml``)::

    summary:            counts by health, spend to date and month-end forecast
    alerts:             severity, account, window, message, action_required
    account_details:    per account: status, reason, last used, per window used/remaining/burn/exhaustion/reset
    recommendations:    priority, kind, subject, action, rationale
    historical_trends:  weekly peaks, daily cost, anomalies
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from quotawarden.analysis.anomaly import Anomaly
from quotawarden.analysis.cost import BudgetStatus, Forecast
from quotawarden.analysis.cycles import Waste, waste_json
from quotawarden.analysis.fairness import Fairness
from quotawarden.analysis.schedule import Underspend, WeekStat
from quotawarden.analysis.status import AccountStatus, overall
from quotawarden.analysis.tiers import Advice
from quotawarden.domain import Alert, Health, Severity


@dataclass
class AuditInputs:
    statuses: Sequence[AccountStatus]
    now: datetime
    forecast: Forecast | None = None
    budgets: Sequence[BudgetStatus] = ()
    tiers: Sequence[Advice] = ()
    underspend: Sequence[Underspend] = ()
    weekly: Sequence[WeekStat] = ()
    anomalies: Sequence[Anomaly] = ()
    daily_cost: Sequence[tuple[str, float]] = ()
    last_used: Mapping[str, datetime] = field(default_factory=dict)
    fairness: Fairness | None = None
    rotation: Sequence[dict[str, Any]] = ()
    waste: Waste | None = None
    quota_free: Sequence[str] = ()
    """Accounts of local servers and tools (no quota): listed apart, never counted as quota accounts."""


def _iso(d: datetime | None) -> str | None:
    return None if d is None else d.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def findings(inp: AuditInputs) -> list[Alert]:
    """Everything worth telling someone about, as alerts (the actions stage dedups and delivers them)."""
    out: list[Alert] = []
    for st in inp.statuses:
        for w in st.windows:
            if w.status in (Health.RED, Health.YELLOW):
                sev = Severity.CRITICAL if w.status is Health.RED else Severity.WARNING
                exhausting = w.exhausts_at is not None
                action = ("rotate to another account or slow down before it runs out" if exhausting
                          else "switch traffic away until the reset" if w.status is Health.RED
                          else "watch; consider moving heavy work elsewhere")
                out.append(Alert(f"health:{st.account.id}:{w.name}", sev, f"{st.account.display}: {w.reason}",
                                 action, st.account.id, w.name, "exhaustion" if exhausting else "health"))
        if not st.windows and st.status is Health.RED:
            out.append(Alert(f"health:{st.account.id}", Severity.CRITICAL, f"{st.account.display}: {st.reason}",
                             "check the credential or the account", st.account.id, None, "account"))
    for b in inp.budgets:
        if b.state != "ok":
            sev = Severity.CRITICAL if b.state in ("over", "breach") else Severity.WARNING
            out.append(Alert(f"budget:{b.budget.name}", sev, b.message,
                             "cut spend or raise the budget" + (" (hard: the proxy refuses over it)"
                                                                if b.budget.hard else ""), kind="budget"))
    for a in inp.anomalies:
        out.append(Alert(f"anomaly:{a.kind}:{a.subject}:{int(a.at.timestamp())}", Severity.INFO if
                         a.kind == "new_model" else Severity.WARNING, a.message, "check who or what caused it",
                         kind="anomaly"))
    return out


def recommendations(inp: AuditInputs) -> list[dict[str, Any]]:
    recs: list[dict[str, Any]] = []
    for t in inp.tiers:
        if t.action in ("downgrade", "upgrade", "switch_to_api"):
            recs.append({"priority": "high" if t.action == "upgrade" else "medium", "kind": "tier",
                         "subject": t.account_id, "action": f"{t.action} {t.current} -> {t.plan}",
                         "monthly_saving_usd": round(t.monthly_saving, 2), "confidence": t.confidence,
                         "rationale": t.rationale})
    if inp.waste is not None:
        for a in inp.waste.accounts:
            if a.avoidable_overage_usd >= 0.01:
                recs.append({"priority": "medium", "kind": "overage", "subject": a.id,
                             "action": "route this traffic to included capacity first",
                             "rationale": f"${a.avoidable_overage_usd:,.2f} of ${a.paid_usd:,.2f} paid on {a.id} "
                                          "while an included window had headroom"})
    for u in inp.underspend:
        recs.append({"priority": "medium", "kind": "underspend", "subject": f"{u.account_id}/{u.window}",
                     "action": "schedule heavy work on this account now", "rationale": u.message})
    for r in inp.rotation:
        if r.get("best"):
            recs.append({"priority": "low", "kind": "rotation", "subject": r["pool"],
                         "action": f"route pool {r['pool']} to {r['best']}", "rationale": r["reason"]})
    if inp.fairness:
        for c in inp.fairness.consumers:
            if c.advice == "throttle":
                recs.append({"priority": "high", "kind": "fairness", "subject": c.consumer,
                             "action": "throttle", "rationale": c.reason})
    order = {"high": 0, "medium": 1, "low": 2}
    return sorted(recs, key=lambda r: order[r["priority"]])


def _window(w: Any, now: datetime) -> dict[str, Any]:
    s = w.sample
    ratio = s.effective_ratio
    exh = w.exhausts_at
    return {
        "window": s.window, "used_pct": None if ratio is None else round(ratio * 100, 1),
        "used": s.used, "remaining": s.remaining, "limit": s.limit, "unit": s.unit.value,
        "burn_rate_pct_per_hour": None if w.burn_rate_per_hour is None else round(w.burn_rate_per_hour * 100, 2),
        "burn_samples": w.extra.get("burn_samples", 0),
        "days_to_exhaustion": None if exh is None else round((exh - now).total_seconds() / 86400, 2),
        "exhausts_at": _iso(exh), "reset_date": _iso(s.resets_at), "projection": w.extra.get("projection"),
        "status": w.status.value,
    }


def _waste_summary(w: dict[str, Any]) -> dict[str, Any]:
    """The waste report with each window's cycles counted rather than listed (``analyze waste`` lists them): a
    5-hour window resets 144 times a month."""
    for a in w["accounts"]:
        for x in a["windows"]:
            cs = x.pop("cycles")
            x["cycles"] = len(cs)
            x["last_cycle"] = cs[-1] if cs else None
    return w


def build(inp: AuditInputs) -> dict[str, Any]:
    now = inp.now
    free = set(inp.quota_free)
    quota = [st for st in inp.statuses if st.account.id not in free]
    counts = overall(quota)
    alerts = findings(inp)
    summary: dict[str, Any] = {
        "total_accounts": len(quota), "healthy": counts["GREEN"], "warning": counts["YELLOW"],
        "critical": counts["RED"], "unknown": counts["UNKNOWN"], "local_tools": len(inp.statuses) - len(quota),
        "alerts": len([a for a in alerts if a.severity is not Severity.INFO]),
    }
    waste = _waste_summary(waste_json(inp.waste)) if inp.waste is not None else None
    if waste is not None:
        summary["wasted_ratio"] = waste["wasted_ratio"]
        summary["avoidable_overage_usd"] = waste["avoidable_overage_usd"]
    if inp.forecast:
        f = inp.forecast
        summary["spend_month_to_date_usd"] = float(f.to_date)
        summary["forecast_month_end_usd"] = {"expected": float(f.expected), "low": float(f.low),
                                             "high": float(f.high), "interval": "90%"}
    return {
        "report_date": now.strftime("%Y-%m-%d"), "generated_at": _iso(now), "summary": summary,
        "alerts": [{"severity": a.severity.value, "kind": a.kind, "account": a.account_id, "window": a.window,
                    "message": a.message, "action_required": a.action} for a in alerts],
        "account_details": [{
            "account": st.account.id, "provider": st.account.provider, "plan": st.account.plan,
            "status": "LOCAL" if st.account.id in free else st.status.value, "reason": st.reason,
            "last_used": _iso(inp.last_used.get(st.account.id)),
            "windows": [_window(w, now) for w in st.windows],
        } for st in inp.statuses],
        "recommendations": recommendations(inp),
        "historical_trends": {
            "weekly": [{"account": w.account_id, "window": w.window, "week": w.week,
                        "peak_pct": round(w.peak_ratio * 100, 1), "mean_pct": round(w.mean_ratio * 100, 1),
                        "exhaustion_events": w.exhaustion_events} for w in inp.weekly],
            "daily_cost_usd": [{"date": d, "cost": round(c, 2)} for d, c in inp.daily_cost],
            "anomalies": [{"kind": a.kind, "subject": a.subject, "at": _iso(a.at), "message": a.message}
                          for a in inp.anomalies],
            **({"waste": waste} if waste is not None else {}),
        },
    }


def render(report: Mapping[str, Any], fmt: str = "yaml") -> str:
    if fmt == "json":
        return json.dumps(report, indent=2, default=str) + "\n"
    if fmt == "yaml":
        import yaml

        return str(yaml.safe_dump(dict(report), sort_keys=False, allow_unicode=True, width=110))
    if fmt == "md":
        return markdown(report)
    raise ValueError(f"unknown format {fmt!r} (yaml, json, md)")


def markdown(r: Mapping[str, Any]) -> str:
    s = r["summary"]
    lines = [f"# Account audit {r['report_date']}", "",
             f"{s['total_accounts']} accounts: {s['healthy']} healthy, {s['warning']} warning, "
             f"{s['critical']} critical, {s['unknown']} unknown.", ""]
    if "forecast_month_end_usd" in s:
        f = s["forecast_month_end_usd"]
        lines += [f"Spend this month: ${s['spend_month_to_date_usd']:,.2f}; month-end forecast "
                  f"${f['expected']:,.2f} (90%: ${f['low']:,.2f}-${f['high']:,.2f}).", ""]
    lines += ["## Alerts", ""]
    lines += [f"- **{a['severity']}** {a['message']} - {a['action_required']}" for a in r["alerts"]]
    lines += ["", "## Accounts", "", "| account | status | window | used | burn %/h | exhausts | resets |",
              "|---|---|---|---|---|---|---|"]
    for a in r["account_details"]:
        for w in a["windows"] or [{}]:
            lines.append(f"| {a['account']} | {a['status']} | {w.get('window', '-')} | {w.get('used_pct', '-')}% "
                         f"| {w.get('burn_rate_pct_per_hour', '-')} | {w.get('exhausts_at') or '-'} "
                         f"| {w.get('reset_date') or '-'} |")
    w = r["historical_trends"].get("waste")
    if w is not None:
        lines += ["", "## Waste", "", "| account | window | cycles | wasted at reset |", "|---|---|---|---|"]
        lines += [f"| {a['id']} | {x['name']} | {x['cycles']} | "
                  f"{'-' if x['wasted_ratio'] is None else format(x['wasted_ratio'], '.0%')} |"
                  for a in w["accounts"] for x in a["windows"]]
        lines += ["", f"Avoidable overage: ${w['avoidable_overage_usd']:,.2f} of ${w['paid_usd']:,.2f} paid on "
                      "fall-backs while included capacity had headroom."]
    lines += ["", "## Recommendations", ""] + [f"- [{x['priority']}] {x['subject']}: {x['action']} ({x['rationale']})"
                                               for x in r["recommendations"]]
    return "\n".join(lines) + "\n"
