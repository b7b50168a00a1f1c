"""Autonomy: auto acts, ask proposes, off does nothing; every action is audited and announced on the channels."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import json5
import orjson
import pytest
from typer.testing import CliRunner

from quotawarden.clock import FixedClock
from quotawarden.domain import Severity
from quotawarden.store import audit as audit_q
from quotawarden.store import samples as samples_q
from quotawarden.store import usage as usage_q

from .test_alerts import sample

DATA = Path(__file__).parent / "data"


def cli_json(svc: Any, *args: str) -> Any:
    """Run the CLI in-process on ``svc``; its --json output, parsed."""
    from quotawarden.interfaces.cli.app import build_app
    from quotawarden.interfaces.cli.common import State

    state = State(None, None)
    state.service_factory = lambda: svc
    res = CliRunner().invoke(build_app(), list(args), obj=state)
    assert res.exit_code == 0, res.output
    return orjson.loads(res.output)


def setup(make_service: Any, webhook: Any, tmp_path: Path, mode: str) -> tuple[Any, Path]:
    svc = make_service(f'[alerts]\nchannels = ["json://{webhook.url}/plain"]\n[autonomy]\nswitch_models = "{mode}"\n')
    cfg = tmp_path / "opencode.json"
    cfg.write_bytes((DATA / "opencode.json").read_bytes())
    return svc, cfg


@pytest.mark.parametrize(("mode", "switched", "audited"), [("auto", True, "switch_models"),
                                                           ("ask", False, "switch_models.proposed"),
                                                           ("off", False, None)])
def test_switch_under_each_autonomy_mode(make_service: Any, clock: FixedClock, webhook: Any, tmp_path: Path,
                                         mode: str, switched: bool, audited: str | None) -> None:
    svc, cfg = setup(make_service, webhook, tmp_path, mode)
    samples_q.write_samples(svc.store, [sample(clock, 0.95)])  # work-claude (anthropic) RED
    samples_q.write_samples(svc.store, [sample(clock, 0.1, account="side-openai")])  # openai GREEN
    results = svc.actions.switch([str(cfg)], hold=2)
    assert (json5.loads(cfg.read_text())["model"] == "openai/gpt-5") is switched
    actions = [e.action for e in audit_q.recent(svc.store)]
    if audited is None:
        assert actions == [] and results[0].error and webhook.requests == []
        return
    assert actions == [audited, audited]  # default agent and build
    bodies = [orjson.loads(r["body"]) for r in webhook.wait(2)]
    assert all("anthropic/claude" in b["message"] for b in bodies)


def test_restore_is_audited(make_service: Any, clock: FixedClock, webhook: Any, tmp_path: Path) -> None:
    svc, cfg = setup(make_service, webhook, tmp_path, "auto")
    samples_q.write_samples(svc.store, [sample(clock, 0.95), sample(clock, 0.1, account="side-openai")])
    svc.actions.switch([str(cfg)])
    svc.actions.restore([str(cfg)])
    assert cfg.read_bytes() == (DATA / "opencode.json").read_bytes()
    assert [e.action for e in audit_q.recent(svc.store)][:2] == ["switch_models.restore"] * 2


def test_digest_sent_and_audited(make_service: Any, clock: FixedClock, webhook: Any, tmp_path: Path) -> None:
    from datetime import timedelta
    from decimal import Decimal

    from quotawarden.domain import Source, UsageEvent

    svc, _ = setup(make_service, webhook, tmp_path, "auto")
    usage_q.write_usage(svc.store, [UsageEvent(ts=clock.now() - timedelta(hours=i), provider="anthropic",
                                               model="claude-sonnet-4-5", source=Source.LOG, dedup_key=f"k{i}",
                                               consumer=f"dev{i % 2}", input_tokens=1000, cost=Decimal("0.5"))
                                    for i in range(4)])
    outcome = svc.actions.send_digest("weekly")
    assert outcome.done
    body = orjson.loads(webhook.wait(1)[0]["body"])
    assert "weekly report" in body["title"] and "dev0: 2,000 tokens (50%), $1.00" in body["message"]
    assert audit_q.recent(svc.store)[0].action == "send_digests"


def test_alerts_cli_json(make_service: Any, clock: FixedClock, webhook: Any, tmp_path: Path) -> None:
    svc, _ = setup(make_service, webhook, tmp_path, "auto")
    samples_q.write_samples(svc.store, [sample(clock, 0.95)])

    def cli(*args: str) -> Any:
        return cli_json(svc, *args)

    assert cli("alerts", "run", "--json")["opened"] == ["health:work-claude:5h"]
    (alert,) = cli("alerts", "list", "--json")["alerts"]
    assert (alert["severity"], alert["account_id"], alert["last_notice"]) == ("critical", "work-claude", "opened")
    assert cli("alerts", "ack", str(alert["id"]), "--json") == {"id": alert["id"], "acked": True}
    assert cli("alerts", "test", "--json", "--severity", Severity.CRITICAL.value)["deliveries"][0]["ok"]


@pytest.mark.parametrize(("mode", "held", "audited"), [("auto", {"hog"}, ["throttle_consumers"]),
                                                       ("ask", set(), ["throttle_consumers.proposed"]),
                                                       ("off", set(), [])])
def test_fairness_holds_back_a_consumer_far_over_its_share(db_url: str, clock: FixedClock, webhook: Any,
                                                           mode: str, held: set[str], audited: list[str]) -> None:
    """A pooled quota under pressure and one agent taking 80% of it: held back (auto), proposed (ask) or left alone
    (off); a second run neither announces nor proposes again."""
    from datetime import timedelta
    from decimal import Decimal

    from quotawarden.app.service import Service
    from quotawarden.config import from_text
    from quotawarden.domain import Source, UsageEvent
    from quotawarden.store import throttles as throttles_q
    from tests.actions.conftest import ACCOUNTS, test_plugins

    text = ACCOUNTS.replace('tags = { team = "platform" }', 'tags = { team = "platform" }\npool = "team"')
    config = from_text(text + f'[alerts]\nchannels = ["json://{webhook.url}/plain"]\n'
                       f'[autonomy]\nthrottle_consumers = "{mode}"\n', None, test_plugins())
    svc = Service(config=config, plugins=test_plugins(), clock=clock, store_url=db_url)
    try:
        samples_q.write_samples(svc.store, [sample(clock, 0.85)])  # the pooled account is RED: pressure
        who = ["hog"] * 8 + ["alice", "bob"]
        usage_q.write_usage(svc.store, [UsageEvent(ts=clock.now() - timedelta(minutes=10 * i), provider="anthropic",
                                                   model="claude-sonnet-4-5", source=Source.PROXY, dedup_key=f"t{i}",
                                                   consumer=c, input_tokens=1000, cost=Decimal("0.5"))
                                        for i, c in enumerate(who)])
        svc.throttle_consumers()
        svc.throttle_consumers()
        assert set(throttles_q.active(svc.store, clock.now().timestamp())) == held
        events = audit_q.recent(svc.store)
        assert [(e.action, e.subject) for e in events] == [(a, "consumer:hog") for a in audited]
        assert len(webhook.wait(len(audited)) if audited else webhook.requests) == len(audited)
        if mode == "auto":  # seen and lifted from the CLI, the lift audited too
            def cli(*args: str) -> Any:
                return cli_json(svc, *args)

            assert [r["consumer"] for r in cli("throttle", "list", "--json")["throttled"]] == ["hog"]
            assert cli("throttle", "release", "hog", "--by", "carol", "--json") == {"consumer": "hog",
                                                                                   "released": True}
            assert cli("throttle", "list", "--json") == {"throttled": []}
            assert (audit_q.recent(svc.store)[0].action, audit_q.recent(svc.store)[0].actor) == \
                ("throttle_consumers.release", "carol")
    finally:
        svc.close()


def test_the_daemon_sends_the_digests_on_their_cron_lines(make_service: Any, clock: FixedClock, webhook: Any,
                                                          tmp_path: Path) -> None:
    import asyncio

    from quotawarden.app.daemon.runner import run
    from quotawarden.app.daemon.scheduler import Daemon

    svc = make_service(f'[alerts]\nchannels = ["json://{webhook.url}/plain"]\ndaily_digest = "30 7 * * *"\n'
                       'weekly_digest = "0 9 * * fri"\n')
    jobs = {spec.name: (spec, trigger) for spec, trigger in Daemon(svc, holder="r1").jobs()}
    assert str(jobs["digest-daily"][1]) == "cron[month='*', day='*', day_of_week='*', hour='7', minute='30']"
    assert "day_of_week='fri', hour='9', minute='0'" in str(jobs["digest-weekly"][1])
    assert asyncio.run(run(svc.store, "r1", jobs["digest-daily"][0])) == "ok"
    body = orjson.loads(webhook.wait(1)[0]["body"])
    assert "daily" in body["title"]
    assert audit_q.recent(svc.store)[0].action == "send_digests"
    off = make_service('[alerts]\ndaily_digest = ""\nweekly_digest = ""\n')  # empty: no digest jobs
    assert not any(s.name.startswith("digest") for s, _ in Daemon(off, holder="r2").jobs())
