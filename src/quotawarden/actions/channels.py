"""Alert channels: Apprise URLs (Slack, Discord, email, ntfy, Telegram, ... anything Apprise knows), routed by
severity and tag, plus a signed JSON webhook.

A ``json://`` or ``jsons://`` channel with an ``hmac_secret`` is posted by :func:`send_signed_json` so the body
can be signed: ``X-Quotawarden-Timestamp: <epoch seconds>`` and
``X-Quotawarden-Signature: sha256=<hex HMAC-SHA256(secret, timestamp + "." + body)>``. Every other channel goes
through Apprise unchanged.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx
import orjson

from quotawarden.domain import Severity
from quotawarden.errors import QuotawardenError
from quotawarden.redact import redact_text

ALL_SEVERITIES = frozenset(Severity)
SIGNATURE_HEADER = "X-Quotawarden-Signature"
TIMESTAMP_HEADER = "X-Quotawarden-Timestamp"


@dataclass(frozen=True, slots=True)
class Message:
    title: str
    body: str
    severity: Severity
    tags: tuple[str, ...] = ()
    payload: Mapping[str, Any] = field(default_factory=dict)
    """The structured form, sent as-is by the signed JSON webhook."""


@dataclass(frozen=True, slots=True)
class Channel:
    url: str
    severities: frozenset[Severity] = ALL_SEVERITIES
    tags: frozenset[str] = frozenset()
    hmac_secret: str | None = field(default=None, repr=False)
    problem: str | None = None
    """Why this channel cannot send (its ``hmac_secret`` cannot be read): every delivery to it fails with this,
    and nothing is sent unsigned."""

    def accepts(self, severity: Severity, tags: Iterable[str]) -> bool:
        return severity in self.severities and (not self.tags or bool(self.tags & set(tags)))

    @property
    def signed(self) -> bool:
        return self.hmac_secret is not None and self.url.split("://", 1)[0] in ("json", "jsons")

    @property
    def safe_url(self) -> str:
        """The URL without its secrets (Apprise's privacy mode), for logs and the audit trail."""
        try:
            private = _apprise_private_url(self.url)
            if private is not None:
                return private
        except Exception:
            pass
        return self.url.split("://", 1)[0] + "://..."


class _AppriseUrlPlugin(Protocol):
    """The part of an Apprise plugin used here: ``url`` is not annotated upstream, so it is typed at this edge."""

    def url(self, privacy: bool = False) -> object: ...


def _apprise_private_url(url: str) -> str | None:
    """The URL as Apprise prints it in privacy mode; None when Apprise does not know the URL."""
    import apprise

    plugin: _AppriseUrlPlugin | None = apprise.Apprise.instantiate(url)
    return None if plugin is None else str(plugin.url(privacy=True))


def channels_from_settings(entries: Sequence[Any], resolve: Callable[[str], str | None]) -> list[Channel]:
    """Config entries (a bare URL gets every severity; a table filters) -> channels; ``resolve`` reads secrets.

    A secret that cannot be read is that channel's ``problem``, not an error: the other channels still send, and
    whatever the caller did before notifying stays done and reported."""
    out = []
    for entry in entries:
        if isinstance(entry, str):
            out.append(Channel(url=entry))
            continue
        secret, problem = None, None
        if entry.hmac_secret:
            try:
                secret = resolve(entry.hmac_secret)
            except QuotawardenError as exc:
                problem = (f"its hmac_secret {entry.hmac_secret} cannot be read ({exc}); set it, or remove "
                           "hmac_secret from this channel in [alerts] channels")
        out.append(Channel(url=entry.url, severities=frozenset(Severity(s) for s in entry.severities),
                           tags=frozenset(entry.tags), hmac_secret=secret, problem=problem))
    return out


def route(channels: Iterable[Channel], severity: Severity, tags: Iterable[str]) -> list[Channel]:
    tags = tuple(tags)
    return [c for c in channels if c.accepts(severity, tags)]


class Sender(Protocol):
    def __call__(self, channel: Channel, message: Message) -> bool: ...


_APPRISE_TYPE = {Severity.INFO: "info", Severity.WARNING: "warning", Severity.CRITICAL: "failure"}


def send_apprise(channel: Channel, message: Message) -> bool:
    import apprise

    app = apprise.Apprise()
    if not app.add(channel.url):
        raise ValueError(f"not a channel URL Apprise understands: {channel.safe_url}")
    return bool(app.notify(body=message.body, title=message.title,
                           notify_type=_APPRISE_TYPE.get(message.severity, "info")))


def signature(secret: str, timestamp: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def verify(secret: str, timestamp: str, body: bytes, header: str) -> bool:
    """What a receiver runs: constant-time comparison of the signature header."""
    return hmac.compare_digest(signature(secret, timestamp, body), header)


def send_signed_json(channel: Channel, message: Message, *, client: httpx.Client | None = None,
                     now: Callable[[], float] = time.time) -> bool:
    scheme, _, rest = channel.url.partition("://")
    target = ("https://" if scheme == "jsons" else "http://") + rest
    body = orjson.dumps({"title": message.title, "message": message.body, "severity": message.severity.value,
                         "tags": list(message.tags), **message.payload})
    stamp = str(int(now()))
    headers = {"Content-Type": "application/json", TIMESTAMP_HEADER: stamp,
               SIGNATURE_HEADER: signature(channel.hmac_secret or "", stamp, body)}
    own = client is None
    client = client or httpx.Client(timeout=10)
    try:
        return client.post(target, content=body, headers=headers).is_success
    except httpx.HTTPError:
        return False
    finally:
        if own:
            client.close()


def default_sender(channel: Channel, message: Message) -> bool:
    return send_signed_json(channel, message) if channel.signed else send_apprise(channel, message)


@dataclass(frozen=True, slots=True)
class Delivery:
    channel: str
    ok: bool
    error: str = ""


def deliver(message: Message, channels: Iterable[Channel], sender: Sender = default_sender) -> list[Delivery]:
    """Send to every channel that accepts the message; one failing channel does not stop the others."""
    out = []
    for ch in route(channels, message.severity, message.tags):
        if ch.problem:
            out.append(Delivery(ch.safe_url, False, ch.problem))
            continue
        try:
            out.append(Delivery(ch.safe_url, sender(ch, message)))
        except Exception as exc:
            out.append(Delivery(ch.safe_url, False, redact_text(str(exc))))
    return out
