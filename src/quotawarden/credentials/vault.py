"""An encrypted key vault: API keys and OAuth tokens at rest, referred to from the config as ``vault:NAME``.

The file is one JSON document with three parts::

    {"format": "quotawarden-vault", "version": 1,
     "kek":  {"type": "scrypt", "salt": ..., "n": ..., "r": 8, "p": 1}   # or {"type": "keyring", ...}
     "dek":  {"nonce": ..., "ct": ...}    # the 256-bit data key, AES-256-GCM-wrapped by the key-encryption key
     "data": {"nonce": ..., "ct": ...}}   # every entry (secret + metadata), AES-256-GCM under the data key

The key-encryption key comes from a passphrase (scrypt; ``QUOTAWARDEN_VAULT_PASSPHRASE`` for non-interactive use)
or from the OS keyring (``keyring``). Every byte of the file is authenticated: a wrong passphrase, an edited file
or a missing keyring is a :class:`~quotawarden.errors.VaultError` that says which, and nothing is written.
Writes take a file lock, re-read the file and replace it atomically, so concurrent writers lose nothing.

API (small on purpose): ``Vault.default()``, ``get(name)`` (a ``SecretSource`` for credential references),
``entries()``, ``entry(name)``, ``put(...)``, ``rotate(...)``, ``remove(name)``, ``mark(name, **meta)``,
and ``seal(bytes)``/``open_sealed(bytes)`` for other at-rest secrets under the same data key.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import os
import secrets
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from quotawarden.errors import VaultError
from quotawarden.redact import fingerprint, mask

PASSPHRASE_ENV = "QUOTAWARDEN_VAULT_PASSPHRASE"
PATH_ENV = "QUOTAWARDEN_VAULT"
KEYRING_SERVICE = "quotawarden"
FORMAT = "quotawarden-vault"
SCRYPT_N = 2**15
_AAD_DEK = b"quotawarden-vault/1/dek:"
_AAD_DATA = b"quotawarden-vault/1/data"
_TOUCH_EVERY = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class Entry:
    """What the vault knows about a secret, never the secret itself (``masked`` is ``sk-...abcd`` at most)."""

    name: str
    provider: str | None = None
    kind: str = "api_key"
    plan: str | None = None
    owner: str | None = None
    masked: str = ""
    fingerprint: str = ""
    source: str = "manual"
    created_at: str | None = None
    updated_at: str | None = None
    validated_at: str | None = None
    validation: str | None = None
    last_used_at: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _unb64(text: str) -> bytes:
    return base64.b64decode(text.encode(), validate=True)


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


def default_path() -> Path:
    if env := os.environ.get(PATH_ENV):
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir("quotawarden")) / "vault.json"


def _keyring() -> Any:
    import keyring
    from keyring.backends import fail

    backend = keyring.get_keyring()
    if isinstance(backend, fail.Keyring):
        raise VaultError("no OS keyring is available here (keyring found no backend: install and unlock one such "
                         "as GNOME Keyring, KWallet or the macOS Keychain), so the vault key cannot be kept "
                         f"there; set {PASSPHRASE_ENV} to protect the vault with a passphrase instead")
    return keyring


class Vault:
    def __init__(self, path: Path, *, passphrase: str | Callable[[], str] | None = None,
                 audit: Callable[..., None] | None = None, now: Callable[[], datetime] | None = None) -> None:
        self.path = path
        self._passphrase = passphrase
        self._audit = audit
        self._now = now or (lambda: datetime.now(UTC))
        self._dek: tuple[bytes, bytes] | None = None  # (wrapped dek as stored, dek)

    @classmethod
    def default(cls, audit: Callable[..., None] | None = None, passphrase: str | Callable[[], str] | None = None
                ) -> Vault:
        return cls(default_path(), passphrase=passphrase, audit=audit)

    def exists(self) -> bool:
        return self.path.exists()

    def set_prompt(self, prompt: Callable[[], str | None]) -> None:
        """Ask for the passphrase with ``prompt`` when neither an argument nor the environment gives one."""
        if self._passphrase is None:
            self._passphrase = prompt  # type: ignore[assignment]

    # -- reading ----------------------------------------------------------------------------------------------

    def get(self, name: str) -> str:
        """The secret of ``name`` (credential references ``vault:NAME`` resolve through this)."""
        entries = self._load()
        if name not in entries:
            raise VaultError(f"no entry {name!r} in the vault {self.path} (add it with `quotawarden keys add "
                             f"{name}`; `quotawarden keys list` shows what is there)")
        last = entries[name]["meta"].get("last_used_at")
        if last is None or self._now() - datetime.fromisoformat(last) >= _TOUCH_EVERY:
            with contextlib.suppress(VaultError, OSError):
                self.mark(name, last_used_at=_iso(self._now()))
        return str(entries[name]["secret"])

    def entries(self) -> list[Entry]:
        return [_entry(n, e["meta"]) for n, e in sorted(self._load().items())]

    def entry(self, name: str) -> Entry:
        entries = self._load()
        if name not in entries:
            raise VaultError(f"no entry {name!r} in the vault {self.path}")
        return _entry(name, entries[name]["meta"])

    # -- writing ----------------------------------------------------------------------------------------------

    def put(self, name: str, secret: str, *, provider: str | None = None, kind: str = "api_key",
            plan: str | None = None, owner: str | None = None, source: str = "manual",
            validation: str | None = None, replace_existing: bool = False, actor: str = "user") -> Entry:
        if not name or any(c in name for c in " \t\n:"):
            raise VaultError(f"invalid vault entry name {name!r} (no spaces or colons)")
        if not secret or not secret.strip():
            raise VaultError("the secret is empty")
        secret = secret.strip()
        now = _iso(self._now())

        def change(entries: dict[str, Any]) -> None:
            if name in entries and not replace_existing:
                raise VaultError(f"{name!r} is already in the vault (use `quotawarden keys rotate {name}`)")
            meta = {"provider": provider, "kind": kind, "plan": plan, "owner": owner, "masked": mask(secret),
                    "fingerprint": fingerprint(secret), "source": source, "created_at": now, "updated_at": now,
                    "validated_at": now if validation else None, "validation": validation}
            entries[name] = {"secret": secret, "meta": meta}

        self._mutate(change)
        self._record(actor, "vault.add", name, provider=provider, fingerprint=fingerprint(secret), source=source)
        return self.entry(name)

    def rotate(self, name: str, secret: str, *, validation: str | None = None, actor: str = "user") -> Entry:
        secret = secret.strip()
        if not secret:
            raise VaultError("the secret is empty")
        now = _iso(self._now())
        old_fp = ""

        def change(entries: dict[str, Any]) -> None:
            nonlocal old_fp
            if name not in entries:
                raise VaultError(f"no entry {name!r} in the vault {self.path}")
            meta = entries[name]["meta"]
            old_fp = meta.get("fingerprint", "")
            meta.update(masked=mask(secret), fingerprint=fingerprint(secret), updated_at=now,
                        validation=validation, validated_at=now if validation else None, last_used_at=None)
            entries[name]["secret"] = secret

        self._mutate(change)
        self._record(actor, "vault.rotate", name, old_fingerprint=old_fp, fingerprint=fingerprint(secret))
        return self.entry(name)

    def remove(self, name: str, *, actor: str = "user") -> None:
        def change(entries: dict[str, Any]) -> None:
            if name not in entries:
                raise VaultError(f"no entry {name!r} in the vault {self.path}")
            del entries[name]

        self._mutate(change)
        self._record(actor, "vault.remove", name)

    def mark(self, name: str, **meta: Any) -> None:
        """Update metadata (``validated_at``, ``validation``, ``last_used_at``, ``plan``, ``owner``)."""
        def change(entries: dict[str, Any]) -> None:
            if name in entries:
                entries[name]["meta"].update(meta)

        self._mutate(change)

    # -- other secrets under the same data key -----------------------------------------------------------------

    def seal(self, plaintext: bytes, context: bytes = b"") -> bytes:
        """Encrypt a small blob with the vault's data key (creating the vault if needed)."""
        if not self.exists():
            self._mutate(lambda entries: None)
        dek = self._unlock(self._read())
        nonce = os.urandom(12)
        return nonce + AESGCM(dek).encrypt(nonce, plaintext, b"seal:" + context)

    def open_sealed(self, blob: bytes, context: bytes = b"") -> bytes:
        dek = self._unlock(self._read())
        try:
            return AESGCM(dek).decrypt(blob[:12], blob[12:], b"seal:" + context)
        except InvalidTag:
            raise VaultError("a sealed value failed its integrity check (altered, or sealed by another vault)") \
                from None

    # -- internals ----------------------------------------------------------------------------------------------

    def _record(self, actor: str, action: str, name: str, **detail: Any) -> None:
        if self._audit is not None:
            self._audit(actor, action, f"vault:{name}", **detail)

    def _read(self) -> dict[str, Any]:
        try:
            doc = orjson.loads(self.path.read_bytes())
        except FileNotFoundError:
            raise VaultError(f"no vault at {self.path} yet (add a key with `quotawarden keys add NAME`)") from None
        except (orjson.JSONDecodeError, OSError) as exc:
            raise VaultError(f"{self.path} is not a readable quotawarden vault ({exc.__class__.__name__}); "
                             "nothing was changed") from None
        if not isinstance(doc, dict) or doc.get("format") != FORMAT or doc.get("version") != 1:
            raise VaultError(f"{self.path} is not a quotawarden vault (format/version missing); nothing was changed")
        return doc

    def _kek(self, spec: dict[str, Any]) -> bytes:
        try:
            kind = spec["type"]
            if kind == "scrypt":
                passphrase = self._get_passphrase()
                return Scrypt(salt=_unb64(spec["salt"]), length=32, n=int(spec["n"]), r=int(spec["r"]),
                              p=int(spec["p"])).derive(passphrase.encode())
            if kind == "keyring":
                value = _keyring().get_password(spec["service"], spec["username"])
                if not value:
                    raise VaultError(f"the key of the vault {self.path} is missing from the OS keyring "
                                     f"(service {spec['service']!r}, user {spec['username']!r})")
                return _unb64(value)
        except (KeyError, ValueError, TypeError):
            raise VaultError(f"{self.path}: the vault's key block is damaged; nothing was changed") from None
        raise VaultError(f"{self.path}: unknown key type {kind!r}")

    def _get_passphrase(self) -> str:
        p = self._passphrase
        value = p() if callable(p) else p
        value = value or os.environ.get(PASSPHRASE_ENV)
        if not value:
            raise VaultError(f"the vault {self.path} is protected by a passphrase: set {PASSPHRASE_ENV} "
                             "or run the command interactively")
        return value

    def _unlock(self, doc: dict[str, Any]) -> bytes:
        try:
            wrapped = _unb64(doc["dek"]["ct"])
            nonce = _unb64(doc["dek"]["nonce"])
            kek_spec = doc["kek"]
        except (KeyError, TypeError, ValueError):
            raise VaultError(f"{self.path}: the vault's key block is damaged; nothing was changed") from None
        if self._dek is not None and self._dek[0] == wrapped:
            return self._dek[1]
        kek = self._kek(kek_spec)
        try:
            dek = AESGCM(kek).decrypt(nonce, wrapped, _AAD_DEK + orjson.dumps(kek_spec, option=orjson.OPT_SORT_KEYS))
        except InvalidTag:
            what = "wrong passphrase" if kek_spec.get("type") == "scrypt" else "the keyring holds a different key"
            raise VaultError(f"cannot unlock the vault {self.path}: {what} (or its key block was altered); "
                             "nothing was changed") from None
        self._dek = (wrapped, dek)
        return dek

    def _load(self) -> dict[str, Any]:
        return _decrypt_entries(self.path, self._read(), self._unlock)

    def _new_doc(self) -> dict[str, Any]:
        """A new vault: a passphrase when one is given (argument or environment), else the OS keyring, else a
        passphrase asked for (when the caller gave a prompt)."""
        p = self._passphrase
        passphrase = (p if isinstance(p, str) else None) or os.environ.get(PASSPHRASE_ENV)
        spec: dict[str, Any] = {"type": "scrypt", "salt": _b64(os.urandom(16)), "n": SCRYPT_N, "r": 8, "p": 1}
        if not passphrase:
            try:
                spec = self._keyring_spec()
            except VaultError:
                if not callable(p) or not (prompted := p()):
                    raise
                self._passphrase = prompted
        kek = self._kek(spec)
        dek = AESGCM.generate_key(256)
        nonce = os.urandom(12)
        wrapped = AESGCM(kek).encrypt(nonce, dek, _AAD_DEK + orjson.dumps(spec, option=orjson.OPT_SORT_KEYS))
        self._dek = (wrapped, dek)
        return {"format": FORMAT, "version": 1, "kek": spec, "dek": {"nonce": _b64(nonce), "ct": _b64(wrapped)},
                "data": None}

    def _keyring_spec(self) -> dict[str, Any]:
        spec = {"type": "keyring", "service": KEYRING_SERVICE, "username": f"vault-key:{secrets.token_hex(8)}"}
        kr = _keyring()
        try:
            kr.set_password(spec["service"], spec["username"], _b64(AESGCM.generate_key(256)))
        except Exception as exc:  # keyring backends raise their own types
            raise VaultError(f"cannot store the vault key in the OS keyring: {exc}; set {PASSPHRASE_ENV} "
                             "to use a passphrase instead") from None
        return spec

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        lock = self.path.with_name(self.path.name + ".lock")
        with open(lock, "a") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def _mutate(self, change: Callable[[dict[str, Any]], None]) -> None:
        with self._locked():
            doc = self._read() if self.exists() else self._new_doc()
            entries = _decrypt_entries(self.path, doc, self._unlock) if doc["data"] else {}
            change(entries)
            dek = self._unlock(doc)
            nonce = os.urandom(12)
            ct = AESGCM(dek).encrypt(nonce, orjson.dumps({"entries": entries}), _AAD_DATA)
            doc = {**doc, "data": {"nonce": _b64(nonce), "ct": _b64(ct)}}
            atomic_write_bytes(self.path, orjson.dumps(doc, option=orjson.OPT_INDENT_2))


