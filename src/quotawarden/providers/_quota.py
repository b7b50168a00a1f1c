"""Pure helpers for the balance, subscription and local providers: tolerant numbers and times, status mapping,
and :class:`SampleSet`, which rejects out-of-range values with a logged reason instead of storing them.

Provider rule 2 (numbers arrive as JSON numbers *or* numeric strings) and rule 3 (``Retry-After`` as seconds,
HTTP-date or ``retry-after-ms``) apply. Probes raise from ``quotawarden.errors``; the runner maps outcomes.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from email.utils import parsedate_to_datetime
from typing import Any, NoReturn

import orjson

from quotawarden.domain import Outcome, Provenance, QuotaSample, Source, Unit, derived_ratio
from quotawarden.errors import CredentialError, MalformedResponse, ProviderError, RateLimited, UpstreamError
from quotawarden.redact import redact_text
from quotawarden.spec import Headers, HttpResponse, ProbeContext, ProbeReading

log = logging.getLogger("quotawarden.providers")

MAX_RATIO = 2.0
"""A used ratio above this is a unit mix-up (a percentage of 1.7e9 is an epoch), not a quota."""
MAX_RESET_AHEAD = timedelta(days=400)
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|h|m|s)")


def num(value: Any, what: str) -> float:
    """A JSON number or numeric string; anything else is a malformed body."""
    if isinstance(value, bool):
        raise MalformedResponse(f"{what}: expected a number, got a boolean")
    if isinstance(value, int | float):
        result = float(value)
    elif isinstance(value, str):
        try:
            result = float(value.strip())
        except ValueError:
            raise MalformedResponse(f"{what}: expected a number, got {value[:40]!r}") from None
    else:
        raise MalformedResponse(f"{what}: expected a number, got {type(value).__name__}")
    if not math.isfinite(result):
        raise MalformedResponse(f"{what}: not a finite number")
    return result


def opt_num(value: Any, what: str) -> float | None:
    return None if value is None or value == "" else num(value, what)


def money(value: Any, what: str) -> Decimal:
    """Money stays exact: a decimal string or a JSON number, read through ``str`` to keep its digits."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise MalformedResponse(f"{what}: expected an amount, got {type(value).__name__}")
    try:
        result = Decimal(str(value).strip())
    except InvalidOperation:
        raise MalformedResponse(f"{what}: expected an amount, got {str(value)[:40]!r}") from None
    if not result.is_finite():
        raise MalformedResponse(f"{what}: not a finite amount")
    if abs(result) > MAX_AMOUNT:
        raise MalformedResponse(f"{what}: {str(value)[:40]} is not an amount any account holds")
    return result


def length_s(value: Any, what: str, scale: float = 1.0) -> int:
    """A window length in seconds from a count of ``scale``-second units: above 0 and at most ten years."""
    seconds = num(value, what) * scale
    if not 0 < seconds <= MAX_LENGTH_S:
        raise MalformedResponse(f"{what}: {str(value)[:40]} is not a window length")
    return int(seconds)


MAX_AMOUNT = Decimal(10) ** 15
"""More money than any account balance or bill: an amount beyond it is a malformed answer."""
MAX_LENGTH_S = 10 * 366 * 86400
"""Ten years: the longest window length read as one."""


def go_duration(text: str | None) -> float | None:
    """``6m0s``, ``2m59.56s``, ``20ms``, ``1h2m3s`` -> seconds; a bare number is seconds; junk -> None. So is a
    duration below 0 or beyond :data:`MAX_RESET_AHEAD` (a 26-digit reset would overflow any time it is added to)."""
    if text is None:
        return None
    text = text.strip()
    try:
        value = float(text)
    except ValueError:
        parts = _DURATION.findall(text)
        if not parts or "".join(n + u for n, u in parts) != text:
            return None
        scale = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}
        value = sum(float(n) * scale[u] for n, u in parts)
    return value if math.isfinite(value) and 0 <= value <= MAX_RESET_AHEAD.total_seconds() else None


