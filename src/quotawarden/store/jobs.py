"""Job runs of the daemon's scheduler: one row per run, so ``quotawarden jobs`` shows last run and outcome."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from quotawarden.store.engine import Store

_COLS = ("job", "host", "started_ts", "finished_ts", "outcome", "detail")
"""The columns a :class:`JobRun` reads, in its order."""


@dataclass(frozen=True, slots=True)
class JobRun:
    job: str
    host: str | None
    started_ts: float
    finished_ts: float | None
    outcome: str | None
    detail: str | None


def start(store: Store, job: str, host: str, now: float) -> int:
    with store.begin() as conn:
        rows = conn.rows("INSERT INTO job_runs (job, host, started_ts) VALUES (:job, :host, :now) RETURNING id",
                         {"job": job, "host": host, "now": now})
    return int(rows[0][0])


def finish(store: Store, run_id: int, now: float, outcome: str, detail: str = "") -> None:
    with store.begin() as conn:
        conn.execute("UPDATE job_runs SET finished_ts = :now, outcome = :outcome, detail = :detail WHERE id = :id",
                     {"now": now, "outcome": outcome, "detail": detail[:4000], "id": run_id})


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
    sql = ("UPDATE job_runs SET finished_ts = :now, outcome = :lost, detail = :detail "
           "WHERE finished_ts IS NULL AND started_ts < :cut AND NOT EXISTS (SELECT 1 FROM leases "
           "WHERE leases.name = :prefix || job_runs.host AND leases.expires_ts >= :now)")
    params = {"now": now, "lost": LOST, "cut": now - grace_s, "prefix": REPLICA_LEASE,
              "detail": "the replica running it stopped before it finished (its lease lapsed)"}
    with store.begin() as conn:
        return int(conn.execute(sql, params).rowcount or 0)


def last_runs(store: Store) -> list[JobRun]:
    """The most recent run of every job."""
    sql = (f"SELECT {', '.join('r.' + c for c in _COLS)} FROM job_runs r "
           "JOIN (SELECT job, MAX(id) AS id FROM job_runs GROUP BY job) l ON r.id = l.id ORDER BY r.job")
    with store.connect() as conn:
        return [JobRun(*r) for r in conn.execute(sql)]


def runs(store: Store, job: str | None = None, limit: int = 1000) -> list[JobRun]:
    params: dict[str, Any] = {"limit": limit}
    where = ""
    if job:
        where, params["job"] = "WHERE job = :job ", job
    sql = f"SELECT {', '.join(_COLS)} FROM job_runs {where}ORDER BY id DESC LIMIT :limit"
    with store.connect() as conn:
        return [JobRun(*r) for r in conn.execute(sql, params)]


def outcome_counts(store: Store) -> dict[tuple[str, str], int]:
    sql = "SELECT job, outcome, COUNT(*) FROM job_runs WHERE outcome IS NOT NULL GROUP BY job, outcome"
    with store.connect() as conn:
        return {(r[0], r[1]): int(r[2]) for r in conn.execute(sql)}
