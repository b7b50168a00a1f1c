"""The first path segment names a pool or a provider; the rest of the path goes to that upstream unchanged."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from quotawarden.sources.proxy.dialects import OPENAI
from quotawarden.sources.proxy.model import PoolDef, ProxyConfig, Upstream

# Origins the proxy forwards to when neither an account nor ``[proxy] upstreams`` names one. The client's path
# (``/v1/chat/completions``) is appended, so these stop just before ``/v1``.
DEFAULT_BASES: dict[str, str] = {
    "anthropic": "https://api.anthropic.com",
    "claude": "https://api.anthropic.com",
    "openai": "https://api.openai.com",
    "codex": "https://api.openai.com",
    "gemini": "https://generativelanguage.googleapis.com",
    "xai": "https://api.x.ai",
    "groq": "https://api.groq.com/openai",
    "deepseek": "https://api.deepseek.com",
    "mistral": "https://api.mistral.ai",
    "openrouter": "https://openrouter.ai/api",
    "moonshot": "https://api.moonshot.ai",
}


@dataclass(frozen=True, slots=True)
class Route:
    name: str
    kind: str
    """``pool`` (keys injected) or ``provider`` (pass-through, or pool mode over the provider's accounts)."""
    provider: str
    members: tuple[Upstream, ...]
    base: str
    fallback: tuple[str, ...] = ()
    model_map: Mapping[str, str] = field(default_factory=dict)
    api: str | None = None
    dialect: str = OPENAI
    """The dialect the provider declares (``ProviderSpec.dialect``); a pool's ``api`` overrides it."""

    @property
    def family(self) -> str:
        return self.api or self.dialect


class Router:
    def __init__(self, config: ProxyConfig, dialects: Mapping[str, str]) -> None:
        """``dialects``: each known provider's declared dialect (slug -> ``openai``/``anthropic``/``gemini``)."""
        self.routes: dict[str, Route] = {}
        self.dialects = dialects
        by_id = {a.account_id: a for a in config.accounts}
        bases = {**DEFAULT_BASES, **config.provider_bases}
        for slug in {*dialects, *bases, *(a.provider for a in config.accounts)}:
            members = tuple(a for a in config.accounts if a.provider == slug and a.secret)
            base = bases.get(slug) or next((a.base_url for a in members), "")
            if base:
                self.routes[slug] = Route(slug, "provider", slug, members, base.rstrip("/"),
                                          dialect=self.dialect(slug))
        for pool in config.pools:
            self.routes[pool.name] = self._pool(pool, by_id, config.accounts)
        self.hosts = {_host(r.base) for r in self.routes.values()}
        self.hosts |= {_host(m.base_url) for r in self.routes.values() for m in r.members}
        self.hosts |= set(config.extra_hosts)
        self._bases: dict[str, bool] = {}

    def _pool(self, pool: PoolDef, by_id: Mapping[str, Upstream], accounts: Iterable[Upstream]) -> Route:
        ids = pool.accounts or tuple(a.account_id for a in accounts if a.pool == pool.name)
        members = tuple(by_id[i] for i in ids if i in by_id and by_id[i].secret)
        provider = members[0].provider if members else ""
        base = members[0].base_url if members else ""
        return Route(pool.name, "pool", provider, members, base.rstrip("/"), pool.fallback, pool.model_map,
                     pool.api, self.dialect(provider))

    def dialect(self, provider: str) -> str:
        """The dialect a provider declared; OpenAI-shaped for one no plug-in knows (an ``[proxy] upstreams`` name)."""
        return self.dialects.get(provider, OPENAI)

    def get(self, name: str) -> Route | None:
        return self.routes.get(name)

    def allowed(self, url: str) -> bool:
        """No open proxy: only hosts that the configuration names are ever contacted."""
        return _host(url) in self.hosts

    def allowed_base(self, base: str) -> bool:
        """:meth:`allowed` for an upstream base, remembered. The proxy only appends a path that starts with
        ``/`` (see :func:`split_path`) and a query to a base, which cannot change its host."""
        ok = self._bases.get(base)
        if ok is None:
            ok = self._bases[base] = self.allowed(base)
        return ok


def split_path(raw_path: bytes) -> tuple[str, bytes]:
    """``b"/openai/v1/chat/completions"`` -> ``("openai", b"/v1/chat/completions")``."""
    rest = raw_path[1:] if raw_path.startswith(b"/") else raw_path
    seg, slash, tail = rest.partition(b"/")
    return seg.decode("latin-1"), slash + tail


def _host(url: str) -> str:
    parts = urlsplit(url)
    return parts.netloc.rsplit("@", 1)[-1].lower()
