"""One polling round: pick the accounts due (cache guard, back-off), resolve credentials, probe them all.

Storage is the caller's business (``Service.poll`` writes samples and outcomes), so this stays a source.

* Cache guard: an account observed successfully less than ``cache_guard`` seconds ago is skipped unless
  ``force``.
* A provider's ``probe_min_interval_s`` (endpoints that are themselves rate limited) and a pending
  ``retry_at`` after a 429 hold even with ``force``, so a forced poll never hammers a touchy endpoint.
* A credential that cannot be resolved (variable unset, file missing) is an INVALID outcome with the reason
  saying what to set; the probe is not attempted.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel

from quotawarden.credentials import unavailable
from quotawarden.domain import Account, AccountState, Outcome
from quotawarden.errors import CredentialError
from quotawarden.plugins import Plugins
from quotawarden.sources.probe_runner import ProbeJob, ProbeResult, ProbeRunner

Resolve = Callable[[Account], str | None]


@dataclass
class PollPlan:
    jobs: list[ProbeJob] = field(default_factory=list)
    skipped: list[ProbeResult] = field(default_factory=list)


def _settings(plugins: Plugins, account: Account) -> BaseModel | None:
    model = plugins.provider(account.provider).settings_model
    if model is None:
        return None
    try:
        return model(**account.settings)
    except Exception:  # already validated at config load; accounts from the store may carry none
        return model()


def plan(accounts: Sequence[Account], plugins: Plugins, states: dict[str, AccountState], now: datetime,
         resolve: Resolve, *, cache_guard_s: float, force: bool) -> PollPlan:
    out = PollPlan()
    for acct in accounts:
        spec = plugins.providers.get(acct.provider)
        if spec is None:
            out.skipped.append(_skip(acct, now, Outcome.UNKNOWN, f"provider {acct.provider!r} is not installed"))
            continue
        state = states.get(acct.id)
        last = state.observed_at if state else None
        if state and state.retry_at and state.retry_at > now and (spec.probe_min_interval_s or not force):
            out.skipped.append(_skip(acct, now, state.outcome, f"backing off until {state.retry_at.isoformat()}",
                                     state.retry_at))
            continue
        if last and spec.probe_min_interval_s and (now - last).total_seconds() < spec.probe_min_interval_s:
            out.skipped.append(_skip(acct, now, state.outcome if state else Outcome.UNKNOWN,
                                     f"probed {int((now - last).total_seconds())}s ago; this provider allows one "
                                     f"probe per {spec.probe_min_interval_s}s"))
            continue
        if not force and last and state and state.outcome is Outcome.OK and \
                (now - last).total_seconds() < cache_guard_s:
            out.skipped.append(_skip(acct, now, Outcome.OK,
                                     f"observed {int((now - last).total_seconds())}s ago (cache guard "
                                     f"{int(cache_guard_s)}s; --force to probe anyway)"))
            continue
        try:
            secret = resolve(acct) if spec.needs_credential or acct.credential else None
        except CredentialError as exc:
            out.skipped.append(_skip(acct, now, Outcome.INVALID, unavailable(str(exc)), attempted=True))
            continue
        if spec.needs_credential and not secret:
            hint = f"set {' or '.join(spec.credential_env)}, or " if spec.credential_env else ""
            out.skipped.append(_skip(acct, now, Outcome.INVALID, unavailable(
                f"no credential: {hint}give the account a `credential` reference"), attempted=True))
            continue
        out.jobs.append(ProbeJob(spec, acct, secret, _settings(plugins, acct)))
    return out


def _skip(acct: Account, now: datetime, outcome: Outcome, reason: str, retry_at: datetime | None = None,
          *, attempted: bool = False) -> ProbeResult:
    return ProbeResult(acct.id, acct.provider, outcome, reason, now, retry_at=retry_at, skipped=not attempted)


async def poll(runner: ProbeRunner, the_plan: PollPlan) -> list[ProbeResult]:
    probed = await runner.run_many(the_plan.jobs)
    return [*probed, *the_plan.skipped]


def retry_after_default(result: ProbeResult, min_interval_s: int) -> datetime | None:
    """For touchy endpoints a 429 without retry-after still backs off for the provider's floor."""
    if result.outcome is Outcome.LIMITED and result.retry_at is None and min_interval_s:
        return result.observed_at + timedelta(seconds=min_interval_s)
    return result.retry_at


def summary(results: Sequence[ProbeResult]) -> dict[str, Any]:
    counts: dict[str, int] = {}
    for r in results:
        counts[r.outcome.value] = counts.get(r.outcome.value, 0) + 1
    return {"accounts": len(results), "probed": sum(not r.skipped for r in results), "outcomes": counts,
            "requests": sum(r.cost.requests for r in results), "tokens": sum(r.cost.tokens for r in results)}
