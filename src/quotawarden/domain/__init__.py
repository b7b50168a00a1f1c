"""Frozen value types shared by every stage: sources write them, the store keeps them, analysis reads them.

Times are timezone-aware UTC ``datetime``; money is ``Decimal``; states and units are enums. Accounts, windows and
their readings are defined here; the records later stages keep (``UsageEvent``, ``Alert``, ``Consumer``,
``Instance``, ``AuditEvent``, ``PageStatus``, ``FileState``) in :mod:`quotawarden.domain.records`, and are importable
from here too: they load on first use, so ``status``, which reads quota windows only, never pays for them.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from quotawarden.domain.enums import AlertState as AlertState
from quotawarden.domain.enums import ConsumerState as ConsumerState
from quotawarden.domain.enums import Health as Health
from quotawarden.domain.enums import Outcome as Outcome
from quotawarden.domain.enums import Provenance as Provenance
from quotawarden.domain.enums import Severity as Severity
from quotawarden.domain.enums import Source as Source
from quotawarden.domain.enums import Unit as Unit
from quotawarden.naming import MODEL_WINDOW as MODEL_WINDOW  # re-exported: window names live in naming, which the
from quotawarden.naming import WINDOW_BASES as WINDOW_BASES  # fast paths import without the dataclasses below
from quotawarden.naming import scoped_window as scoped_window
from quotawarden.naming import window_name as window_name
from quotawarden.naming import window_scope as window_scope

CLAUDE_CODE_ACCOUNT = "claude"
"""The account id of the Claude login that Claude Code uses, when the config has no single ``claude`` account: the
status line's readings land on it and ``accounts discover`` proposes it (one name for one account)."""


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """Naive datetimes are taken as UTC (SQLite hands them back naive)."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


@dataclass(frozen=True, slots=True)
class Account:
    """A configured (or discovered) account: which provider, how to reach it, how it is labelled and grouped."""

    id: str
    provider: str
    label: str = ""
    credential: str | None = None
    """A reference such as ``env:VAR``, ``file:PATH`` or ``vault:NAME``; never the secret itself."""
    base_url: str | None = None
    plan: str | None = None
    pool: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)
    poll_interval_s: int | None = None

    @property
    def display(self) -> str:
        return self.label or self.id


@dataclass(frozen=True, slots=True)
class Window:
    """One quota window of an account: ``5h``, ``7d``, ``7d_opus``, ``monthly``, ``daily``, ``rpm``, ``balance``..."""

    name: str
    unit: Unit
    limit: float | None = None
    length_s: int | None = None
    """Nominal length of a rolling or calendar window, when the provider has one (5h = 18000)."""


def derived_ratio(used: float | None, remaining: float | None, limit: float | None) -> float | None:
    """The used share of a positive ``limit``: from ``used`` when known, else from ``remaining``; None otherwise."""
    if limit and limit > 0:
        if used is not None:
            return used / limit
        if remaining is not None:
            return 1.0 - remaining / limit
    return None


@dataclass(frozen=True, slots=True)
class QuotaSample:
    """One reading of one window of one account at one time, from one source."""

    observed_at: datetime
    account_id: str
    window: str
    unit: Unit
    source: Source
    provenance: Provenance = Provenance.OFFICIAL
    used_ratio: float | None = None
    used: float | None = None
    remaining: float | None = None
    limit: float | None = None
    resets_at: datetime | None = None
    status: str | None = None
    """The provider's own word for the window (``allowed``, ``allowed_warning``, ``rejected``, ...)."""
    window_length_s: int | None = None

    @property
    def effective_ratio(self) -> float | None:
        """used_ratio when stated, otherwise derived from used/remaining/limit."""
        return self.used_ratio if self.used_ratio is not None else derived_ratio(self.used, self.remaining, self.limit)


BUCKET_S = 60
"""Windows this short are refilling buckets: their reset says when they are *full* again, so an answer's own
retry time (sooner) stands; a longer window frees nothing before its reset."""


def exhausted(s: QuotaSample) -> bool:
    """A window with nothing left: rejected, 0 remaining, or used up."""
    ratio = s.effective_ratio
    return s.status in ("rejected", "RESOURCE_EXHAUSTED") or (s.remaining is not None and s.remaining <= 0) or \
        (ratio is not None and ratio >= 1.0)


