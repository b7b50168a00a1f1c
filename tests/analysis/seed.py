"""A scripted store for analysis tests and the committed audit example: five accounts, 30 days of samples from
known usage processes, and priced usage events from three consumers (with a spike and a new model today)."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from decimal import Decimal

from quotawarden.analysis import simulate as sim
from quotawarden.config import Config, from_text
from quotawarden.domain import Source, UsageEvent
from quotawarden.plugins import Plugins, hookimpl, load_plugins
from quotawarden.spec import ProviderSpec
from quotawarden.store import Store
from quotawarden.store import samples as samples_q
from quotawarden.store import usage as usage_q

PROVIDERS = ("claude", "copilot", "gemini", "openrouter")

CONFIG = """
[thresholds]
hard_caps = { "gemini/daily" = 0.9 }

[[accounts]]
id = "claude-work"
provider = "claude"
plan = "claude-max-20x"
pool = "team"

[[accounts]]
id = "claude-side"
provider = "claude"
plan = "claude-pro"
pool = "team"

[[accounts]]
id = "copilot-main"
provider = "copilot"
plan = "copilot-pro-plus"

[[accounts]]
id = "gemini-free"
provider = "gemini"

[[accounts]]
id = "openrouter"
provider = "openrouter"

[[pools]]
name = "team"
fallback = ["gemini"]

[[budgets]]
name = "platform"
scope = "project"
match = "platform*"
monthly_usd = 300
"""


class Specs:
    @hookimpl
    def register_providers(self, register):  # type: ignore[no-untyped-def]
        for slug in PROVIDERS:
            register(ProviderSpec(slug=slug, display_name=slug.title(), needs_credential=False))


def plugins() -> Plugins:
    return load_plugins([Specs()], entry_points=False)


def config() -> Config:
    return from_text(CONFIG, None, plugins())


def populate(store: Store, now: datetime, days: int = 30, step_s: int = 900) -> None:
    start = now - timedelta(days=days)
    hour = 3600
    series = [
        # account, window, length, demand (share of the limit per hour), limit, share of the period elapsed now
        ("claude-work", "5h", 5 * hour, sim.weekly_rhythm(0.22), None, 0.4),  # heavy on weekdays
        ("claude-work", "7d", 7 * 86400, sim.weekly_rhythm(0.012), None, 0.6),
        ("claude-side", "5h", 5 * hour, sim.steady(0.02), None, 0.9),  # barely used: underspend
        ("claude-side", "7d", 7 * 86400, sim.steady(0.001), None, 0.6),
        ("copilot-main", "monthly", 30 * 86400, sim.steady(0.00015), 1500.0, 0.65),  # fits Copilot Pro
        ("gemini-free", "daily", 86400, sim.steady(0.05), 250.0, 0.6),
    ]
    for i, (acc, window, length, proc, limit, elapsed) in enumerate(series):
        offset = timedelta(seconds=length * elapsed)
        samples, _ = sim.simulate(acc, window, length, proc, start - offset, now, step_s=step_s, noise=0.003,
                                  seed=i, limit=limit)
        samples_q.write_samples(store, [s for s in samples if s.observed_at >= start])
    rng = random.Random(5)
    events = []
    consumers = [("alice-agent", "platform-api", 1.0), ("bob-agent", "platform-web", 0.5), ("ci-bot", "infra", 0.2)]
    t = start
    n = 0
    while t < now:
        busy = 9 <= t.hour < 18 and t.weekday() < 5
        for name, project, weight in consumers:
            calls = rng.randint(0, int(6 * weight * (3 if busy else 1)))
            if t > now - timedelta(hours=3) and name == "ci-bot":
                calls += 120  # today's runaway CI job
            for _ in range(calls):
                n += 1
                tokens = rng.randint(2000, 20000)
                model = "claude-opus-4-1" if t > now - timedelta(hours=2) and name == "ci-bot" else "claude-sonnet-4"
                events.append(UsageEvent(
                    ts=t + timedelta(seconds=rng.randint(0, 3599)), provider="claude", model=model,
                    source=Source.LOG, dedup_key=f"e{n}", account_id="claude-work", consumer=name,
                    project=project, input_tokens=tokens, output_tokens=tokens // 10,
                    cost=Decimal(tokens) * Decimal("0.000003") + Decimal(tokens // 10) * Decimal("0.000015")))
        t += timedelta(hours=1)
    usage_q.write_usage(store, [e for e in events if e.ts < now])
