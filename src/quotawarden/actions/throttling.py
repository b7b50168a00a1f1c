"""The ``throttle_consumers`` action: hold back a consumer that takes far more than its fair share of a quota under
pressure (``analysis.fairness`` says when). A held consumer gets one call at a time through the proxy, for
``hold_s`` seconds, renewed while the advice stands; the hold lapses by itself once it does not.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any, Protocol

from quotawarden.actions import autonomy
from quotawarden.store import audit as audit_q
from quotawarden.store import throttles as throttles_q
from quotawarden.store.engine import Store

ACTION = "throttle_consumers"


class Share(Protocol):
    """What fairness says about one consumer (``analysis.fairness.ConsumerShare`` is one); read only."""

    @property
    def consumer(self) -> str: ...

    @property
    def advice(self) -> str: ...

    @property
    def reason(self) -> str: ...


Act = Callable[..., autonomy.Outcome]


def throttle(store: Store, shares: Iterable[Share], now: datetime, mode: autonomy.Mode, act: Act, *,
             hold_s: float, actor: str = "daemon") -> list[autonomy.Outcome]:
    """Act on every consumer advised to throttle; a hold already in force (or a proposal already made in this
    period) is renewed quietly instead of announced again."""
    now_ts, until = now.timestamp(), now + timedelta(seconds=hold_s)
    held = throttles_q.active(store, now_ts)
    proposed = _proposed_since(store, now - timedelta(seconds=hold_s)) if mode is autonomy.Mode.ASK else set()
    out = []
    for s in shares:
        if s.advice != "throttle":
            continue
        if s.consumer in held:
            if mode is autonomy.Mode.AUTO:
                throttles_q.hold(store, s.consumer, until.timestamp(), s.reason, now_ts)
            continue
        if s.consumer in proposed:
            continue

        def do(s: Share = s) -> dict[str, Any]:
            throttles_q.hold(store, s.consumer, until.timestamp(), s.reason, now_ts)
            return {"until": until.isoformat()}

        out.append(act(ACTION, f"consumer:{s.consumer}", f"hold back {s.consumer}: {s.reason}", do, actor=actor))
    return out


def _proposed_since(store: Store, since: datetime) -> set[str]:
    return {e.subject.removeprefix("consumer:") for e in audit_q.recent(store, 500)
            if e.action == f"{ACTION}.proposed" and e.at >= since}
