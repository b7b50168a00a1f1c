"""What the proxy left outside the store, read without loading the proxy (``status`` must stay light).

The proxy keeps its usage journal, its replay files and its spill file in one folder per store
(:func:`spill_folder`). Records land there for good only when the store was unreachable at the proxy's stop, or
the proxy died; the next proxy started on that folder stores them (``sources.proxy.queue``). :func:`backlog`
counts the usage records waiting there, so a reader of the store can say its count is short and why.
"""

from __future__ import annotations

import fcntl
import os
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path

_USAGE_LINE = b'{"k":"u",'
"""How a usage record starts in the journal and spill files (``sources.proxy.codec``)."""


def spill_path(configured: str | None, store_url: str, data_dir: str | None = None) -> str:
    """``[proxy] spill_dir`` if set, else ``<data dir>/proxy-spill/<database>-<hash of the store URL>``: the
    store's own, so records are only ever replayed into the store they belong to (the URL's password is left out:
    the folder stays when the password changes). ``data_dir``: platformdirs' data folder, when the caller already
    knows it (the fast path, which does not import platformdirs)."""
    if configured:
        return os.path.expanduser(configured)
    return os.path.join(_spill_root(data_dir), _folder_name(store_url))


def spill_folder(configured: str | None, store_url: str, data_dir: str | None = None) -> Path:
    """:func:`spill_path` as a ``Path``."""
    from pathlib import Path

    return Path(spill_path(configured, store_url, data_dir))


def _spill_root(data_dir: str | None) -> str:
    if data_dir is None:
        import platformdirs

        data_dir = platformdirs.user_data_dir("quotawarden")
    return os.path.join(data_dir, "proxy-spill")


def _folder_name(store_url: str) -> str:
    import hashlib

    if "@" in store_url:  # a password can only stand before an @
        from urllib.parse import urlsplit, urlunsplit

        parts = urlsplit(store_url)
        if parts.password is not None:
            host = parts.hostname or ""
            netloc = f"{parts.username or ''}@{host}" + (f":{parts.port}" if parts.port else "")
            store_url = urlunsplit(parts._replace(netloc=netloc))
    kind = store_url.split(":", 1)[0].split("+", 1)[0]
    return f"{kind}-{hashlib.sha256(store_url.encode()).hexdigest()[:16]}"


def waiting(configured: str | None, store_url: str, data_dir: str | None = None) -> tuple[int, str | None]:
    """(usage records waiting, their folder) for the store at ``store_url``: :func:`backlog` of its spill folder.
    ``(0, None)`` without naming the folder when no proxy ever made the data folder's ``proxy-spill``: what
    ``status`` asks on every run."""
    if not configured and not os.path.isdir(_spill_root(data_dir)):
        return 0, None
    folder = spill_path(configured, store_url, data_dir)
    return backlog(folder)[0], folder


def _left(folder: str | os.PathLike[str]) -> list[str]:
    try:
        names = os.listdir(folder)
    except OSError:
        return []
    # replay files, the spill file, journal segments
    return sorted(os.path.join(folder, n) for n in names
                  if n == "spill.jsonl" or (n.endswith(".jsonl") and n.startswith(("replay-", "journal-"))))


def backlog(folder: str | os.PathLike[str]) -> tuple[int, list[str]]:
    """Usage records in ``folder`` that are not in the store and that no running proxy holds: the replay and spill
    files, and journal segments left by a proxy that died (no ``flock`` on them). Returns how many usage records,
    and the files."""
    count, files = 0, []
    for path in _left(folder):
        try:
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            continue
        try:
            if os.path.basename(path).startswith("journal-"):
                try:
                    fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
                except OSError:  # a live proxy writes it and stores it at its next flush
                    continue
            with os.fdopen(os.dup(fd), "rb") as f:
                count += sum(1 for line in f if line.startswith(_USAGE_LINE))
        finally:
            os.close(fd)
        files.append(path)
    return count, files


def move_folder(source: str | os.PathLike[str], target: str | os.PathLike[str]) -> int:
    """Hand the records left in ``source`` (an earlier spill folder) to ``target`` as replay files: replay and
    spill files, and the journal segments no live process holds. Returns how many files moved."""
    moved = 0
    for path in _left(source):
        try:
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            os.makedirs(target, exist_ok=True)
            stem = os.path.basename(path).removesuffix(".jsonl")
            os.rename(path, os.path.join(target, f"replay-{time.time_ns()}-{stem}.jsonl"))
            moved += 1
        except OSError:
            continue
        finally:
            os.close(fd)
    return moved
