"""Proxy use case: wire the piggyback proxy (``sources.proxy``) to the store, prices, keys and rotation.

The proxy itself never imports the store or analysis; it receives these collaborators from here.
"""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Collection, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from quotawarden.analysis import planner, pool_order, rotation
from quotawarden.analysis.health import Policy
from quotawarden.domain import OVERAGE_WINDOW, Account, Health, Outcome, QuotaSample
from quotawarden.errors import QuotawardenError
from quotawarden.redact import fingerprint
from quotawarden.sources import proxy_spill
from quotawarden.sources.proxy import Batch, Budget, ProxyApp
from quotawarden.sources.proxy.model import PoolDef
from quotawarden.sources.proxy.settings import proxy_config
from quotawarden.store import accounts as accounts_q
from quotawarden.store import outcomes as outcomes_q
from quotawarden.store import samples as samples_q
from quotawarden.store import throttles as throttles_q
from quotawarden.store import usage as usage_q
from quotawarden.store.append import append_usage, open_appender
from quotawarden.store.engine import Store

if TYPE_CHECKING:
    from quotawarden.app.context import AppContext

log = logging.getLogger("quotawarden.proxy")


def build_proxy(service: AppContext, host: str | None = None, port: int | None = None) -> ProxyApp:
    settings = service.config.settings
    secrets: dict[str, str] = {}
    for a in service.config.accounts:
        try:
            if (value := service.resolve_credential(a.credential, a.id)) is not None:
                secrets[a.id] = value
        except QuotawardenError as exc:  # the account stays out of pools; pass-through still works
            log.warning("proxy: %s has no usable key (%s)", a.id, exc)
    # a configured key is known by its fingerprint everywhere (pass-through, /v1/instances, analysis.current)
    accounts_q.record_fingerprints(service.store, {aid: fingerprint(v) for aid, v in secrets.items()})
    tokens: dict[str, str] = {}
    for t in settings.proxy.client_tokens:
        value = service.resolve_credential(t.token, f"client token of {t.consumer}")
        if value:
            tokens[t.token] = value
    spill = proxy_spill.spill_folder(settings.proxy.spill_dir, service.store.url)
    legacy = spill.parent
    if not settings.proxy.spill_dir and legacy.is_dir() and proxy_spill.move_folder(legacy, spill):
        log.info("proxy: records an earlier version left in %s are stored from %s", legacy, spill)
    config = proxy_config(settings, service.config.accounts, secrets, tokens, host=host, port=port, spill_dir=spill)
    from quotawarden.app import reports
    from quotawarden.pricing import Pricer

    pricer = Pricer(settings.logs.price_overrides)
    from quotawarden.app.planning import kinds, planner_settings

    ranker = RotationRanker({a.id: a.provider for a in service.config.accounts}, reports.policy(settings),
                            kinds(service.plugins), planner_settings(settings),
                            plans={a.id: a.plan for a in service.config.accounts if a.plan})
    return ProxyApp(config, sink=StoreWriter(service), providers=service.plugins.providers,
                    ranker=ranker, pricer=pricer.price_event, spend=lambda b, now: spent(service, b, now),
                    fingerprint_lookup=lambda fp: accounts_q.account_by_fingerprint(service.store, fp),
                    clock=service.clock, on_action=ActionReporter(service),
                    throttled=lambda: throttles_q.active(service.store, time.time()).keys())


class ActionReporter:
    """The proxy's autonomous moves, audited and announced (``ActionDesk.act``) in a thread of their own: a slow
    alert channel never holds up a request."""

    def __init__(self, service: AppContext) -> None:
        self.service = service
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="quotawarden-proxy-actions")

    def __call__(self, action: str, subject: str, summary: str, detail: dict[str, Any]) -> None:
        self._pool.submit(self._act, action, subject, summary, detail)

    def _act(self, action: str, subject: str, summary: str, detail: dict[str, Any]) -> None:
        try:  # done already (auto) or only proposed (ask): act() audits and announces by the configured mode
            self.service.actions.act(action, subject, summary, lambda: None, actor="proxy", detail=detail)
        except Exception:
            log.exception("could not record the proxy's %s", action)


