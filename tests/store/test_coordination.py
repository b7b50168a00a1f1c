"""The daemon's bookkeeping tables on both backends: leases, poll slots, job runs, throttles, status pages, the audit
trail, the alerts view and the hourly roll-ups of pruned samples."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import text

from quotawarden.domain import AuditEvent, PageStatus
from quotawarden.store import Store, alerts_view, audit, jobs, leases, poll_slots, provider_status, rollups, throttles
from tests.conftest import NOW

T0 = NOW.timestamp()


def test_a_lease_is_held_by_one_holder_until_it_lapses(store: Store) -> None:
    assert leases.acquire(store, "job:prune", "a", 10, now=T0)
    assert not leases.acquire(store, "job:prune", "b", 10, now=T0 + 1)
    assert leases.acquire(store, "job:prune", "a", 10, now=T0 + 5)  # renewed: lapses at T0 + 15
    assert leases.holder_of(store, "job:prune", now=T0 + 14) == "a"
    assert not leases.acquire(store, "job:prune", "b", 10, now=T0 + 14)
    assert leases.holder_of(store, "job:prune", now=T0 + 16) is None
    assert leases.acquire(store, "job:prune", "b", 10, now=T0 + 16)
    leases.release(store, "job:prune", "a")  # not a's any more: stays
    assert leases.holder_of(store, "job:prune", now=T0 + 17) == "b"
    leases.release(store, "job:prune", "b")
    assert leases.holder_of(store, "job:prune", now=T0 + 17) is None


def test_a_name_is_claimed_once(store: Store) -> None:
    assert leases.claim_once(store, "alert:k:1", "a", now=T0)
    assert not leases.claim_once(store, "alert:k:1", "a", now=T0 + 1)
    assert not leases.claim_once(store, "alert:k:1", "b", now=T0 + 1)
    assert leases.claim_once(store, "alert:k:2", "b", 5, now=T0)
    assert leases.claim_once(store, "alert:k:2", "a", 5, now=T0 + 6)  # lapsed: claimable again
    assert leases.purge_expired(store, now=T0 + 20) == 1
    assert leases.holder_of(store, "alert:k:1", now=T0 + 20) == "a"


def test_poll_slots_are_claimed_once_and_move_one_interval_on(store: Store) -> None:
    poll_slots.sync(store, {"a1": 60.0, "a2": 300.0}, T0)
    claims = poll_slots.claim(store, "r1", T0, lease_s=30)
    assert sorted((c.account_id, c.slot_ts, c.interval_s) for c in claims) == [("a1", T0, 60.0), ("a2", T0, 300.0)]
    assert poll_slots.claim(store, "r2", T0 + 1, lease_s=30) == []  # claimed by r1
    poll_slots.complete(store, claims, "r1", T0 + 2)
    assert poll_slots.counts(store) == {"a1": 1, "a2": 1}
    assert [c.account_id for c in poll_slots.claim(store, "r2", T0 + 60, lease_s=30)] == ["a1"]
    poll_slots.due_now(store, ["a1", "a2"], T0 + 61)  # a1 is claimed by r2: left alone
    assert [(c.account_id, c.slot_ts) for c in poll_slots.claim(store, "r1", T0 + 61, lease_s=30)] == [
        ("a2", T0 + 61)]
    poll_slots.complete(store, [poll_slots.Claim("a1", T0 + 60, 60.0)], "r1", T0 + 62)  # not r1's claim: no-op
    assert poll_slots.counts(store) == {"a1": 1, "a2": 1}
    poll_slots.sync(store, {"a1": 120.0, "a3": 60.0}, T0 + 70)
    assert poll_slots.counts(store) == {"a1": 1, "a3": 0}
    with store.engine.connect() as conn:
        assert conn.execute(text("SELECT interval_s FROM poll_slots WHERE account_id = 'a1'")).scalar() == 120.0


def test_job_runs_and_their_last_outcomes(store: Store) -> None:
    first = jobs.start(store, "poll", "h1", T0)
    second = jobs.start(store, "poll", "h1", T0 + 10)
    prune = jobs.start(store, "prune", "h2", T0 + 20)
    assert first < second < prune
    jobs.finish(store, first, T0 + 1, "ok")
    jobs.finish(store, second, T0 + 11, "error", "x" * 5000)
    last = jobs.last_runs(store)
    assert [(r.job, r.started_ts, r.outcome) for r in last] == [("poll", T0 + 10, "error"), ("prune", T0 + 20, None)]
    assert last[0].detail == "x" * 4000 and last[0].finished_ts == T0 + 11 and last[0].host == "h1"
    assert [r.started_ts for r in jobs.runs(store)] == [T0 + 20, T0 + 10, T0]
    assert [r.started_ts for r in jobs.runs(store, "poll", limit=1)] == [T0 + 10]
    assert jobs.outcome_counts(store) == {("poll", "ok"): 1, ("poll", "error"): 1}


def test_open_runs_of_a_replica_without_a_lease_end_lost(store: Store) -> None:
    jobs.replica_alive(store, "live", 10, now=T0)
    jobs.replica_alive(store, "dead", 10, now=T0 - 100)
    for host, started in (("live", T0 - 50), ("dead", T0 - 50), ("dead", T0 - 1)):
        jobs.start(store, "poll", host, started)
    assert jobs.mark_lost(store, T0, grace_s=5) == 1
    by_start = {(r.host, r.started_ts): r for r in jobs.runs(store)}
    assert by_start[("dead", T0 - 50)].outcome == jobs.LOST and by_start[("dead", T0 - 50)].finished_ts == T0
    assert by_start[("live", T0 - 50)].outcome is None and by_start[("dead", T0 - 1)].outcome is None
    jobs.replica_gone(store, "live")
    assert jobs.mark_lost(store, T0 + 10, grace_s=5) == 2


def test_throttles_hold_extend_and_release(store: Store) -> None:
    throttles.hold(store, "ci", T0 + 60, "burning", T0)
    throttles.hold(store, "ci", T0 + 120, "still " + "b" * 600, T0 + 1)
    throttles.hold(store, "old", T0 - 1, "over", T0 - 100)
    assert throttles.active(store, T0) == {"ci": (T0 + 120, "still " + "b" * 494)}
    assert throttles.release(store, "ci")
    assert not throttles.release(store, "ci")
    assert throttles.active(store, T0) == {}


def test_status_pages_keep_the_last_reading(store: Store) -> None:
    provider_status.save(store, [PageStatus("openai", "degraded", "slow", NOW - timedelta(hours=2)),
                                 PageStatus("anthropic", "operational", "", NOW)])
    provider_status.save(store, [PageStatus("openai", "major_outage", "down", NOW)])
    provider_status.save(store, [])
    assert provider_status.read_since(store, T0 - 60) == {"openai": ("major_outage", "down", T0),
                                                          "anthropic": ("operational", "", T0)}
    assert provider_status.read_since(store, T0 + 1) == {}


def test_the_audit_trail_newest_first(store: Store) -> None:
    audit.record(store, AuditEvent(at=NOW, actor="user", action="account.add", subject="a1",
                                   detail={"label": "work", "n": 2}))
    audit.record(store, AuditEvent(at=NOW + timedelta(seconds=1), actor="daemon", action="prune"))
    audit.record(store, AuditEvent(at=NOW + timedelta(seconds=1), actor="proxy", action="switch", subject="a2"))
    events = audit.recent(store)
    assert [(e.actor, e.action, e.subject, e.detail) for e in events] == [
        ("proxy", "switch", "a2", {}), ("daemon", "prune", "", {}),
        ("user", "account.add", "a1", {"label": "work", "n": 2})]
    assert events[-1].at == NOW
    assert len(audit.recent(store, limit=1)) == 1


def _alert(store: Store, key: str, state: str, updated: float, tags: str | None) -> int:
    with store.engine.begin() as conn:
        conn.execute(text('INSERT INTO alerts ("key", kind, severity, state, account_id, "window", message, action, '
                          "opened_ts, updated_ts, notify_count, tags) VALUES (:k, 'quota', 'warning', :s, 'a1', "
                          "'5h', 'high', '', :u, :u, 0, :t)"), {"k": key, "s": state, "u": updated, "t": tags})
        return int(conn.execute(text('SELECT id FROM alerts WHERE "key" = :k'), {"k": key}).scalar_one())


def test_alerts_are_listed_and_acknowledged(store: Store) -> None:
    one = _alert(store, "k1", "open", T0, '{"team": "ml"}')
    two = _alert(store, "k2", "resolved", T0 + 5, None)
    listed = alerts_view.list_alerts(store)
    assert [a["id"] for a in listed] == [two, one]
    assert listed[1] | {"id": 0} == {
        "id": 0, "key": "k1", "kind": "quota", "severity": "warning", "state": "open", "account_id": "a1",
        "window": "5h", "message": "high", "action": "", "opened_ts": T0, "updated_ts": T0, "resolved_ts": None,
        "acked_by": None, "notified_ts": None, "notify_count": 0, "pending_notice": None, "last_notice": None,
        "notified_severity": None, "tags": {"team": "ml"}}
    assert [a["id"] for a in alerts_view.list_alerts(store, "open")] == [one]
    assert alerts_view.ack(store, one, "me", T0 + 10)
    assert alerts_view.ack(store, two, "me", T0 + 10)  # exists, not open: unchanged
    assert not alerts_view.ack(store, two + one + 100, "me", T0 + 10)
    acked = alerts_view.list_alerts(store, "acked")
    assert [(a["id"], a["acked_by"], a["updated_ts"]) for a in acked] == [(one, "me", T0 + 10)]
    assert len(alerts_view.list_alerts(store, limit=1)) == 1


def _samples(store: Store, rows: list[tuple[str, float, float | None, float | None, float | None]]) -> None:
    with store.engine.begin() as conn:
        for window, ts, ratio, used, limit in rows:
            conn.execute(text('INSERT INTO samples (account_id, "window", observed_ts, source, provenance, unit, '
                              'used_ratio, used, remaining, "limit", resets_ts) VALUES (\'a1\', :w, :ts, \'probe\', '
                              "'official', 'tokens', :r, :u, NULL, :l, :ts + 3600)"),
                         {"w": window, "ts": ts, "r": ratio, "u": used, "l": limit})


def test_pruned_samples_become_hourly_rollups(store: Store) -> None:
    hour = T0 // 3600 * 3600
    _samples(store, [("5h", hour + 600, 0.2, None, None), ("5h", hour + 1200, None, 30.0, 100.0),
                     ("5h", hour + 2400, 0.1, None, None), ("7d", hour + 60, None, None, None),
                     ("5h", hour + 3600, 0.5, None, None)])
    assert rollups.prune(store, hour + 1800) == (3, 2)
    assert rollups.prune(store, hour + 1800) == (0, 0)
    assert rollups.prune(store, hour + 3000) == (1, 1)  # merged into the hour's roll-up
    assert rollups.rollups(store, "a1") == [
        {"account_id": "a1", "window": "5h", "hour_ts": hour, "unit": "tokens", "n": 3, "used_ratio_max": 0.3,
         "used_ratio_last": 0.1, "used_last": None, "remaining_last": None, "limit_last": None,
         "resets_ts_last": hour + 6000},
        {"account_id": "a1", "window": "7d", "hour_ts": hour, "unit": "tokens", "n": 1, "used_ratio_max": None,
         "used_ratio_last": None, "used_last": None, "remaining_last": None, "limit_last": None,
         "resets_ts_last": hour + 3660},
    ]
    assert [r["window"] for r in rollups.rollups(store, "a1", "7d")] == ["7d"]
    with store.engine.connect() as conn:
        assert conn.execute(text("SELECT observed_ts FROM samples")).scalars().all() == [hour + 3600]
