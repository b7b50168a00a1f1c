"""One planner, four surfaces: ``quotawarden next --json``, MCP ``recommend_account`` (official SDK client over
stdio), ``summary``'s use line (the fast path) and the admin's ``/v1/status`` name the same account, on both
databases. Two Claude seats at 30 %: the one whose 5-hour window resets in 30 minutes goes first; the API key
(paid) and the GPU box (local, reads 0 % used) never do while included capacity is left."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from mcp import Client
from mcp.client.stdio import StdioServerParameters

from quotawarden.app import instances
from quotawarden.app.service import Service
from quotawarden.config import from_text
from quotawarden.domain import AccountState, Outcome, QuotaSample, Source, Unit
from quotawarden.interfaces.api import create_app
from quotawarden.interfaces.api.models import NextAccount as InstanceNext
from quotawarden.plugins import load_plugins
from quotawarden.store import accounts as accounts_q
from quotawarden.store import samples as samples_q
from tests.daemon.conftest import ADMIN, Uvicorn

CONFIG = """
[[accounts]]
id = "claude-a"
provider = "claude"

[[accounts]]
id = "claude-b"
provider = "claude"

[[accounts]]
id = "openai-key"
provider = "openai"
credential = "env:OPENAI_API_KEY"

[[accounts]]
id = "gpu-box"
provider = "ollama"
base_url = "http://127.0.0.1:9"

[planner.tasks.heavy]
models = { claude = "claude-opus-4" }
"""


def seed(svc: Service, now: datetime) -> None:
    svc.accounts()  # the config's accounts land in the store
    at = now - timedelta(seconds=20)

    def five_h(aid: str, resets_in: timedelta) -> QuotaSample:
        return QuotaSample(at, aid, "5h", Unit.PERCENT, Source.PROBE, used_ratio=0.30, resets_at=now + resets_in,
                           window_length_s=18000)

    samples_q.write_samples(svc.store, [
        five_h("claude-a", timedelta(hours=4)), five_h("claude-b", timedelta(minutes=30)),
        QuotaSample(at, "openai-key", "rpm", Unit.REQUESTS, Source.PROXY, used=0, limit=500,
                    resets_at=now + timedelta(seconds=40), window_length_s=60),
    ])
    accounts_q.set_states(svc.store, [AccountState(a, Outcome.OK, "", at)
                                      for a in ("claude-a", "claude-b", "openai-key", "gpu-box")])


def _cli(cfg: Path, db_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "quotawarden.interfaces.cli.main", *args],
                          capture_output=True, text=True, timeout=60,
                          env={**os.environ, "QUOTAWARDEN_CONFIG": str(cfg), "QUOTAWARDEN_DB_URL": db_url})


def _mcp(cfg: Path, db_url: str, tmp: Path) -> dict[str, Any]:
    env = {**os.environ, "QUOTAWARDEN_VAULT": str(tmp / "vault.json"), "PYTHONPATH": os.pathsep.join(sys.path)}
    params = StdioServerParameters(command=sys.executable, env=env, args=[
        "-m", "quotawarden.interfaces.cli.main", "--config", str(cfg), "--db", db_url, "mcp"])

    async def main() -> dict[str, Any]:
        async with Client(params, read_timeout_seconds=60) as client:
            result = await client.call_tool("recommend_account", {"task": "refactor the parser", "size": "large"})
            assert not result.is_error, result.content[0].text
            data = result.structured_content or json.loads(result.content[0].text)
            return dict(data.get("result", data))

    return asyncio.run(main())


def test_cli_mcp_summary_and_api_name_the_same_account(db_url: str, tmp_path: Path) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text(CONFIG)
    plugins = load_plugins()
    svc = Service(config=from_text(f'[server]\nkey_file = "{tmp_path / "secret.key"}"\n' + CONFIG, None, plugins),
                  plugins=plugins, store_url=db_url)
    try:
        seed(svc, datetime.now(UTC).replace(microsecond=0))

        nxt = _cli(cfg, db_url, "next", "--json")
        assert nxt.returncode == 0, nxt.stderr
        data = json.loads(nxt.stdout)
        assert (data["account"], data["provider"], data["model"], data["window"]) == \
            ("claude-b", "claude", "claude-opus-4", "5h")
        assert data["reason"].startswith("claude-b: 5h window at 30% resets in ")
        assert data["reason"].endswith("— use it before it expires")
        assert [r["account"] for r in data["ranked"]] == ["claude-b", "claude-a", "openai-key", "gpu-box"]
        assert [r["capacity"] for r in data["ranked"]] == ["included", "included", "paid", "local"]

        human = _cli(cfg, db_url, "next")
        assert human.returncode == 0 and human.stdout.splitlines()[0] == "use claude-b (claude with claude-opus-4)"
        light = json.loads(_cli(cfg, db_url, "next", "--task", "light", "--json").stdout)
        assert [r["account"] for r in light["ranked"]] == ["claude-b", "claude-a", "gpu-box", "openai-key"]
        bad = _cli(cfg, db_url, "next", "--task", "huge")
        assert bad.returncode == 2 and "unknown task class 'huge' (known: heavy, light)" in bad.stderr

        mcp = _mcp(cfg, db_url, tmp_path)
        assert (mcp["account"], mcp["model"], mcp["window"]) == ("claude-b", "claude-opus-4", "5h")
        assert mcp["advice"] == data["reason"] or mcp["advice"].startswith("claude-b: 5h window at 30%")

        summary = _cli(cfg, db_url, "summary", "--json")  # the fast path: no plug-ins, no SQLAlchemy on SQLite
        assert summary.returncode == 0, summary.stderr
        assert json.loads(summary.stdout)["use"] == ["claude-b"]
        text = _cli(cfg, db_url, "summary").stdout.splitlines()
        assert text[-1].startswith("use claude-b;")

        with Uvicorn(create_app(svc, admin_token=ADMIN)) as url:
            body = httpx.get(f"{url}/v1/status", headers={"Authorization": f"Bearer {ADMIN}"}, timeout=30).json()
        assert body["next"]["account"] == "claude-b" and body["next"]["window"] == "5h"
        assert {a["id"] for a in body["accounts"]} >= {"claude-a", "claude-b"}  # the report itself is unchanged
        # an instance's answer: the pick among its own accounts, beside PROCEED / STOP
        mine = instances.next_account(svc, ["claude-a", "openai-key", "gpu-box"])
        assert mine is not None and (mine["account"], mine["window"]) == ("claude-a", "5h")
        assert InstanceNext.model_validate(mine).account == "claude-a"
    finally:
        svc.close()
