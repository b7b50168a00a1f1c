"""Seats that push to a hub, both ends.

A seat (``[hub] url, token``) sends what its store gained since its last acknowledged push: readings (samples),
usage events, account states, hourly call counts and its accounts' names (never a credential reference, a
base URL, a prompt or a key). Requests are batched (``[hub] batch`` rows), gzip-compressed msgspec JSON, and
carry a push id derived from their contents. The cursor (``store.hub.hub_cursors``) moves only after the hub
answers 200, so a hub that is down loses nothing: the rows wait in the seat's own store and go with the next push.

The hub (``serve`` with ``[[hub.seats]]``) writes each request into the ordinary tables under ``<seat>/<account>``
(usage with ``host = <seat>``); every row is keyed, so a replayed request (a lost answer, a second replica)
stores nothing twice.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import socket
import threading
import time
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any

import msgspec

from quotawarden.domain import Outcome, Provenance, Source, Unit
from quotawarden.errors import ConfigError, QuotawardenError
from quotawarden.store import hub as hub_q
from quotawarden.store.outcomes import HOUR, hour_of

if TYPE_CHECKING:
    import httpx

    from quotawarden.app.context import AppContext

PATH = "/v1/hub/push"
VERSION = 1
LATE_S = 120.0
"""Usage events stamped up to this long before the last pushed one are sent again (an agent log read a little
late still reaches the hub; the hub keeps each event once)."""
MAX_BODY = 8 * 1024 * 1024
"""Largest compressed request the hub reads."""
MAX_JSON = 64 * 1024 * 1024
"""Largest request once decompressed (a gzip bomb stops here)."""
MAX_ID = 200
_SQLITE_WRITER = threading.Lock()
"""On SQLite one push is written at a time per process: concurrent writers would queue in SQLite's own lock, whose
busy handler backs off in sleeps of up to 100 ms; a push is a few milliseconds of writes. PostgreSQL takes them
side by side."""


class HubError(QuotawardenError):
    """A push the hub refused (``status``: 400, 403, 413, 415) or could not be made."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


# -- the wire format ------------------------------------------------------------------------------------------

Int64 = Annotated[int, msgspec.Meta(ge=-(2**63), le=2**63 - 1)]
"""A token count: what the store's BIGINT columns hold (a larger one is refused with the push, as a 400)."""
Int32 = Annotated[int, msgspec.Meta(ge=-(2**31), le=2**31 - 1)]
"""A window length in seconds, a call count: the store's INTEGER columns."""

SampleRow = tuple[str, str, float, Source, Provenance, Unit, float | None, float | None, float | None, float | None,
                  float | None, str | None, Int32 | None]
UsageRow = tuple[str, float, str, str, Source, str | None, str | None, str | None, str | None, str | None,
                 Int64, Int64, Int64, Int64, Int64, Int64, Decimal | None, Decimal | None, str | None]
AccountRow = tuple[str, str, str, str | None, str | None, dict[str, str]]
StateRow = tuple[str, Outcome, str, float | None, float | None]
OutcomeRow = tuple[str, float, Int32, Int32]


class Push(msgspec.Struct, kw_only=True):
    """One push request (documented in README's team set-up; field order of each row: ``store.hub``'s columns)."""

    v: int
    push_id: str
    seat: str | None = None
    """The sending machine's host name, for the record; the hub goes by the token (``<seat>/`` prefix)."""
    sent_ts: float | None = None
    interval_s: float | None = None
    accounts: list[AccountRow] = []
    states: list[StateRow] = []
    samples: list[SampleRow] = []
    usage: list[UsageRow] = []
    outcomes: list[OutcomeRow] = []


_ENCODER = msgspec.json.Encoder(decimal_format="string")
_DECODER = msgspec.json.Decoder(Push)


def encode(push: Push) -> bytes:
    """The request body: gzip of the JSON."""
    return gzip.compress(_ENCODER.encode(push), compresslevel=5)


def decode(body: bytes, content_type: str | None, encoding: str | None) -> Push:
    ctype = (content_type or "").split(";")[0].strip().lower()
    if ctype != "application/json":
        raise HubError(f"send Content-Type: application/json (got {ctype or 'none'})", 415)
    enc = (encoding or "identity").strip().lower()
    if enc == "gzip":
        d = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            raw = d.decompress(body, MAX_JSON)
        except zlib.error as exc:
            raise HubError(f"the body is not gzip: {exc}") from None
        if d.unconsumed_tail:
            raise HubError(f"the body is over {MAX_JSON:,} bytes once decompressed", 413)
    elif enc == "identity":
        raw = body
    else:
        raise HubError(f"unsupported Content-Encoding {enc!r} (gzip or none)", 415)
    try:
        push = _DECODER.decode(raw)
    except msgspec.ValidationError as exc:
        raise HubError(f"not a push: {exc}") from None
    except msgspec.DecodeError as exc:
        raise HubError(f"the body is not JSON: {exc}") from None
    if push.v != VERSION:
        raise HubError(f"push format v{push.v} is not known here (this hub reads v{VERSION}); upgrade the hub")
    return push


