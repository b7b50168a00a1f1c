"""The poll use case behind ``Service.poll`` / ``Service.poll_async``: probe accounts, store what they said.

Kept out of ``app/service.py`` so the facade stays a list of thin methods; everything here receives the service.
"""

from __future__ import annotations

import asyncio
import json
import os
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from quotawarden.domain import Account, AccountState, Outcome, Provenance
from quotawarden.sources import poller, status_pages
from quotawarden.sources.local_files import LocalFileTransport
from quotawarden.sources.poller import summary as summary  # re-exported: a round's totals, for the poll command
from quotawarden.sources.probe_runner import ProbeResult as ProbeResult  # re-exported: the poll command types it
from quotawarden.sources.probe_runner import ProbeRunner
from quotawarden.store import accounts as accounts_q
from quotawarden.store import outcomes as outcomes_q
from quotawarden.store import provider_status as status_q
from quotawarden.store import samples as samples_q
from quotawarden.store import usage as usage_q

if TYPE_CHECKING:
    from quotawarden.app.context import AppContext
    from quotawarden.sources.token_monitor import ImportReport


def select(svc: AppContext, account_ids: Sequence[str] | None, providers: Sequence[str] | None) -> list[Account]:
    accounts = svc.accounts()
    if account_ids:
        wanted = set(account_ids)
        accounts = [a for a in accounts if a.id in wanted]
    if providers:
        kinds = set(providers)
        accounts = [a for a in accounts if a.provider in kinds]
    return accounts


async def poll_async(svc: AppContext, account_ids: Sequence[str] | None = None,
                     providers: Sequence[str] | None = None, force: bool = False,
                     runner: ProbeRunner | None = None,
                     on_start: Callable[[int], None] | None = None,
                     on_result: Callable[[ProbeResult], None] | None = None) -> list[ProbeResult]:
    """Probe and store. ``on_start(n)`` is told how many accounts will be probed, ``on_result`` each one's result
    as it comes (a progress display)."""
    accounts = select(svc, account_ids, providers)
    store = svc.store
    the_plan = poller.plan(accounts, svc.plugins, accounts_q.states(store), svc.now(),
                           lambda a: svc.resolve_credential(a.credential),  # the reason is the account's own
                           cache_guard_s=svc.config.settings.schedule.cache_guard, force=force)
    # file:// requests (local agent tools) are read from disk; everything else goes out over HTTP
    transport = svc.probe_transport or LocalFileTransport()
    runner = runner or ProbeRunner(svc.clock, transport=transport,
                                   on_secret_update=write_back_secret, on_result=on_result)
    if on_start is not None:
        on_start(len(the_plan.jobs))
    results = await poller.poll(runner, the_plan)
    record(svc, results)
    await read_status_pages(svc, {r.provider for r in results})
    order = {a.id: i for i, a in enumerate(accounts)}
    return sorted(results, key=lambda r: order.get(r.account_id, len(order)))


async def read_status_pages(svc: AppContext, providers: set[str]) -> None:
    """The status pages of the providers just polled, each at most once per ``schedule.status_interval``."""
    settings = svc.config.settings
    pages = {p: url for p, url in settings.status_pages.items() if p in providers}
    if not pages:
        return
    now = svc.now()
    fresh = status_q.read_since(svc.store, now.timestamp() - float(settings.schedule.status_interval))
    due = {p: url for p, url in pages.items() if p not in fresh}
    if due:
        status_q.save(svc.store, await status_pages.fetch(due, now))


def poll(svc: AppContext, account_ids: Sequence[str] | None = None, providers: Sequence[str] | None = None,
         force: bool = False, on_start: Callable[[int], None] | None = None,
         on_result: Callable[[ProbeResult], None] | None = None) -> list[ProbeResult]:
    return asyncio.run(poll_async(svc, account_ids, providers, force, on_start=on_start, on_result=on_result))


def record(svc: AppContext, results: Sequence[ProbeResult]) -> None:
    """Samples, usage events and per-account outcomes of the accounts actually attempted."""
    attempted = [r for r in results if not r.skipped]
    samples_q.write_samples(svc.store, [s for r in attempted for s in r.samples])
    # counted windows (analysis.counting) stored too, so the fast summary and status line see them; a window the
    # probe just read officially (a 429's violation) keeps that reading
    from quotawarden.app import reports

    official = frozenset((r.account_id, s.window) for r in attempted for s in r.samples
                         if s.provenance is Provenance.OFFICIAL)
    polled = [a for a in svc.config.accounts if a.id in {r.account_id for r in attempted}]
    reports.store_counted(svc.store, polled, svc.now(), official)
    usage = [u for r in attempted for u in r.usage]
    if usage:
        usage_q.write_usage(svc.store, usage)
    mins = {slug: spec.probe_min_interval_s for slug, spec in svc.plugins.providers.items()}
    states = [AccountState(r.account_id, r.outcome, r.reason, r.observed_at,
                           poller.retry_after_default(r, mins.get(r.provider, 0))) for r in attempted]
    details: dict[str, dict[str, Any]] = {
        r.account_id: {"cost": {"requests": r.cost.requests, "tokens": r.cost.tokens}, **_jsonable(r.details)}
        for r in attempted}
    accounts_q.set_states(svc.store, states, details)
    outcomes_q.add(svc.store, outcomes_q.tally((r.account_id, r.observed_at.timestamp(), r.outcome in _FAULTS)
                                               for r in attempted))


_FAULTS = frozenset({Outcome.ERROR, Outcome.UNREACHABLE, Outcome.OVERLOADED})
"""Probe outcomes that count as failures in the error rate (a limit or a bad key is not the provider's fault; an
overload is)."""


def _jsonable(details: dict[str, Any]) -> dict[str, Any]:
    plain: dict[str, Any] = json.loads(json.dumps(details, default=str))
    return plain


def write_back_secret(account: Account, update: Any) -> None:
    """Persist a rotated OAuth credential where it came from (a ``file:`` JSON reference), atomically.

    OAuth refresh tokens are single-use: dropping the new one would log the owning tool out. Only JSON
    credential files are updated, key by key, keeping everything else in them.
    """
    ref = account.credential or ""
    if not ref.startswith("file:") or not isinstance(update, dict):
        return
    path = Path(ref[5:].partition("#")[0]).expanduser()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return
    if not isinstance(data, dict):
        return
    for section, values in update.items():
        if isinstance(values, dict) and isinstance(data.get(section), dict):
            data[section].update(values)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".qw-", suffix=".json")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(data, fh, indent=2)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def import_token_monitor(svc: AppContext, paths: Sequence[str], account: str | None = None) -> ImportReport:
    """Store the samples of older tools' JSONL probe logs (``sources.token_monitor``); returns the report."""
    from quotawarden.sources.token_monitor import read_files

    report = read_files(paths, account)
    samples_q.write_samples(svc.store, report.samples)
    return report
