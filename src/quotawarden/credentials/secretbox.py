"""Sealing small secrets at rest: AES-256-GCM under a key file in the data dir (mode 0600).

The daemon seals what agent instances send at registration with this. :class:`SecretBox` is the seam: a vault
with ``seal``/``open`` replaces :class:`KeyFileBox` without touching callers. The key file must be the same on
every replica that shares a database (copy it, or point ``server.key_file`` at a shared secret mount).
"""

from __future__ import annotations

import base64
import os
from pathlib import Path
from typing import Protocol

from quotawarden.errors import VaultError

_VERSION = b"\x01"


class SecretBox(Protocol):
    def seal(self, plaintext: bytes, context: str) -> str: ...

    def open(self, sealed: str, context: str) -> bytes: ...


def default_key_file() -> Path:
    import platformdirs

    return Path(platformdirs.user_data_dir("quotawarden")) / "secret.key"


class KeyFileBox:
    """AES-GCM with a random 96-bit nonce per seal; ``context`` is bound as associated data."""

    def __init__(self, key_file: str | Path | None = None) -> None:
        self.path = Path(key_file).expanduser() if key_file else default_key_file()
        self._key = self._load_or_create()

    def _load_or_create(self) -> bytes:
        try:
            key = self.path.read_bytes()
        except FileNotFoundError:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            key = os.urandom(32)
            try:
                fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:  # another replica created it first
                return self.path.read_bytes()
            with os.fdopen(fd, "wb") as f:
                f.write(key)
        except OSError as exc:
            raise VaultError(f"cannot read the key file {self.path}: {exc.strerror}") from None
        if len(key) != 32:
            raise VaultError(f"the key file {self.path} is not a 32-byte key")
        return key

    def seal(self, plaintext: bytes, context: str) -> str:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        nonce = os.urandom(12)
        ct = AESGCM(self._key).encrypt(nonce, plaintext, context.encode())
        return base64.urlsafe_b64encode(_VERSION + nonce + ct).decode()

    def open(self, sealed: str, context: str) -> bytes:
        from cryptography.exceptions import InvalidTag
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        try:
            raw = base64.urlsafe_b64decode(sealed.encode())
            if raw[:1] != _VERSION:
                raise ValueError
            return AESGCM(self._key).decrypt(raw[1:13], raw[13:], context.encode())
        except (InvalidTag, ValueError):
            raise VaultError("a sealed credential cannot be opened: wrong key file or tampered data") from None
