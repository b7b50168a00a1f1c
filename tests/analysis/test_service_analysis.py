"""The analysis use cases over a real store (SQLite and PostgreSQL) filled with known usage processes."""

from __future__ import annotations

from datetime import timedelta

import pytest
import yaml

from quotawarden.analysis.audit import render
from quotawarden.app.service import Service
from quotawarden.domain import Health, QuotaSample, Source, Unit
from quotawarden.store import samples as samples_q
from tests.conftest import NOW


def test_status_gains_burn_rates_and_projection(scripted: Service) -> None:
    report = scripted.status_report()
    by_id = {a["id"]: a for a in report["accounts"]}
    gem = by_id["gemini-free"]["windows"][0]
    # steady 5 %/h of 250 requests/day, 0.3 % sample noise
    assert gem["burn_rate_per_hour"] == pytest.approx(0.05, rel=0.1)
    assert gem["burn_units_per_hour"] == pytest.approx(12.5, rel=0.1)
    assert gem["burn_samples"] >= 10 and gem["hard_cap"] == 0.9
    assert gem["cap_reached_at"] is not None and gem["projection"].startswith("reaches its 90% cap in")
    assert gem["age_s"] is not None and gem["stale"] is False
    assert by_id["gemini-free"]["status"] == "RED"
    side = {w["name"]: w for w in by_id["claude-side"]["windows"]}
    assert side["5h"]["projection"] == "safe: resets first" and side["5h"]["exhausts_at"] is None
    assert by_id["openrouter"]["status"] == "UNKNOWN"


def test_status_burn_rate_is_exact_on_a_linear_series(store_service: Service) -> None:
    series = [QuotaSample(NOW - timedelta(minutes=5 * i), "claude-work", "5h", Unit.PERCENT, Source.PROBE,
                          used_ratio=0.5 - 0.01 * i, resets_at=NOW + timedelta(hours=3), window_length_s=18000)
              for i in range(30)]
    samples_q.write_samples(store_service.store, series)
    st = {s.account.id: s for s in store_service.status()}["claude-work"]
    w = st.windows[0]
    assert w.burn_rate_per_hour == pytest.approx(0.12)  # 1 point per 5 minutes
    # cap 80 % for claude/5h; at 50 % and 12 %/h: 2.5 h, before the reset in 3 h; 100 % only after the reset
    assert w.cap_reached_at == NOW + timedelta(hours=2.5)
    assert w.exhausts_at is None and w.extra["minutes_to_cap"] == pytest.approx(150)
    assert w.extra["burn_samples"] == 25  # the 2-hour look-back of a 5-hour window, both ends included
    assert st.status is Health.YELLOW
    assert st.reason == "5h: reaches its 80% cap in 2h30m, 30m before reset"


def test_schedule_underspend_rotation(scripted: Service) -> None:
    resets = scripted.schedule(48)
    assert [r.resets_at for r in resets] == sorted(r.resets_at for r in resets)
    assert all(r.resets_at <= NOW + timedelta(hours=48) for r in resets)
    under = scripted.underspend()
    assert [(u.account_id, u.window) for u in under] == [("claude-side", "5h")]
    (rot,) = scripted.rotation("team")
    assert rot.chain == ["team", "gemini"]
    assert rot.best is not None and rot.best.account_id == "claude-side"
    assert ("gemini-free", "RED") in rot.skipped


def test_forecast_budgets_tiers_fairness_anomalies(scripted: Service) -> None:
    fc, budgets = scripted.forecast()
    assert fc.low <= fc.expected <= fc.high and fc.to_date > 0
    assert budgets[0].budget.name == "platform"
    advice = {a.account_id: a for a in scripted.tier_advice()}
    assert advice["copilot-main"].action == "downgrade" and advice["copilot-main"].plan == "copilot-pro"
    assert advice["copilot-main"].confidence is not None and advice["copilot-main"].confidence >= 0.95
    assert advice["claude-work"].action != "downgrade"
    assert advice["gemini-free"].action == "unknown"
    f = scripted.fairness(24)
    assert f.consumers[0].consumer == "ci-bot" and f.consumers[0].advice == "throttle"
    assert f.jain is not None and 1 / 3 <= f.jain <= 1
    anon = scripted.fairness(24, anonymize=True, keep="alice-agent")
    assert {c.consumer for c in anon.consumers} == {"consumer-1", "consumer-2", "alice-agent"}
    kinds = {(a.kind, a.subject) for a in scripted.anomalies()}
    assert ("new_model", "claude/claude-opus-4-1") in kinds
    assert ("calls", "consumer ci-bot") in kinds


def test_audit_report_shape(scripted: Service) -> None:
    report = scripted.audit_report()
    assert list(report)[2:] == ["summary", "alerts", "account_details", "recommendations", "historical_trends"]
    assert report["summary"]["total_accounts"] == 5
    assert any(a["account"] == "gemini-free" and a["severity"] == "critical" for a in report["alerts"])
    kinds = {r["kind"] for r in report["recommendations"]}
    assert {"tier", "underspend", "fairness", "rotation"} <= kinds
    assert yaml.safe_load(render(report, "yaml"))["summary"] == report["summary"]
    assert render(report, "md").startswith("# Account audit 2026-08-20")


def test_weekly_reads_pruned_history_from_rollups(store_service: Service) -> None:
    from quotawarden.store import rollups

    old = [QuotaSample(NOW - timedelta(days=20, minutes=10 * i), "claude-work", "7d", Unit.PERCENT, Source.PROBE,
                       used_ratio=0.9 - 0.01 * i, window_length_s=604800) for i in range(6)]
    recent = [QuotaSample(NOW - timedelta(hours=i), "claude-work", "7d", Unit.PERCENT, Source.PROBE,
                          used_ratio=0.3, window_length_s=604800) for i in range(3)]
    samples_q.write_samples(store_service.store, old + recent)
    rollups.prune(store_service.store, (NOW - timedelta(days=10)).timestamp())
    weeks = {w.week: w for w in store_service.weekly(4)}
    assert weeks["2026-W31"].peak_ratio == pytest.approx(0.9) and weeks["2026-W31"].samples == 6
    assert weeks["2026-W34"].peak_ratio == pytest.approx(0.3)


def test_findings_feed_the_alert_desk(scripted: Service) -> None:
    findings, kinds = scripted.analysis_findings()
    assert kinds == ("budget", "anomaly", "provider_anomaly")
    assert {f.kind for f in findings} <= set(kinds)
    assert any(f.subject.startswith("new_model:") for f in findings)
    scripted.evaluate_alerts(findings, kinds)  # accepted as they are


def test_a_high_error_rate_over_a_day_turns_health_red(store_service: Service) -> None:
    """Health weighs the 24-hour error rate the proxy and the poller record, with the thresholds from config."""
    from quotawarden.store import outcomes as outcomes_q

    samples_q.write_samples(store_service.store, [QuotaSample(
        NOW, "claude-work", "5h", Unit.PERCENT, Source.PROBE, used_ratio=0.1, resets_at=NOW + timedelta(hours=3),
        window_length_s=18000)])
    t = NOW.timestamp() - 3600
    calls = [("claude-work", t, False)] * 90 + [("claude-work", t, True)] * 10
    outcomes_q.add(store_service.store, outcomes_q.tally(calls))
    st = {s.account.id: s for s in store_service.status()}["claude-work"]
    assert st.status is Health.RED and st.reason == "error rate 10.0% over 24h"
