"""Running one job: a lease when only one replica may run it, a timeout, retries with backoff, a ``job_runs`` row."""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tenacity import AsyncRetrying, RetryError, stop_after_attempt, wait_exponential

from quotawarden.redact import redact_text
from quotawarden.store import jobs as jobs_q
from quotawarden.store import leases
from quotawarden.store.engine import Store

log = logging.getLogger("quotawarden.daemon")
JobFn = Callable[[], Any]


class Skipped(Exception):
    """A job with nothing to do (its collaborator is not installed): recorded as ``skipped``."""


@dataclass
class JobSpec:
    name: str
    fn: JobFn
    singleton: bool = False
    """Only the replica that takes the lease ``job:<name>`` runs it."""
    lease_s: float = 60.0
    timeout_s: float | None = None
    retries: int = 0
    backoff_s: float = 30.0
    record: bool = True


async def call(fn: JobFn) -> Any:
    """Sync functions run in a thread so the event loop keeps answering HTTP."""
    if inspect.iscoroutinefunction(fn):
        return await fn()
    result = await asyncio.to_thread(fn)
    if inspect.isawaitable(result):
        return await result
    return result


async def run(store: Store, holder: str, spec: JobSpec, *,
              lease_name: str | None = None) -> str:
    """Returns the outcome: ok, error, timeout, skipped or not-leader."""
    lease = lease_name or f"job:{spec.name}"
    if spec.singleton and not await asyncio.to_thread(leases.acquire, store, lease, holder, spec.lease_s):
        return "not-leader"
    run_id = await asyncio.to_thread(jobs_q.start, store, spec.name, holder, time.time()) if spec.record else 0
    outcome, detail = "ok", ""
    keeper = asyncio.create_task(_keep(store, lease, holder, spec.lease_s)) if spec.singleton else None
    try:
        result = await _attempts(spec)
        detail = "" if result is None else str(result)
    except Skipped as exc:
        outcome, detail = "skipped", str(exc)
    except TimeoutError:
        outcome, detail = "timeout", f"gave up after {spec.timeout_s:.0f}s"
    except Exception as exc:
        outcome, detail = "error", redact_text(f"{type(exc).__name__}: {exc}")
        log.warning("job %s failed: %s", spec.name, detail)
    finally:
        if keeper is not None:
            keeper.cancel()
    if spec.record:
        await asyncio.to_thread(jobs_q.finish, store, run_id, time.time(), outcome, detail)
    return outcome


async def _keep(store: Store, lease: str, holder: str, ttl: float) -> None:
    """Renew the lease while the job runs: a run longer than ``ttl`` must not let another replica start the
    same job beside it."""
    while True:
        await asyncio.sleep(ttl / 3)
        try:
            held = await asyncio.to_thread(leases.acquire, store, lease, holder, ttl)
        except Exception as exc:  # the database is away: the next renewal tries again
            log.warning("could not renew %s: %s", lease, redact_text(str(exc)))
            continue
        if not held:
            log.warning("lost %s to another replica while the job ran", lease)
            return


async def _attempts(spec: JobSpec) -> Any:
    async def once() -> Any:
        if spec.timeout_s:
            return await asyncio.wait_for(call(spec.fn), spec.timeout_s)
        return await call(spec.fn)

    if spec.retries <= 0:
        return await once()
    try:
        async for attempt in AsyncRetrying(stop=stop_after_attempt(spec.retries + 1), reraise=True,
                                           wait=wait_exponential(multiplier=spec.backoff_s, max=spec.backoff_s * 8),
                                           retry=_retryable):
            with attempt:
                return await once()
    except RetryError as exc:  # pragma: no cover - reraise=True re-raises the last error
        raise exc.last_attempt.exception() or exc from None
    return None


def _retryable(state: Any) -> bool:
    exc = state.outcome.exception() if state.outcome else None
    return exc is not None and not isinstance(exc, Skipped)


