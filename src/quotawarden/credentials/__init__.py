"""Credential references: ``env:VAR``, ``file:PATH`` (``file:PATH#json.key.path``), ``vault:NAME``, or a literal.

Resolution happens at the moment of use, never at config load, and errors say what to set, never the value.
Every failure is a :class:`~quotawarden.errors.CredentialError` naming the account, vault errors included, so a
caller handling one account's credential (a poll) marks that account INVALID and carries on with the others.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Protocol

import orjson

from quotawarden.errors import CredentialError, VaultError


class SecretSource(Protocol):
    def get(self, name: str) -> str: ...


UNAVAILABLE = "credential not available here"
"""How an account's outcome reason starts when its credential could not be read on this machine (so nothing was
sent to the provider): an unset variable, a locked vault, an unreadable file. Anything else INVALID is the
provider's verdict on the credential."""


def unavailable(reason: str) -> str:
    """The outcome reason for a credential that could not be read here (see :data:`UNAVAILABLE`)."""
    return f"{UNAVAILABLE}: {reason}"


def is_unavailable(reason: str | None) -> bool:
    return bool(reason) and UNAVAILABLE in (reason or "")


def unavailable_detail(reason: str) -> str:
    """What is missing, from an :func:`unavailable` reason (the text after the marker)."""
    return reason.partition(f"{UNAVAILABLE}: ")[2] or reason


def scheme_of(ref: str | None) -> tuple[str, str]:
    """``(scheme, target)`` of a reference: ``("env", "VAR")``, ``("file", "PATH")`` (without ``#key``),
    ``("vault", "NAME")``, ``("literal", "")`` for a literal (never echoed), ``("", "")`` for none."""
    if not ref:
        return "", ""
    scheme, _, rest = ref.partition(":")
    if scheme in ("env", "file", "vault") and rest:
        return scheme, rest.partition("#")[0] if scheme == "file" else rest
    return "literal", ""


def resolve(ref: str | None, *, env: Mapping[str, str] | None = None, vault: SecretSource | None = None,
            account: str = "") -> str | None:
    if not ref:
        return None
    env = os.environ if env is None else env
    who = f"account {account!r}: " if account else ""
    scheme, _, rest = ref.partition(":")
    if scheme == "env" and rest:
        value = env.get(rest)
        if not value:
            raise CredentialError(f"{who}environment variable {rest} is not set")
        return value.strip()
    if scheme == "file" and rest:
        path_s, _, key = rest.partition("#")
        path = Path(path_s).expanduser()
        try:
            raw = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise CredentialError(f"{who}cannot read credential file {path}: {exc.strerror}") from None
        if not key:
            return raw.strip()
        try:
            node: object = orjson.loads(raw)
            for part in key.split("."):
                node = node[part]  # type: ignore[index]
        except (orjson.JSONDecodeError, KeyError, TypeError):
            raise CredentialError(f"{who}no key {key!r} in credential file {path}") from None
        return str(node)
    if scheme == "vault" and rest:
        if vault is None:
            raise CredentialError(f"{who}vault:{rest} is referenced but the vault is not available")
        try:
            return vault.get(rest)
        except VaultError as exc:  # locked, no passphrase, missing entry: this credential's problem, no one else's
            raise CredentialError(f"{who}vault:{rest} cannot be read: {exc}") from None
    return ref  # a literal; config loading has already warned about it
