"""Seats that push to a hub: two seats with their own SQLite stores push over real HTTP to a real ``serve`` app on
loopback (SQLite and PostgreSQL); the hub goes down and comes back and nothing is lost or doubled; a seat's token
reads and writes its own seat only; two replicas on one PostgreSQL store a push once."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy import select, text
from typer.testing import CliRunner

from quotawarden.app import hub
from quotawarden.app.service import Service
from quotawarden.domain import AccountState, Outcome, Provenance, QuotaSample, Source, Unit, UsageEvent
from quotawarden.interfaces.api import create_app
from quotawarden.interfaces.cli.app import build_app
from quotawarden.interfaces.cli.common import State
from quotawarden.store import accounts as accounts_q
from quotawarden.store import hub as hub_q
from quotawarden.store import outcomes as outcomes_q
from quotawarden.store import samples as samples_q
from quotawarden.store import schema
from quotawarden.store import usage as usage_q
from tests.conftest import PG_URL, pg_schema_url
from tests.daemon.conftest import ADMIN, make_service

ALICE, BOB = "seat-alice-token-0123456789abcdef", "seat-bob-token-fedcba9876543210"
SECRET = "sk-ant-oat01-alicesecretkeyNEVERLEAVES0123456789"
HUB_SEATS = f'[[hub.seats]]\nname = "alice"\ntoken = "{ALICE}"\n[[hub.seats]]\nname = "bob"\ntoken = "env:QW_BOB"\n'


class Server:
    """``serve``'s app on a fixed loopback port: stopped and started again on the same port (a hub outage)."""

    def __init__(self, make: Callable[[], Any], port: int = 0) -> None:
        self.make, self.port = make, port
        self.server: uvicorn.Server | None = None

    def start(self) -> str:
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", self.port))
        self.port = sock.getsockname()[1]
        self.sock = sock
        self.server = uvicorn.Server(uvicorn.Config(self.make(), log_level="warning", lifespan="on"))
        server = self.server
        self.thread = threading.Thread(target=lambda: asyncio.run(server.serve(sockets=[sock])), daemon=True)
        self.thread.start()
        for _ in range(500):
            if server.started:
                return f"http://127.0.0.1:{self.port}"
            threading.Event().wait(0.01)
        raise RuntimeError("server did not start")

    def stop(self) -> None:
        assert self.server is not None
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.sock.close()


@contextmanager
def running(make: Callable[[], Any]) -> Iterator[Server]:
    """A new app per start, as a restarted process builds."""
    s = Server(make)
    s.start()
    try:
        yield s
    finally:
        if s.server is not None and not s.server.should_exit:
            s.stop()


def seat(tmp: Path, name: str, url: str, token: str) -> Service:
    cfg = (f'[hub]\nurl = "{url}"\ntoken = "{token}"\ninterval = "2s"\nbatch = 50\n'
           f'[[accounts]]\nid = "max"\nprovider = "claude"\ncredential = "env:QW_{name.upper()}_CLAUDE"\n'
           f'[[accounts]]\nid = "api"\nprovider = "anthropic"\ncredential = "env:QW_{name.upper()}_API"\n')
    (tmp / name).mkdir(exist_ok=True)
    return make_service(f"sqlite:///{tmp / name / 'seat.db'}", tmp / name, cfg)


