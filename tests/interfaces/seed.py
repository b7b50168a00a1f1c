"""A small, deterministic history for interface tests: five accounts, three days of samples, a month of usage.

Written through the store's own query modules, so the pages, ``watch``, the MCP tools and ``summary`` read exactly
what the sources would have written.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import insert

from quotawarden.domain import Account, AccountState, Outcome, QuotaSample, Source, Unit, UsageEvent
from quotawarden.store import Store, schema
from quotawarden.store import accounts as accounts_q
from quotawarden.store import samples as samples_q
from quotawarden.store import usage as usage_q

ACCOUNTS = [
    Account("work-claude", "claude", plan="max5x", pool="claude-max"),
    Account("home-claude", "claude", plan="pro", pool="claude-max"),
    Account("openai-api", "openai"),
    Account("openrouter", "openrouter"),
    Account("deepseek", "deepseek"),
]
STEP = timedelta(minutes=15)


def _window(acc: str, name: str, start: datetime, now: datetime, length: timedelta, rate: float,
            source: Source = Source.PROBE) -> list[QuotaSample]:
    """A rolling window that fills at ``rate`` per hour and resets every ``length``; ends at the given level."""
    out = []
    t = start
    while t <= now:
        phase = (t - start) % length
        resets = t - phase + length
        ratio = min(rate * phase.total_seconds() / 3600 * (1 + 0.1 * math.sin(t.timestamp() / 5000)), 1.0)
        out.append(QuotaSample(t, acc, name, Unit.PERCENT, source, used_ratio=round(ratio, 4), resets_at=resets,
                               window_length_s=int(length.total_seconds())))
        t += STEP
    return out


def seed(store: Store, now: datetime, days: int = 3) -> None:
    accounts_q.upsert_accounts(store, ACCOUNTS)
    start = now - timedelta(days=days)
    samples = [
        *_window("work-claude", "5h", start + timedelta(minutes=40), now, timedelta(hours=5), 0.09),
        *_window("work-claude", "7d", now - timedelta(days=2, hours=3), now, timedelta(days=7), 0.006,
                 Source.PROXY),
        *_window("home-claude", "5h", start, now, timedelta(hours=5), 0.2, Source.LOG),
        *_window("home-claude", "7d", now - timedelta(days=5), now, timedelta(days=7), 0.007),
        *_window("openai-api", "rpm", start, now, timedelta(minutes=1), 0.0, Source.PROXY),
    ]
    for i in range(days * 24 * 4):
        t = start + i * STEP
        samples.append(QuotaSample(t, "openrouter", "credits", Unit.USD, Source.PROBE, used=20 + i * 0.05,
                                   limit=50.0))
        samples.append(QuotaSample(t, "deepseek", "balance", Unit.CNY, Source.PROBE, remaining=80 - i * 0.1))
    samples_q.write_samples(store, samples)
    accounts_q.set_states(store, [AccountState(a.id, Outcome.OK, "", now) for a in ACCOUNTS])
    usage_q.write_usage(store, _usage(now))
    _alerts(store, now)


def _usage(now: datetime) -> list[UsageEvent]:
    models = [("claude", "claude-sonnet-4", "work-claude", Decimal("0.042")),
              ("claude", "claude-opus-4", "home-claude", Decimal("0.31")),
              ("openai", "gpt-4.1", "openai-api", Decimal("0.018")),
              ("deepseek", "deepseek-chat", "deepseek", Decimal("0.002"))]
    consumers = ["agent-a", "agent-b", "agent-c"]
    projects = ["alpha", "beta"]
    out = []
    start = now - timedelta(days=30)
    for i in range(30 * 24):
        t = start + timedelta(hours=i)
        for j, (provider, model, acc, cost) in enumerate(models):
            if (i + j) % (j + 2):
                continue
            out.append(UsageEvent(t, provider, model, Source.LOG, f"seed-{i}-{j}", account_id=acc,
                                  consumer=consumers[(i + j) % (3 if j else 2)], project=projects[(i // 24 + j) % 2],
                                  input_tokens=1200 + 10 * j, output_tokens=300, cost=cost * (1 + Decimal(i % 5) / 10)))
    return out


def _alerts(store: Store, now: datetime) -> None:
    ts = now.timestamp()
    rows = [
        {"key": "health:home-claude:5h", "kind": "health", "severity": "critical", "state": "open",
         "account_id": "home-claude", "window": "5h", "message": "home-claude 5h at 90% (> 80%)",
         "action": "switch to work-claude until the 5h window resets", "opened_ts": ts - 1800, "updated_ts": ts},
        {"key": "budget:alpha", "kind": "budget", "severity": "warning", "state": "open", "account_id": None,
         "window": None, "message": "project alpha forecast $212 over its $150 budget",
         "action": "review alpha's model mix", "opened_ts": ts - 7200, "updated_ts": ts},
        {"key": "health:openai-api:rpm", "kind": "health", "severity": "info", "state": "resolved",
         "account_id": "openai-api", "window": "rpm", "message": "openai-api rpm back under 50%", "action": "",
         "opened_ts": ts - 86400, "updated_ts": ts - 80000},
    ]
    with store.engine.begin() as conn:
        conn.execute(insert(schema.alerts), rows)
