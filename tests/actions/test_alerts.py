"""Alerts end to end: scripted samples -> lifecycle -> real webhook and SMTP servers on 127.0.0.1."""

from __future__ import annotations

from datetime import timedelta
from email import message_from_bytes
from typing import Any

import orjson
import pytest

from quotawarden.actions.channels import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify
from quotawarden.actions.rules import Finding
from quotawarden.clock import FixedClock
from quotawarden.domain import AccountState, AlertState, Outcome, QuotaSample, Severity, Source, Unit
from quotawarden.store import accounts as accounts_q
from quotawarden.store import samples as samples_q

SECRET = "whsec-test-0123456789"


def channels(webhook: Any, smtp: Any | None = None) -> str:
    lines = ["[alerts]", "cooldown = \"12h\"", "channels = [",
             f'  {{ url = "json://{webhook.url}/signed", hmac_secret = "env:QW_HOOK_SECRET", '
             'severities = ["info", "warning", "critical"] },']
    if smtp is not None:
        lines.append(f'  {{ url = "mailto://127.0.0.1:{smtp.port}?from=qw@example.com&to=ops@example.com'
                     '&mode=insecure", severities = ["critical"] },')
    lines.append("]")
    return "\n".join(lines)


def sample(clock: FixedClock, ratio: float, account: str = "work-claude", window: str = "5h") -> QuotaSample:
    now = clock.now()
    return QuotaSample(observed_at=now, account_id=account, window=window, unit=Unit.PERCENT, source=Source.PROBE,
                       used_ratio=ratio, resets_at=now + timedelta(hours=1), window_length_s=18000)


def events(webhook: Any) -> list[tuple[str, str]]:
    out = []
    for r in webhook.requests:
        body = orjson.loads(r["body"])
        out.append((body["event"], body["alert"]["severity"]))
    return out


@pytest.fixture(autouse=True)
def _hook_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QW_HOOK_SECRET", SECRET)


# ratio, hours to advance before it, the notices expected from that step. One sample per 5h window (each
# resets within the hour), so health comes from utilisation alone, not from a burn rate across samples.
SCRIPT = [
    (0.40, 5, []),
    (0.60, 5, [("opened", "warning")]),
    (0.62, 5, []),  # same condition: de-duplicated
    (0.85, 5, [("escalated", "critical")]),
    (0.70, 5, []),  # de-escalation is silent
    (0.86, 5, []),  # back to a level already announced: no spam
    (0.30, 5, [("resolved", "critical")]),
    (0.55, 5, []),  # flapping inside the 12h cooldown: re-opened silently
    (0.30, 5, []),  # and resolved silently (people were already told it cleared)
    (0.60, 13, [("opened", "warning")]),  # after the cooldown: a new alert
]


def test_scripted_sequence_cooldown_dedup_escalation_resolve(make_service: Any, clock: FixedClock,
                                                             webhook: Any) -> None:
    svc = make_service(channels(webhook))
    seen = 0
    for ratio, hours, expected in SCRIPT:
        clock.advance(hours=hours)
        samples_q.write_samples(svc.store, [sample(clock, ratio)])
        svc.evaluate_alerts()
        svc.deliver_alerts()
        got = events(webhook)[seen:]
        assert got == expected, f"at {ratio:.0%}"
        seen += len(got)
    rows = svc.actions.list()
    assert [r.state for r in rows] == [AlertState.OPEN, AlertState.RESOLVED]
    assert rows[1].notify_count == 3  # opened, escalated, resolved


def test_reopened_inside_cooldown_is_announced_once_the_cooldown_has_passed(make_service: Any, clock: FixedClock,
                                                                           webhook: Any) -> None:
    svc = make_service(channels(webhook))
    for ratio in (0.6, 0.3, 0.6):
        clock.advance(hours=5)
        samples_q.write_samples(svc.store, [sample(clock, ratio)])
        svc.evaluate_alerts()
        svc.deliver_alerts()
    assert events(webhook) == [("opened", "warning"), ("resolved", "warning")]
    clock.advance(hours=8)  # 13h since the resolved notice: past the 12h cooldown
    samples_q.write_samples(svc.store, [sample(clock, 0.61)])
    svc.evaluate_alerts()
    svc.deliver_alerts()
    assert events(webhook)[-1] == ("reminder", "warning")