def _decrypt_entries(path: Path, doc: dict[str, Any], unlock: Callable[[dict[str, Any]], bytes]) -> dict[str, Any]:
    dek = unlock(doc)
    if not doc.get("data"):
        return {}
    try:
        plain = AESGCM(dek).decrypt(_unb64(doc["data"]["nonce"]), _unb64(doc["data"]["ct"]), _AAD_DATA)
    except (InvalidTag, KeyError, TypeError, ValueError):
        raise VaultError(f"the vault {path} failed its integrity check: it was modified outside quotawarden "
                         "(restore it from a backup); nothing was changed") from None
    return dict(orjson.loads(plain)["entries"])


def _entry(name: str, meta: dict[str, Any]) -> Entry:
    known = {f for f in Entry.__dataclass_fields__ if f not in ("name", "extra")}
    return Entry(name=name, **{k: v for k, v in meta.items() if k in known},
                 extra={k: v for k, v in meta.items() if k not in known})


def entry_json(e: Entry) -> dict[str, Any]:
    d = asdict(replace(e))
    d.update(d.pop("extra"))
    return d


def atomic_write_bytes(path: Path, data: bytes, *, mode: int = 0o600) -> None:
    """Write a temp file next to ``path``, fsync it, and rename it over ``path``: readers see old or new."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