OVERAGE_WINDOW = "overage"
"""The window of paid extra usage (Claude's ``anthropic-ratelimit-unified-overage-*`` headers)."""
OVERAGE_OPEN = frozenset({"allowed", "allowed_warning"})


def overage_in_use(samples: list[QuotaSample]) -> QuotaSample | None:
    """The exhausted plan window of an answer served from paid extra usage, else None: a plan window is exhausted
    and the ``overage`` window is open (``allowed``/``allowed_warning``): Claude Code's rule, read from the samples
    of one answer (``providers.claude.overage_in_use`` reads it from the headers). The returned window's reset is
    when included capacity comes back."""
    if not any(s.window == OVERAGE_WINDOW and s.status in OVERAGE_OPEN for s in samples):
        return None
    spent = [s for s in samples if s.window != OVERAGE_WINDOW and exhausted(s)]
    return max(spent, key=lambda s: s.resets_at.timestamp() if s.resets_at else 0.0, default=None)


def limited_until(now: datetime, retry_at: datetime | None, samples: list[QuotaSample]) -> datetime | None:
    """When a LIMITED account is worth trying again, from whichever the answer carries.

    A retry time is never earlier than the reset of an exhausted window longer than a minute (a per-day quota
    does not come back in 38 s, whatever ``retryDelay`` says). Without a retry time, the latest reset of any
    exhausted window is it (an Anthropic 429 may carry only the exhausted bucket's ``-reset``)."""
    resets = [s for s in samples if s.resets_at is not None and s.resets_at > now and exhausted(s)]
    if retry_at is None:
        return max((s.resets_at for s in resets if s.resets_at is not None), default=None)
    floor = max((s.resets_at for s in resets if s.resets_at is not None
                 and (s.window_length_s is None or s.window_length_s > BUCKET_S)), default=None)
    return floor if floor is not None and floor > retry_at else retry_at


class LimitKind(enum.StrEnum):
    """What a refusal for a limit says about the account (:func:`classify_limit`)."""

    WINDOW = "window"
    """An account-wide window is exhausted: bench the account until its reset."""
    REQUEST = "request"
    """A request-scoped limit (burst, per-minute bucket, concurrency, one model's narrower cap, one feature out of
    credits): retry shortly; other requests of the account still go through."""
    OVERLOAD = "overload"
    """The provider is overloaded (529, 503): not the account's fault; retry soon or elsewhere."""


LIMIT_OUTCOME = {LimitKind.WINDOW: Outcome.LIMITED, LimitKind.REQUEST: Outcome.THROTTLED,
                 LimitKind.OVERLOAD: Outcome.OVERLOADED}
REQUEST_RETRY_S = 30.0
"""A request-scoped refusal or an overload without a usable retry time is retried after this long."""
SHORT_HOLD_MAX_S = 300.0
"""A request-scoped refusal's or an overload's own retry time is obeyed up to this long; a longer one (a model's
weekly cap) is not the account's: it is held :data:`REQUEST_RETRY_S` only (its other models still answer)."""
_OVERLOAD_STATUS = frozenset({503, 529})
_OVERLOAD_TYPES = frozenset({"overloaded_error", "unavailable", "server_is_overloaded", "engine_overloaded"})
_CREDIT_TYPES = frozenset({"insufficient_quota", "billing_hard_limit_reached", "insufficient_balance"})
_REQUEST_WORDS = ("per minute", "per min", "concurrent", "per second", "too many requests in a short")


@dataclass(frozen=True, slots=True)
class LimitVerdict:
    """What a refused request says about the account: which kind of limit, why, and the window behind it."""

    kind: LimitKind
    reason: str
    window: str | None = None
    """The exhausted window that decided it, when one did."""

    @property
    def outcome(self) -> Outcome:
        return LIMIT_OUTCOME[self.kind]

    @property
    def benches(self) -> bool:
        """Whether the whole account should be kept out of rotation until the window's reset."""
        return self.kind is LimitKind.WINDOW


