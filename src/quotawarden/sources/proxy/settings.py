"""From the validated ``[proxy]``, ``[[pools]]`` and ``[[budgets]]`` settings to a :class:`ProxyConfig`.

Secrets arrive already resolved (the service resolves credential references); this module never reads them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from quotawarden.domain import Account
from quotawarden.errors import ConfigError
from quotawarden.redact import fingerprint
from quotawarden.sources.proxy.auth import is_loopback
from quotawarden.sources.proxy.model import Budget, ClientToken, PoolDef, ProxyConfig, Upstream
from quotawarden.sources.proxy.routing import DEFAULT_BASES


def _usd(value: float | None) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def proxy_config(settings: Any, accounts: Sequence[Account], secrets: Mapping[str, str], tokens: Mapping[str, str],
                 *, host: str | None = None, port: int | None = None, spill_dir: Path | None = None
                 ) -> ProxyConfig:
    """``settings`` is the whole validated config; ``tokens`` maps a client-token reference to its value."""
    px = settings.proxy
    host = host or px.host
    client_tokens = tuple(ClientToken(tokens[t.token], t.consumer, t.project, tuple(t.pools))
                          for t in px.client_tokens if tokens.get(t.token))
    if not is_loopback(host) and not client_tokens:
        raise ConfigError(f"the proxy may listen on {host} only with [[proxy.client_tokens]] configured "
                          "(otherwise anyone who can reach it could spend your keys)", field="proxy.host")
    upstreams = tuple(
        Upstream(a.id, a.provider, a.base_url or px.upstreams.get(a.provider) or DEFAULT_BASES.get(a.provider, ""),
                 secrets.get(a.id), a.pool)
        for a in accounts)
    pools = tuple(PoolDef(p.name, tuple(p.accounts), tuple(p.fallback), dict(p.model_map), p.api,
                          strategy=p.strategy or settings.planner.strategy, switch_margin=p.switch_margin,
                          switch_margin_s=p.switch_margin_s, pacing=p.pacing, allow_overage=p.allow_overage)
                  for p in settings.pools)
    budgets = tuple(Budget(b.name, b.scope, b.match, _usd(b.daily_usd), _usd(b.monthly_usd), b.hard)
                    for b in settings.budgets)
    return ProxyConfig(
        host=host, port=port or px.port, accounts=upstreams, pools=pools, client_tokens=client_tokens,
        budgets=budgets, provider_bases=dict(px.upstreams), extra_hosts=tuple(px.extra_upstream_hosts),
        known_fingerprints={fingerprint(v): k for k, v in secrets.items()}, queue_size=px.queue_size,
        flush_interval_s=px.flush_interval, journal_sync_s=px.journal_sync,
        spill_dir=Path(px.spill_dir).expanduser() if px.spill_dir else spill_dir,
        upstream_timeout_s=px.upstream_timeout, rotation=str(settings.autonomy.rotate_keys),
        pause_overage=str(settings.autonomy.pause_overage),
    )