def work(svc: Service, start: datetime, n: int, *, used: float = 0.4) -> None:
    """What a seat's polls and log ingestion store: readings of two windows, usage events, outcomes, a state."""
    samples, usage = [], []
    for i in range(n):
        t = start + timedelta(seconds=10 * i)
        for win, length in (("5h", 18000), ("7d", 604800)):
            samples.append(QuotaSample(observed_at=t, account_id="max", window=win, unit=Unit.PERCENT,
                                       source=Source.PROBE, provenance=Provenance.OFFICIAL,
                                       used_ratio=used, resets_at=start + timedelta(hours=3),
                                       window_length_s=length))
        usage.append(UsageEvent(ts=t, provider="anthropic", model="claude-sonnet-4-5", source=Source.LOG,
                                dedup_key=f"{svc.config.path}-{start.timestamp()}-{i}", account_id="max",
                                consumer="dev", project="web" if i % 2 else "api", session="s1", host="laptop",
                                input_tokens=100, output_tokens=50, cost=Decimal("0.0125")))
    samples_q.write_samples(svc.store, samples)
    usage_q.write_usage(svc.store, usage)
    outcomes_q.add(svc.store, outcomes_q.tally([("max", start.timestamp(), False)] * n))
    accounts_q.set_states(svc.store, [AccountState("max", Outcome.OK, "", start + timedelta(seconds=10 * n))])


def hub_counts(hub_svc: Service, name: str) -> dict[str, int]:
    return hub_q.count_rows(hub_svc.store, name + "/")


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QW_BOB", BOB)
    for n in ("ALICE", "BOB"):
        monkeypatch.setenv(f"QW_{n}_CLAUDE", SECRET)
        monkeypatch.setenv(f"QW_{n}_API", SECRET)


def test_two_seats_push_survive_an_outage_and_nothing_is_lost_or_doubled(db_url: str, tmp_path: Path,
                                                                          env: None) -> None:
    hub_svc = make_service(db_url, tmp_path, HUB_SEATS)
    now = datetime.now(UTC).replace(microsecond=0)
    with running(lambda: create_app(hub_svc, admin_token=ADMIN)) as srv:
        url = f"http://127.0.0.1:{srv.port}"
        alice, bob = seat(tmp_path, "alice", url, ALICE), seat(tmp_path, "bob", url, BOB)
        work(alice, now - timedelta(minutes=30), 120)
        work(bob, now - timedelta(minutes=30), 40, used=0.85)
        a1, b1 = alice.hub_push(), bob.hub_push()
        assert a1.ok and b1.ok, (a1.error, b1.error)
        assert a1.requests >= 5  # 240 readings and 120 events in batches of 50
        assert hub_counts(hub_svc, "alice") == {"samples": 240, "usage": 120}
        assert hub_counts(hub_svc, "bob") == {"samples": 80, "usage": 40}

        srv.stop()  # the hub goes down; the seats keep working
        work(alice, now - timedelta(minutes=5), 20)
        down = alice.hub_push()
        assert not down.ok and "unreachable" in (down.error or "")
        assert down.pending == {"samples": 40, "usage": 20}
        res = CliRunner().invoke(build_app(), ["push", "--json"], obj=_state(alice))
        assert res.exit_code == 1
        report = json.loads(res.stdout.split("\nerror")[0] if "\nerror" in res.stdout else res.stdout)
        assert report["ok"] is False and report["pending"]["samples"] == 40

        srv.start()  # the same port again
        back = alice.hub_push()
        assert back.ok, back.error
        assert hub_counts(hub_svc, "alice") == {"samples": 280, "usage": 140}
        again = alice.hub_push(everything=True)  # a full replay stores nothing twice
        assert again.ok and again.sent["samples"] == 280
        assert hub_counts(hub_svc, "alice") == {"samples": 280, "usage": 140}
        assert alice.hub_push().sent["samples"] == 0  # nothing new: an empty push

        with hub_svc.store.engine.connect() as conn:
            hosts = {r[0] for r in conn.execute(select(schema.usage_events.c.host))}
            ids = {r[0] for r in conn.execute(select(schema.accounts.c.id))}
            hours = conn.execute(text("SELECT ok FROM outcome_hours WHERE account_id = 'alice/max'")).scalars().all()
            dump = " ".join(str(r) for t in ("accounts", "usage_events", "account_state", "samples", "hub_seats")
                            for r in conn.execute(text(f"SELECT * FROM {t}")))
        assert hosts == {"alice", "bob"}
        assert {"alice/max", "alice/api", "bob/max", "bob/api"} <= ids
        assert sum(hours) == 140  # call counts replaced per hour, never added twice by a replay
        assert SECRET not in dump and "env:QW_" not in dump  # no key, no credential reference
        body = hub.encode(hub.build_push(alice, hub_q.Cursor(), 1000, (0.0, ""))[0])
        assert SECRET.encode() not in body and b"env:QW_" not in body

        # pushed accounts appear everywhere as <seat>/<account>: status, the API, /metrics, the team view
        statuses = {s.account.id: s for s in hub_svc.status()}
        assert statuses["bob/max"].status.value == "RED", statuses["bob/max"]
        assert statuses["alice/max"].status.value != "RED", [(w.name, w.reason) for w in statuses["alice/max"].windows]
        with httpx.Client(base_url=url, timeout=10, headers={"Authorization": f"Bearer {ADMIN}"}) as c:
            t = c.get("/v1/hub/team").json()
            metrics = c.get("/metrics").text
        assert 'alice/max' in metrics
        by = {s["name"]: s for s in t["seats"]}
        assert set(by) == {"alice", "bob"} and not by["alice"]["silent"] and by["bob"]["status"] == "RED"
        assert {n["account"] for n in t["near_cap"]} == {"bob/max"}
        five = next(p for p in t["pooled"] if p["provider"] == "claude" and p["window"] == "5h")
        assert five["seats"] == 2 and "across 2 seats" in five["line"] and "% used, next reset in" in five["line"]
        assert {c["seat"] for c in t["costs"]["by_seat_project"]} == {"alice", "bob"}
        assert by["alice"]["cost_usd"] == pytest.approx(140 * 0.0125)
    alice.close()
    bob.close()
    hub_svc.close()


