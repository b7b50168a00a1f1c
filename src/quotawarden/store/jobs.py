"""Job runs of the daemon's scheduler: one row per run, so ``quotawarden jobs`` shows last run and outcome."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select, update

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
