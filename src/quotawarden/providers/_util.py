"""Small pure helpers every provider module may use: status mapping, numbers, durations, timestamps.

Probes signal failures by raising from the ``quotawarden.errors`` tree; the probe runner turns them into
outcomes (``CredentialError`` -> INVALID, ``RateLimited`` -> LIMITED, ``UpstreamError``/``MalformedResponse``
-> ERROR). :func:`raise_for_status` does the usual mapping in one call.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import orjson

from quotawarden.errors import CredentialError, MalformedResponse, ProviderError, RateLimited, UpstreamError
from quotawarden.spec import Headers, HttpResponse

_GO = re.compile(r"(\d+(?:\.\d+)?)(ms|h|m|s)")
_GO_UNITS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}


def number(value: Any) -> float | None:
    """A JSON number or a numeric string (rule 2); None for missing, empty, non-numeric or non-finite."""
    if value is None or isinstance(value, bool):
        return None
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return out if math.isfinite(out) else None


def go_duration(text: str | None) -> float | None:
    """``6m0s`` -> 360.0, ``1.5s`` -> 1.5, ``20ms`` -> 0.02, ``1h2m3s`` -> 3723.0; None when unreadable."""
    if not text:
        return None
    text = text.strip()
    parts = _GO.findall(text)
    if not parts or "".join(v + u for v, u in parts) != text:
        return None
    return sum(float(v) * _GO_UNITS[u] for v, u in parts)


def retry_after(headers: Headers, now: datetime) -> float | None:
    """Seconds to wait: ``retry-after-ms``, ``retry-after`` as seconds or an HTTP date (rule 3)."""
    if (ms := number(headers.get("retry-after-ms"))) is not None:
        return max(0.0, ms / 1000)
    raw = headers.get("retry-after")
    if raw is None:
        return None
    if (secs := number(raw)) is not None:
        return max(0.0, secs)
    try:
        when = parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when.astimezone(UTC) - now).total_seconds())


def parse_time(value: Any) -> datetime | None:
    """RFC3339/ISO-8601 (``Z`` or offset, fractional seconds), epoch seconds or epoch milliseconds."""
    if value is None or value == "":
        return None
    if (n := number(value)) is not None:
        if n > 1e11:  # milliseconds
            n /= 1000
        try:
            return datetime.fromtimestamp(n, UTC)
        except (OverflowError, OSError, ValueError):
            return None
    try:
        dt = datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def after(now: datetime, seconds: float | None) -> datetime | None:
    return None if seconds is None else now + timedelta(seconds=seconds)


def body_json(resp: HttpResponse) -> Any:
    """The body as JSON, or ``MalformedResponse`` naming what arrived (never the body itself)."""
    try:
        return orjson.loads(resp.body)
    except orjson.JSONDecodeError:
        raise MalformedResponse(f"HTTP {resp.status}: body is not JSON ({len(resp.body)} bytes)") from None


def error_message(resp: HttpResponse) -> str:
    """The provider's own one-line error text from the usual envelopes, if any."""
    try:
        data = orjson.loads(resp.body)
    except orjson.JSONDecodeError:
        return ""
    if isinstance(data, dict):
        err = data.get("error")
        if isinstance(err, dict):
            return str(err.get("message") or err.get("type") or "")[:300]
        if isinstance(err, str):
            return str(data.get("error_description") or err)[:300]
        for key in ("message", "msg", "detail"):
            if isinstance(data.get(key), str):
                return str(data[key])[:300]
    return ""


def raise_for_status(resp: HttpResponse, now: datetime, *, what: str = "",
                     message: Callable[[HttpResponse], str] = error_message) -> None:
    """Map a non-2xx answer to the exception tree; 2xx returns quietly."""
    if 200 <= resp.status < 300:
        return
    text = message(resp)
    where = f"{what}: " if what else ""
    detail = f"HTTP {resp.status}" + (f": {text}" if text else "")
    if resp.status in (401, 403):
        raise CredentialError(f"{where}{detail}")
    if resp.status == 429:
        raise RateLimited(f"{where}{detail}", retry_after(resp.headers, now))
    if resp.status >= 500:
        raise UpstreamError(f"{where}{detail}")
    raise ProviderError(f"{where}{detail}")