def _state(svc: Service) -> State:
    st = State(None, None)
    st.service_factory = lambda: svc
    return st


def test_a_seat_token_reads_and_writes_its_own_seat_only(tmp_path: Path, env: None) -> None:
    hub_svc = make_service(f"sqlite:///{tmp_path / 'hub.db'}", tmp_path, HUB_SEATS)
    now = datetime.now(UTC)
    with running(lambda: create_app(hub_svc, admin_token=ADMIN)) as srv:
        url = f"http://127.0.0.1:{srv.port}"
        alice, bob = seat(tmp_path, "alice", url, ALICE), seat(tmp_path, "bob", url, BOB)
        for s in (alice, bob):
            work(s, now - timedelta(minutes=3), 5)
            assert s.hub_push().ok
        # alice pushes rows that name bob's accounts: they land under alice/, never in bob's seat
        evil = hub.Push(v=1, push_id="x", accounts=[("bob/max", "claude", "", None, None, {})],
                        samples=[("bob/max", "5h", now.timestamp(), Source.PROBE, Provenance.OFFICIAL, Unit.PERCENT,
                                  0.99, None, None, None, None, None, 18000)])
        with httpx.Client(base_url=url, timeout=10) as c:
            def as_(token: str) -> dict[str, str]:
                return {"Authorization": f"Bearer {token}"}

            gz = {"Content-Type": "application/json", "Content-Encoding": "gzip"}
            r = c.post("/v1/hub/push", content=hub.encode(evil), headers={**as_(ALICE), **gz})
            assert r.status_code == 200
            assert c.get("/v1/hub/seats/bob/status", headers=as_(ALICE)).status_code == 403
            assert c.get("/v1/hub/team", params={"seat": "bob"}, headers=as_(ALICE)).status_code == 403
            own = c.get("/v1/hub/team", headers=as_(ALICE)).json()
            assert [s["name"] for s in own["seats"]] == ["alice"]
            assert {n["account"] for n in own["near_cap"]} <= {"alice/bob/max"}
            mine = c.get("/v1/hub/seats/alice/status", headers=as_(ALICE)).json()
            assert {a["id"] for a in mine["accounts"]} == {"alice/max", "alice/api", "alice/bob/max"}
            bobs = c.get("/v1/hub/seats/bob/status", headers=as_(BOB)).json()
            assert {a["id"] for a in bobs["accounts"]} == {"bob/max", "bob/api"}
            assert all(w["used_ratio"] < 0.9 for a in bobs["accounts"] for w in a["windows"])
            assert c.get("/v1/hub/team", headers=as_(ADMIN)).json()["seats"][1]["name"] == "bob"
            # no seat token reaches the admin's routes, the admin cannot push, a wrong token is 401
            assert c.get("/v1/status", headers=as_(ALICE)).status_code == 401
            assert c.post("/v1/hub/push", content=hub.encode(evil), headers={**as_(ADMIN), **gz}).status_code == 403
            assert c.post("/v1/hub/push", content=b"{}", headers={**as_("nope"), **gz}).status_code == 401
            # bad pushes: a clear 4xx, nothing stored
            before = hub_counts(hub_svc, "alice")
            for body, headers, code in ((b"garbage", gz, 400), (b"{}", {"Content-Type": "text/plain"}, 415),
                                        (b'{"v": 9, "push_id": "x"}', {"Content-Type": "application/json"}, 400),
                                        (b'{"v": 1}', {"Content-Type": "application/json"}, 400)):
                r = c.post("/v1/hub/push", content=body, headers={**as_(ALICE), **headers})
                assert r.status_code == code, r.text
                assert r.json()["detail"]
            assert hub_counts(hub_svc, "alice") == before
        # from the seat: `team --hub` asks the hub with the seat's token, its own seat only
        res = CliRunner().invoke(build_app(), ["team", "--hub", "--json"], obj=_state(alice))
        assert res.exit_code == 0 and [s["name"] for s in json.loads(res.stdout)["seats"]] == ["alice"]
        res = CliRunner().invoke(build_app(), ["team", "--hub", "--seat", "bob"], obj=_state(alice))
        assert res.exit_code == 1 and "403" in res.output
    alice.close()
    bob.close()
    hub_svc.close()


