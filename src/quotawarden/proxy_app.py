"""Proxy use case: wire the piggyback proxy (``sources.proxy``) to the store, prices, keys and rotation.

The proxy itself never imports the store or analysis; it receives these collaborators from here.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

from quotawarden.domain import Account
from quotawarden.errors import QuotawardenError
from quotawarden.sources.proxy import Batch, Budget, ProxyApp
from quotawarden.sources.proxy.pools import DefaultRanker
from quotawarden.sources.proxy.settings import proxy_config
from quotawarden.store import accounts as accounts_q
from quotawarden.store import samples as samples_q
from quotawarden.store import usage as usage_q

if TYPE_CHECKING:
    from quotawarden.service import Service

log = logging.getLogger("quotawarden.proxy")


def build_proxy(service: Service, host: str | None = None, port: int | None = None) -> ProxyApp:
    settings = service.config.settings
    secrets: dict[str, str] = {}
    for a in service.config.accounts:
        try:
            if (value := service.resolve_credential(a.credential, a.id)) is not None:
                secrets[a.id] = value
        except QuotawardenError as exc:  # the account stays out of pools; pass-through still works
            log.warning("proxy: %s has no usable key (%s)", a.id, exc)
    tokens: dict[str, str] = {}
    for t in settings.proxy.client_tokens:
        value = service.resolve_credential(t.token, f"client token of {t.consumer}")
        if value:
            tokens[t.token] = value
    import platformdirs

    spill = Path(platformdirs.user_data_dir("quotawarden")) / "proxy-spill"
    config = proxy_config(settings, service.config.accounts, secrets, tokens, host=host, port=port, spill_dir=spill)
    from quotawarden.pricing import Pricer

    pricer = Pricer(settings.logs.price_overrides)
    return ProxyApp(config, sink=lambda batch: write_batch(service, batch), providers=service.plugins.providers,
                    ranker=DefaultRanker(), pricer=pricer.price_event, spend=lambda b, now: spent(service, b, now),
                    fingerprint_lookup=lambda fp: accounts_q.account_by_fingerprint(service.store, fp),
                    clock=service.clock)


def write_batch(service: Service, batch: Batch) -> None:
    """The proxy's sink: observed accounts first (samples refer to them), then samples, usage and states."""
    store = service.store
    if batch.observed:
        accounts_q.upsert_accounts(
            store, [Account(o.account_id, o.provider, label=f"observed {o.provider} key", base_url=o.base_url)
                    for o in batch.observed],
            origin="observed", fingerprints={o.account_id: o.fingerprint for o in batch.observed})
    samples_q.write_samples(store, batch.samples)
    usage_q.write_usage(store, batch.usage)
    accounts_q.set_states(store, batch.states)


def spent(service: Service, budget: Budget, now: datetime) -> tuple[Decimal, Decimal]:
    """Cost already stored today and this month for a budget's scope (consumer, project, provider, total)."""
    month_start = now.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    day_start = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    column = {"consumer": "consumer", "project": "project", "provider": "provider"}.get(budget.scope)
    if budget.scope not in ("consumer", "project", "provider", "total"):
        return Decimal(0), Decimal(0)
    equals = {column: budget.match} if column and budget.match != "*" else {}
    events = usage_q.events_between(service.store, month_start, None, **equals)
    month = sum((e.cost or Decimal(0) for e in events), Decimal(0))
    day = sum((e.cost or Decimal(0) for e in events if e.ts >= day_start), Decimal(0))
    return day, month

