"""The states and units every stage names: a reading's unit, source and provenance, an account's health and last
outcome, a consumer's state, an alert's severity and state. Re-exported by :mod:`quotawarden.domain`.
"""

from __future__ import annotations

import enum


class Unit(enum.StrEnum):
    PERCENT = "percent"
    TOKENS = "tokens"
    REQUESTS = "requests"
    MESSAGES = "messages"
    CREDITS = "credits"
    USD = "usd"
    CNY = "cny"


class Source(enum.StrEnum):
    PROBE = "probe"
    PROXY = "proxy"
    LOG = "log"
    STATUSLINE = "statusline"
    ADMIN = "admin"
    IMPORT = "import"
    OTEL = "otel"
    """Received over OTLP from an agent's own telemetry (``serve``'s ``/v1/logs``)."""


class Provenance(enum.StrEnum):
    OFFICIAL = "official"
    ESTIMATED = "estimated"


class Health(enum.StrEnum):
    GREEN = "GREEN"
    YELLOW = "YELLOW"
    RED = "RED"
    UNKNOWN = "UNKNOWN"

    @property
    def rank(self) -> int:
        return _HEALTH_RANK[self]

    @staticmethod
    def worst(statuses: list[Health]) -> Health:
        known = [s for s in statuses if s is not Health.UNKNOWN]
        if not known:
            return Health.UNKNOWN
        return max(known, key=lambda s: s.rank)


_HEALTH_RANK = {Health.UNKNOWN: 0, Health.GREEN: 1, Health.YELLOW: 2, Health.RED: 3}


class Outcome(enum.StrEnum):
    """What the last attempt to observe an account said about it."""

    OK = "OK"
    LIMITED = "LIMITED"
    """A window is exhausted: the account is benched until that window's reset (:func:`limited_until`)."""
    THROTTLED = "THROTTLED"
    """Refused for a request-scoped limit (a burst or per-minute bucket, concurrency, one model's narrower cap,
    one feature out of credits): retried shortly, the account is not benched (:func:`classify_limit`)."""
    OVERLOADED = "OVERLOADED"
    """The provider is overloaded (529, 503): not the account's fault; retried soon, elsewhere if possible."""
    OVERAGE = "OVERAGE"
    INVALID = "INVALID"
    ERROR = "ERROR"
    UNREACHABLE = "UNREACHABLE"
    UNKNOWN = "UNKNOWN"


class ConsumerState(enum.StrEnum):
    ACTIVE = "active"
    IDLE = "idle"
    PAUSED = "paused"


class Severity(enum.StrEnum):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


class AlertState(enum.StrEnum):
    OPEN = "open"
    ACKED = "acked"
    RESOLVED = "resolved"
