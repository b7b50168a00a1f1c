"""OpenCode, Cline and Antigravity accounts read real files through the ``file://`` transport and the runner."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from quotawarden.clock import FixedClock
from quotawarden.domain import Account, Outcome
from quotawarden.sources.local_files import LocalFileTransport
from quotawarden.sources.probe_runner import ProbeJob, ProbeResult, ProbeRunner
from tests.providers.more_kit import NOW, spec

RECENT = (NOW.timestamp() - 3600, NOW.timestamp() - 3600)
OLD = (NOW.timestamp() - 3 * 86400, NOW.timestamp() - 3 * 86400)


def write(home: Path, rel: str, text: str, times: tuple[float, float] = RECENT) -> None:
    path = home / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    os.utime(path, times)


def run(slug: str, home: Path) -> ProbeResult:
    runner = ProbeRunner(FixedClock(NOW), transport=LocalFileTransport(), tries=1)
    account = Account(id=f"{slug}-local", provider=slug, base_url=home.as_uri())
    return asyncio.run(runner.run(ProbeJob(spec(slug), account, None)))


def test_opencode(tmp_path: Path) -> None:
    write(tmp_path, ".config/opencode/opencode.json",
          '{"model": "anthropic/claude-sonnet-4-5", "small_model": "openai/gpt-5-mini"}')
    write(tmp_path, ".local/share/opencode/storage/message/ses_1/msg_1.json", "{}")
    write(tmp_path, ".local/share/opencode/log/2026-08-20T130000.log",
          "INFO  2026-08-20T13:00:00 +1ms service=server\nERROR 2026-08-20T13:00:01 +2ms service=llm error\n"
          "ERROR 2026-08-20T13:05:00 +1ms service=llm retry\n")
    write(tmp_path, ".local/share/opencode/log/2026-08-17T090000.log", "ERROR old\n", OLD)
    r = run("opencode", tmp_path)
    assert r.outcome is Outcome.OK, r.reason
    assert r.details["models"] == ["anthropic/claude-sonnet-4-5", "openai/gpt-5-mini"]
    assert r.details["errors_24h"] == 2 and r.details["logs_read"] == 1
    assert r.details["last_activity"] == "2026-08-20T13:03:11+00:00"
    [s] = r.samples
    assert (s.window, s.used, s.status) == ("errors_24h", 2.0, "active")


@pytest.mark.parametrize(("slug", "rel", "text", "errors"), [
    ("cline", ".config/Code/User/globalStorage/saoudrizwan.claude-dev/tasks/1787230000000/ui_messages.json",
     '[{"ts":1787230000000,"type":"say","say":"text"},{"ts":1787230001000,"type":"say","say":"error"},'
     '{"ts":1787230002000,"type":"say","say":"api_req_failed"}]', 2),
    ("antigravity", ".config/Antigravity/logs/20260820T130000/window1/renderer.log",
     "2026-08-20 13:00:00.000 [info] start\n2026-08-20 13:00:02.000 [error] model request failed\n", 1),
])
def test_cline_and_antigravity(tmp_path: Path, slug: str, rel: str, text: str, errors: int) -> None:
    write(tmp_path, rel, text)
    write(tmp_path, ".gemini/antigravity/conversations/c1.pb", "x")
    r = run(slug, tmp_path)
    assert r.outcome is Outcome.OK and r.details["errors_24h"] == errors


def test_not_installed_is_idle_not_an_error(tmp_path: Path) -> None:
    r = run("opencode", tmp_path)
    assert r.outcome is Outcome.OK and r.details["installed"] is False and r.samples[0].status == "idle"


def test_poll_reads_local_agent_tools_without_a_custom_transport(tmp_path: Path) -> None:
    """`quotawarden poll` itself (Service.poll) reads file:// accounts: the default transport handles both."""
    from quotawarden.app.service import Service
    from quotawarden.config import from_text
    from quotawarden.plugins import load_plugins

    home = tmp_path / "home"
    write(home, ".config/opencode/opencode.json", '{"model": "anthropic/claude-sonnet-4-5"}')
    plugins = load_plugins()
    config = from_text(f'[[accounts]]\nid = "oc"\nprovider = "opencode"\nbase_url = "{home.as_uri()}"\n', None,
                       plugins)
    svc = Service(config=config, plugins=plugins, clock=FixedClock(NOW),
                  store_url=f"sqlite:///{tmp_path / 'qw.db'}")
    [result] = svc.poll(force=True)
    assert result.outcome is Outcome.OK, result.reason
    assert svc.status_report()["accounts"][0]["windows"][0]["name"] == "errors_24h"