@pytest.mark.postgres
def test_pushes_to_two_replicas_on_postgresql_land_once(tmp_path: Path, env: None) -> None:
    if not PG_URL:
        pytest.skip("QUOTAWARDEN_TEST_PG_URL is not set")
    gen = pg_schema_url(PG_URL)
    url = next(gen)
    try:
        r1, r2 = make_service(url, tmp_path, HUB_SEATS), make_service(url, tmp_path, HUB_SEATS)
        with running(lambda: create_app(r1, admin_token=ADMIN, replica="r1")) as s1, \
                running(lambda: create_app(r2, admin_token=ADMIN, replica="r2")) as s2:
            u1, u2 = f"http://127.0.0.1:{s1.port}", f"http://127.0.0.1:{s2.port}"
            alice = seat(tmp_path, "alice", u1, ALICE)
            work(alice, datetime.now(UTC) - timedelta(minutes=20), 60)
            # the same request sent to both replicas at once (a retry through a load balancer) lands once
            body = hub.encode(hub.build_push(alice, hub_q.Cursor(), 1000, (0.0, ""))[0])
            headers = {"Authorization": f"Bearer {ALICE}", "Content-Type": "application/json",
                       "Content-Encoding": "gzip"}
            with ThreadPoolExecutor(4) as pool:
                codes = list(pool.map(lambda u: httpx.post(u + hub.PATH, content=body, headers=headers).status_code,
                                      [u1, u2, u1, u2]))
            assert codes == [200] * 4
            assert hub_counts(r1, "alice") == {"samples": 120, "usage": 60}
            # the seat's pushes land on either replica (a new hub URL starts from the beginning: still once)
            assert alice.hub_push().ok
            work(alice, datetime.now(UTC) - timedelta(minutes=2), 10)
            alice.config.settings.hub.url = u2
            assert alice.hub_push().ok
            assert hub_counts(r2, "alice") == {"samples": 140, "usage": 70}
            assert {s.name for s in r1.team().seats} == {"alice", "bob"}
            assert r2.team().seats[0].pushes >= 2
        alice.close()
        r1.close()
        r2.close()
    finally:
        next(gen, None)