def test_alert_carries_severity_account_message_and_action(make_service: Any, clock: FixedClock,
                                                           webhook: Any) -> None:
    svc = make_service(channels(webhook))
    samples_q.write_samples(svc.store, [sample(clock, 0.91)])
    svc.evaluate_alerts()
    svc.deliver_alerts()
    (req,) = webhook.wait(1)
    body = orjson.loads(req["body"])
    alert = body["alert"]
    assert (alert["severity"], alert["account_id"], alert["window"], alert["kind"]) == (
        "critical", "work-claude", "5h", "health")
    assert "Work Claude" in alert["message"] and "91%" in alert["message"]
    assert alert["action"]
    assert body["tags"] == ["health", "work-claude", "anthropic", "team=platform"]
    stamp = req["headers"][TIMESTAMP_HEADER]
    assert verify(SECRET, stamp, req["body"], req["headers"][SIGNATURE_HEADER])
    assert not verify("other-secret", stamp, req["body"], req["headers"][SIGNATURE_HEADER])


def test_ack_silences_until_it_gets_worse(make_service: Any, clock: FixedClock, webhook: Any) -> None:
    svc = make_service(channels(webhook))
    samples_q.write_samples(svc.store, [sample(clock, 0.6)])
    svc.evaluate_alerts()
    svc.deliver_alerts()
    (rec,) = svc.actions.list([AlertState.OPEN])
    assert svc.actions.ack(rec.id, by="alice")
    assert not svc.actions.ack(rec.id, by="alice")  # already acked
    clock.advance(hours=5)
    samples_q.write_samples(svc.store, [sample(clock, 0.65)])
    svc.evaluate_alerts()
    svc.deliver_alerts()
    assert svc.actions.list()[0].state is AlertState.ACKED
    clock.advance(hours=5)
    samples_q.write_samples(svc.store, [sample(clock, 0.95)])
    svc.evaluate_alerts()
    svc.deliver_alerts()
    assert events(webhook) == [("opened", "warning"), ("escalated", "critical")]
    assert svc.actions.list()[0].state is AlertState.OPEN


def test_email_receives_critical_only_over_real_smtp(make_service: Any, clock: FixedClock, webhook: Any,
                                                     smtp: Any) -> None:
    svc = make_service(channels(webhook, smtp))
    samples_q.write_samples(svc.store, [sample(clock, 0.6), sample(clock, 0.95, window="7d")])
    svc.evaluate_alerts()
    sent = svc.deliver_alerts()
    assert all(s.ok for s in sent) and len(sent) == 2
    (mail,) = smtp.wait(1)
    msg = message_from_bytes(mail.content)
    assert mail.rcpt_tos == ["ops@example.com"]
    assert msg["Subject"].startswith("CRITICAL: Work Claude")
    assert len(webhook.wait(2)) == 2  # the webhook takes every severity


def test_key_invalid_and_provider_down_from_outcomes(make_service: Any, clock: FixedClock, webhook: Any) -> None:
    svc = make_service(channels(webhook))
    accounts_q.set_states(svc.store, [AccountState("work-claude", Outcome.INVALID, "401 invalid x-api-key",
                                                   clock.now()),
                                      AccountState("side-openai", Outcome.UNREACHABLE, "connect timeout", clock.now())])
    ev = svc.evaluate_alerts()
    assert sorted(ev.opened) == ["key_invalid:work-claude", "provider_down:side-openai"]
    svc.deliver_alerts()
    kinds = sorted(orjson.loads(r["body"])["alert"]["kind"] for r in webhook.wait(2))
    assert kinds == ["key_invalid", "provider_down"]
    accounts_q.set_states(svc.store, [AccountState("work-claude", Outcome.OK, "", clock.now())])
    ev = svc.evaluate_alerts()
    assert ev.resolved == ["key_invalid:work-claude"]


