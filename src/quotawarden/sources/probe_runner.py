"""Drives the sans-I/O probes of ``quotawarden.spec`` over httpx: send, time out, retry, map, stamp, count.

    runner = ProbeRunner(clock, transport=httpx.ASGITransport(app))   # or no transport: real sockets
    results = await runner.run_many([ProbeJob(spec, account, secret, settings), ...])

* Each request a probe yields is sent with ``httpx.AsyncClient``; timeouts, network errors and 5xx answers are
  retried with exponential backoff (tenacity, up to ``tries`` attempts); 429 is an answer, never retried.
* The probe sees every final response and decides; failures it raises from the ``quotawarden.errors`` tree are
  mapped: CredentialError -> INVALID, RateLimited -> LIMITED (+ retry_at), UpstreamError/MalformedResponse/any
  parse error -> ERROR, network/timeout -> UNREACHABLE.
* A LIMITED outcome never retries before the reset of an exhausted window (``domain.limited_until``).
* Refusals are told apart by one rule (``domain.classify_limit`` on the last answer): a 429 whose exhausted
  windows are only short buckets or one model's cap is THROTTLED (short retry, not benched), a 529/503 or an
  ``overloaded_error`` is OVERLOADED (retried soon); only an exhausted account-wide window stays LIMITED.
* Samples are validated (:func:`validate`): out-of-range values are dropped with a logged reason.
* Reasons are one line, with the account's secret masked and anything key-shaped redacted.
* Concurrency: at most ``per_provider`` probes of one provider at once, and ``total`` overall.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx
from pydantic import BaseModel
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from quotawarden.clock import Clock
from quotawarden.domain import Account, LimitKind, Outcome, QuotaSample, UsageEvent, limit_hold, limited_until
from quotawarden.errors import (
    CredentialError,
    MalformedResponse,
    ProviderError,
    QuotawardenError,
    RateLimited,
    Unreachable,
    UpstreamError,
)
from quotawarden.providers._headers import limit_verdict
from quotawarden.providers._quota import retry_after
from quotawarden.redact import mask, redact_text
from quotawarden.spec import Headers, HttpRequest, HttpResponse, ProbeContext, ProbeReading, ProviderSpec

log = logging.getLogger("quotawarden.probe")

SECRET_UPDATE = "_secret_update"
"""A probe that rotated a credential (OAuth refresh) puts the new secret material under this details key; the
runner removes it before anything else sees the reading and hands it to ``on_secret_update``."""

MAX_RATIO = 10.0
MAX_HORIZON = timedelta(days=400)


@dataclass(frozen=True, slots=True)
class ProbeCost:
    requests: int = 0
    tokens: int = 0


@dataclass(frozen=True, slots=True)
class ProbeJob:
    spec: ProviderSpec
    account: Account
    secret: str | None
    settings: BaseModel | None = None


@dataclass(frozen=True, slots=True)
class ProbeResult:
    account_id: str
    provider: str
    outcome: Outcome
    reason: str
    observed_at: datetime
    samples: list[QuotaSample] = field(default_factory=list)
    usage: list[UsageEvent] = field(default_factory=list)
    retry_at: datetime | None = None
    cost: ProbeCost = ProbeCost()
    details: dict[str, Any] = field(default_factory=dict)
    rejected: list[str] = field(default_factory=list)
    elapsed_s: float = 0.0
    skipped: bool = False
    """True when the account was not probed (cache guard, back-off); outcome/reason then say why."""

    def as_json(self) -> dict[str, Any]:
        return {"account": self.account_id, "provider": self.provider, "outcome": self.outcome.value,
                "reason": self.reason, "observed_at": self.observed_at, "retry_at": self.retry_at,
                "skipped": self.skipped, "samples": len(self.samples), "rejected": self.rejected,
                "cost": {"requests": self.cost.requests, "tokens": self.cost.tokens},
                "elapsed_s": round(self.elapsed_s, 3), "details": self.details}


class _Retry(Exception):
    """A 5xx answer worth another try; carries it so the last one reaches the probe."""

    def __init__(self, response: HttpResponse) -> None:
        self.response = response


def validate(samples: Iterable[QuotaSample], now: datetime) -> tuple[list[QuotaSample], list[str]]:
    """Keep plausible samples; name what was dropped (a percentage of 1.7e9, a negative remaining...)."""
    kept: list[QuotaSample] = []
    rejected: list[str] = []
    for s in samples:
        why = _implausible(s, now)
        if why:
            log.warning("%s/%s: sample rejected: %s", s.account_id, s.window, why)
            rejected.append(f"{s.window}: {why}")
        else:
            kept.append(s)
    return kept, rejected


def _implausible(s: QuotaSample, now: datetime) -> str:
    if s.used_ratio is not None and (not math.isfinite(s.used_ratio) or not 0 <= s.used_ratio <= MAX_RATIO):
        return f"used ratio {s.used_ratio:g} is out of range 0..{MAX_RATIO:g}"
    signed = s.window.startswith(("balance", "credits"))
    for name in ("used", "remaining", "limit"):
        v = getattr(s, name)
        if v is not None and (not math.isfinite(v) or (v < 0 and not signed)):
            return f"{name} {v:g} is out of range"
    if s.resets_at is not None and not (now - MAX_HORIZON <= s.resets_at <= now + MAX_HORIZON):
        return f"reset time {s.resets_at.isoformat()} is implausible"
    return ""


def _clean(text: str, secret: str | None) -> str:
    line = " ".join(str(text).split())
    if secret and len(secret) >= 4:
        line = line.replace(secret, mask(secret))
    return redact_text(line)[:400]


class ProbeRunner:
    def __init__(self, clock: Clock, *, transport: httpx.AsyncBaseTransport | None = None,
                 timeout: float = 10.0, tries: int = 3, backoff: float = 0.5, per_provider: int = 16,
                 total: int = 128, on_secret_update: Any = None,
                 on_result: Callable[[ProbeResult], None] | None = None) -> None:
        self.clock = clock
        self.transport = transport
        self.timeout = timeout
        self.tries = max(1, tries)
        self.backoff = backoff
        self.per_provider = per_provider
        self.on_secret_update = on_secret_update
        self.on_result = on_result
        """Called with each account's result as soon as it is known (a progress display)."""
        self._total = asyncio.Semaphore(total)
        self._sems: dict[str, asyncio.Semaphore] = {}

    def _client(self) -> httpx.AsyncClient:
        limits = httpx.Limits(max_connections=200, max_keepalive_connections=50)
        return httpx.AsyncClient(transport=self.transport, timeout=self.timeout, limits=limits,
                                 follow_redirects=False)

    async def run_many(self, jobs: Iterable[ProbeJob]) -> list[ProbeResult]:
        async with self._client() as client:
            return list(await asyncio.gather(*(self._guarded(client, j) for j in jobs)))

    async def run(self, job: ProbeJob) -> ProbeResult:
        async with self._client() as client:
            return await self._guarded(client, job)

    async def _guarded(self, client: httpx.AsyncClient, job: ProbeJob) -> ProbeResult:
        sem = self._sems.setdefault(job.spec.slug, asyncio.Semaphore(self.per_provider))
        async with sem, self._total:
            result = await self._probe(client, job)
        if self.on_result is not None:
            self.on_result(result)
        return result

    async def _probe(self, client: httpx.AsyncClient, job: ProbeJob) -> ProbeResult:
        started = time.monotonic()
        now = self.clock.now()
        counter = {"requests": 0, "tokens": 0}
        acct = job.account
        last: list[HttpResponse] = []

        def result(outcome: Outcome, reason: str, reading: ProbeReading | None = None,
                   retry_at: datetime | None = None) -> ProbeResult:
            samples, rejected = validate(reading.samples if reading else [], now)
            if last and (outcome is Outcome.LIMITED or (outcome is Outcome.ERROR and reading is None)):
                outcome, retry_at, reason = _told_apart(now, last[-1], outcome, retry_at, samples, reason)
            if outcome is Outcome.LIMITED:
                retry_at, reason = _retry_rule(now, retry_at, samples, reason)
            details = dict(reading.details) if reading else {}
            secret_update = details.pop(SECRET_UPDATE, None)
            if secret_update is not None and self.on_secret_update is not None:
                self.on_secret_update(acct, secret_update)
            rejected = [*details.pop("rejected", []), *rejected]
            return ProbeResult(acct.id, acct.provider, outcome, _clean(reason, job.secret), self.clock.now(),
                               samples, list(reading.usage) if reading else [], retry_at,
                               ProbeCost(counter["requests"], counter["tokens"]), _scrub(details, job.secret),
                               [_clean(r, job.secret) for r in rejected], time.monotonic() - started)

        if job.spec.probe is None:
            return result(Outcome.UNKNOWN, f"{job.spec.slug}: no probe (observed through the proxy or logs)")
        ctx = ProbeContext(account=acct, secret=job.secret, settings=job.settings, now=now)
        try:
            gen = job.spec.probe(ctx)
            request = next(gen)
            while True:
                response = await self._send(client, request, counter)
                last[:] = [response]
                request = gen.send(response)
        except StopIteration as stop:
            reading: ProbeReading = stop.value if isinstance(stop.value, ProbeReading) else ProbeReading()
            return result(reading.outcome, reading.reason, reading, reading.retry_at)
        except CredentialError as exc:
            return result(Outcome.INVALID, str(exc))
        except RateLimited as exc:
            retry_at = now + timedelta(seconds=exc.retry_after) if exc.retry_after is not None else None
            return result(Outcome.LIMITED, str(exc), retry_at=retry_at)
        except Unreachable as exc:
            return result(Outcome.UNREACHABLE, str(exc))
        except (UpstreamError, MalformedResponse, ProviderError) as exc:
            return result(Outcome.ERROR, str(exc))
        except QuotawardenError as exc:
            return result(Outcome.ERROR, str(exc))
        except Exception as exc:  # a parser tripping over an odd body is an ERROR outcome, never a traceback
            log.debug("probe of %s failed", acct.id, exc_info=True)
            return result(Outcome.ERROR, f"{job.spec.slug}: unreadable response ({type(exc).__name__}: {exc})")

    async def _send(self, client: httpx.AsyncClient, req: HttpRequest, counter: dict[str, int]) -> HttpResponse:
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self.tries), reraise=True,
            wait=wait_exponential(multiplier=self.backoff, min=self.backoff, max=8 * max(self.backoff, 0.01)),
            retry=retry_if_exception_type((_Retry, httpx.TimeoutException, httpx.TransportError)))
        try:
            async for attempt in retrying:
                with attempt:
                    return await self._once(client, req, counter)
        except _Retry as exc:
            return exc.response
        except httpx.TimeoutException:
            raise Unreachable(f"{_host(req.url)}: timed out after {self.timeout:g}s ({self.tries} tries)") from None
        except httpx.TransportError as exc:
            raise Unreachable(f"{_host(req.url)}: {type(exc).__name__} ({self.tries} tries)") from None
        raise AssertionError("unreachable")  # pragma: no cover

    async def _once(self, client: httpx.AsyncClient, req: HttpRequest, counter: dict[str, int]) -> HttpResponse:
        counter["requests"] += 1
        t0 = time.monotonic()
        r = await client.request(req.method, req.url, headers=dict(req.headers), params=dict(req.params) or None,
                                 json=req.json if req.json is not None else None,
                                 data=dict(req.form) if req.form is not None else None)
        counter["tokens"] += req.cost_tokens
        resp = HttpResponse(r.status_code, Headers(list(r.headers.items())), r.content, time.monotonic() - t0)
        if r.status_code >= 500:
            raise _Retry(resp)
        return resp


