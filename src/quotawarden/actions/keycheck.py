"""Validate a key with one cheap provider call (the provider's own probe, through the shared probe runner)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from quotawarden.clock import Clock
from quotawarden.domain import Account, Outcome


@dataclass(frozen=True, slots=True)
class KeyCheck:
    status: str
    """``ok`` (accepted), ``invalid`` (rejected: not stored), ``unverified`` (could not ask), ``skipped``."""
    reason: str = ""
    plan: str | None = None


def check_key(spec: Any, secret: str, clock: Clock, *, base_url: str | None = None, transport: Any = None,
              timeout: float = 10.0) -> KeyCheck:
    if spec is None or getattr(spec, "probe", None) is None:
        return KeyCheck("skipped", "this provider has no probe to validate a key with")
    try:
        from quotawarden.sources.probe_runner import ProbeJob, ProbeRunner
    except ImportError:  # pragma: no cover - the runner ships with quotawarden
        return KeyCheck("skipped", "the probe runner is not available")
    settings = None
    if spec.settings_model is not None:
        try:
            settings = spec.settings_model()
        except Exception:
            return KeyCheck("skipped", "this provider needs account settings to be probed")
    account = Account(id=f"vault-check-{spec.slug}", provider=spec.slug, base_url=base_url)
    runner = ProbeRunner(clock, transport=transport, timeout=timeout, tries=1)
    result = asyncio.run(runner.run(ProbeJob(spec, account, secret, settings)))
    if result.outcome in (Outcome.OK, Outcome.LIMITED, Outcome.THROTTLED, Outcome.OVERAGE):  # the key was accepted
        plan = result.details.get("plan") if isinstance(result.details, dict) else None
        return KeyCheck("ok", result.reason or result.outcome.value, str(plan) if plan else None)
    if result.outcome is Outcome.INVALID:
        return KeyCheck("invalid", result.reason)
    return KeyCheck("unverified", f"{result.outcome.value}: {result.reason}")