def classify_limit(status: int, samples: list[QuotaSample], *, error_type: str | None = None,
                   message: str = "") -> LimitVerdict:
    """The one rule that tells a refusal's kind, from what the answer carried: its status, the windows its headers
    or body said are exhausted (``samples``), the provider's error type or code, and its message.

    * 529 or 503, or an ``overloaded_error``: OVERLOAD.
    * an account-wide window longer than an hour exhausted (Claude's ``5h``/``7d`` ``rejected``, a Gemini
      per-day quota, a plan's monthly allowance), or credits gone for the whole account (OpenAI
      ``insufficient_quota``, a 402): WINDOW.
    * only short buckets exhausted (per-minute requests or tokens), or only model-scoped windows
      (:func:`window_scope`: ``7d_opus``), or a message naming a per-minute/concurrency limit: REQUEST.
    * anything else (a bare 429): WINDOW, the cautious reading, held until ``Retry-After`` by
      :func:`limit_hold`."""
    etype = (error_type or "").lower()
    if status in _OVERLOAD_STATUS or etype in _OVERLOAD_TYPES:
        return LimitVerdict(LimitKind.OVERLOAD, f"the provider is overloaded ({status}{', ' + etype if etype else ''})")
    if status == 402 or etype in _CREDIT_TYPES:
        return LimitVerdict(LimitKind.WINDOW, f"out of credits ({etype or status})")
    spent = [s for s in samples if exhausted(s) and s.window != "overage"]
    wide = [s for s in spent if window_scope(s.window) is None
            and (s.window_length_s is None or s.window_length_s > 3600)]
    if wide:
        w = max(wide, key=lambda s: s.window_length_s or 0)
        return LimitVerdict(LimitKind.WINDOW, f"the {w.window} window is exhausted", w.window)
    if spent:
        w = spent[0]
        scope = window_scope(w.window)
        what = f"only {scope}'s own {w.window} cap is exhausted" if scope else f"the {w.window} bucket is empty"
        return LimitVerdict(LimitKind.REQUEST, what, w.window)
    text = message.lower()
    if any(word in text for word in _REQUEST_WORDS):
        return LimitVerdict(LimitKind.REQUEST, "a per-minute or concurrency limit")
    return LimitVerdict(LimitKind.WINDOW, "a limit without a named window")


def limit_hold(now: datetime, verdict: LimitVerdict, retry_at: datetime | None,
               samples: list[QuotaSample]) -> datetime | None:
    """How long a refusal keeps the account out: a WINDOW until :func:`limited_until` (never before the exhausted
    window's reset; None when nothing says when), a REQUEST or OVERLOAD until its own retry time when that is
    within :data:`SHORT_HOLD_MAX_S`, else :data:`REQUEST_RETRY_S` (a model's weekly cap must not hold the
    account's other models for a week)."""
    if verdict.kind is LimitKind.WINDOW:
        return limited_until(now, retry_at, samples)
    if retry_at is None:  # an empty bucket's own reset says when it refills
        retry_at = limited_until(now, None, [s for s in samples if window_scope(s.window) is None])
    if retry_at is not None and now < retry_at <= now + timedelta(seconds=SHORT_HOLD_MAX_S):
        return retry_at
    return now + timedelta(seconds=REQUEST_RETRY_S)


@dataclass(frozen=True, slots=True)
class AccountState:
    """The outcome of the latest observation attempt of an account."""

    account_id: str
    outcome: Outcome
    reason: str = ""
    observed_at: datetime | None = None
    retry_at: datetime | None = None


ZERO = Decimal(0)

_RECORDS = frozenset({"UsageEvent", "Alert", "Consumer", "Instance", "AuditEvent", "PageStatus", "FileState"})

if TYPE_CHECKING:
    from quotawarden.domain.records import Alert as Alert
    from quotawarden.domain.records import AuditEvent as AuditEvent
    from quotawarden.domain.records import Consumer as Consumer
    from quotawarden.domain.records import FileState as FileState
    from quotawarden.domain.records import Instance as Instance
    from quotawarden.domain.records import PageStatus as PageStatus
    from quotawarden.domain.records import UsageEvent as UsageEvent


def __getattr__(name: str) -> Any:
    """The records of :mod:`quotawarden.domain.records`, loaded on first use (PEP 562)."""
    if name in _RECORDS:
        from quotawarden.domain import records

        return getattr(records, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
