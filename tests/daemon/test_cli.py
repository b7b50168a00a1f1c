"""``status --server``, ``jobs --json``, and the runner's retries, timeout and job_runs rows."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
from typer.testing import CliRunner

from quotawarden.app.daemon.runner import JobSpec, Skipped, run
from quotawarden.app.service import Service
from quotawarden.interfaces.cli.app import build_app
from quotawarden.store import jobs as jobs_q
from quotawarden.store import leases
from tests.daemon.conftest import ADMIN


def test_status_server_reads_a_remote_daemon(client: httpx.Client, tmp_path: Path) -> None:
    res = CliRunner().invoke(build_app(), ["status", "--server", str(client.base_url), "--token", ADMIN, "--json"])
    assert res.exit_code == 0, res.output
    assert set(json.loads(res.output)) >= {"generated_at", "overall", "accounts"}
    res = CliRunner().invoke(build_app(), ["status", "--server", str(client.base_url), "--token", "nope"])
    assert res.exit_code != 0


def test_runner_retries_with_backoff_times_out_and_records(svc: Service) -> None:
    attempts: list[int] = []

    def flaky() -> str:
        attempts.append(1)
        if len(attempts) < 3:
            raise RuntimeError("upstream down: sk-ant-api03-secretsecretsecret1234")
        return "done"

    async def slow() -> None:
        await asyncio.sleep(5)

    def missing() -> Any:
        raise Skipped("not installed")

    store = svc.store
    assert asyncio.run(run(store, "r1", JobSpec("audit", flaky, retries=3, backoff_s=0.01))) == "ok"
    assert len(attempts) == 3
    assert asyncio.run(run(store, "r1", JobSpec("slow", slow, timeout_s=0.1))) == "timeout"
    assert asyncio.run(run(store, "r1", JobSpec("skip", missing, retries=3, backoff_s=0.01))) == "skipped"
    assert asyncio.run(run(store, "r1", JobSpec("bad", lambda: 1 / 0))) == "error"
    last = {r.job: r for r in jobs_q.last_runs(store)}
    assert last["audit"].outcome == "ok" and last["slow"].outcome == "timeout" and last["skip"].outcome == "skipped"
    assert "ZeroDivisionError" in (last["bad"].detail or "")
    res = CliRunner().invoke(build_app(), ["--db", svc.store_url or "", "jobs", "--json"])
    assert res.exit_code == 0, res.output
    assert {r["job"] for r in json.loads(res.output)} == {"audit", "slow", "skip", "bad"}


def test_a_long_singleton_job_keeps_its_lease(svc: Service) -> None:
    """A run longer than its lease renews it: no other replica starts the same job beside it."""
    store = svc.store

    async def both() -> list[str]:
        async def slow() -> None:
            await asyncio.sleep(1.2)

        first = asyncio.create_task(run(store, "a", JobSpec("alerts", slow, singleton=True, lease_s=0.4)))
        await asyncio.sleep(0.8)  # twice the lease: without renewal it would have lapsed
        second = await run(store, "b", JobSpec("alerts", lambda: None, singleton=True, lease_s=0.4))
        return [await first, second]

    assert asyncio.run(both()) == ["ok", "not-leader"]


def test_singleton_jobs_and_claims_are_exclusive(svc: Service) -> None:
    store = svc.store
    assert asyncio.run(run(store, "a", JobSpec("prune", lambda: None, singleton=True))) == "ok"
    assert asyncio.run(run(store, "b", JobSpec("prune", lambda: None, singleton=True))) == "not-leader"
    assert leases.claim_once(store, "alert:k:1", "a") and not leases.claim_once(store, "alert:k:1", "b")
    assert not leases.claim_once(store, "alert:k:1", "a")