class RotationRanker:
    """The analysis layer's ranking over the proxy's own live readings.

    For a configured pool (:meth:`order`): the planner (``analysis.planner.plan``) with the pool's strategy
    (``drain_soonest`` or ``headroom``), then its pacing and hysteresis (``analysis.pool_order``); the account chosen
    last is remembered per pool. Paid keys come after included capacity, an account answering from paid overage
    counts as paid, and accounts the planner skips (at a cap) go last: still worth a try before the client gets a
    429. An included account whose windows the proxy has not read yet is sent one request first, to read them.

    Without a pool (a provider's accounts, :meth:`__call__`): headroom against each window's hard cap from
    ``[thresholds]``; known headroom goes before unknown, then more headroom, then the sooner reset; accounts
    within 1% of the best take turns.
    """

    def __init__(self, providers: Mapping[str, str], policy: Policy, kinds: Mapping[str, str] | None = None,
                 settings: planner.PlannerSettings | None = None, *, plans: Mapping[str, str] | None = None) -> None:
        self.providers, self.policy = providers, policy
        self.kinds = kinds
        self.plans = plans or {}
        """Account id -> its ``plan``: ``free`` on an API key is included capacity (``planner.capacity_of``)."""
        self.settings = settings or planner.PlannerSettings()
        self._turn = itertools.count()
        self.current: dict[str, str] = {}
        """Pool -> the account it chose last (hysteresis)."""
        self._rules: dict[tuple[str, float, float, bool], pool_order.Rules] = {}
        self._tried: set[str] = set()
        """Accounts already sent one request to read their windows."""

    def order(self, pool: PoolDef, ids: Sequence[str], latest: Mapping[str, Sequence[QuotaSample]], now: datetime,
              overage: Collection[str] = ()) -> list[str]:
        """One routing decision of ``pool`` over its usable members ``ids``."""
        if not ids:
            return []
        t = now.timestamp()
        rules = self._rules.get(key := (pool.strategy, pool.switch_margin, pool.switch_margin_s, pool.pacing))
        if rules is None:
            rules = self._rules[key] = pool_order.Rules(*key)
        over = frozenset(overage)
        opts = []
        held = set()
        for i in ids:
            provider = self.providers.get(i, "")
            rooms = []
            for s in latest.get(i, ()):
                if s.window == OVERAGE_WINDOW:
                    continue
                reset_t = s.resets_at.timestamp() if s.resets_at is not None else None
                ratio = 0.0 if reset_t is not None and reset_t <= t else s.effective_ratio  # reset: empty
                rooms.append(planner.Room(s.window, ratio, self.policy.cap(provider, s.window), reset_t,
                                          length_s=s.window_length_s))
                if rules.pacing and pool_order.ahead_of_pace(ratio, reset_t, s.window_length_s, t):
                    held.add(i)
            kind = self.kinds.get(provider) if self.kinds is not None else "subscription"
            opts.append(planner.option(i, provider, planner.capacity_of(kind, self.plans.get(i)) or planner.INCLUDED,
                                       outcome="OVERAGE" if i in over else "OK", rooms=rooms,
                                       free=planner.is_free(kind, self.plans.get(i))))
        plan = planner.plan(opts, self.settings, strategy=rules.strategy, now=t)
        ranked = pool_order.order(plan.ranked, rules, self.current.get(pool.name), held)
        # an included account whose windows the proxy has not seen yet gets one request first, to read them
        fresh = next((c for c in ranked if c.capacity == planner.INCLUDED and not latest.get(c.account_id)
                      and c.account_id not in self._tried), None)
        if fresh is not None:
            self._tried.add(fresh.account_id)
            ranked = [fresh, *(c for c in ranked if c is not fresh)]
        out = [c.account_id for c in ranked] + [a for a, _ in plan.skipped]
        self.current[pool.name] = out[0]
        return out

    def __call__(self, ids: Sequence[str], latest: Mapping[str, Sequence[QuotaSample]], now: datetime) -> list[str]:
        if len(ids) < 2:
            return list(ids)
        cands = [self._candidate(i, latest.get(i, ()), now) for i in ids]
        rot = rotation.rank(cands, [rotation.PoolSpec("pool", tuple(ids))], "pool")
        ranked = [r.account_id for r in rot.ranked]
        if rot.ranked:
            best = _step(rot.ranked[0].headroom)
            top = [r.account_id for r in rot.ranked if _step(r.headroom) == best]
            k = next(self._turn) % len(top)
            ranked = top[k:] + top[:k] + ranked[len(top):]
        return ranked + [account_id for account_id, _ in rot.skipped]

    def _candidate(self, account_id: str, samples: Sequence[QuotaSample], now: datetime) -> rotation.Candidate:
        provider = self.providers.get(account_id, "")
        tightest: tuple[float, str, datetime | None] | None = None
        for s in samples:
            ratio = 0.0 if s.resets_at is not None and s.resets_at <= now else s.effective_ratio  # reset: empty
            if ratio is None:
                continue
            room = self.policy.cap(provider, s.window) - ratio
            if tightest is None or room < tightest[0]:
                tightest = (room, s.window, s.resets_at)
        if tightest is None:
            return rotation.Candidate(account_id, provider, "pool", Health.UNKNOWN, Outcome.OK, None)
        return rotation.Candidate(account_id, provider, "pool", Health.UNKNOWN, Outcome.OK, *tightest)