# -- the seat's side ------------------------------------------------------------------------------------------


@dataclass
class PushReport:
    """What one ``push`` did: what the hub acknowledged, and what still waits in this seat's store."""

    hub: str
    ok: bool
    requests: int = 0
    sent: dict[str, int] = field(default_factory=lambda: {"samples": 0, "usage": 0, "outcomes": 0, "accounts": 0})
    pending: dict[str, int] = field(default_factory=lambda: {"samples": 0, "usage": 0})
    error: str | None = None
    seconds: float = 0.0

    def json(self) -> dict[str, Any]:
        return {"hub": self.hub, "ok": self.ok, "requests": self.requests, "sent": dict(self.sent),
                "pending": dict(self.pending), "error": self.error, "seconds": round(self.seconds, 3)}


def seat_settings(ctx: AppContext) -> tuple[str, str]:
    """(hub URL, this seat's token) from ``[hub]``; a clear error when either is missing."""
    hub = ctx.config.settings.hub
    file = str(ctx.config.path or "")
    if not hub.url:
        raise ConfigError("no hub to push to: set [hub] url = \"http://hub:7878\" and token", file=file,
                          field="hub.url")
    token = ctx.resolve_credential(hub.token, account="hub.token")
    if not token:
        raise ConfigError("[hub] token is not set (this seat's token on the hub)", file=file, field="hub.token")
    return hub.url.rstrip("/"), token


def build_push(ctx: AppContext, cur: hub_q.Cursor, batch: int,
               after_usage: tuple[float, str]) -> tuple[Push, int, tuple[float, str]]:
    """The next request after ``cur``: (push, last sample id in it, last usage key in it)."""
    store = ctx.store
    samples = hub_q.samples_after(store, cur.samples_id, batch)
    usage = hub_q.usage_after(store, after_usage, batch)
    last_id = samples[-1][0] if samples else cur.samples_id
    last_usage = (float(usage[-1][1]), str(usage[-1][0])) if usage else after_usage
    accounts = [(a[0], a[1], a[2] or "", a[3], a[4], {str(k): str(v) for k, v in (a[5] or {}).items()})
                for a in hub_q.account_rows(store)]
    states = [(s[0], Outcome(s[1]), s[2] or "", s[3], s[4]) for s in hub_q.state_rows(store)]
    outcomes = hub_q.outcome_hours_since(store, cur.outcomes_hour)
    ident = hashlib.sha256(repr((cur.samples_id, last_id, after_usage, last_usage, len(usage), cur.outcomes_hour,
                                 outcomes)).encode()).hexdigest()[:32]
    push = Push(v=VERSION, push_id=ident, seat=socket.gethostname(), sent_ts=time.time(),
                interval_s=float(ctx.config.settings.hub.interval), accounts=accounts,
                states=states, samples=[_sample_row(r) for _, r in samples],
                usage=[_usage_row(r) for r in usage], outcomes=outcomes)
    return push, last_id, last_usage


def _sample_row(r: tuple[Any, ...]) -> SampleRow:
    return (r[0], r[1], float(r[2]), Source(r[3]), Provenance(r[4]), Unit(r[5]), *r[6:11], r[11],
            None if r[12] is None else int(r[12]))


def _usage_row(r: tuple[Any, ...]) -> UsageRow:
    def dec(v: Any) -> Decimal | None:
        return None if v is None else Decimal(v)

    return (r[0], float(r[1]), r[2], r[3], Source(r[4]), *r[5:10], *(int(x or 0) for x in r[10:16]),
            dec(r[16]), dec(r[17]), r[18])


def push(ctx: AppContext, *, everything: bool = False, transport: httpx.BaseTransport | None = None,
         timeout_s: float = 30.0) -> PushReport:
    """Send everything since the last acknowledged push, request by request; the cursor moves after each 200.

    ``everything``: start from the beginning (the hub keeps each row once). Never raises for a hub that is
    down or refuses: the report says so (``ok`` false, ``error``) and what waits (``pending``)."""
    import httpx

    url, token = seat_settings(ctx)
    batch = ctx.config.settings.hub.batch
    store = ctx.store
    started = time.monotonic()
    report = PushReport(hub=url, ok=True)
    if everything:
        hub_q.reset(store, url)
    cur = hub_q.cursor(store, url)
    after_usage = (max(cur.usage_ts - LATE_S, 0.0), "") if cur.usage_ts else (0.0, "")
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json", "Content-Encoding": "gzip",
               "User-Agent": "quotawarden-seat"}
    with httpx.Client(transport=transport, timeout=timeout_s) as client:
        while True:
            body_push, last_id, last_usage = build_push(ctx, cur, batch, after_usage)
            try:
                r = client.post(url + PATH, content=encode(body_push), headers=headers)
            except httpx.HTTPError as exc:
                report.ok, report.error = False, f"hub {url} unreachable ({type(exc).__name__}: {exc})"
                break
            if r.status_code != 200:
                report.ok, report.error = False, f"hub {url} refused the push: HTTP {r.status_code}: {_detail(r)}"
                break
            report.requests += 1
            for k, rows in (("samples", body_push.samples), ("usage", body_push.usage),
                            ("outcomes", body_push.outcomes)):
                report.sent[k] += len(rows)
            report.sent["accounts"] = len(body_push.accounts)
            hour = float(hour_of(time.time()) - HOUR)
            cur = hub_q.Cursor(last_id, last_usage[0] if body_push.usage else cur.usage_ts,
                               max(cur.outcomes_hour, hour), time.time(), cur.pushes + 1)
            hub_q.advance(store, url, cur)
            after_usage = last_usage
            if len(body_push.samples) < batch and len(body_push.usage) < batch:
                break
    report.pending = _pending(ctx, cur)
    report.seconds = time.monotonic() - started
    return report


