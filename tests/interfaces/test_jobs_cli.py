"""``quotawarden jobs`` after the daemon's real jobs ran: words in the table, data under --json, never a repr."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

from quotawarden.app.daemon.runner import run
from quotawarden.app.daemon.scheduler import Daemon
from quotawarden.app.service import build_service
from quotawarden.domain import AccountState, Outcome
from quotawarden.store import accounts as accounts_q


def _jobs(config: Path, *args: str) -> str:
    proc = subprocess.run([sys.executable, "-m", "quotawarden.interfaces.cli.main", "--config", str(config), "jobs",
                           *args], env={**os.environ, "COLUMNS": "200"}, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_job_details_read_as_words_and_as_json(tmp_path: Path, db_url: str) -> None:
    config = tmp_path / "config.toml"
    config.write_text(f'[database]\nurl = "{db_url}"\n[[accounts]]\nid = "work"\nprovider = "openai"\n'
                      'credential = "env:QW_JOBS_TEST_KEY"\n', encoding="utf-8")
    svc = build_service(config, store_url=db_url)
    try:
        accounts_q.set_states(svc.store, [AccountState("work", Outcome.INVALID, "openai: HTTP 401", svc.now())])
        daemon = Daemon(svc, holder="test-replica")
        specs = {spec.name: spec for spec, _ in daemon.jobs()}

        async def go() -> None:
            await daemon.alerts()
            for name in ("ingest", "fairness", "prune"):
                assert await run(svc.store, daemon.holder, specs[name]) == "ok"

        asyncio.run(go())
    finally:
        svc.close()

    rows = {r["job"]: r for r in json.loads(_jobs(config, "--json"))}
    assert set(rows) >= {"alerts", "ingest", "fairness", "prune"}
    assert rows["alerts"]["detail"] == {"opened": 1, "resolved": 0, "notices_sent": 0, "notices_failed": []}
    assert isinstance(rows["ingest"]["detail"], dict) and rows["ingest"]["detail"]["events"] == 0
    assert rows["fairness"]["detail"] == "no consumer over its fair share"
    assert "samples rolled into" in rows["prune"]["detail"]

    table = _jobs(config)
    for repr_hint in ("Sent(", "IngestReport(", "Outcome(", "{'", "[]", "Delivery("):
        assert repr_hint not in table, table
    assert "opened 1, resolved 0, notices sent 0" in table
    assert "files seen 0" in table and "no consumer over its fair share" in table
