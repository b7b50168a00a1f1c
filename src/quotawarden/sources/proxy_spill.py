"""What the proxy left outside the store, read without loading the proxy (``status`` must stay light).

The proxy keeps its usage journal, its replay files and its spill file in one folder per store
(:func:`spill_folder`). Records land there for good only when the store was unreachable at the proxy's stop, or
the proxy died; the next proxy started on that folder stores them (``sources.proxy.queue``). :func:`backlog`
counts the usage records waiting there, so a reader of the store can say its count is short and why.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

_USAGE_LINE = b'{"k":"u",'
"""How a usage record starts in the journal and spill files (``sources.proxy.codec``)."""


def spill_folder(configured: str | None, store_url: str, data_dir: str | None = None) -> Path:
    """``[proxy] spill_dir`` if set, else ``<data dir>/proxy-spill/<database>-<hash of the store URL>``: the
    store's own, so records are only ever replayed into the store they belong to (the URL's password is left out:
    the folder stays when the password changes). ``data_dir``: platformdirs' data folder, when the caller already
    knows it (the fast path, which does not import platformdirs)."""
    if configured:
        return Path(configured).expanduser()

    parts = urlsplit(store_url)
    if parts.password is not None:
        host = parts.hostname or ""
        netloc = f"{parts.username or ''}@{host}" + (f":{parts.port}" if parts.port else "")
        store_url = urlunsplit(parts._replace(netloc=netloc))
    kind = store_url.split(":", 1)[0].split("+", 1)[0]
    if data_dir is None:
        import platformdirs

        data_dir = platformdirs.user_data_dir("quotawarden")
    return (Path(data_dir) / "proxy-spill"
            / f"{kind}-{hashlib.sha256(store_url.encode()).hexdigest()[:16]}")


def _left(folder: Path) -> list[Path]:
    try:
        return sorted([*folder.glob("replay-*.jsonl"), *folder.glob("spill.jsonl"), *folder.glob("journal-*.jsonl")])
    except OSError:
        return []


def backlog(folder: Path) -> tuple[int, list[Path]]:
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
            if path.name.startswith("journal-"):
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


def move_folder(source: Path, target: Path) -> int:
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
            target.mkdir(parents=True, exist_ok=True)
            path.rename(target / f"replay-{time.time_ns()}-{path.stem}.jsonl")
            moved += 1
        except OSError:
            continue
        finally:
            os.close(fd)
    return moved
