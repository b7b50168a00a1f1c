"""``quotawarden serve``: the HTTP API plus the scheduler in one process; several replicas on PostgreSQL.

Refuses to listen beyond loopback without an admin token, and refuses a second daemon on one SQLite file (SQLite
has one writer; run replicas on PostgreSQL). On SIGTERM uvicorn stops accepting, finishes in-flight requests,
then the scheduler lets the running poll finish.
"""

from __future__ import annotations

import asyncio
import fcntl
import ipaddress
import logging
import os
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import IO, Any

from quotawarden.app import otel_export
from quotawarden.app.daemon.scheduler import Daemon
from quotawarden.app.service import Service
from quotawarden.credentials import resolve
from quotawarden.errors import ConfigError, StoreError
from quotawarden.interfaces.daemon import STOP_GRACE_S

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


def build(svc: Service, host: str, *, tick_s: float = 1.0, with_proxy: bool = False) -> tuple[Any, Daemon]:
    from quotawarden.interfaces.api import create_app

    token = admin_token(svc, host)
    daemon = Daemon(svc, tick_s=tick_s)

    mounts = {"/proxy": _proxy_app(svc)} if with_proxy else {}
    proxy = getattr(mounts.get("/proxy"), "proxy", None)
    otel = otel_export.from_service(svc)  # None without [otel] endpoint: the SDK is never imported

    @asynccontextmanager
    async def lifespan(_: Any) -> AsyncIterator[None]:
        daemon.start()
        if proxy is not None:
            await proxy.start()
        if otel is not None:
            otel.start()
        try:
            yield
        finally:
            try:
                if otel is not None:
                    await asyncio.to_thread(otel.stop)  # a last export, off the event loop
            finally:
                try:
                    if proxy is not None:
                        await proxy.stop()  # writes the proxy's records to the store (a failed export aside)
                finally:
                    await daemon.stop()

    pages_public = is_loopback(host) and not svc.config.settings.server.admin_token
    app = create_app(svc, admin_token=token, replica=daemon.holder, metrics_public=is_loopback(host),
                     pages_public=pages_public,
                     lifespan=lifespan, poll_now=daemon.poll_now, extra_mounts={k: v for k, v in mounts.items() if v},
                     freeze_heap=True)
    app.state.qw.bind_host = host
    return app, daemon


def _proxy_app(svc: Service) -> Any:
    """The piggyback proxy under ``/proxy``: it routes on the first path segment, so it sees the path without it."""
    proxy = svc.build_proxy()

    async def mounted(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] in ("http", "websocket"):
            prefix = scope.get("root_path", "") or "/proxy"
            raw = scope.get("raw_path") or scope["path"].encode()
            if raw.startswith(prefix.encode()):
                raw = raw[len(prefix):] or b"/"
            path = scope["path"][len(prefix):] if scope["path"].startswith(prefix) else scope["path"]
            scope = {**scope, "raw_path": raw, "path": path or "/", "root_path": ""}
        await proxy(scope, receive, send)

    mounted.proxy = proxy  # type: ignore[attr-defined]
    return mounted


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
