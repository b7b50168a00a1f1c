"""Credential references: ``env:VAR``, ``file:PATH`` (``file:PATH#json.key.path``), ``vault:NAME``, or a literal.

A JSON path walks objects by key and lists by index (``accounts.0``) or by a field's value
(``accounts[email=a@example.com]``, for files that keep several logins in a list). A path ending on an object or
a list hands over that node as JSON, so a provider can read a login's token together with its project.

Resolution happens at the moment of use, never at config load, and errors say what to set, never the value.
Every failure is a :class:`~quotawarden.errors.CredentialError` naming the account, vault errors included, so a
caller handling one account's credential (a poll) marks that account INVALID and carries on with the others.
"""

from __future__ import annotations

import os
import re
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
            node = json_path(orjson.loads(raw), key)
        except (orjson.JSONDecodeError, KeyError, TypeError, IndexError, ValueError):
            raise CredentialError(f"{who}no key {key!r} in credential file {path}") from None
        return orjson.dumps(node).decode() if isinstance(node, dict | list) else str(node)
    if scheme == "vault" and rest:
        if vault is None:
            raise CredentialError(f"{who}vault:{rest} is referenced but the vault is not available")
        try:
            return vault.get(rest)
        except VaultError as exc:  # locked, no passphrase, missing entry: this credential's problem, no one else's
            raise CredentialError(f"{who}vault:{rest} cannot be read: {exc}") from None
    return ref  # a literal; config loading has already warned about it


_PART = re.compile(r"\[[^\]]*\]|[^.\[\]]+")


def json_path(node: object, key: str) -> object:
    """Walk ``a.b.0`` / ``a[field=value].b`` through parsed JSON; KeyError/IndexError/TypeError when absent."""
    for part in _PART.findall(key):
        if part.startswith("["):
            field, eq, value = part[1:-1].partition("=")
            if not isinstance(node, list):
                raise TypeError(part)
            if not eq:
                node = node[int(field)]
                continue
            found = next((x for x in node if isinstance(x, dict) and str(x.get(field)) == value), None)
            if found is None:
                raise KeyError(part)
            node = found
        elif isinstance(node, list):
            node = node[int(part)]
        elif isinstance(node, dict):
            node = node[part]
        else:
            raise TypeError(part)
    return node
