"""A third-party provider plug-in for the proxy tests: "Relay", a made-up hosted service that speaks the Anthropic
Messages API. It declares that dialect and reads its own rate-limit headers; nothing in the core names it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from quotawarden.domain import QuotaSample, Source, Unit
from quotawarden.plugins import hookimpl
from quotawarden.spec import Headers, ProviderSpec

WINDOWS = {"requests": Unit.REQUESTS, "tokens": Unit.TOKENS}


class RelayHeaders:
    """``anthropic-ratelimit-<window>-{limit,remaining,reset}``, one sample per window present."""

    def matches(self, host: str, path: str) -> bool:
        return True

    def read(self, account_id: str, status: int, headers: Headers, now: datetime) -> list[QuotaSample]:
        out = []
        for window, unit in WINDOWS.items():
            limit = headers.get(f"anthropic-ratelimit-{window}-limit")
            remaining = headers.get(f"anthropic-ratelimit-{window}-remaining")
            if limit is None or remaining is None:
                continue
            reset = headers.get(f"anthropic-ratelimit-{window}-reset")
            out.append(QuotaSample(observed_at=now, account_id=account_id, window=f"relay-{window}", unit=unit,
                                   source=Source.PROXY, limit=float(limit), remaining=float(remaining),
                                   used=float(limit) - float(remaining),
                                   resets_at=datetime.fromisoformat(reset.replace("Z", "+00:00")) if reset else None))
        return out


SPEC = ProviderSpec(slug="relay", display_name="Relay (Anthropic-shaped)", credential_env=("RELAY_API_KEY",),
                    headers=RelayHeaders(), dialect="anthropic")


@hookimpl
def register_providers(register: Callable[[ProviderSpec], None]) -> None:
    register(SPEC)
