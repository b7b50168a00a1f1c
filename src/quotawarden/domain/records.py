"""The records later stages keep: usage events, alerts, consumers, agent instances, the audit trail, status pages and
how far each log file was read. Re-exported by :mod:`quotawarden.domain` and loaded on first use there: ``status``
reads quota windows only, and a frozen dataclass costs its import about a millisecond each.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from quotawarden.domain.enums import AlertState, ConsumerState, Severity, Source


@dataclass(frozen=True, slots=True)
class UsageEvent:
    """One model call's tokens and cost, from a log, the proxy, an admin API or OTLP (``dedup_key`` makes it once)."""

    ts: datetime
    provider: str
    model: str
    source: Source
    dedup_key: str
    account_id: str | None = None
    consumer: str | None = None
    project: str | None = None
    session: str | None = None
    host: str | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    cache_write_tokens: int = 0
    cache_read_tokens: int = 0
    reasoning_tokens: int = 0
    cost: Decimal | None = None
    """None means unknown (no price), never zero."""
    cost_recorded: Decimal | None = None
    """A cost written by the agent itself, when its log carries one."""
    request_id: str | None = None
    cache_write_1h_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens + self.cache_write_tokens + self.cache_read_tokens


@dataclass(frozen=True, slots=True)
class Alert:
    """A condition worth a person's attention, with what to do about it."""

    key: str
    """De-duplication key: same condition on the same account and window is the same alert."""
    severity: Severity
    message: str
    action: str
    account_id: str | None = None
    window: str | None = None
    kind: str = "health"
    state: AlertState = AlertState.OPEN
    opened_at: datetime | None = None
    updated_at: datetime | None = None
    id: int | None = None


@dataclass(frozen=True, slots=True)
class Consumer:
    """An agent or tool that draws on the accounts (fairness and throttles are per consumer)."""

    id: str
    name: str
    state: ConsumerState = ConsumerState.ACTIVE
    last_heartbeat: datetime | None = None
    framework: str | None = None
    project: str | None = None


@dataclass(frozen=True, slots=True)
class Instance:
    """A registered agent instance (quota-sentinel style): its key's hash, its providers' accounts, its caps."""

    id: str
    project: str
    framework: str
    state: str
    poll_interval_s: int
    api_key_hash: str
    created_ts: float
    last_heartbeat_ts: float | None
    providers: dict[str, str] = field(default_factory=dict)
    """provider slug -> account id (instances that share a key share the account, and so the poller)."""
    hard_caps: dict[str, float] = field(default_factory=dict)
    provider_config: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class AuditEvent:
    at: datetime
    actor: str
    """``user``, ``daemon``, ``proxy``, ``switcher``, an instance id..."""
    action: str
    subject: str = ""
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class PageStatus:
    """A provider's public status page, as last read."""

    provider: str
    state: str
    """operational | degraded | partial_outage | major_outage | unknown"""
    description: str
    observed_at: datetime


@dataclass(frozen=True, slots=True)
class FileState:
    """How far an agent-log file has been read: identity (device, inode, head hash), offset and lines."""

    path: str
    source: str
    device: int
    inode: int
    size: int
    offset: int
    lines: int
    head_hash: str | None
    mtime: float
    state: str | None = None
