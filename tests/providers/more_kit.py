"""Helpers for the balance, subscription and local provider tests: build a probe context, load fixtures."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from quotawarden.domain import Account, QuotaSample
from quotawarden.plugins import load_plugins
from quotawarden.spec import Headers, HttpResponse, ProbeContext, ProbeReading, ProviderSpec
from quotawarden.testing import drive_probe, load_http_response

HERE = Path(__file__).parent
NOW = datetime(2026, 8, 20, 14, 3, 11, tzinfo=UTC)
SECRET = "sk-test-0123456789abcdefghijklmnopqrstuv"
PLUGINS = load_plugins()


def spec(slug: str) -> ProviderSpec:
    return PLUGINS.provider(slug)


def context(slug: str, settings: dict[str, Any] | None = None, *, base_url: str | None = None,
            secret: str | None = SECRET, account_id: str | None = None, now: datetime = NOW) -> ProbeContext:
    s = spec(slug)
    model = s.settings_model(**(settings or {})) if s.settings_model else None
    account = Account(id=account_id or f"{slug}-1", provider=slug, base_url=base_url,
                      settings=model.model_dump() if model else {})
    return ProbeContext(account=account, secret=secret, settings=model, now=now)


def fixture(name: str, status: int = 200) -> HttpResponse:
    """``<slug>/<file>``: ``.txt`` files are raw HTTP responses, anything else is a body."""
    path = HERE / name
    if path.suffix == ".txt" and path.read_bytes().startswith(b"HTTP/"):
        return load_http_response(path)
    content_type = "application/json" if path.suffix == ".json" else "text/plain"
    return HttpResponse(status=status, headers=Headers({"content-type": content_type}), body=path.read_bytes())


def by_window(samples: list[QuotaSample]) -> dict[str, QuotaSample]:
    return {s.window: s for s in samples}


def run(slug: str, ctx: ProbeContext, responses: Any) -> ProbeReading:
    probe = spec(slug).probe
    assert probe is not None
    return drive_probe(probe, ctx, responses)