def epoch_ms(value: Any, what: str) -> datetime:
    try:
        return datetime.fromtimestamp(num(value, what) / 1000, UTC)
    except (OverflowError, OSError, ValueError):
        raise MalformedResponse(f"{what}: not an epoch-ms time") from None


def parse_time(value: Any, what: str) -> datetime:
    """ISO 8601 (``Z`` or offset; naive means UTC), a bare ``YYYY-MM-DD`` (midnight UTC) or epoch s/ms."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            return datetime.fromtimestamp(value / 1000 if value > 1e11 else value, UTC)
        except (OverflowError, OSError, ValueError):
            raise MalformedResponse(f"{what}: not an epoch time") from None
    if not isinstance(value, str):
        raise MalformedResponse(f"{what}: expected a time, got {type(value).__name__}")
    text = value.strip()
    if text.isdigit():
        return parse_time(int(text), what)
    try:
        if len(text) == 10:
            d = date.fromisoformat(text)
            return datetime(d.year, d.month, d.day, tzinfo=UTC)
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise MalformedResponse(f"{what}: not a time: {text[:40]!r}") from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def retry_after(headers: Headers, now: datetime) -> float | None:
    """Seconds to wait: ``retry-after-ms``, ``Retry-After`` seconds or HTTP-date (provider rule 3)."""
    ms = go_duration(headers.get("retry-after-ms"))
    if ms is not None:
        return max(0.0, ms / 1000)
    raw = headers.get("retry-after")
    if raw is None:
        return None
    secs = go_duration(raw)
    if secs is not None:
        return max(0.0, secs)
    try:
        when = parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when.astimezone(UTC) - now).total_seconds())


def error_text(body: bytes) -> str:
    """The provider's own one-line error message (OpenAI/GitHub/Z.ai/MiniMax shapes), secrets masked."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return redact_text(body[:120].decode("utf-8", "replace").strip())
    msg: Any = None
    if isinstance(data, dict):
        err = data.get("error")
        if isinstance(err, dict):
            msg = err.get("message")
        elif isinstance(err, str):
            msg = err
        msg = msg or data.get("message") or data.get("msg")
        base = data.get("base_resp")
        if not msg and isinstance(base, dict):
            msg = base.get("status_msg")
    return redact_text(str(msg)[:200]) if msg else ""


def check_status(resp: HttpResponse, name: str, now: datetime) -> None:
    """Map a non-2xx response onto the exception tree: 401/403 invalid, 402/429 limited, 5xx upstream."""
    if 200 <= resp.status < 300:
        return
    detail = error_text(resp.body)
    reason = f"{name}: HTTP {resp.status}" + (f": {detail}" if detail else "")
    if resp.status in (401, 403):
        raise CredentialError(reason)
    if resp.status == 429:
        raise RateLimited(reason, retry_after(resp.headers, now))
    if resp.status == 402:
        raise RateLimited(reason + " (out of credits)")
    if resp.status >= 500:
        raise UpstreamError(reason)
    raise ProviderError(reason)


def raise_for_code(code: Any, reason: str, auth: Collection[Any], limited: Collection[Any]) -> NoReturn:
    """An error code inside a 2xx answer's own envelope: a credential code is invalid, a limit code limited, and
    any other code a malformed answer."""
    if isinstance(code, list | dict):
        raise MalformedResponse(f"{reason} (the error code is a {type(code).__name__})")
    if code in auth:
        raise CredentialError(reason)
    if code in limited:
        raise RateLimited(reason)
    raise MalformedResponse(reason)


def json_object(resp: HttpResponse, name: str) -> dict[str, Any]:
    """The body as a JSON object, or MalformedResponse saying what was wrong (never the body itself)."""
    try:
        data = orjson.loads(resp.body)
    except orjson.JSONDecodeError:
        raise MalformedResponse(f"{name}: response body is not JSON ({len(resp.body)} bytes)") from None
    if not isinstance(data, dict):
        raise MalformedResponse(f"{name}: expected a JSON object, got {type(data).__name__}")
    return data


