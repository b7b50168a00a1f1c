"""Job runs of the daemon's scheduler: one row per run, so ``quotawarden jobs`` shows last run and outcome."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import exists, func, literal, select, update

from quotawarden.store import schema
from quotawarden.store.engine import Store


@dataclass(frozen=True, slots=True)
class JobRun:
    job: str
    host: str | None
    started_ts: float
    finished_ts: float | None
    outcome: str | None
    detail: str | None


def start(store: Store, job: str, host: str, now: float) -> int:
    with store.engine.begin() as conn:
        res = conn.execute(schema.job_runs.insert().values(job=job, host=host, started_ts=now))
        return int(res.inserted_primary_key[0])  # type: ignore[index]


def finish(store: Store, run_id: int, now: float, outcome: str, detail: str = "") -> None:
    t = schema.job_runs
    with store.engine.begin() as conn:
        conn.execute(update(t).where(t.c.id == run_id).values(finished_ts=now, outcome=outcome, detail=detail[:4000]))


REPLICA_LEASE = "replica:"
"""``replica:<holder>``: the lease a live daemon replica renews; its runs without it are lost (:func:`mark_lost`)."""
LOST = "lost"


def replica_ttl(poll_lease: float) -> float:
    """How long a replica counts as alive after its last heartbeat (it beats every third of it): three poll
    leases, at least 3 s. Its open runs are ``lost`` once it lapses."""
    return max(3 * poll_lease, 3.0)


def replica_alive(store: Store, holder: str, ttl: float, *, now: float | None = None) -> bool:
    """Renew this replica's liveness lease (the daemon does, every third of ``ttl``)."""
    from quotawarden.store import leases

    return leases.acquire(store, REPLICA_LEASE + holder, holder, ttl, now=now)


def replica_gone(store: Store, holder: str) -> None:
    """A clean stop: the replica's lease goes (its runs have finished)."""
    from quotawarden.store import leases

    leases.release(store, REPLICA_LEASE + holder, holder)


def mark_lost(store: Store, now: float, grace_s: float) -> int:
    """Runs still open whose replica's lease has lapsed (a replica killed mid-run) end as ``lost``; runs younger
    than ``grace_s`` are left alone (their replica may not have renewed its lease yet). Returns how many."""
    t, lease = schema.job_runs, schema.leases
    alive = exists().where(lease.c.name == literal(REPLICA_LEASE) + t.c.host, lease.c.expires_ts >= now)
    stmt = (update(t).where(t.c.finished_ts.is_(None), t.c.started_ts < now - grace_s, ~alive)
            .values(finished_ts=now, outcome=LOST,
                    detail="the replica running it stopped before it finished (its lease lapsed)"))
    with store.engine.begin() as conn:
        return int(conn.execute(stmt).rowcount or 0)


def last_runs(store: Store) -> list[JobRun]:
    """The most recent run of every job."""
    t = schema.job_runs
    latest = select(t.c.job, func.max(t.c.id).label("id")).group_by(t.c.job).subquery()
    q = select(t).join(latest, t.c.id == latest.c.id).order_by(t.c.job)
    with store.engine.connect() as conn:
        return [JobRun(r.job, r.host, r.started_ts, r.finished_ts, r.outcome, r.detail) for r in conn.execute(q)]


def runs(store: Store, job: str | None = None, limit: int = 1000) -> list[JobRun]:
    t = schema.job_runs
    q = select(t).order_by(t.c.id.desc()).limit(limit)
    if job:
        q = q.where(t.c.job == job)
    with store.engine.connect() as conn:
        return [JobRun(r.job, r.host, r.started_ts, r.finished_ts, r.outcome, r.detail) for r in conn.execute(q)]


def outcome_counts(store: Store) -> dict[tuple[str, str], int]:
    t = schema.job_runs
    q = select(t.c.job, t.c.outcome, func.count()).where(t.c.outcome.is_not(None)).group_by(t.c.job, t.c.outcome)
    with store.engine.connect() as conn:
        return {(r[0], r[1]): int(r[2]) for r in conn.execute(q)}
