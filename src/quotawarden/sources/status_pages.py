"""Provider status pages: one GET per page in the Statuspage ``/api/v2/status.json`` format most providers publish
(``{"status": {"indicator": "none|minor|major|critical", "description": ...}}``), read into the service states
that health weighs. A page that cannot be read says ``unknown``: our own network trouble is not the provider's.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import datetime

import httpx
import orjson

from quotawarden.domain import PageStatus
from quotawarden.redact import redact_text

STATES = {"none": "operational", "minor": "degraded", "major": "partial_outage", "critical": "major_outage",
          "maintenance": "degraded"}


def parse(body: bytes) -> tuple[str, str]:
    """(state, description) from a Statuspage ``status.json`` body; ValueError when it is not one."""
    try:
        status = orjson.loads(body)["status"]
        indicator, description = status["indicator"], status.get("description") or ""
    except (orjson.JSONDecodeError, KeyError, TypeError) as exc:
        raise ValueError(f"not a status page answer ({type(exc).__name__})") from None
    return STATES.get(str(indicator), "unknown"), str(description)[:300]


async def fetch(pages: Mapping[str, str], now: datetime, *, timeout_s: float = 5.0,
                transport: httpx.AsyncBaseTransport | None = None) -> list[PageStatus]:
    """Read every page once (providers that share a page share the GET)."""
    by_url: dict[str, list[str]] = {}
    for provider, url in pages.items():
        by_url.setdefault(url, []).append(provider)
    async with httpx.AsyncClient(timeout=timeout_s, transport=transport, follow_redirects=True) as client:
        read = await asyncio.gather(*(_one(client, url) for url in by_url))
    return [PageStatus(p, state, description, now)
            for (state, description), providers in zip(read, by_url.values(), strict=True) for p in providers]


async def _one(client: httpx.AsyncClient, url: str) -> tuple[str, str]:
    try:
        r = await client.get(url, headers={"accept": "application/json"})
        r.raise_for_status()
        return parse(r.content)
    except (httpx.HTTPError, ValueError) as exc:
        return "unknown", redact_text(f"status page unreadable: {exc}")[:300]