def _pending(ctx: AppContext, cur: hub_q.Cursor) -> dict[str, int]:
    return hub_q.pending(ctx.store, cur.samples_id, cur.usage_ts)


def _detail(r: Any) -> str:
    try:
        data = r.json()
    except ValueError:
        return str(r.text)[:200]
    return str(data.get("detail") or data)[:300] if isinstance(data, dict) else str(data)[:300]


# -- the hub's side -------------------------------------------------------------------------------------------


def seat_tokens(ctx: AppContext) -> dict[str, str]:
    """Token -> seat name, from ``[[hub.seats]]`` (references resolved once, at start)."""
    out: dict[str, str] = {}
    for seat in ctx.config.settings.hub.seats:
        token = ctx.resolve_credential(seat.token, account=f"hub seat {seat.name}")
        if token:
            out[token] = seat.name
    return out


def _prefixed(prefix: str, account_id: str) -> str:
    full = prefix + account_id
    if len(full) > MAX_ID:
        raise HubError(f"account id {account_id[:60]!r} is too long with the seat prefix ({len(full)} > {MAX_ID})")
    return full


def _key(prefix: str, key: str) -> str:
    full = prefix + key
    return full if len(full) <= 300 else prefix + hashlib.sha256(key.encode()).hexdigest()


def _us(ts: float) -> float:
    """A time as the store keeps it (to the microsecond, as every other writer's ``datetime.timestamp()``): the
    same reading pushed by an older seat or replayed is the same row."""
    return datetime.fromtimestamp(ts, UTC).timestamp()


def _us_or_none(ts: float | None) -> float | None:
    return None if ts is None else _us(ts)


def receive(ctx: AppContext, seat: str, body: bytes, content_type: str | None,
            encoding: str | None) -> dict[str, Any]:
    """Store one push from ``seat`` (whose token the caller checked); returns the acknowledgement.

    The rows go straight from the decoded arrays to the store's columns (``store.hub``'s order), prefixed with
    ``<seat>/``; no domain objects on this path (a hub takes dozens of pushes a second)."""
    p = decode(body, content_type, encoding)
    prefix = seat + "/"
    tagged = {"seat": seat}
    enc = _JSON_TEXT
    try:
        accounts = [(_prefixed(prefix, a[0]), a[1], a[2], a[3], a[4], enc({**a[5], **tagged}).decode())
                    for a in p.accounts]
        states = [(_prefixed(prefix, s[0]), s[1].value, s[2], _us_or_none(s[3]), _us_or_none(s[4]))
                  for s in p.states]
        samples = [(_prefixed(prefix, r[0]), r[1], _us(r[2]), r[3].value, r[4].value, r[5].value, *r[6:10],
                    _us_or_none(r[10]), r[11], r[12]) for r in p.samples]
        usage = [(_key(prefix, u[0]), _us(u[1]), u[2], u[3], u[4].value,
                  None if u[5] is None else _prefixed(prefix, u[5]), u[6], u[7], u[8], seat, *u[10:]) for u in p.usage]
    except (OverflowError, OSError, ValueError) as exc:  # a time out of any calendar's range
        raise HubError(f"a time in the push is out of range: {exc}") from None
    outcomes = [(_prefixed(prefix, o[0]), float(o[1]), int(o[2]), int(o[3])) for o in p.outcomes]
    store = ctx.store
    with _SQLITE_WRITER if store.is_sqlite else contextlib.nullcontext():
        hub_q.store_push(store, seat, p.push_id[:64], time.time(), accounts=accounts, states=states,
                         samples=samples, usage=usage, outcomes=outcomes, interval_s=p.interval_s,
                         sent_ts=p.sent_ts)
    return {"push_id": p.push_id, "seat": seat, "accounts": len(accounts), "states": len(states),
            "samples": len(samples), "usage": len(usage), "outcomes": len(outcomes)}


_JSON_TEXT = msgspec.json.Encoder().encode
