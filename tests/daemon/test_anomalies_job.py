"""The daemon looks for provider anomalies after polls: once a minute at most, on the replica holding the lease,
each anomaly stored once; the job's runs are recorded like the others'."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

from quotawarden.app.daemon.scheduler import ANOMALIES_EVERY_S, Daemon
from quotawarden.clock import FixedClock
from quotawarden.domain import Provenance, QuotaSample, Source, Unit
from quotawarden.store import samples as samples_q
from tests.daemon.conftest import make_service


def test_the_anomalies_job_stores_each_anomaly_once(db_url: str, tmp_path: Path) -> None:
    svc = make_service(db_url, tmp_path, '[[accounts]]\nid = "c1"\nprovider = "claude"\n')
    now = datetime.now(UTC).replace(microsecond=0)
    svc.clock = FixedClock(now)
    try:
        samples_q.write_samples(svc.store, [
            QuotaSample(now - timedelta(minutes=m), "c1", "5h", Unit.PERCENT, Source.PROXY, Provenance.OFFICIAL, r)
            for m, r in ((10, 0.30), (9, 0.31), (7, 0.55))])
        replica, other = Daemon(svc, holder="r1"), Daemon(svc, holder="r2")
        asyncio.run(replica.anomalies())
        asyncio.run(replica.anomalies())  # within the minute: not run again
        assert [a.kind for a in svc.provider_anomalies()] == ["jump"]
        runs = svc.job_runs("anomalies")
        assert len(runs) == 1 and runs[0].outcome == "ok" and "1 new" in (runs[0].detail or "")
        other._last_anomalies -= ANOMALIES_EVERY_S
        asyncio.run(other.anomalies())  # the lease is r1's: r2 does not run it
        assert len(svc.job_runs("anomalies")) == 1
        replica._last_anomalies -= ANOMALIES_EVERY_S
        asyncio.run(replica.anomalies())
        assert len(svc.provider_anomalies()) == 1 and "0 new" in (svc.job_runs("anomalies")[0].detail or "")
    finally:
        svc.close()
