"""A replica killed (SIGKILL) in the middle of a job leaves an open ``job_runs`` row; once its liveness lease
lapses, ``quotawarden jobs`` shows that run ``lost`` instead of running for ever. A live replica's runs stay."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from sqlalchemy import select

from quotawarden.store import Store, open_store, schema
from quotawarden.store import jobs as jobs_q


def _hanging_upstream() -> tuple[socket.socket, str]:
    """Accepts connections and never answers: a poll against it runs until its timeout."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(64)
    held: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                conn, _ = srv.accept()
            except OSError:
                return
            held.append(conn)

    threading.Thread(target=accept, daemon=True).start()
    return srv, f"http://127.0.0.1:{srv.getsockname()[1]}"


def _open_runs(db: str) -> list[tuple[int, str, str | None]]:
    store = open_store(db)
    try:
        t = schema.job_runs
        with store.engine.connect() as conn:
            return [(r.id, r.job, r.host) for r in conn.execute(select(t).where(t.c.finished_ts.is_(None)))]
    finally:
        store.close()


def test_a_killed_replicas_open_run_is_marked_lost(tmp_path: Path) -> None:
    srv, hang = _hanging_upstream()
    db = f"sqlite:///{tmp_path / 'lost.db'}"
    cfg = tmp_path / "config.toml"
    cfg.write_text(f'[database]\nurl = "{db}"\n[server]\npoll_lease = 1.5\nkey_file = "{tmp_path / "k"}"\n'
                   '[schedule]\npoll_interval = 1\nmin_poll_interval = 1\n'
                   f'[[accounts]]\nid = "slow"\nprovider = "openai"\ncredential = "env:QW_LOST_KEY"\n'
                   f'base_url = "{hang}"\n')
    env = {**os.environ, "QW_LOST_KEY": "sk-proj-" + "L" * 40, "HOME": str(tmp_path),
           "XDG_DATA_HOME": str(tmp_path / "data")}
    port = socket.socket()
    port.bind(("127.0.0.1", 0))
    free = port.getsockname()[1]
    port.close()
    proc = subprocess.Popen([sys.executable, "-m", "quotawarden.interfaces.cli.main", "-c", str(cfg), "serve",
                             "--port", str(free), "--tick", "0.2", "--log-level", "warning"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 60
        while not (running := _open_runs(db)):
            assert proc.poll() is None and time.time() < deadline, "the replica never started a poll"
            time.sleep(0.05)
        proc.kill()  # mid-poll: the row stays open
        proc.wait(10)
        run_id, job, holder = running[0]
        assert job == "poll" and holder

        def jobs() -> dict[str, dict[str, object]]:
            p = subprocess.run([sys.executable, "-m", "quotawarden.interfaces.cli.main", "-c", str(cfg), "jobs",
                                "--json"], env=env, capture_output=True, text=True, timeout=60, check=True)
            return {r["job"]: r for r in json.loads(p.stdout)}

        assert jobs()["poll"]["outcome"] != "lost"  # its lease has not lapsed yet
        assert _runs_outcomes(db)[run_id] is None
        time.sleep(jobs_q.replica_ttl(1.5) + 0.5)
        assert jobs()["poll"]["outcome"] == "lost"  # the CLI marks it, no live replica needed
        assert _runs_outcomes(db)[run_id] == "lost"
        assert not _open_runs(db)
    finally:
        if proc.poll() is None:
            proc.kill()
        srv.close()


def _runs_outcomes(db: str) -> dict[int, str | None]:
    store = open_store(db)
    try:
        t = schema.job_runs
        with store.engine.connect() as conn:
            return {r.id: r.outcome for r in conn.execute(select(t.c.id, t.c.outcome))}
    finally:
        store.close()


def test_a_live_replicas_run_is_not_lost(store: Store) -> None:
    now = time.time()
    assert jobs_q.replica_alive(store, "alive", 10, now=now)
    assert jobs_q.replica_alive(store, "dead", 1, now=now - 30)
    alive = jobs_q.start(store, "audit", "alive", now - 20)
    dead = jobs_q.start(store, "audit", "dead", now - 20)
    young = jobs_q.start(store, "ingest", "dead", now - 1)
    gone = jobs_q.start(store, "prune", "never-beat", now - 20)  # a replica from before the heartbeat
    assert jobs_q.mark_lost(store, now, grace_s=5) == 2
    outcomes = {r.started_ts: r.outcome for r in jobs_q.runs(store)}
    t = schema.job_runs
    with store.engine.connect() as conn:
        by_id = dict(conn.execute(select(t.c.id, t.c.outcome)).tuples().all())
    assert by_id[dead] == "lost" and by_id[gone] == "lost" and by_id[alive] is None and by_id[young] is None
    assert outcomes
