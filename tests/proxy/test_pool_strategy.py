"""Pool strategies through the real proxy built by the service, Claude accounts on the emulator, the official
Anthropic SDK as the client: drain_soonest and headroom, hysteresis, the overage pause (audited, obeying
``allow_overage`` and ``[autonomy] pause_overage``) and pacing."""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import anthropic
import pytest

from quotawarden.app.service import build_service
from quotawarden.emulator import EmuAccount, Scenario, create_app, serve
from quotawarden.store import audit as audit_q
from quotawarden.store import usage as usage_q
from tests.proxy.conftest import serve as serve_proxy

MSGS = [{"role": "user", "content": "hi"}]


def claude(name: str, used_5h: float, reset_5h_min: float, **kw: Any) -> EmuAccount:
    now = datetime.now(UTC)
    return EmuAccount(name, "claude", f"sk-ant-oat01-{name}-" + "x" * 30, limits={"5h": 1.0, "7d": 1.0},
                      used={"5h": used_5h, "7d": kw.pop("used_7d", 0.05)},
                      resets={"5h": now + timedelta(minutes=reset_5h_min),
                              "7d": now + timedelta(days=kw.pop("reset_7d_days", 6))}, **kw)


@contextmanager
def pool_proxy(tmp_path: Path, monkeypatch: Any, accounts: list[EmuAccount], pool: str = "",
               autonomy: str = "") -> Iterator[tuple[anthropic.Anthropic, Any]]:
    """The accounts in one ``[[pools]]`` named team (extra pool lines in ``pool``); yields (client, service)."""
    with serve(create_app(Scenario(accounts=accounts))) as emu:
        lines = [f'[proxy]\nspill_dir = "{tmp_path / "spill"}"\n', f"[autonomy]\n{autonomy}\n"]
        for a in accounts:
            env = f"QW_KEY_{a.id.upper().replace('-', '_')}"
            monkeypatch.setenv(env, a.credential)
            lines.append(f'[[accounts]]\nid = "{a.id}"\nprovider = "claude"\ncredential = "env:{env}"\n'
                         f'base_url = "{emu}"\npool = "team"\n')
        lines.append(f'[[pools]]\nname = "team"\n{pool}\n')
        cfg = tmp_path / "config.toml"
        cfg.write_text("".join(lines), encoding="utf-8")
        service = build_service(cfg, store_url=f"sqlite:///{tmp_path / 'qw.db'}")
        try:
            with serve_proxy(service.build_proxy()) as url:
                yield anthropic.Anthropic(base_url=f"{url}/team", api_key="anything", max_retries=0), service
        finally:
            service.close()


def ask(client: anthropic.Anthropic, n: int, accounts: list[EmuAccount] | None = None) -> list[str]:
    """``n`` requests; the account that answered each (told by its 5h window's reset, one per account)."""
    by_reset = {str(int(a.resets["5h"].timestamp())): a.id for a in accounts or ()}
    out = []
    for _ in range(n):
        raw = client.messages.with_raw_response.create(model="claude-sonnet-4-5", max_tokens=8,
                                                       messages=MSGS)  # type: ignore[arg-type]
        out.append(by_reset.get(raw.headers.get("anthropic-ratelimit-unified-5h-reset", ""), "?"))
    return out


def served(service: Any) -> list[str]:
    """The account of each stored request, in order."""
    return [e.account_id or "" for e in sorted(usage_q.events_between(service.store), key=lambda e: e.dedup_key)]


@pytest.mark.parametrize(("strategy", "week_days", "winner"), [
    ("drain_soonest", (6, 6, 6), "a-soon"),  # same week: the 5h window that resets soonest (30 min)
    ("drain_soonest", (6, 2, 6), "b-mid"),  # b-mid's weekly allowance expires first: it goes first
    ("headroom", (6, 6, 6), "c-later")])  # the most room
def test_the_pool_strategy_picks_the_account(tmp_path: Path, monkeypatch: Any, strategy: str,
                                             week_days: tuple[int, int, int], winner: str) -> None:
    """Once each account's windows were read (one request each, in name order), the pool's strategy decides."""
    accounts = [claude(n, used, m, reset_7d_days=d)
                for (n, used, m), d in zip((("a-soon", 0.30, 30), ("b-mid", 0.30, 120), ("c-later", 0.10, 240)),
                                           week_days, strict=True)]
    with pool_proxy(tmp_path, monkeypatch, accounts, f'strategy = "{strategy}"') as (client, service):
        got = ask(client, 7, accounts)
    assert served(service) == got  # the stored usage says the same
    assert got[:3] == ["a-soon", "b-mid", "c-later"]  # each one's windows read once
    assert got[3:] == [winner] * 4


