"""The daemon's schedule (APScheduler 3 on the server's event loop).

* ``poll``   every second: claim the accounts whose slot is due (shared with other replicas), poll them, advance
  their slots by one interval. Per-account intervals come from the config or the registering instances.
* ``anomalies`` after polls (at most once a minute, one replica): provider anomalies in the last hour's readings.
* ``alerts`` after polls, on one replica only (lease), so each alert is sent once.
* ``ingest`` every ``schedule.ingest_interval``: new agent-log lines (one replica).
* ``audit``  cron ``schedule.audit_cron`` (02:00 UTC): 15-minute timeout, 3 retries with exponential backoff.
* ``prune``  daily: raw samples older than ``keep_raw_days`` become hourly roll-ups.
* ``reap``   instances that missed 3 heartbeat intervals are removed.
* ``push``   every ``hub.interval`` on a seat (``[hub] url``): new readings, usage and outcomes to the hub (one
  replica); a hub that is down fails the run and the rows wait in the store for the next one. On a hub
  (``[[hub.seats]]``) alerts are also evaluated every ``hub.interval``: the seats' readings come by push.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
import uuid
from contextlib import suppress
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from quotawarden.app import instances
from quotawarden.app.daemon import heap
from quotawarden.app.daemon.runner import JobSpec, Skipped, call, run
from quotawarden.app.service import Service
from quotawarden.store import accounts as accounts_q
from quotawarden.store import instances as inst_q
from quotawarden.store import jobs as jobs_q
from quotawarden.store import outcomes, poll_slots, rollups

log = logging.getLogger("quotawarden.daemon")
ANOMALIES_EVERY_S = 60.0
"""Provider anomalies are looked for after polls, at most this often (each pass reads the last hour)."""


def replica_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class Daemon:
    def __init__(self, service: Service, *, holder: str | None = None, tick_s: float = 1.0) -> None:
        self.svc = service
        self.holder = holder or replica_id()
        self.tick_s = tick_s
        self.scheduler: AsyncIOScheduler | None = None
        self._polling = asyncio.Lock()
        self._last_sync = 0.0
        self._inflight: set[asyncio.Task[Any]] = set()
        self._last_anomalies = 0.0

    @property
    def settings(self) -> Any:
        return self.svc.config.settings

    # -- poll slots --------------------------------------------------------------------------------------------

    def intervals(self) -> dict[str, float]:
        """Pollable accounts -> seconds between polls (never below ``schedule.min_poll_interval``)."""
        sched = self.settings.schedule
        floor = float(sched.min_poll_interval)
        out: dict[str, float] = {}
        for a in self.svc.config.accounts:
            if self._can_probe(a.provider):
                out[a.id] = max(float(a.poll_interval_s or sched.poll_interval), floor)
        for inst in inst_q.all_instances(self.svc.store):
            for provider, aid in inst.providers.items():
                if self._can_probe(provider):
                    out[aid] = max(min(out.get(aid, float("inf")), float(inst.poll_interval_s)), floor)
        return out

    def _can_probe(self, provider: str) -> bool:
        try:
            return self.svc.plugins.provider(provider).probe is not None
        except Exception:
            return False

    def poll_now(self, account_ids: list[str]) -> None:
        poll_slots.due_now(self.svc.store, account_ids, time.time())

    async def poll_tick(self) -> None:
        if self._polling.locked():
            return
        async with self._polling:
            now = time.time()
            if now - self._last_sync > 10:
                await asyncio.to_thread(lambda: poll_slots.sync(self.svc.store, self.intervals(), now))
                self._last_sync = now
            lease = float(self.settings.server.poll_lease)
            claims = await asyncio.to_thread(poll_slots.claim, self.svc.store, self.holder, now, lease_s=lease)
            claims = await self._skip_done(claims)
            if not claims:
                return
            ids = [c.account_id for c in claims]
            outcome = await run(self.svc.store, self.holder, JobSpec("poll", lambda: self._poll(ids), timeout_s=lease))
            # A poll that failed still moves the slot on: the outcome is in account_state, and retrying at once
            # would hammer a provider that is down. A timed-out poll leaves its claim to lapse instead.
            if outcome != "timeout":
                await asyncio.to_thread(poll_slots.complete, self.svc.store, claims, self.holder, time.time())
            await self.anomalies()
            await self.alerts()
            await asyncio.to_thread(heap.trim)  # what the cycle freed goes back to the system

    async def _skip_done(self, claims: list[poll_slots.Claim]) -> list[poll_slots.Claim]:
        """A claim that lapsed after its poll had stored an outcome (a replica killed, a slow poll) is completed
        as it is: the account was observed in this slot, and polling it again would count twice."""
        if not claims:
            return claims
        states = await asyncio.to_thread(accounts_q.states, self.svc.store)
        done = [c for c in claims if (st := states.get(c.account_id)) is not None and st.observed_at is not None
                and st.observed_at.timestamp() >= c.slot_ts]
        if done:
            await asyncio.to_thread(poll_slots.complete, self.svc.store, done, self.holder, time.time())
        return [c for c in claims if c not in done]

    async def _poll(self, ids: list[str]) -> str:
        # The synchronous poll runs in a worker thread with its own event loop: its database writes then never
        # hold up the HTTP API on this loop.
        poll = getattr(self.svc, "poll", None)
        if poll is not None:
            results = await call(lambda: poll(account_ids=ids, force=True))
        else:
            raise Skipped(f"no poller installed; {len(ids)} accounts due")
        return f"{len(results or ids)} accounts: " + " ".join(ids)

    # -- singleton jobs ----------------------------------------------------------------------------------------

    async def alerts(self) -> None:
        """Evaluate and deliver alerts on the one replica holding the ``job:alerts`` lease; the alerts engine
        also claims each notice before sending it, so a lease hand-over cannot double-send."""
        evaluate = getattr(self.svc, "evaluate_alerts", None)
        deliver = getattr(self.svc, "deliver_alerts", None)
        if evaluate is None:
            return

        def both() -> dict[str, Any]:
            ev = evaluate()
            sent = deliver() if deliver is not None else []
            failed = [f"{s.key} to {d.channel}: {d.error or 'not accepted'}" for s in sent for d in s.deliveries
                      if not d.ok]
            return {"opened": len(ev.opened), "resolved": len(ev.resolved),
                    "notices_sent": sum(1 for s in sent if s.ok), "notices_failed": failed}

        lease = float(self.settings.server.alerts_lease)
        await run(self.svc.store, self.holder, JobSpec("alerts", both, singleton=True, lease_s=lease))

    async def anomalies(self) -> None:
        """Look for provider anomalies in what the polls (and the proxy) stored, on the one replica holding the
        ``job:anomalies`` lease, at most every :data:`ANOMALIES_EVERY_S`; the alerts that follow announce them."""
        detect = getattr(self.svc, "detect_provider_anomalies", None)
        now = time.time()
        if detect is None or now - self._last_anomalies < ANOMALIES_EVERY_S:
            return
        self._last_anomalies = now

        def job() -> str:
            found = detect()
            return f"{len(found)} new provider anomalies"

        await run(self.svc.store, self.holder, JobSpec("anomalies", job, singleton=True, lease_s=120.0))

    def _service_job(self, method: str, what: str, summary: Any = None) -> Any:
        """``summary`` turns the method's result into what ``jobs`` shows (the result itself by default)."""
        def job() -> Any:
            fn = getattr(self.svc, method, None)
            if fn is None:
                raise Skipped(f"{what} is not installed")
            result = fn()
            return summary(result) if summary is not None else result
        return job

    def prune(self) -> str:
        before = time.time() - self.settings.schedule.keep_raw_days * 86400
        removed, written = rollups.prune(self.svc.store, before)
        counts = outcomes.prune(self.svc.store, before)
        return f"{removed} samples rolled into {written} hourly rows; {counts} hourly call counts dropped"

    def reap(self) -> str:
        dead = instances.reap(self.svc)
        return f"reaped {len(dead)}"

    def jobs(self) -> list[tuple[JobSpec, Any]]:
        s = self.settings.schedule
        timeout = float(s.audit_timeout)
        return [
            (JobSpec("ingest", self._service_job("ingest_logs", "log ingestion"), singleton=True,
                     lease_s=float(s.ingest_interval) * 2), IntervalTrigger(seconds=float(s.ingest_interval))),
            *([(JobSpec("audit", self._service_job("audit_report", "the audit", _audit_summary), singleton=True,
                        lease_s=timeout * 4 + 3600, timeout_s=timeout, retries=3, backoff_s=60),
                CronTrigger.from_crontab(s.audit_cron, timezone="UTC"))] if s.audit_cron.strip() else []),
            (JobSpec("prune", self.prune, singleton=True, lease_s=3600),
             CronTrigger.from_crontab("30 3 * * *", timezone="UTC")),
            (JobSpec("reap", self.reap, record=False), IntervalTrigger(seconds=30)),
            (JobSpec("fairness", self._service_job("throttle_consumers", "fairness", _fairness_summary), singleton=True,
                     lease_s=float(s.fairness_interval)), IntervalTrigger(seconds=float(s.fairness_interval))),
            *self._digest_jobs(),
            *self._push_jobs(),
        ]

    def _push_jobs(self) -> list[tuple[JobSpec, Any]]:
        hub = self.settings.hub
        if not hub.url:
            return []
        every = float(hub.interval)
        return [(JobSpec("push", self._service_job("hub_push", "push", _push_summary), singleton=True,
                         lease_s=max(every * 2, 60.0), timeout_s=max(every * 4, 60.0)),
                 IntervalTrigger(seconds=every))]

    def _digest_jobs(self) -> list[tuple[JobSpec, Any]]:
        """The daily summary and the weekly report, on their cron lines (an empty line turns one off)."""
        out = []
        for period, cron in (("daily", self.settings.alerts.daily_digest),
                             ("weekly", self.settings.alerts.weekly_digest)):
            if cron:
                out.append((JobSpec(f"digest-{period}", self._digest(period), singleton=True, lease_s=3600),
                            CronTrigger.from_crontab(cron, timezone="UTC")))
        return out

    def _digest(self, period: str) -> Any:
        def job() -> str:
            actions = getattr(self.svc, "actions", None)
            if actions is None:
                raise Skipped("alert channels are not installed")
            outcome = actions.send_digest(period)
            return outcome.summary if outcome.done else f"{outcome.summary} (not sent)"
        return job

    # -- life cycle --------------------------------------------------------------------------------------------

    def start(self) -> None:
        sched = AsyncIOScheduler(timezone="UTC", job_defaults={"coalesce": True, "max_instances": 1,
                                                               "misfire_grace_time": 60})
        sched.add_job(self.poll_tick, IntervalTrigger(seconds=self.tick_s), id="poll", next_run_time=_soon())
        sched.add_job(self.heartbeat, IntervalTrigger(seconds=self.replica_ttl() / 3), id="replica",
                      next_run_time=_soon())
        for spec, trigger in self.jobs():
            sched.add_job(self._runner(spec), trigger, id=spec.name)
        if self.settings.hub.seats:  # a hub: seats' readings arrive by push, not after this replica's polls
            sched.add_job(self.alerts, IntervalTrigger(seconds=float(self.settings.hub.interval)), id="hub-alerts")
        sched.start()
        self.scheduler = sched
        log.info("scheduler started as %s", self.holder)

    def _runner(self, spec: JobSpec) -> Any:
        async def go() -> None:
            task = asyncio.current_task()
            if task is not None:
                self._inflight.add(task)
            try:
                await run(self.svc.store, self.holder, spec)
            finally:
                if task is not None:
                    self._inflight.discard(task)
        return go

    def replica_ttl(self) -> float:
        """How long this replica counts as alive after its last heartbeat: its open runs are ``lost`` after it."""
        return jobs_q.replica_ttl(float(self.settings.server.poll_lease))

    async def heartbeat(self) -> None:
        """Renew this replica's liveness lease, end as ``lost`` the open runs of replicas whose lease lapsed, give
        the C heap's free pages back."""
        try:
            now = time.time()
            await asyncio.to_thread(jobs_q.replica_alive, self.svc.store, self.holder, self.replica_ttl(), now=now)
            await asyncio.to_thread(jobs_q.mark_lost, self.svc.store, now, self.replica_ttl())
            await asyncio.to_thread(heap.trim)  # and what the requests and jobs since freed
        except Exception as exc:  # a database that is down now: the next heartbeat tries again
            log.warning("replica heartbeat failed: %s", type(exc).__name__)

    async def stop(self, grace_s: float = 10.0) -> None:
        """Stop scheduling, let the running poll and jobs finish (up to ``grace_s``), then shut down."""
        if self.scheduler is not None:
            self.scheduler.pause()
        try:
            async with asyncio.timeout(grace_s):
                async with self._polling:
                    pass
                if self._inflight:
                    await asyncio.gather(*self._inflight, return_exceptions=True)
        except TimeoutError:
            log.warning("stopped with jobs still running")
        if self.scheduler is not None:
            self.scheduler.shutdown(wait=False)
            self.scheduler = None
        with suppress(Exception):
            await asyncio.to_thread(jobs_q.replica_gone, self.svc.store, self.holder)

    def last_runs(self) -> list[jobs_q.JobRun]:
        return jobs_q.last_runs(self.svc.store)


def _audit_summary(report: Any) -> Any:
    """The audit's counts (the report itself is read with `quotawarden audit` or the API)."""
    return report.get("summary", {}) if isinstance(report, dict) else report


def _fairness_summary(outcomes: Any) -> Any:
    """What the throttle action did or proposed, one line per consumer."""
    return [o.summary for o in outcomes] if outcomes else "no consumer over its fair share"


def _push_summary(report: Any) -> Any:
    """A push the hub did not take fails the run (``jobs`` shows why); what it sent otherwise."""
    if not report.ok:
        raise RuntimeError(report.error)
    return report.json()


def _soon() -> Any:
    from datetime import UTC, datetime

    return datetime.now(UTC)
