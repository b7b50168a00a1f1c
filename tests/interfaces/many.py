"""Twenty-eight accounts over six providers, written straight into a store: the size at which a terminal view
must scroll, group and filter to stay usable."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import insert

from quotawarden.domain import Account, AccountState, Outcome, QuotaSample, Source, Unit
from quotawarden.store import Store, schema
from quotawarden.store import accounts as accounts_q
from quotawarden.store import samples as samples_q

PROVIDERS = {"claude": 7, "codex": 5, "openai": 5, "anthropic": 4, "openrouter": 4, "gemini": 3}
WINDOWS = {"claude": ("5h", "7d"), "codex": ("5h", "7d"), "openai": ("rpm", "tpm"), "anthropic": ("rpm", "tpm"),
           "openrouter": ("credits",), "gemini": ("rpd",)}


def many_ids() -> list[str]:
    return [f"{p}-{i:02d}" for p, n in PROVIDERS.items() for i in range(1, n + 1)]


def seed_many(store: Store, now: datetime) -> list[str]:
    """Each account's windows at a level that spreads the statuses (a few RED, some YELLOW, most GREEN); the
    claude accounts burn, so some exhaust before their reset. Five open alerts. Returns the account ids."""
    ids = many_ids()
    accounts_q.upsert_accounts(store, [Account(a, a.rsplit("-", 1)[0]) for a in ids])
    samples = []
    for n, acc in enumerate(ids):
        provider = acc.rsplit("-", 1)[0]
        level = (n * 37 % 100) / 100
        for k, window in enumerate(WINDOWS[provider]):
            length = {"5h": 5 * 3600, "7d": 7 * 86400, "rpm": 60, "tpm": 60, "credits": None, "rpd": 86400}[window]
            for step in range(6):  # an hour of readings: enough for a burn rate
                t = now - timedelta(minutes=10 * (5 - step))
                burn = 0.02 if provider == "claude" else 0.002
                ratio = min(max(level - 0.1 * k - burn * (5 - step), 0.0), 1.0)
                resets = (now + timedelta(seconds=length * 0.6)) if length and length > 60 else None
                samples.append(QuotaSample(t, acc, window, Unit.PERCENT, Source.PROBE, used_ratio=round(ratio, 3),
                                           resets_at=resets, window_length_s=length))
    samples_q.write_samples(store, samples)
    accounts_q.set_states(store, [AccountState(a, Outcome.OK, "", now) for a in ids])
    ts = now.timestamp()
    rows = [{"key": f"health:{a}:x", "kind": "health", "severity": "critical" if i < 2 else "warning",
             "state": "open", "account_id": a, "window": "5h", "message": f"{a} needs attention ({i})",
             "action": "", "opened_ts": ts - 60 * i, "updated_ts": ts} for i, a in enumerate(ids[:5])]
    with store.engine.begin() as conn:
        conn.execute(insert(schema.alerts), rows)
    return ids
