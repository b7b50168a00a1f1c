"""The plug-in API: what a provider or a log source declares, and its small, pure capabilities.

A provider is data (:class:`ProviderSpec`) plus any of three capabilities:

* **probe** -- a sans-I/O generator: it *yields* :class:`HttpRequest` objects, is *sent* the
  :class:`HttpResponse` for each, and *returns* a :class:`ProbeReading`. It never opens a socket, so
  pagination, token refresh and multi-call probes stay pure and testable; the runner in
  ``quotawarden.sources.probe_runner`` does the sending, timing out, retrying and status mapping.
* **header reader** -- turns the status and headers of any response (probe or proxied traffic) into samples.
* **log reader** -- see ``quotawarden.logsources``.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol, get_args
from urllib.parse import urlsplit, urlunsplit

import orjson
from pydantic import BaseModel

from quotawarden.domain import Account, Outcome, QuotaSample, UsageEvent


@dataclass(frozen=True, slots=True)
class HttpRequest:
    method: str
    url: str
    headers: Mapping[str, str] = field(default_factory=dict)
    json: Any = None
    params: Mapping[str, str] = field(default_factory=dict)
    form: Mapping[str, str] | None = None
    """A form-encoded body (``application/x-www-form-urlencoded``), as OAuth token endpoints expect."""
    purpose: str = "probe"
    """What this call is for (``probe``, ``refresh``, ``page``): shown in ``poll --json`` cost."""
    cost_tokens: int = 0
    """Tokens this request spends (a max_tokens=1 call costs a few); 0 for free usage endpoints."""


class Headers(Mapping[str, str]):
    """Case-insensitive, read-only header mapping (provider rule 1: names are case-insensitive)."""

    __slots__ = ("_d", "unreadable")

    def __init__(self, items: Mapping[str, str] | list[tuple[str, str]] | None = None) -> None:
        pairs = items.items() if isinstance(items, Mapping) else (items or [])
        self._d = {k.lower(): v for k, v in pairs}
        self.unreadable: list[str] = []
        """Names of headers a reader found present but could not read (read as absent); the proxy counts them."""

    def __getitem__(self, key: str) -> str:
        return self._d[key.lower()]

    def __iter__(self) -> Any:
        return iter(self._d)

    def __len__(self) -> int:
        return len(self._d)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and key.lower() in self._d

    def get(self, key: str, default: Any = None) -> Any:
        return self._d.get(key.lower(), default)


@dataclass(frozen=True, slots=True)
class HttpResponse:
    status: int
    headers: Headers
    body: bytes = b""
    elapsed_s: float = 0.0

    def json(self) -> Any:
        return orjson.loads(self.body)


@dataclass(frozen=True, slots=True)
class ProbeContext:
    account: Account
    secret: str | None
    settings: BaseModel | None
    now: datetime

    def url(self, default_base: str, path: str) -> str:
        return join_url(self.account.base_url or default_base, path)


@dataclass(frozen=True, slots=True)
class ProbeReading:
    """What one probe of one account found out."""

    samples: list[QuotaSample] = field(default_factory=list)
    outcome: Outcome = Outcome.OK
    reason: str = ""
    retry_at: datetime | None = None
    usage: list[UsageEvent] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    """Provider-specific facts worth showing (plan name, models loaded); never secrets."""


Probe = Callable[[ProbeContext], Generator[HttpRequest, HttpResponse, ProbeReading]]


class HeaderReader(Protocol):
    def matches(self, host: str, path: str) -> bool: ...

    def read(self, account_id: str, status: int, headers: Headers, now: datetime) -> list[QuotaSample]: ...


QUOTA_FREE_KINDS = frozenset({"local", "tool"})
"""Provider kinds with no quota to run out of (llama.cpp, Ollama, agent tools): not quota accounts."""
PAID_KINDS = frozenset({"api", "balance"})
"""Provider kinds whose usage is paid per call (API keys, prepaid credits): the paid fall-backs."""

Dialect = Literal["openai", "anthropic", "gemini"]
"""The API shapes the proxy speaks: where the key goes, how errors look, where usage hides in a body or stream."""
DIALECTS: tuple[str, ...] = get_args(Dialect)


@dataclass(frozen=True, slots=True)
class ProviderSpec:
    slug: str
    display_name: str
    default_base_url: str = ""
    credential_env: tuple[str, ...] = ()
    """Environment variables to fall back to, in order, so a missing key says exactly what to set."""
    needs_credential: bool = True
    settings_model: type[BaseModel] | None = None
    probe: Probe | None = None
    headers: HeaderReader | None = None
    kind: str = "api"
    """``api`` (key), ``subscription`` (OAuth plan), ``admin`` (org reports), ``balance``, ``local``, ``tool``."""
    auth: Literal["key", "oauth"] = "key"
    """``oauth``: the credential is a sign-in (access and refresh tokens) that can expire or be revoked; a rejected
    one raises an ``auth_failure`` alert (sign in again) instead of ``key_invalid`` (replace the key)."""
    probe_cost: str = ""
    """One line for the README and ``poll --json``: what a probe spends."""
    probe_min_interval_s: int = 0
    """Providers whose usage endpoint is itself rate-limited set a floor between probes."""
    docs: str = ""
    dialect: Dialect = "openai"
    """The API shape of the provider's own traffic, for the proxy: ``openai`` (OpenAI and every OpenAI-compatible
    API), ``anthropic`` (Messages API) or ``gemini`` (generateContent). Data only: the proxy implements each."""

    def __post_init__(self) -> None:
        if self.dialect not in DIALECTS:
            raise ValueError(f"provider {self.slug!r}: dialect {self.dialect!r} is not one of {', '.join(DIALECTS)}")


def join_url(base: str, path: str) -> str:
    """Replace scheme and host (and prefix any path the user gave) of an endpoint with ``base``."""
    b = urlsplit(base)
    p = urlsplit(path)
    prefix = b.path.rstrip("/")
    rel = p.path if p.scheme else path.split("?", 1)[0]
    if not rel.startswith("/"):
        rel = "/" + rel
    query = p.query if p.scheme else (path.split("?", 1)[1] if "?" in path else "")
    return urlunsplit((b.scheme, b.netloc, prefix + rel, query, ""))