def obj(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise MalformedResponse(f"{what}: expected an object")
    return value


def arr(value: Any, what: str) -> list[Any]:
    if not isinstance(value, list):
        raise MalformedResponse(f"{what}: expected a list")
    return value


@dataclass
class SampleSet:
    """Collects validated samples for one account; values out of range are dropped with a logged reason."""

    account_id: str
    now: datetime
    source: Source = Source.PROBE
    samples: list[QuotaSample] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, ctx: ProbeContext) -> SampleSet:
        return cls(ctx.account.id, ctx.now)

    def add(self, window: str, unit: Unit, *, used: float | None = None, remaining: float | None = None,
            limit: float | None = None, used_ratio: float | None = None, resets_at: datetime | None = None,
            status: str | None = None, length_s: int | None = None,
            provenance: Provenance = Provenance.OFFICIAL, signed: bool = False) -> QuotaSample | None:
        """``signed`` allows negative ``remaining``: a balance may be a debt, a quota may not."""
        if used_ratio is None:
            used_ratio = derived_ratio(used, remaining, limit)
        problem = self._problem(used, remaining, limit, used_ratio, resets_at, signed)
        if problem:
            self.reject(window, problem)
            return None
        sample = QuotaSample(observed_at=self.now, account_id=self.account_id, window=window, unit=unit,
                             source=self.source, provenance=provenance, used_ratio=used_ratio, used=used,
                             remaining=remaining, limit=limit, resets_at=resets_at, status=status,
                             window_length_s=length_s)
        self.samples.append(sample)
        return sample

    def reject(self, window: str, problem: str) -> None:
        reason = f"{self.account_id}/{window}: rejected, {problem}"
        log.warning("%s", reason)
        self.rejected.append(reason)

    def _problem(self, used: float | None, remaining: float | None, limit: float | None,
                 ratio: float | None, resets_at: datetime | None, signed: bool) -> str:
        for name, v in (("used", used), ("remaining", remaining), ("limit", limit), ("used_ratio", ratio)):
            if v is not None and not math.isfinite(v):
                return f"{name} is not finite"
        if ratio is not None and not -1e-9 <= ratio <= MAX_RATIO:
            return f"used ratio {ratio:g} is outside 0..{MAX_RATIO:g}"
        if used is not None and used < 0:
            return f"negative used {used:g}"
        if limit is not None and limit < 0:
            return f"negative limit {limit:g}"
        if remaining is not None and remaining < 0 and not signed:
            return f"negative remaining {remaining:g}"
        if resets_at is not None and not (self.now - timedelta(days=1) <= resets_at <= self.now + MAX_RESET_AHEAD):
            return f"reset time {resets_at.isoformat()} is implausible"
        return ""

    def reading(self, outcome: Outcome = Outcome.OK, reason: str = "", **details: Any) -> ProbeReading:
        if self.rejected:
            details["rejected"] = list(self.rejected)
        return ProbeReading(samples=list(self.samples), outcome=outcome, reason=reason, details=details)


def bearer(secret: str | None, name: str) -> dict[str, str]:
    if not secret:
        raise CredentialError(f"{name}: no credential configured")
    return {"Authorization": f"Bearer {secret}"}


def next_utc_period(now: datetime, period: str) -> datetime | None:
    """Start of the next UTC day, ISO week (Monday) or month; None for anything else."""
    day = datetime(now.year, now.month, now.day, tzinfo=UTC)
    if period == "daily":
        return day + timedelta(days=1)
    if period == "weekly":
        return day + timedelta(days=7 - now.weekday())
    if period == "monthly":
        return datetime(now.year + now.month // 12, now.month % 12 + 1, 1, tzinfo=UTC)
    return None


def add_balance(out: SampleSet, window: str, unit: Unit, balance: Decimal, reference: float | None) -> None:
    """A prepaid balance is official; turned into a used ratio against a user-given reference it is estimated."""
    amount = float(balance)
    if reference is None or reference <= 0:
        out.add(window, unit, remaining=amount, signed=True)
        return
    used = max(0.0, reference - amount)
    out.add(window, unit, remaining=amount, limit=reference, used=used, used_ratio=min(used / reference, 1.0),
            provenance=Provenance.ESTIMATED, signed=True)