_REFUSALS = frozenset({429, 503, 529})


def _told_apart(now: datetime, resp: HttpResponse, outcome: Outcome, retry_at: datetime | None,
                samples: list[QuotaSample], reason: str) -> tuple[Outcome, datetime | None, str]:
    """A LIMITED outcome, or an ERROR raised on a refusal (429, 503, 529), read again by the one rule
    (:func:`limit_verdict`): a request-scoped limit becomes THROTTLED and an overload OVERLOADED, each with a short
    retry (:func:`limit_hold`); an exhausted window stays LIMITED."""
    if resp.status not in _REFUSALS or (outcome is Outcome.ERROR and resp.status == 429):
        return outcome, retry_at, reason  # an ERROR from a 429 is a usage endpoint's own limit (claude)
    verdict = limit_verdict(resp.status, resp.body, samples)
    if verdict.kind is LimitKind.WINDOW:
        return outcome, retry_at, reason
    if retry_at is None and (wait := retry_after(resp.headers, now)) is not None:
        retry_at = now + timedelta(seconds=wait)
    hold = limit_hold(now, verdict, retry_at, samples)
    return verdict.outcome, hold, f"{reason} ({verdict.outcome.value.lower()}: {verdict.reason}; not the whole " \
        f"account's limit)" if verdict.kind is LimitKind.REQUEST else f"{reason} (overloaded: {verdict.reason})"


def _retry_rule(now: datetime, retry_at: datetime | None, samples: list[QuotaSample],
                reason: str) -> tuple[datetime | None, str]:
    """Every provider's LIMITED outcome obeys one rule (:func:`limited_until`): never a retry before the reset of
    an exhausted window; the reason says so when the rule moved the retry time."""
    until = limited_until(now, retry_at, samples)
    if until is not None and until != retry_at:
        reason += f" (an exhausted window resets {until.isoformat()}; no retry before)"
    return until, reason


def _host(url: str) -> str:
    return httpx.URL(url).host or url


def _scrub(details: dict[str, Any], secret: str | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in details.items():
        out[k] = _clean(v, secret) if isinstance(v, str) else v
    return out