@pytest.mark.parametrize("margin", [0.05, 0.0])
def test_hysteresis_keeps_the_pool_on_one_account_across_near_equal_readings(
        tmp_path: Path, monkeypatch: Any, margin: float) -> None:
    """Two accounts at the same use; each request moves its account ~2 points. Under headroom without a margin the
    pool moves as soon as the other reads better (every one or two requests); with the default margin of 5 points
    it stays until the difference is real (at least three requests per stay)."""
    accounts = [claude(n, 0.30, m, extra={"tokens_per_5h": 1000}) for n, m in (("a", 120), ("b", 121))]
    with pool_proxy(tmp_path, monkeypatch, accounts,
                    f'strategy = "headroom"\nswitch_margin = {margin}') as (client, _):
        got = ask(client, 14, accounts)[2:]  # after one request each
    runs = [len(list(g)) for _, g in itertools.groupby(got)]
    assert set(got) == {"a", "b"} and sum(runs) == 12
    if margin:
        assert min(runs[:-1]) >= 3, got
    else:
        assert max(runs) <= 2 and len(runs) >= 6, got  # flapping


def wait_audit(service: Any, action: str, timeout: float = 10) -> list[Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rows = [e for e in audit_q.recent(service.store) if e.action.startswith(action)]
        if rows:
            return rows
        time.sleep(0.05)
    return []


@pytest.mark.parametrize(("autonomy", "allow", "second", "audited"), [
    ("auto", False, 429, "pause_overage"),
    ("auto", True, 200, None),
    ("ask", False, 200, "pause_overage.proposed"),
    ("off", False, 200, None)])
def test_an_account_answering_from_paid_overage_is_paused_until_its_reset(
        tmp_path: Path, monkeypatch: Any, autonomy: str, allow: bool, second: int, audited: str | None) -> None:
    """"a-over" has spent its 5h window and answers from paid extra usage; "b-spare" refuses (429). Once the pool
    saw a-over answer from overage it is paused: the next request gets the pool's own 429 instead of paid overage
    (audited), unless the pool allows overage or the action is only proposed (ask) or off."""
    accounts = [claude("a-over", 1.0, 90, extra={"overage": "allowed"}), claude("b-spare", 0.2, 200, fault="429")]
    with pool_proxy(tmp_path, monkeypatch, accounts, f"allow_overage = {str(allow).lower()}",
                    f'pause_overage = "{autonomy}"') as (client, service):
        ask(client, 1)  # a-over is read first: it answers from overage
        try:
            ask(client, 1)
            got = 200
        except anthropic.RateLimitError as exc:
            got = exc.status_code  # b-spare's own refusal: a-over was not tried
        rows = wait_audit(service, "pause_overage", 10 if audited else 0.5)
    assert got == second
    if audited is None:
        assert rows == []
        return
    (row,) = rows
    assert (row.actor, row.action, row.subject) == ("proxy", audited, "pool:team")
    assert row.detail["account"] == "a-over" and row.detail["window"] == "5h"
    reset = accounts[0].resets["5h"]
    assert abs(datetime.fromisoformat(row.detail["until"]).timestamp() - reset.timestamp()) < 2
    assert "sk-ant-oat01" not in str(row.detail) + row.detail.get("summary", "")


@pytest.mark.parametrize(("pacing", "winner"), [(False, "a-ahead"), (True, "b-behind")])
def test_pacing_holds_back_an_account_ahead_of_its_straight_line(tmp_path: Path, monkeypatch: Any, pacing: bool,
                                                                  winner: str) -> None:
    """a-ahead used 60% of a 5h window one hour in (the line is at 20%) and its week resets sooner; b-behind used
    10% half an hour in. drain_soonest alone picks a-ahead; with pacing it waits behind b-behind."""
    accounts = [claude("a-ahead", 0.60, 240, reset_7d_days=3), claude("b-behind", 0.10, 270)]
    with pool_proxy(tmp_path, monkeypatch, accounts,
                    f'strategy = "drain_soonest"\npacing = {str(pacing).lower()}') as (client, _):
        assert ask(client, 5, accounts)[2:] == [winner] * 3


def test_pool_settings_errors_name_file_line_and_field(tmp_path: Path) -> None:
    from quotawarden.errors import ConfigError

    cfg = tmp_path / "config.toml"
    cfg.write_text('[[pools]]\nname = "team"\nstrategy = "fastest"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"config.toml:3: pools\[0\]\.strategy: .*drain_soonest.*headroom"):
        build_service(cfg, store_url=f"sqlite:///{tmp_path / 'qw.db'}")
    cfg.write_text('[[pools]]\nname = "team"\nswitch_margin = 2\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"config.toml:3: pools\[0\]\.switch_margin"):
        build_service(cfg, store_url=f"sqlite:///{tmp_path / 'qw.db'}")


def test_a_pool_whose_only_account_answers_from_overage_refuses_until_the_reset(tmp_path: Path,
                                                                                monkeypatch: Any) -> None:
    """Alone in its pool, the account's headers are read at the next flush (0.5 s); from then on the pool answers
    its own 429 with Retry-After up to the exhausted window's reset instead of spending paid overage."""
    accounts = [claude("solo", 1.0, 90, extra={"overage": "allowed"})]
    with pool_proxy(tmp_path, monkeypatch, accounts) as (client, service):
        ask(client, 1)
        time.sleep(1.0)
        with pytest.raises(anthropic.RateLimitError) as caught:
            ask(client, 1)
        rows = wait_audit(service, "pause_overage")
    assert "every account of 'team' is limited" in str(caught.value)
    wait = int(caught.value.response.headers["retry-after"])
    assert 85 * 60 <= wait <= 90 * 60
    assert [(r.action, r.detail["account"]) for r in rows] == [("pause_overage", "solo")]
