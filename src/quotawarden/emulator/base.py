"""The tiny interface an emulated provider implements.

One module per provider in ``quotawarden.emulator.providers`` defines a module-level ``EMULATOR``
(an :class:`EmulatedProvider`, or a list of them). Nothing else needs editing: the app finds the module.

    from quotawarden.emulator.base import EmulatedProvider, EmuRequest, Route, json_response

    async def balance(req: EmuRequest) -> Response:
        acct = req.account                       # already authenticated; faults and latency already applied
        left = acct.remaining_at("balance", req.now, req.start)
        return json_response({"balance": f"{left:.2f}"})

    EMULATOR = EmulatedProvider(
        slug="acme",                             # == EmuAccount.provider of the accounts it serves
        routes=[Route("GET", "/user/balance", balance)],
        error=lambda req, kind: openai_error(kind),   # the provider's own error envelope per fault kind
    )

How a request is dispatched:

1. The presented credential (``Authorization: Bearer|token``, ``x-api-key``, ``x-goog-api-key``, ``?key=``) is
   looked up in the scenario; the account's provider picks the route table. A path may start with
   ``/<slug>`` (a ``base_url`` of ``http://127.0.0.1:PORT/<slug>``) to scope it to one provider.
2. Unknown credential on a route with ``auth=True``: the provider's ``error(req, "401")``.
3. Injected faults (``EmuAccount.fault``) and latency are applied before the handler runs; ``headers(req)`` (the
   provider's rate-limit headers) are added to every response of an authenticated account, errors included.

Time comes from ``req.now`` (the injected clock), never the wall clock.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from quotawarden.clock import Clock
from quotawarden.emulator.scenario import EmuAccount, Scenario

Handler = Callable[["EmuRequest"], Awaitable[Response]]


@dataclass
class EmuRequest:
    request: Request
    state: EmulatorState
    provider: EmulatedProvider
    account: EmuAccount | None
    credential: str | None
    params: dict[str, str]
    now: datetime
    body: bytes = b""

    @property
    def start(self) -> datetime:
        return self.state.start

    def json(self) -> Any:
        try:
            return orjson.loads(self.body) if self.body else {}
        except orjson.JSONDecodeError:
            return None

    @property
    def acct(self) -> EmuAccount:
        """The authenticated account (routes with ``auth=True`` always have one)."""
        assert self.account is not None
        return self.account

    def used(self, window: str) -> float:
        return self.acct.used_at(window, self.now, self.start) + self.state.consumed(self.acct.id, window, self.now)

    def remaining(self, window: str) -> float:
        return max(0.0, self.acct.limits.get(window, 0.0) - self.used(window))


@dataclass
class Route:
    method: str
    path: str
    """``/v1/messages``; ``{name}`` matches one segment (up to ``/`` or ``:``), ``{name:path}`` the rest."""
    handler: Handler
    auth: bool = True
    pattern: re.Pattern[str] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        regex = re.sub(r"\{(\w+):path\}", r"(?P<\1>.+)", re.escape(self.path).replace(r"\{", "{").replace(r"\}", "}"))
        regex = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/:]+)", regex)
        self.pattern = re.compile(f"^{regex}$")

    def match(self, method: str, path: str) -> dict[str, str] | None:
        if method != self.method:
            return None
        m = self.pattern.match(path)
        return m.groupdict() if m else None


def _no_headers(req: EmuRequest) -> dict[str, str]:
    return {}


@dataclass
class EmulatedProvider:
    slug: str
    routes: list[Route]
    error: Callable[[EmuRequest, str], Response]
    """Build the provider's own error response for a fault kind (``401``, ``429``, ``malformed``...)."""
    headers: Callable[[EmuRequest], dict[str, str]] = _no_headers
    """Rate-limit headers for the authenticated account, added to every response."""
    credential_hint: str | None = None
    """Regex on an unknown credential that picks this provider for the 401 envelope (``^sk-ant-oat``)."""


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(data), status_code=status, headers=headers, media_type="application/json")


def openai_error(kind: str, message: str | None = None) -> Response:
    """The OpenAI-style envelope ``{"error": {message, type, param, code}}`` used by many providers."""
    table = {
        "400": (400, "invalid_request_error", None, "Invalid request."),
        "401": (401, "invalid_request_error", "invalid_api_key", "Incorrect API key provided."),
        "402": (402, "insufficient_balance", "insufficient_balance", "Insufficient balance."),
        "403": (403, "invalid_request_error", None, "You have insufficient permissions for this operation."),
        "404": (404, "invalid_request_error", "not_found", "Not found."),
        "429": (429, "requests", "rate_limit_exceeded", "Rate limit reached. Please try again in 6s."),
        "insufficient_quota": (429, "insufficient_quota", "insufficient_quota",
                               "You exceeded your current quota, please check your plan and billing details."),
        "500": (500, "server_error", None, "The server had an error while processing your request."),
        "503": (503, "server_error", None, "The engine is currently overloaded, please try again later."),
    }
    status, etype, code, text = table.get(kind, table["500"])
    headers = {"retry-after": "6"} if kind == "429" else None
    return json_response({"error": {"message": message or text, "type": etype, "param": None, "code": code}},
                         status, headers)


def malformed() -> Response:
    """A 200 whose body is not what the client expects (truncated JSON)."""
    return Response(b'{"error": {"message": "upstream conn', status_code=200, media_type="application/json")


# how long consumption counts against a window, by window name (default: a one-minute bucket)
HORIZON_S = {"rpd": 86400.0, "daily": 86400.0, "5h": 18000.0, "7d": 604800.0}


@dataclass
class Call:
    account_id: str | None
    method: str
    path: str
    status: int


@dataclass
class EmulatorState:
    scenario: Scenario
    clock: Clock
    providers: dict[str, EmulatedProvider]
    start: datetime
    credentials: dict[str, EmuAccount] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)
    fault_hits: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    status_reads: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    scratch: dict[object, Any] = field(default_factory=dict)
    """Per-provider bookkeeping (last call times, refreshed-token expiry), keyed by tuples."""
    _consumed: dict[tuple[str, str], list[tuple[float, float]]] = field(default_factory=lambda: defaultdict(list))

    def __post_init__(self) -> None:
        for a in self.scenario.accounts:
            self.credentials[a.credential] = a

    def add_account(self, account: EmuAccount) -> None:
        self.scenario.accounts.append(account)
        self.credentials[account.credential] = account

    def alias(self, credential: str, account: EmuAccount) -> None:
        """Make another credential (a refreshed OAuth token) name the same account."""
        self.credentials[credential] = account

    def revoke(self, credential: str) -> None:
        self.credentials.pop(credential, None)

    def consume(self, account_id: str, amounts: dict[str, float], now: datetime) -> None:
        t = now.timestamp()
        for window, amount in amounts.items():
            self._consumed[(account_id, window)].append((t, amount))

    def consumed(self, account_id: str, window: str, now: datetime) -> float:
        items = self._consumed.get((account_id, window))
        if not items:
            return 0.0
        since = now.timestamp() - HORIZON_S.get(window, 60.0)
        return sum(a for t, a in items if t > since)

    def calls_for(self, account_id: str) -> list[Call]:
        return [c for c in self.calls if c.account_id == account_id]
