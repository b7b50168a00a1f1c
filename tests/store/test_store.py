"""The store on both backends: round trip, idempotency, latest sample, migrations."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import text

from quotawarden.domain import Account, AccountState, Outcome, Provenance, QuotaSample, Source, Unit, UsageEvent
from quotawarden.errors import SchemaTooNew
from quotawarden.store import Store, open_store
from quotawarden.store import accounts as accounts_q
from quotawarden.store import samples as samples_q
from quotawarden.store import usage as usage_q
from tests.conftest import NOW


def sample(account: str = "a1", window: str = "5h", minutes: int = 0, ratio: float = 0.5,
           source: Source = Source.PROBE) -> QuotaSample:
    return QuotaSample(observed_at=NOW + timedelta(minutes=minutes), account_id=account, window=window,
                       unit=Unit.PERCENT, source=source, provenance=Provenance.OFFICIAL, used_ratio=ratio,
                       resets_at=NOW + timedelta(hours=3), window_length_s=18000)


def test_sample_round_trip(store: Store) -> None:
    s = sample()
    samples_q.write_samples(store, [s])
    assert samples_q.history(store, "a1", "5h") == [s]


def test_samples_written_twice_are_stored_once(store: Store) -> None:
    batch = [sample(minutes=i) for i in range(5)]
    samples_q.write_samples(store, batch)
    samples_q.write_samples(store, batch)
    assert samples_q.count(store) == 5


def test_latest_sample_per_account_window(store: Store) -> None:
    samples_q.write_samples(store, [sample("a1", "5h", m, m / 100) for m in range(10)])
    samples_q.write_samples(store, [sample("a1", "7d", 3, 0.3), sample("a2", "5h", 1, 0.9)])
    samples_q.write_samples(store, [sample("a1", "5h", 2, 0.02)])  # late, older sample does not win
    latest = {(s.account_id, s.window): s for s in samples_q.latest(store)}
    assert latest[("a1", "5h")].used_ratio == pytest.approx(0.09)
    assert latest[("a1", "7d")].used_ratio == 0.3
    assert latest[("a2", "5h")].used_ratio == 0.9
    assert [s.account_id for s in samples_q.latest(store, ["a2"])] == ["a2"]


def test_two_accounts_of_one_provider_are_kept_apart(store: Store) -> None:
    accounts_q.upsert_accounts(store, [Account("k1", "anthropic"), Account("k2", "anthropic")])
    samples_q.write_samples(store, [sample("k1", ratio=0.1), sample("k2", ratio=0.8)])
    latest = {s.account_id: s.used_ratio for s in samples_q.latest(store)}
    assert latest == {"k1": 0.1, "k2": 0.8}


def test_usage_events_are_idempotent_and_keep_decimal_cost(store: Store) -> None:
    e = UsageEvent(ts=NOW, provider="anthropic", model="claude-sonnet-4-5", source=Source.LOG, dedup_key="m1:r1",
                   input_tokens=10, output_tokens=20, cost=Decimal("0.00123456"), host="laptop")
    usage_q.write_usage(store, [e, e])
    usage_q.write_usage(store, [e])
    assert usage_q.events_between(store) == [e]


def test_account_states_round_trip(store: Store) -> None:
    st = AccountState("a1", Outcome.LIMITED, "429 rate_limit_error", NOW, NOW + timedelta(seconds=30))
    accounts_q.set_states(store, [st])
    assert accounts_q.states(store)["a1"] == st


def test_reopening_migrated_store_is_a_no_op(db_url: str) -> None:
    open_store(db_url).close()
    s = open_store(db_url)
    samples_q.write_samples(s, [sample()])
    s.close()


def test_a_newer_schema_is_a_clear_error(db_url: str) -> None:
    s = open_store(db_url)
    with s.engine.begin() as conn:
        conn.execute(text("INSERT INTO alembic_version (version_num) VALUES ('9999_future')"))
    s.close()
    with pytest.raises(SchemaTooNew, match="newer than this quotawarden"):
        open_store(db_url)


def test_outcome_counts_add_up_and_give_the_error_rate(store: Store) -> None:
    from quotawarden.store import outcomes as outcomes_q

    t0 = NOW.timestamp()
    calls = [("a1", t0 - 600, False)] * 95 + [("a1", t0 - 300, True)] * 5 + [("a2", t0, True)] * 3
    outcomes_q.add(store, outcomes_q.tally(calls[:50]))
    outcomes_q.add(store, outcomes_q.tally(calls[50:]))  # the same hours again: counts add, rows do not
    outcomes_q.add(store, outcomes_q.tally([("a1", t0 - 3 * 86400, True)] * 50))  # days ago: outside the day
    assert outcomes_q.error_rates(store, t0 - 86400) == {"a1": pytest.approx(0.05)}  # a2: too few calls to say
    assert outcomes_q.error_rates(store, t0 - 86400, min_calls=1) == {"a1": pytest.approx(0.05), "a2": 1.0}
    assert outcomes_q.error_rates(store, t0 - 86400, account_ids=["a2"]) == {}
    assert outcomes_q.prune(store, t0 - 86400) == 1  # the old hour goes, the day stays
    assert outcomes_q.error_rates(store, 0, min_calls=1) == {"a1": pytest.approx(0.05), "a2": 1.0}


def test_migrations_create_the_indexes_the_metadata_declares(db_url: str) -> None:
    from sqlalchemy import inspect

    from quotawarden.store import schema

    store = open_store(db_url)
    try:
        found = {ix["name"] for ix in inspect(store.engine).get_indexes("usage_events")}
        assert found == {ix.name for ix in schema.usage_events.indexes}
    finally:
        store.close()
