"""Reading sequences built from the recorded provider answers in tests/providers (see their SOURCES.md): each
answer goes through the real parser, then its numbers are moved along a timeline (``at``, ``ratio``, ``reset``)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

from quotawarden.domain import Account, QuotaSample
from quotawarden.plugins import load_plugins
from quotawarden.providers import claude
from quotawarden.spec import Headers, HttpResponse, ProbeContext
from quotawarden.testing import drive_probe, load_http_response

FIXTURES = Path(__file__).parents[1] / "providers"
PLUGINS = load_plugins()


def header_samples(name: str, account: str, at: datetime) -> dict[str, QuotaSample]:
    """The proxy's readings of a recorded Claude answer (``claude/<name>``) as taken at ``at``."""
    r = load_http_response(FIXTURES / "claude" / name)
    return {s.window: s for s in claude.HEADERS.read(account, r.status, r.headers, at)}


def probe_samples(slug: str, name: str, account: str, at: datetime) -> dict[str, QuotaSample]:
    """A probe's readings of a recorded JSON answer (``<slug>/<name>``) as taken at ``at``."""
    probe = PLUGINS.provider(slug).probe
    assert probe is not None
    body = (FIXTURES / slug / name).read_bytes()
    ctx = ProbeContext(Account(account, slug), "sk-test-0123456789abcdefghijklmnop", None, at)
    reading = drive_probe(probe, ctx, [HttpResponse(200, Headers({"content-type": "application/json"}), body)])
    return {s.window: s for s in reading.samples}


def moved(s: QuotaSample, at: datetime, ratio: float | None = None, reset_shift_s: float = 0.0) -> QuotaSample:
    """The same reading taken at ``at``, with another ratio and its reset moved by ``reset_shift_s``."""
    return replace(s, observed_at=at, used_ratio=s.used_ratio if ratio is None else ratio,
                   resets_at=None if s.resets_at is None else s.resets_at + timedelta(seconds=reset_shift_s))
