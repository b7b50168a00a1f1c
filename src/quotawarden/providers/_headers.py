"""Reading rate-limit response headers, shared by the API-key providers (probe answers and proxied traffic alike).

An odd header never crashes a reading: an unreadable value is logged and read as absent. A limit/remaining pair
becomes one window whose ``used`` is ``limit - remaining``, floored at 0 (remainders may arrive rounded up).
:class:`OpenAIStyleHeaders` reads the ``x-ratelimit-{limit,remaining,reset}-<kind>`` family (OpenAI, Groq, xAI)
with Go-style relative resets (``6m0s``, ``1.5s``, ``20ms``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

import orjson

from quotawarden.domain import LimitVerdict, Outcome, QuotaSample, Source, Unit, classify_limit, limit_hold
from quotawarden.errors import MalformedResponse
from quotawarden.providers._quota import (
    SampleSet,
    check_status,
    error_text,
    go_duration,
    json_object,
    log,
    num,
    parse_time,
    retry_after,
)
from quotawarden.spec import Headers, HttpResponse, ProbeReading


def unreadable(headers: Headers, exc: MalformedResponse, name: str) -> None:
    """A header that is there but cannot be read: logged (naming it), noted on ``headers.unreadable`` (the proxy
    counts these as ``header_errors``), then read as absent."""
    headers.unreadable.append(name)
    log.warning("ignoring unreadable header %s (%s)", name, str(exc).removeprefix(name + ": ")[:80])


def header_num(headers: Headers, name: str) -> float | None:
    """A numeric header; None when absent or unreadable (logged, noted)."""
    raw = headers.get(name)
    if raw is None:
        return None
    try:
        return num(raw, name)
    except MalformedResponse as exc:
        unreadable(headers, exc, name)
        return None


def header_time(headers: Headers, name: str) -> datetime | None:
    """A header holding a time (RFC 3339 or epoch); None when absent, empty or unreadable (logged, noted)."""
    raw = headers.get(name)
    if not raw:
        return None
    try:
        return parse_time(raw, name)
    except MalformedResponse as exc:
        unreadable(headers, exc, name)
        return None


def header_duration(headers: Headers, name: str) -> float | None:
    """A header holding a relative time (``6m0s``, ``1.5``); None when absent, empty or unreadable (logged, noted):
    a reset 26 digits long is unreadable, not a time 10^18 years away."""
    raw = headers.get(name)
    if not raw:
        return None
    seconds = go_duration(raw)
    if seconds is None:
        unreadable(headers, MalformedResponse(f"{name}: not a duration: {raw[:40]!r}"), name)
    return seconds


def add_pair(out: SampleSet, window: str, unit: Unit, limit: float | None, remaining: float | None,
             resets_at: datetime | None, length_s: int | None) -> None:
    """One window from a limit/remaining pair (either may be missing; with both missing there is no window)."""
    if limit is None and remaining is None:
        return
    used = max(limit - remaining, 0.0) if limit is not None and remaining is not None else None
    out.add(window, unit, limit=limit, remaining=remaining, used=used, resets_at=resets_at, length_s=length_s)


@dataclass(frozen=True, slots=True)
class OpenAIStyleHeaders:
    """``x-ratelimit-*`` pairs; ``windows`` names each kind's window and its length in seconds (``requests`` counts
    requests, every other kind tokens). Answers to ``hosts`` under ``path_prefix`` match."""

    hosts: tuple[str, ...]
    windows: Mapping[str, tuple[str, int | None]]
    path_prefix: str = ""

    def matches(self, host: str, path: str) -> bool:
        return host.lower() in self.hosts and path.startswith(self.path_prefix)

    def read(self, account_id: str, status: int, headers: Headers, now: datetime, *,
             source: Source = Source.PROXY) -> list[QuotaSample]:
        out = SampleSet(account_id, now, source)
        for kind, (window, length) in self.windows.items():
            reset = header_duration(headers, f"x-ratelimit-reset-{kind}")
            add_pair(out, window, Unit.REQUESTS if kind == "requests" else Unit.TOKENS,
                     header_num(headers, f"x-ratelimit-limit-{kind}"),
                     header_num(headers, f"x-ratelimit-remaining-{kind}"),
                     now + timedelta(seconds=reset) if reset is not None else None, length)
        return out.samples


def retry_text(now: datetime, retry_at: datetime | None) -> str:
    """``, retry in 17s`` or ``, retry after 2026-08-21T07:00:00+00:00`` (beyond an hour); empty without one."""
    if retry_at is None:
        return ""
    wait = (retry_at - now).total_seconds()
    return f", retry in {wait:g}s" if wait <= 3600 else f", retry after {retry_at.isoformat()}"


_TRY_AGAIN = re.compile(rb"try again in ((?:\d+(?:\.\d+)?(?:ms|h|m|s))+)")


def body_retry_hint(body: bytes) -> float | None:
    """Seconds named by an OpenAI-style 429 message, ``Please try again in 50.597142857s`` (a Groq 429 body seen
    without any header, danielmiessler/Fabric#364); only read when no ``Retry-After`` header is given."""
    match = _TRY_AGAIN.search(body[:2000])
    return go_duration(match.group(1).decode()) if match else None


def error_type(body: bytes) -> str | None:
    """The provider's own name for an error, from any dialect's envelope: Anthropic ``error.type``
    (``rate_limit_error``, ``overloaded_error``), OpenAI ``error.code`` else ``error.type`` (``insufficient_quota``,
    ``rate_limit_exceeded``), Gemini ``error.status`` (``RESOURCE_EXHAUSTED``, ``UNAVAILABLE``)."""
    try:
        data = orjson.loads(body[:65536])
    except orjson.JSONDecodeError:
        return None
    err = data.get("error") if isinstance(data, dict) else None
    if not isinstance(err, dict):
        return None
    for key in ("code", "type", "status"):
        value = err.get(key)
        if isinstance(value, str) and value and value != "error":
            return value
    return None


def limit_verdict(status: int, body: bytes, samples: list[QuotaSample]) -> LimitVerdict:
    """:func:`quotawarden.domain.classify_limit` on an answer: its status, its error type and message, and the
    windows its headers or body said are exhausted."""
    return classify_limit(status, samples, error_type=error_type(body), message=error_text(body))


def rate_limited(name: str, samples: list[QuotaSample], headers: Headers, now: datetime,
                 body: bytes = b"", status: int = 429) -> ProbeReading:
    """A 429 answer, told apart (:func:`limit_verdict`): an exhausted window is LIMITED until ``Retry-After``
    (never before that window's reset, see :func:`quotawarden.domain.limit_hold`), a request-scoped limit
    THROTTLED and an overload OVERLOADED, each until a short retry time. The samples its headers carried are
    kept (0 left is news). Without the header, the body's "try again in"."""
    wait = retry_after(headers, now)
    if wait is None:
        wait = body_retry_hint(body)
    verdict = limit_verdict(status, body, samples)
    retry_at = limit_hold(now, verdict, now + timedelta(seconds=wait) if wait is not None else None, samples)
    label = {Outcome.LIMITED: "rate limited", Outcome.THROTTLED: "throttled, request-scoped",
             Outcome.OVERLOADED: "overloaded"}[verdict.outcome]
    return ProbeReading(samples=samples, outcome=verdict.outcome, retry_at=retry_at,
                        reason=f"{name}: {label} ({status}: {verdict.reason})" + retry_text(now, retry_at))


def answer_reading(name: str, samples: list[QuotaSample], resp: HttpResponse, now: datetime) -> ProbeReading:
    """The answer to a one-token call that was not a 429: an error status raises, an answer without ``usage`` is an
    ERROR (a 200 with a broken body is an upstream fault), anything else is a reading of its header samples."""
    check_status(resp, name, now)
    body = json_object(resp, name)
    if not isinstance(body.get("usage"), dict):
        return ProbeReading(outcome=Outcome.ERROR, reason=f"{name}: answer without usage (malformed body)")
    return ProbeReading(samples=samples, reason="" if samples else "no rate-limit headers in the response",
                        details={"model": body.get("model")})
