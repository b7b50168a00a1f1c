"""The piggyback proxy: agents point their base URL here; every response becomes quota readings and usage.

Built by the service (``Service.build_proxy()``), which hands in the collaborators (a sink for records, the
rotation ranking, a pricing function, account keys). The result is a plain ASGI callable.
"""

from __future__ import annotations

from quotawarden.sources.proxy.app import ProxyApp
from quotawarden.sources.proxy.model import (
    Batch,
    Budget,
    ClientToken,
    ObservedAccount,
    PoolDef,
    ProxyConfig,
    Upstream,
)

build_proxy_app = ProxyApp
"""``build_proxy_app(config, sink=..., providers=...)``: an ASGI app with ``await app.start()`` / ``stop()``."""

__all__ = ["Batch", "Budget", "ClientToken", "ObservedAccount", "PoolDef", "ProxyApp", "ProxyConfig", "Upstream",
           "build_proxy_app"]
