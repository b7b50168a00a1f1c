"""The full ``status``'s note that it validated this config, so the fast path can take any config it validated.

``interfaces.fast.status`` reads only the configs it can judge exactly as the full path's validation would (a few
sections, the built-in providers). Every other config (``[alerts]``, ``[planner]``, ``[proxy]``, a third-party
provider, a ``QUOTAWARDEN_<SECTION>`` override) is the full path's to judge: when it did, without a warning, the
full ``status`` writes down what its report takes from the config, already validated (the enabled accounts with
their provider settings, the thresholds, the status pages' interval, the store's URL, the proxy's spill folder, each
provider's kind), under a key (:func:`key`) over everything that could change that answer: the config file's path
and bytes, every ``QUOTAWARDEN_*`` variable, the package's version, the modules that validate a config and the
folders on ``sys.path`` after the first (a plug-in installed or removed changes the folder it is in). The fast path
uses the note only while its key still matches; otherwise it goes to the full path, which writes a new one.

The note is a file in the data folder, readable by its owner only; it holds no credential (accounts keep only
their id, provider, label, plan, pool, tags and provider settings).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from typing import Any

NAME = "status-config.json"
FORMAT = 1
FULL_ENV = "QUOTAWARDEN_STATUS_FULL"
"""Set (to anything but empty or 0) to always take the full CLI: the equality tests compare the two paths. Not part
of the key."""
_VALIDATING = ("config.py", "plugins.py", "spec.py")
"""The package's modules whose code decides what a config means (their change outdates every note)."""


def path() -> str:
    from quotawarden.store import quick

    return os.path.join(quick._user_dir("data"), NAME)


def key() -> str:
    """A digest of everything the full path's reading of the config depends on."""
    import hashlib

    import quotawarden
    from quotawarden.store import quick

    h = hashlib.sha256(f"{FORMAT}\0{quotawarden.__version__}\0".encode())
    config = quick._config_file(None) or ""
    h.update(os.path.abspath(config).encode() + b"\0")
    try:
        with open(config, "rb") as fh:
            h.update(fh.read())
    except OSError as exc:
        h.update(f"\0unreadable {exc.errno}".encode())
    for name in sorted(os.environ):
        if name.upper().startswith("QUOTAWARDEN_") and name != FULL_ENV:
            h.update(f"\0{name}={os.environ[name]}".encode())
    package = os.path.dirname(quotawarden.__file__)
    places = [os.path.join(package, m) for m in _VALIDATING] + sys.path[1:]  # [0]: the script's folder or cwd
    for place in places:
        try:
            h.update(f"\0{place}:{os.stat(place).st_mtime_ns}".encode())
        except OSError:
            h.update(f"\0{place}:-".encode())
    return h.hexdigest()


def write(digest: str, accounts: Sequence[Sequence[Any]], thresholds: Mapping[str, Any], status_interval: float,
          database_url: str | None, spill_dir: str | None, kinds: Mapping[str, str]) -> bool:
    """Write the note for ``digest`` (:func:`key`, taken before the config was read); False when a value is not
    plain JSON (it would not read back the same) or the file cannot be written."""
    import orjson

    body = {"format": FORMAT, "key": digest, "accounts": [list(a) for a in accounts], "thresholds": dict(thresholds),
            "status_interval": status_interval, "database_url": database_url, "spill_dir": spill_dir,
            "kinds": dict(kinds)}
    try:
        data = orjson.dumps(body)
    except TypeError:
        return False
    if orjson.loads(data) != body:
        return False
    target = path()
    tmp = f"{target}.{os.getpid()}.tmp"
    try:
        os.makedirs(os.path.dirname(target), exist_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, target)
    except OSError:
        import contextlib

        with contextlib.suppress(OSError):
            os.unlink(tmp)
        return False
    return True


def read() -> dict[str, Any] | None:
    """The note, when one was written for the config and environment as they are now; else None."""
    import orjson

    try:
        with open(path(), "rb") as fh:
            body = orjson.loads(fh.read())
    except (OSError, ValueError):
        return None
    if not isinstance(body, dict) or body.get("format") != FORMAT or body.get("key") != key():
        return None
    return body
