"""``quotawarden serve``: the HTTP API plus the scheduler in one process; several replicas on PostgreSQL.

Refuses to listen beyond loopback without an admin token, and refuses a second daemon on one SQLite file (SQLite
has one writer; run replicas on PostgreSQL). uvicorn serves a :class:`~quotawarden.interfaces.daemon.front.Front`:
the scheduler starts with the server, and the FastAPI app is built by the first request for it (a daemon nobody
asks idles about 10 MB smaller); ``/proxy`` never needs it. On SIGTERM uvicorn stops accepting, finishes in-flight
requests, then the scheduler lets the running poll finish.
"""

from __future__ import annotations

import asyncio
import fcntl
import gc
import ipaddress
import logging
import os
import secrets
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import IO, Any

from quotawarden.app import otel_export
from quotawarden.app.daemon.scheduler import Daemon
from quotawarden.app.service import Service
from quotawarden.credentials import resolve
from quotawarden.errors import ConfigError, StoreError
from quotawarden.interfaces import admin_gate
from quotawarden.interfaces.admin_gate import ASGIApp, Receive, Scope, Send
from quotawarden.interfaces.daemon import STOP_GRACE_S
from quotawarden.interfaces.daemon.front import Front

log = logging.getLogger("quotawarden.daemon")


def is_loopback(host: str) -> bool:
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def data_dir() -> Path:
    import platformdirs

    return Path(platformdirs.user_data_dir("quotawarden"))


def local_token_file() -> Path:
    return data_dir() / "admin-token"


def admin_token(svc: Service, host: str) -> str:
    """The configured token; on loopback without one, a token generated once into the data dir (mode 0600),
    which local tools (``status --server``) read."""
    ref = svc.config.settings.server.admin_token
    if ref:
        token = resolve(ref, account="server.admin_token")
        if token:
            return token
    if not is_loopback(host):
        raise ConfigError(f"refusing to listen on {host} without an admin token: set server.admin_token "
                          "(e.g. admin_token = \"env:QUOTAWARDEN_ADMIN_TOKEN\") or listen on 127.0.0.1",
                          field="server.admin_token", file=str(svc.config.path or ""))
    path = local_token_file()
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    token = "qwa_" + secrets.token_urlsafe(24)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(token)
    return token


def sqlite_writer_lock(svc: Service) -> IO[str] | None:
    """Hold an exclusive lock next to the SQLite file for the daemon's lifetime; None on PostgreSQL."""
    store = svc.store
    if not store.is_sqlite:
        return None
    db = store.url.split("///", 1)[-1]
    lock_path = Path(db + ".serve.lock")
    f = open(lock_path, "a+")  # noqa: SIM115 - held open until exit
    try:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        f.seek(0)
        other = f.read().strip() or "another process"
        f.close()
        raise StoreError(f"another quotawarden serve ({other}) is already writing to {db}; SQLite allows one "
                         "daemon per database file. Run several replicas against PostgreSQL instead "
                         "(database.url = \"postgresql://...\").") from None
    f.seek(0)
    f.truncate()
    f.write(f"pid {os.getpid()}")
    f.flush()
    return f


def build(svc: Service, host: str, *, tick_s: float = 1.0, with_proxy: bool = False) -> tuple[Front, Daemon]:
    """The daemon and the ASGI app uvicorn serves: a :class:`Front` that starts and stops the daemon (and the
    proxy's flusher and the OpenTelemetry export) with the server's lifespan, answers ``/proxy`` itself and builds
    the FastAPI app on the first other request (``Front.api()`` gives it at any time, building it if need be)."""
    token = admin_token(svc, host)
    daemon = Daemon(svc, tick_s=tick_s)
    proxy, mounted = _proxy_app(svc) if with_proxy else (None, None)
    otel = otel_export.from_service(svc)  # None without [otel] endpoint: the SDK is never imported
    pages_public = is_loopback(host) and not svc.config.settings.server.admin_token

    @asynccontextmanager
    async def lifecycle() -> AsyncIterator[None]:
        """Started in this order and stopped in the reverse, each stop run whatever the others do; what started
        is stopped again when a later start fails."""
        async with AsyncExitStack() as started:
            daemon.start()
            started.push_async_callback(daemon.stop)
            if proxy is not None:
                await proxy.start()
                started.push_async_callback(proxy.stop)  # writes its records to the store (a failed export aside)
            if otel is not None:
                otel.start()
                started.push_async_callback(asyncio.to_thread, otel.stop)  # a last export, off the event loop
            freeze_heap()
            yield

    def api() -> Any:
        from quotawarden.interfaces.api import create_app

        app = create_app(svc, admin_token=token, replica=daemon.holder, metrics_public=is_loopback(host),
                         pages_public=pages_public, poll_now=daemon.poll_now,
                         extra_mounts={"/proxy": mounted} if mounted is not None else None)
        app.state.qw.bind_host = host
        freeze_heap()
        return app

    mounts = {"/proxy": admin_gate.guard_proxy(mounted, token, pages_public)} if mounted is not None else {}
    return Front(api, lifecycle, mounts), daemon


def freeze_heap() -> None:
    """Move what is alive now out of the cyclic garbage collector's reach (``gc.freeze``), after a collection.

    A full collection walks every object it tracks (modules, the store's engine, once built the API's routes and
    models: 100k and more) with the GIL held: on a shared core a stall of every request in flight, many times a
    minute. So ``serve`` freezes its heap once the daemon has started and once more when the first request has
    built the API; a collection then walks what was allocated since: little."""
    gc.collect()
    gc.freeze()


def _proxy_app(svc: Service) -> tuple[Any, ASGIApp]:
    """The piggyback proxy (whose flusher ``serve`` starts and stops) and the ASGI app that serves it under
    ``/proxy``: it routes on the first path segment, so it sees the path without the prefix."""
    proxy = svc.build_proxy()

    async def mounted(scope: Scope, receive: Receive, send: Send) -> None:
        inner = dict(scope)
        if scope["type"] in ("http", "websocket"):
            prefix = scope.get("root_path", "") or "/proxy"
            raw = scope.get("raw_path") or scope["path"].encode()
            if raw.startswith(prefix.encode()):
                raw = raw[len(prefix):] or b"/"
            path = scope["path"][len(prefix):] if scope["path"].startswith(prefix) else scope["path"]
            inner.update(raw_path=raw, path=path or "/", root_path="")
        await proxy(inner, receive, send)

    return proxy, mounted


def serve(svc: Service, host: str, port: int, *, tick_s: float = 1.0, with_proxy: bool = False,
          log_level: str = "info") -> None:
    import uvicorn

    logging.getLogger("apscheduler").setLevel(logging.WARNING)  # it logs every run of every job at INFO
    lock = sqlite_writer_lock(svc)
    try:
        app, _ = build(svc, host, tick_s=tick_s, with_proxy=with_proxy)
        config = uvicorn.Config(app, host=host, port=port, log_level=log_level, access_log=False,
                                timeout_graceful_shutdown=STOP_GRACE_S, lifespan="on", ws="none")  # no WebSocket route
        uvicorn.Server(config).run()
    finally:
        if lock is not None:
            lock.close()
        svc.close()