def test_the_daemon_pushes_on_its_interval_and_the_hub_alerts_on_pushed_readings(tmp_path: Path, env: None) -> None:
    from quotawarden.app.daemon.scheduler import Daemon

    hub_svc = make_service(f"sqlite:///{tmp_path / 'hub.db'}", tmp_path, HUB_SEATS)
    with running(lambda: create_app(hub_svc, admin_token=ADMIN)) as srv:
        bob = seat(tmp_path, "bob", f"http://127.0.0.1:{srv.port}", BOB)
        work(bob, datetime.now(UTC) - timedelta(minutes=5), 10, used=0.97)
        specs = {spec.name: (spec, trigger) for spec, trigger in Daemon(bob).jobs()}
        spec, trigger = specs["push"]
        assert spec.singleton and trigger.interval.total_seconds() == 2
        assert spec.fn()["sent"]["samples"] == 20
        asyncio.run(Daemon(hub_svc).alerts())
        keys = {a["account_id"] for a in hub_svc.alert_rows("open")}
        assert "bob/max" in keys
        srv.stop()
        work(bob, datetime.now(UTC) - timedelta(minutes=1), 3, used=0.97)
        with pytest.raises(RuntimeError, match="unreachable"):  # the job run fails; the rows wait
            spec.fn()
    assert "push" not in {s.name for s, _ in Daemon(hub_svc).jobs()}
    bob.close()
    hub_svc.close()


@pytest.mark.parametrize(("text", "says"), [
    ('[[hub.seats]]\nname = "a"\ntoken = "x"\n[[hub.seats]]\nname = "a"\ntoken = "y"\n', "seat 'a' is declared twice"),
    ('[[hub.seats]]\nname = "a"\ntoken = "x"\n[[hub.seats]]\nname = "b"\ntoken = "x"\n', "share a token"),
    ('[hub]\nurl = "http://hub:7878"\n', "token is not"),
    ('[hub]\nurl = "hub:7878"\ntoken = "t"\n', "hub.url"),
    ('[[hub.seats]]\nname = "a/b"\ntoken = "x"\n', "hub.seats[0].name"),
])
def test_hub_config_errors_name_the_field(text: str, says: str) -> None:
    from quotawarden.config import from_text
    from quotawarden.errors import ConfigError
    from quotawarden.plugins import load_plugins

    with pytest.raises(ConfigError) as exc:
        from_text(text, Path("hub.toml"), load_plugins())
    assert says in str(exc.value) and "hub.toml" in str(exc.value)


def test_push_without_a_hub_says_what_to_set(tmp_path: Path) -> None:
    lone = make_service(f"sqlite:///{tmp_path / 'lone.db'}", tmp_path)
    res = CliRunner().invoke(build_app(), ["push"], obj=_state(lone))
    assert res.exit_code == 2 and "[hub] url" in res.output
    lone.close()


def test_config_show_masks_literal_hub_tokens(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'[hub]\nurl = "http://hub:7878"\ntoken = "{ALICE}"\n[[hub.seats]]\nname = "bob"\ntoken = "{BOB}"\n'
                   '[[hub.seats]]\nname = "carol"\ntoken = "env:QW_CAROL"\n')
    res = CliRunner().invoke(build_app(), ["--config", str(cfg), "config", "show", "--json"])
    assert res.exit_code == 0, res.output
    assert ALICE not in res.output and BOB not in res.output and "env:QW_CAROL" in res.output