def test_analysis_findings_open_and_resolve_within_their_kind(make_service: Any, clock: FixedClock,
                                                              webhook: Any) -> None:
    svc = make_service(channels(webhook))
    over = Finding("budget", "team-a/monthly", Severity.CRITICAL, "team-a spent $1,030 of $1,000 this month",
                   "raise the budget or pause team-a's consumers")
    svc.evaluate_alerts([over])
    svc.evaluate_alerts(())  # a health-only run leaves budget alerts alone
    assert [r.key for r in svc.actions.list([AlertState.OPEN])] == ["budget:team-a/monthly"]
    svc.evaluate_alerts([], finding_kinds=["budget"])  # budgets evaluated, nothing over: resolved
    assert svc.actions.list([AlertState.OPEN]) == []


def test_failed_delivery_is_retried_and_claimed_once(make_service: Any, clock: FixedClock, webhook: Any) -> None:
    svc = make_service(channels(webhook))
    other = make_service(channels(webhook))  # a second replica on the same database
    samples_q.write_samples(svc.store, [sample(clock, 0.6)])
    svc.evaluate_alerts()
    webhook.status = 500
    assert not svc.deliver_alerts()[0].ok
    webhook.status = 200
    first, second = svc.deliver_alerts(), other.deliver_alerts()
    assert [s.ok for s in first] == [True] and second == []
    assert events(webhook)[-1] == ("opened", "warning")
    assert len(webhook.requests) == 2  # one failed attempt, one success: never twice


def test_a_stale_evaluation_cannot_queue_a_delivered_notice_again(make_service: Any, clock: FixedClock,
                                                                   webhook: Any) -> None:
    """Two replicas evaluating at once (a stalled lease holder): the one that read the alert before the other
    delivered its notice writes back nothing that would send it twice."""
    from quotawarden.store import alerts as alerts_q

    svc = make_service(channels(webhook))
    samples_q.write_samples(svc.store, [sample(clock, 0.6)])
    svc.evaluate_alerts()
    (stale,) = alerts_q.active(svc.store)  # read by the slow replica, notice still pending
    assert stale.pending_notice == "opened"
    assert [s.ok for s in svc.deliver_alerts()] == [True]  # the other replica delivers it
    assert alerts_q.save(svc.store, [stale]) == []  # the slow replica's write-back loses to the claim
    assert alerts_q.pending(svc.store) == [] and svc.deliver_alerts() == []
    assert len(webhook.requests) == 1


def test_alerts_test_reaches_apprise_json_and_email(make_service: Any, webhook: Any, smtp: Any) -> None:
    svc = make_service()
    urls = [f"json://{webhook.url}/plain",
            f"mailto://127.0.0.1:{smtp.port}?from=qw@example.com&to=ops@example.com&mode=insecure"]
    results = svc.actions.test(Severity.WARNING, urls)
    assert [d.ok for d in results] == [True, True]
    body = orjson.loads(webhook.wait(1)[0]["body"])
    assert body["title"].startswith("quotawarden test alert")  # Apprise's own JSON shape
    assert smtp.wait(1)


def test_default_evaluation_includes_analysis_findings(make_service: Any, clock: FixedClock) -> None:
    """What the daemon calls after each tick: budgets and anomalies from analysis open alerts with health ones."""
    svc = make_service()
    seen: list[Any] = []
    svc.analysis_findings = lambda: (seen.append(1) or [Finding(  # type: ignore[method-assign]
        "budget", "total/monthly", Severity.WARNING, "forecast $1,200 of $1,000", "cut spend")], ("budget",))
    svc.evaluate_alerts()
    assert seen and [r.key for r in svc.actions.list([AlertState.OPEN])] == ["budget:total/monthly"]
