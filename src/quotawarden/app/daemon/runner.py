"""Running one job: a lease when only one replica may run it, a timeout, retries with backoff, a ``job_runs`` row.

A job's result is its ``detail``: text stays text; a structured result (a dict, a list, a dataclass such as an
ingest report) is stored as compact JSON, so ``quotawarden jobs`` shows it in words (:func:`detail_text`) and
``jobs --json`` as data (:func:`detail_value`). Never a Python repr.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson
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
        detail = encode_detail(result)
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


DETAIL_MAX = 4000
"""The stored detail is cut here (``store.jobs.finish``); a longer structured result is stored as its words."""


def _plain(value: Any) -> Any:
    if isinstance(value, set | frozenset):
        return sorted(value, key=str)
    return str(value)  # Decimal, Path, anything else orjson has no form for


def encode_detail(result: Any) -> str:
    """What a job's result is stored as (see the module docstring)."""
    if result is None:
        return ""
    if isinstance(result, str):
        return result
    text = orjson.dumps(result, default=_plain, option=orjson.OPT_NON_STR_KEYS).decode()
    return text if len(text) <= DETAIL_MAX else detail_text(text)[:DETAIL_MAX]


def detail_value(detail: str | None) -> Any:
    """A stored detail as data: the JSON a structured result was stored as, else the text ("" when none)."""
    if not detail:
        return ""
    if detail[0] in "{[":
        try:
            return orjson.loads(detail)
        except orjson.JSONDecodeError:
            pass
    return detail


def detail_text(detail: str | None) -> str:
    """A stored detail in words: ``opened 1, notices sent 2, by source (claude_code 380, codex 20)``."""
    return _words(detail_value(detail))


def _words(value: Any, top: bool = True) -> str:
    if isinstance(value, dict):
        parts = [f"{str(k).replace('_', ' ') if top else k} "
                 + (f"({_words(v, False)})" if isinstance(v, dict) else _words(v, False))
                 for k, v in value.items() if v not in (None, "", [], {})]
        return ", ".join(parts) or "nothing"
    if isinstance(value, list):
        inner = [_words(v, top) for v in value]
        return "; ".join(f"({w})" if isinstance(v, dict) and len(value) > 1 else w for v, w in zip(value, inner,
                                                                                                       strict=True))
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return str(round(value, 2))
    return str(value)


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


