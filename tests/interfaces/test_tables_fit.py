"""``status`` and ``poll`` through the real entry point at ``COLUMNS=80``: no line is wider than the terminal,
every number of ``--json`` is printed whole, a past reset never reads as a negative countdown, and ``--wide``
shows every column in full."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest

from quotawarden.domain import Account, AccountState, Outcome, QuotaSample, Source, Unit
from quotawarden.emulator import create_app, demo_scenario, serve, write_demo_config
from quotawarden.store import Store
from quotawarden.store import accounts as accounts_q
from quotawarden.store import samples as samples_q

MAIN = [sys.executable, "-m", "quotawarden.interfaces.cli.main"]
NEGATIVE = re.compile(r"(?<![\w.-])-\d+(s|m|h|d)\b")


def cli(*args: str, columns: int = 80) -> str:
    proc = subprocess.run([*MAIN, *args], capture_output=True, text=True, timeout=120, check=False,
                          env={**os.environ, "COLUMNS": str(columns)})
    assert proc.returncode in (0, 10, 11), proc.stderr
    return proc.stdout


def whole(text: str, token: str) -> bool:
    """``token`` appears with no digit, separator or ellipsis glued to either side."""
    return re.search(rf"(?<![\d.,$¥]){re.escape(token)}(?![\d,…]|\.\d)", text) is not None


def numbers_printed_whole(report: dict, text: str) -> None:  # type: ignore[type-arg]
    from quotawarden.interfaces.views.status_text import number, percent

    assert "…" not in text
    for acc in report["accounts"]:
        for w in acc["windows"]:
            if w["used"] is not None and (w["unit"] in ("usd", "cny") or w["used_ratio"] is None):
                assert whole(text, number(w["used"], w["unit"])), (acc["id"], w["name"], w["used"])
            elif w["used_ratio"] is not None:
                assert whole(text, percent(w["used_ratio"])), (acc["id"], w["name"], w["used_ratio"])
            if w["remaining"] is not None:
                assert whole(text, number(w["remaining"], w["unit"])), (acc["id"], w["name"], w["remaining"])


def fits(text: str, columns: int = 80) -> None:
    too_wide = [line for line in text.splitlines() if len(line) > columns]
    assert not too_wide, too_wide


@pytest.fixture
def money_store(store: Store) -> Iterator[Store]:
    """Balances and budgets in dollars and yuan, token limits in the millions, a minute window read 5 min ago
    (its reset long past) and long reasons."""
    now = datetime.now(UTC).replace(microsecond=0)
    accounts_q.upsert_accounts(store, [Account("team-openrouter-balance", "openrouter"),
                                       Account("deepseek-cn", "deepseek"), Account("openai-big-org", "openai"),
                                       Account("anthropic-batch-jobs", "anthropic")])
    samples_q.write_samples(store, [
        QuotaSample(now, "team-openrouter-balance", "daily", Unit.USD, Source.PROBE, used=2.37, limit=25.0),
        QuotaSample(now, "team-openrouter-balance", "credits", Unit.USD, Source.PROBE, used=12345.67,
                    limit=20000.0),
        QuotaSample(now, "deepseek-cn", "balance", Unit.CNY, Source.PROBE, remaining=1234567.89),
        QuotaSample(now, "openai-big-org", "tpm", Unit.TOKENS, Source.PROBE, limit=30_000_000,
                    remaining=29_876_543, resets_at=now + timedelta(seconds=7), window_length_s=60),
        QuotaSample(now - timedelta(minutes=5), "anthropic-batch-jobs", "rpm", Unit.REQUESTS, Source.PROBE,
                    limit=4000, remaining=3999, resets_at=now - timedelta(minutes=4, seconds=53), window_length_s=60),
    ])
    accounts_q.set_states(store, [AccountState("openai-big-org", Outcome.LIMITED,
                                               "openai: rate limited (429) on tokens per minute; the organisation "
                                               "limit is shared by every project key, retry in 7s", now)])
    yield store


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_status_fits_80_columns_and_prints_numbers_whole(money_store: Store, db_url: str) -> None:
    report = orjson.loads(cli("--db", db_url, "status", "--json"))
    text = cli("--db", db_url, "status")
    fits(text)
    numbers_printed_whole(report, text)
    assert "$2.37" in text and "$12,345.67" in text and "¥1,234,567.89" in text and "29,876,543" in text
    assert not NEGATIVE.search(text), text
    rpm = next(w for a in report["accounts"] for w in a["windows"] if w["name"] == "rpm")
    assert rpm["resets_at"] < report["generated_at"]
    row = next(line for line in text.splitlines() if " rpm " in line)
    assert re.search(r"\breset\b", row), row
    reason = "the organisation limit is shared by every project key"
    assert reason in " ".join(text.split())  # under the table at 80 columns, wrapped but whole

    wide = cli("--db", db_url, "status", "--wide")
    assert any(len(line) > 80 for line in wide.splitlines())
    assert any("openai-big-org" in line and reason in line for line in wide.splitlines())  # on its row, whole
    assert "provider" in wide and "observed" in wide


def test_poll_and_status_fit_80_columns_on_the_demo(tmp_path: Path) -> None:
    scenario = demo_scenario()
    with serve(create_app(scenario)) as base_url:
        config = write_demo_config(scenario, base_url, tmp_path, db_url=f"sqlite:///{tmp_path / 'qw.db'}")
        text = cli("-c", str(config), "poll", "--force")
        fits(text)
        assert "poll" in text and "account" in text and "outcome" in text
        for wide_cols in (100, 120, 200):
            fits(cli("-c", str(config), "status", columns=wide_cols), wide_cols)
        before = orjson.loads(cli("-c", str(config), "status", "--json"))
        status = cli("-c", str(config), "status")
        after = orjson.loads(cli("-c", str(config), "status", "--json"))
    # minute windows go stale while the commands run: compare the windows that read the same before and after
    def same(w: dict) -> tuple:  # type: ignore[type-arg]
        return w["name"], w["used_ratio"], w["used"], w["remaining"], w["unit"]

    report = {"accounts": [{**a, "windows": [w for w in a["windows"] if same(w) in {same(x) for x in b["windows"]}]}
                           for a, b in zip(before["accounts"], after["accounts"], strict=True)]}
    assert sum(len(a["windows"]) for a in report["accounts"]) >= 15
    fits(status)
    numbers_printed_whole(report, status)
    assert not NEGATIVE.search(status)
    for acc in report["accounts"]:
        assert acc["id"] in status
