"""The provider-anomaly table and the reads behind one-reading-per-window, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import inspect

from quotawarden.domain import AccountState, Outcome, Provenance, QuotaSample, Source, Unit
from quotawarden.store import Store
from quotawarden.store import accounts as accounts_q
from quotawarden.store import provider_anomalies as pa_q
from quotawarden.store import samples as samples_q
from quotawarden.store.schema_anomalies import provider_anomalies
from tests.conftest import NOW


def _s(minutes_ago: float, source: Source, ratio: float, window: str = "5h",
       provenance: Provenance = Provenance.OFFICIAL) -> QuotaSample:
    return QuotaSample(NOW - timedelta(minutes=minutes_ago), "c1", window, Unit.PERCENT, source, provenance, ratio)


def test_the_migration_creates_what_the_metadata_declares(store: Store) -> None:
    insp = inspect(store.engine)
    cols = {c["name"] for c in insp.get_columns("provider_anomalies")}
    assert cols == {c.name for c in provider_anomalies.columns}
    found = {ix["name"] for ix in insp.get_indexes("provider_anomalies")} - {"uq_provider_anomalies_key"}  # PG
    assert found == {ix.name for ix in provider_anomalies.indexes}
    uniques = {tuple(u["column_names"]) for u in insp.get_unique_constraints("provider_anomalies")}
    assert ("key",) in uniques


def test_latest_per_source(store: Store) -> None:
    samples_q.write_samples(store, [
        _s(30, Source.PROBE, 0.30), _s(5, Source.PROBE, 0.42), _s(20, Source.PROXY, 0.40), _s(1, Source.PROXY, 0.47),
        _s(2, Source.LOG, 0.9, provenance=Provenance.ESTIMATED), _s(1, Source.PROXY, 0.10, window="7d"),
        _s(600, Source.PROBE, 0.05, window="7d"),
    ])
    got = pa_q.latest_per_source(store, (NOW - timedelta(hours=1)).timestamp())
    assert {(s.window, s.source.value): s.used_ratio for s in got} == {
        ("5h", "log"): 0.9, ("5h", "probe"): 0.42, ("5h", "proxy"): 0.47, ("7d", "proxy"): 0.10}
    narrowed = pa_q.latest_per_source(store, 0, ["c1"], ["7d"])
    assert {(s.window, s.source.value) for s in narrowed} == {("7d", "proxy"), ("7d", "probe")}
    assert [s.used_ratio for s in pa_q.official_samples(store, (NOW - timedelta(minutes=10)).timestamp())] == \
        [0.42, 0.47, 0.10]


def test_latest_per_source_sees_every_source_and_seeks_the_index(store: Store) -> None:
    """Every ``Source`` is asked for (one seek each on ``ix_samples_source_ts``); empty lists ask for nothing."""
    samples_q.write_samples(store, [_s(3 + i, src, 0.01 * i) for i, src in enumerate(Source)])
    got = pa_q.latest_per_source(store, (NOW - timedelta(hours=1)).timestamp(), ["c1"], ["5h"])
    assert [s.source for s in got] == sorted(Source, key=lambda s: s.value)
    assert pa_q.latest_per_source(store, 0, [], ["5h"]) == [] and pa_q.latest_per_source(store, 0, ["c1"], []) == []
    if store.url.startswith("sqlite"):
        from quotawarden.store import health_inputs as hi

        sql, params = hi.latest_per_source("s.account_id", 0, [s.value for s in Source], ["c1"], ["5h"])
        with store.connect() as conn:
            plan = " ".join(str(r[-1]) for r in conn.execute("EXPLAIN QUERY PLAN " + sql, params))
        assert "ix_samples_source_ts" in plan and "TEMP B-TREE FOR GROUP BY" not in plan


def test_saving_an_anomaly_twice_keeps_one(store: Store) -> None:
    row = {"key": "jump|c1|5h|proxy|1", "kind": "jump", "account_id": "c1", "window": "5h",
           "at_ts": NOW.timestamp(), "detected_ts": NOW.timestamp(), "message": "m", "expected": "e",
           "evidence": {"before": {"used_ratio": 0.42}, "readings": [1, 2]}}
    assert pa_q.save(store, [row, row]) == 1
    assert pa_q.save(store, [{**row, "message": "changed"}]) == 0
    got = pa_q.list_anomalies(store, "c1")
    assert len(got) == 1 and got[0]["message"] == "m" and got[0]["evidence"]["before"] == {"used_ratio": 0.42}
    assert pa_q.list_anomalies(store, "other") == []
    assert pa_q.list_anomalies(store, since=NOW.timestamp() + 1) == []


def test_refusals_and_usage_points(store: Store) -> None:
    accounts_q.set_states(store, [AccountState("c1", Outcome.LIMITED, "upstream answered 429", NOW),
                                  AccountState("c2", Outcome.OK, "", NOW)], {"c1": {"retry_after": 30}})
    assert pa_q.refusals(store, NOW.timestamp() - 60) == [("c1", NOW.timestamp(), "upstream answered 429",
                                                          {"retry_after": 30})]
    assert pa_q.refusals(store, NOW.timestamp() + 60) == []