def _step(headroom: float | None) -> float | None:
    return None if headroom is None else round(headroom, 2)


class StoreWriter:
    """The proxy's sink, used only from the queue's writer thread; writes through ``store.append``'s lean engine."""

    def __init__(self, service: AppContext) -> None:
        self.service = service
        self._store: Store | None = None

    def open(self) -> Store:
        if self._store is None:
            # the service's store opens and migrates the database and registers configured accounts first
            self._store = open_appender(self.service.store.url)
        return self._store

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None

    def __call__(self, batch: Batch) -> None:
        store = self.open()
        write_batch(store, batch)
        self.count(store, batch)

    def count(self, store: Store, batch: Batch) -> None:
        """The counted windows (``analysis.counting``) of the accounts this batch's traffic used, stored for the
        fast summary and status line. Derived data: a failure here is logged, never a failed (retried) batch."""
        ids = {e.account_id for e in batch.usage if e.account_id}
        if not ids:
            return
        from quotawarden.analysis.counting import limits_of
        from quotawarden.app.reports import store_counted

        limited = [a for a in self.service.config.accounts if a.id in ids and limits_of(a) is not None]
        if limited:
            try:
                store_counted(store, limited, self.service.now())
            except Exception as exc:  # the usage itself is stored; the next batch or poll counts again
                log.warning("counted windows not stored: %s", type(exc).__name__)


def write_batch(store: Store, batch: Batch) -> None:
    """Observed accounts first (samples refer to them), then samples, usage and states."""
    if batch.observed:
        accounts_q.upsert_accounts(
            store, [Account(o.account_id, o.provider, label=f"observed {o.provider} key", base_url=o.base_url)
                    for o in batch.observed],
            origin="observed", fingerprints={o.account_id: o.fingerprint for o in batch.observed})
    samples_q.write_samples(store, batch.samples)
    append_usage(store, batch.usage)
    accounts_q.set_states(store, batch.states)
    outcomes_q.add(store, {k: (ok, failed) for k, (ok, failed) in batch.outcomes.items()})  # last: not idempotent


def spent(service: AppContext, budget: Budget, now: datetime) -> tuple[Decimal, Decimal]:
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