def _push_rows(seat_name: str, t: float, tokens: int = 100) -> dict[str, Any]:
    """One push as the hub's store takes it: two accounts, their states, four readings, two events, call counts."""
    accounts = [(f"{seat_name}/{a}", "claude", a, "max", None, json.dumps({"seat": seat_name})) for a in ("a", "b")]
    states = [(f"{seat_name}/{a}", "OK", "", t, None) for a in ("a", "b")]
    samples = [(f"{seat_name}/{a}", w, t, "probe", "official", "percent", 0.5, None, None, None, t + 3600, None, 18000)
               for a in ("a", "b") for w in ("5h", "7d")]
    usage = [(f"{seat_name}/k{i}", t, "anthropic", "claude-sonnet-4-5", "log", f"{seat_name}/a", "dev", "web", "s1",
              seat_name, tokens if i else 1, 5, 0, 0, 0, 0, Decimal("0.01"), None, None) for i in range(2)]
    outcomes = [(f"{seat_name}/a", t // 3600 * 3600, 3, 0)]
    return {"accounts": accounts, "states": states, "samples": samples, "usage": usage, "outcomes": outcomes}


def _stored(svc: Service, prefix: str) -> dict[str, int]:
    with svc.store.engine.connect() as conn:
        n = {t: conn.execute(text(f"SELECT count(*) FROM {t} WHERE {c} LIKE :p"), {"p": prefix + "%"}).scalar_one()
             for t, c in (("accounts", "id"), ("account_state", "account_id"), ("samples", "account_id"),
                          ("latest_samples", "account_id"), ("usage_events", "dedup_key"),
                          ("outcome_hours", "account_id"), ("hub_seats", "seat"))}
    return {k: int(v) for k, v in n.items()}


def test_a_push_is_stored_whole_or_not_at_all(db_url: str, tmp_path: Path) -> None:
    """One transaction per push: the database refusing its last rows (a token count past BIGINT) leaves nothing of
    it, not its accounts, states or readings written before; the same push without that row lands whole, once."""
    import psycopg

    svc = make_service(db_url, tmp_path)
    t = datetime(2026, 12, 1, 12, 0, 0, 250000, tzinfo=UTC).timestamp()
    with pytest.raises((OverflowError, psycopg.Error)):
        hub_q.store_push(svc.store, "carol", "p1", t, interval_s=60.0, sent_ts=t, **_push_rows("carol", t, 2**63 + 5))
    assert set(_stored(svc, "carol").values()) == {0}
    for _ in range(2):  # a replay stores nothing twice
        hub_q.store_push(svc.store, "carol", "p2", t, interval_s=60.0, sent_ts=t, **_push_rows("carol", t))
    assert _stored(svc, "carol") == {"accounts": 2, "account_state": 2, "samples": 4, "latest_samples": 4,
                                     "usage_events": 2, "outcome_hours": 1, "hub_seats": 1}
    assert [(r.pushes, r.rows) for r in hub_q.seats(svc.store)] == [(2, 12)]
    svc.close()


def test_a_push_with_numbers_past_the_stores_columns_is_refused_whole(db_url: str, tmp_path: Path) -> None:
    """A token count no BIGINT holds is a clear 400 before anything is written (not a database error)."""
    svc = make_service(db_url, tmp_path)
    t = datetime.now(UTC).timestamp()
    p = hub.Push(v=hub.VERSION, push_id="big", samples=[("a", "5h", t, Source.PROBE, Provenance.OFFICIAL, Unit.PERCENT,
                                                         0.5, None, None, None, None, None, 18000)],
                 usage=[("k", t, "anthropic", "m", Source.LOG, "a", None, None, None, None, 2**63, 0, 0, 0, 0,
                         0, None, None, None)])
    with pytest.raises(hub.HubError) as err:
        hub.receive(svc, "dave", hub.encode(p), "application/json", "gzip")
    assert err.value.status == 400 and "not a push" in str(err.value) and "usage" in str(err.value)
    assert set(_stored(svc, "dave").values()) == {0}
    svc.close()
