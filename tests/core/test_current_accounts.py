"""Accounts are who the user says they are: an account removed from the config leaves status, poll, summary's fast
path, /metrics-bound status and ``accounts list`` (its history stays, shown with ``--all``); a refused key seen
through the proxy ages out; a stored duplicate of a configured key is that configured account. Both databases."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest

from quotawarden.analysis import current
from quotawarden.app.proxy import write_batch
from quotawarden.app.service import Service
from quotawarden.clock import FixedClock
from quotawarden.config import from_text
from quotawarden.domain import Account, AccountState, Outcome, QuotaSample, Source, Unit
from quotawarden.interfaces.cli.main import main
from quotawarden.interfaces.fast import summary
from quotawarden.plugins import load_plugins
from quotawarden.sources.proxy import Batch
from quotawarden.sources.proxy.model import ObservedAccount
from quotawarden.store import accounts as accounts_q
from quotawarden.store import quick
from quotawarden.store import samples as samples_q
from tests.conftest import NOW

OLD = '[[accounts]]\nid = "old-name"\nprovider = "openrouter"\n'
NEW = '[[accounts]]\nid = "new-name"\nprovider = "openrouter"\n'


def _service(db_url: str, config: str, clock: FixedClock) -> Service:
    plugins = load_plugins()
    return Service(config=from_text(config, None, plugins), plugins=plugins, clock=clock, store_url=db_url)


def _reading(account: str, at_min: float = -5) -> QuotaSample:
    return QuotaSample(NOW + timedelta(minutes=at_min), account, "credits", Unit.USD, Source.PROBE, used=10.0,
                       limit=50.0)


def test_a_renamed_account_leaves_every_view_and_keeps_its_history(db_url: str, tmp_path: Path,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    clock = FixedClock(NOW)
    before = _service(db_url, OLD, clock)
    samples_q.write_samples(before.store, [_reading("old-name")])
    assert [a.id for a in before.accounts()] == ["old-name"]
    before.close()

    after = _service(db_url, NEW, clock)  # the user renamed it in the config
    try:
        assert [a.id for a in after.accounts()] == ["new-name"]
        assert [s.account.id for s in after.status()] == ["new-name"]
        assert [a.id for a in after.accounts(include_all=True)] == ["new-name", "old-name"]
        assert after.not_current_accounts() == {"old-name": "removed from the config"}
        assert {a["id"] for a in after.status_report(include_all=True)["accounts"]} == {"new-name", "old-name"}
        assert [s.account.id for s in after.status(["old-name"])] == ["old-name"]  # named: still reachable
        assert len(after.samples("old-name")) == 1  # history stays
        from quotawarden.app import polling

        assert [a.id for a in polling.select(after, None, None)] == ["new-name"]
    finally:
        after.close()

    # summary's fast path reads the config file and the store alone: it agrees
    cfg = tmp_path / "config.toml"
    cfg.write_text(NEW, encoding="utf-8")
    lines, _, _ = summary.build(quick.load(str(cfg), db_url, NOW.timestamp()))
    assert [ln.id for ln in lines] == ["new-name"]

    # the CLI: accounts list, status --json, and --all with the reason
    def qw(*args: str) -> Any:
        try:
            main(["-c", str(cfg), "--db", db_url, *args])
        except SystemExit as exit_:
            assert not exit_.code
        return orjson.loads(capsys.readouterr().out)

    assert [r["id"] for r in qw("accounts", "list", "--json")["accounts"]] == ["new-name"]
    rows = {r["id"]: r for r in qw("accounts", "list", "--all", "--json")["accounts"]}
    assert rows["old-name"]["not_current"] == "removed from the config" and rows["new-name"]["current"]
    assert {a["id"] for a in qw("status", "--json")["accounts"]} == {"new-name"}
    assert {a["id"] for a in qw("status", "--all", "--json")["accounts"]} == {"new-name", "old-name"}


def test_a_config_without_accounts_shows_the_store_as_it_is(db_url: str) -> None:
    """A viewer of a shared database (``--db``, no accounts of its own) manages none: it sees them all."""
    clock = FixedClock(NOW)
    writer = _service(db_url, OLD, clock)
    writer.store  # noqa: B018 - opening syncs the config's accounts into the store
    writer.close()
    viewer = _service(db_url, "", clock)
    try:
        assert [a.id for a in viewer.accounts()] == ["old-name"]
    finally:
        viewer.close()


def test_a_refused_observed_key_ages_out_after_a_day(db_url: str, tmp_path: Path) -> None:
    clock = FixedClock(NOW)
    svc = _service(db_url, NEW, clock)
    try:
        seen = [ObservedAccount("observed-openai-0123456789", "openai", "f" * 16, "https://api.openai.com"),
                ObservedAccount("observed-openai-abcdefabcd", "openai", "e" * 16, "https://api.openai.com")]
        write_batch(svc.store, Batch(observed=seen, states=[
            AccountState("observed-openai-0123456789", Outcome.INVALID, "401 invalid_api_key", NOW),
            AccountState("observed-openai-abcdefabcd", Outcome.OK, "", NOW)]))
        ids = {a.id for a in svc.accounts()}
        assert ids == {"new-name", "observed-openai-0123456789", "observed-openai-abcdefabcd"}
        assert {s.account.id: s.status.value for s in svc.status()}["observed-openai-0123456789"] == "RED"
        clock.advance(hours=25)  # no traffic since
        assert {a.id for a in svc.accounts()} == {"new-name", "observed-openai-abcdefabcd"}
        assert svc.status_report()["overall"]["RED"] == 0  # `status --check` no longer fails on it
        assert svc.not_current_accounts() == {"observed-openai-0123456789": "INVALID and no traffic for a day"}
        cfg = tmp_path / "config.toml"
        cfg.write_text(NEW, encoding="utf-8")
        lines, _, avoid = summary.build(quick.load(str(cfg), db_url, clock.now().timestamp()))
        assert {ln.id for ln in lines} == {"new-name", "observed-openai-abcdefabcd"} and avoid == []
    finally:
        svc.close()


def test_a_stored_duplicate_of_a_configured_key_is_that_account(db_url: str) -> None:
    """An account registered by an instance before the same key was configured: the configured account is it."""
    clock = FixedClock(NOW)
    svc = _service(db_url, NEW, clock)
    try:
        accounts_q.upsert_accounts(svc.store, [Account("openrouter-abcdef123456", "openrouter")], origin="instance",
                                   fingerprints={"openrouter-abcdef123456": "abcdef1234567890"})
        assert {a.id for a in svc.accounts()} == {"new-name", "openrouter-abcdef123456"}
        accounts_q.record_fingerprints(svc.store, {"new-name": "abcdef1234567890"})  # its key, once resolved
        accounts_q.upsert_accounts(svc.store, svc.config.accounts)  # a later start-up sync keeps the fingerprint
        assert [a.id for a in svc.accounts()] == ["new-name"]
        assert svc.not_current_accounts() == {"openrouter-abcdef123456": "the key of configured account new-name"}
        assert accounts_q.account_by_fingerprint(svc.store, "abcdef1234567890") == "new-name"
    finally:
        svc.close()


@pytest.mark.parametrize(("known", "why"), [
    (current.Known("a", "config"), None),
    (current.Known("gone", "config"), "removed from the config"),
    (current.Known("obs", "observed", None, "INVALID", 0.0), "INVALID and no traffic for a day"),
    (current.Known("obs", "observed", None, "INVALID", 86400.0 * 2 - 10), None),
    (current.Known("obs", "observed", None, "OK", 0.0), None),
    (current.Known("inst", "instance", "fp", "OK", 0.0), "the key of configured account a"),
    (current.Known("claude", "statusline"), None),
])
def test_the_rule(known: current.Known, why: str | None) -> None:
    assert current.not_current(known, {"a"}, {"fp": "a"}, 86400.0 * 2) == why
