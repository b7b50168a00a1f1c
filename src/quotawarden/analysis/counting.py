"""Counted windows: requests and tokens counted against an account's configured limits.

Google reports no usage for Gemini API keys, so a free-tier key is measured by counting: every request the proxy
forwarded for the account and every call read from an agent's logs (Gemini CLI) that is attributed to it counts
against the account's ``rpm_limit`` (requests in the last minute), ``tpm_limit`` (input tokens in the last minute)
and ``rpd_limit`` (requests since midnight Pacific time, when Google's daily quotas reset). The result is a set of
**estimated** samples (``provenance = estimated``, provider status ``counted``): official evidence such as a 429's
``QuotaFailure`` still wins while its window lasts (``analysis.reconcile``).

Pure: the store hands over the counts (:class:`Counts`), this module turns them into samples.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from quotawarden.clock import next_pacific_midnight, pacific
from quotawarden.domain import Account, Provenance, QuotaSample, Source, Unit

MINUTE = 60
DAY = 86400
COUNTED = "counted"
"""The provider status of a counted window (the provider said nothing; quotawarden counted)."""


@dataclass(frozen=True, slots=True)
class Limits:
    rpm: int | None = None
    tpm: int | None = None
    rpd: int | None = None


@dataclass(frozen=True, slots=True)
class Counts:
    """What the store counted for one account."""

    minute_requests: int = 0
    minute_tokens: int = 0
    day_requests: int = 0
    proxy_requests: int = 0
    """How many of the day's requests the proxy forwarded (the rest came from logs)."""


def limits_of(account: Account) -> Limits | None:
    """The configured limits of an account (``rpm_limit``, ``tpm_limit``, ``rpd_limit``), None when none is set."""
    s: Mapping[str, Any] = account.settings
    values = [s.get(k) for k in ("rpm_limit", "tpm_limit", "rpd_limit")]
    if not any(isinstance(v, int) and v > 0 for v in values):
        return None
    rpm, tpm, rpd = (int(v) if isinstance(v, int) and v > 0 else None for v in values)
    return Limits(rpm, tpm, rpd)


def day_start(now: datetime) -> datetime:
    """The last midnight in America/Los_Angeles (the start of today's ``rpd`` window)."""
    local = now.astimezone(pacific()).replace(hour=0, minute=0, second=0, microsecond=0)
    return local.astimezone(now.tzinfo)


def since(now: datetime) -> tuple[float, float]:
    """(minute start, day start) as epoch seconds: the two cut-offs the store counts from."""
    return (now - timedelta(seconds=MINUTE)).timestamp(), day_start(now).timestamp()


def samples(account_id: str, limits: Limits, counts: Counts, now: datetime) -> list[QuotaSample]:
    """One estimated sample per configured limit, with the counted use and the window's reset."""
    source = Source.PROXY if counts.proxy_requests else Source.LOG
    minute_reset = now + timedelta(seconds=MINUTE)
    out = []
    for window, limit, used, unit, length, reset in (
            ("rpm", limits.rpm, counts.minute_requests, Unit.REQUESTS, MINUTE, minute_reset),
            ("tpm", limits.tpm, counts.minute_tokens, Unit.TOKENS, MINUTE, minute_reset),
            ("rpd", limits.rpd, counts.day_requests, Unit.REQUESTS, DAY, next_pacific_midnight(now))):
        if not limit:
            continue
        out.append(QuotaSample(observed_at=now, account_id=account_id, window=window, unit=unit, source=source,
                               provenance=Provenance.ESTIMATED, used_ratio=used / limit, used=float(used),
                               remaining=float(max(limit - used, 0)), limit=float(limit), resets_at=reset,
                               status=COUNTED, window_length_s=length))
    return out
