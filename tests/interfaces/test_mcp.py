"""``quotawarden mcp`` over stdio with the official SDK client: list the tools, call each one, check errors."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters

from quotawarden.store import Store

SECRET = "sk-ant-api03-" + "Q" * 40 + "zz9W"
TOOLS = {"status", "usage_summary", "cost_breakdown", "monthly_forecast", "subscription_analysis",
         "fairness_report", "list_alerts", "ack_alert", "run_audit", "overview", "recommend_account",
         "trigger_poll", "list_keys", "add_key"}


def _params(db_url: str, tmp_path: Path) -> StdioServerParameters:
    env = {**os.environ, "QUOTAWARDEN_VAULT": str(tmp_path / "vault.json"),
           "QUOTAWARDEN_VAULT_PASSPHRASE": "correct horse battery staple", "PYTHONPATH": os.pathsep.join(sys.path)}
    return StdioServerParameters(command=sys.executable,
                                 args=["-m", "quotawarden.interfaces.cli.main", "--db", db_url, "mcp"], env=env)


def run(db_url: str, tmp_path: Path, body: Callable[[Client], Awaitable[Any]]) -> Any:
    async def main() -> Any:
        async with Client(_params(db_url, tmp_path), read_timeout_seconds=60) as client:
            return await body(client)

    return asyncio.run(main())


def payload(result: Any) -> Any:
    assert not result.is_error, result.content[0].text
    if result.structured_content is not None:
        return result.structured_content.get("result", result.structured_content)
    return json.loads(result.content[0].text)


CALLS: list[tuple[str, dict[str, Any], Callable[[Any], bool]]] = [
    ("status", {}, lambda d: {a["id"] for a in d["accounts"]} >= {"home-claude", "work-claude"}),
    ("status", {"account_ids": ["work-claude"]}, lambda d: [a["id"] for a in d["accounts"]] == ["work-claude"]),
    ("usage_summary", {"days": 7}, lambda d: d["total_usd"] > 0 and d["by_provider"]),
    ("cost_breakdown", {"period": "week", "by": "model", "days": 30},
     lambda d: d["by"] == "model" and {g["key"] for g in d["groups"]} >= {"claude-opus-4", "gpt-4.1"}),
    ("monthly_forecast", {}, lambda d: d["forecast"]["expected"] >= d["forecast"]["spent"] >= 0),
    ("subscription_analysis", {},  # 3 and 5 days of readings: no advice yet, and how many days are missing (a
     # window's first hour may fall on the day before, by the time of day the test runs: one day more at most)
     lambda d: {(a["account_id"], a["action"], a["days_missing"] + a["days_of_data"]) for a in d["advice"]
                if a["account_id"].endswith("claude")} == {("work-claude", "unknown", 7), ("home-claude", "unknown", 7)}
     and {a["account_id"]: a["days_of_data"] for a in d["advice"] if a["account_id"].endswith("claude")}
     in ({"work-claude": w, "home-claude": h} for w in (3, 4) for h in (5, 6))),
    ("fairness_report", {"days": 7}, lambda d: len(d["consumers"]) == 3 and 0 < d["index"] <= 1),
    ("list_alerts", {"state": "all"}, lambda d: len(d["alerts"]) == 3),
    ("run_audit", {}, lambda d: "summary" in d and d["account_details"]),
    ("overview", {}, lambda d: {p["provider"] for p in d["providers"]} >= {"claude", "openai"}),
    ("recommend_account", {"task": "refactor the parser", "size": "large", "provider": "claude"},
     lambda d: d["account"] == "work-claude" and d["model"] == "claude-sonnet-4" and d["provider"] == "claude"),
    ("trigger_poll", {"account_ids": ["work-claude"]}, lambda d: d["polled"] >= 0),
    ("list_keys", {}, lambda d: {a["account"] for a in d["accounts"]} >= {"work-claude"}),
]

ERRORS: list[tuple[str, dict[str, Any], str]] = [
    ("status", {"account_ids": ["nope"]}, "unknown account id(s): nope"),
    ("cost_breakdown", {"period": "year"}, "period"),
    ("usage_summary", {"days": 0}, "days"),
    ("ack_alert", {"alert_id": 9999}, "no alert with id 9999"),
    ("recommend_account", {"task": "x", "provider": "nobody"}, "no account matches"),
    ("trigger_poll", {"account_ids": ["ghost"]}, "unknown account id(s): ghost"),
    ("add_key", {"name": "has space", "secret": SECRET}, "name"),
    ("trigger_poll", {"account": "work-claude"},
     "trigger_poll: unknown argument 'account' (did you mean 'account_ids'?); it takes account_ids, force"),
    ("overview", {"verbose": True}, "overview: unknown argument 'verbose'; it takes no arguments"),
    ("cost_breakdown", {"group_by": "model", "days": 30}, "unknown argument 'group_by'"),
]


def test_tools_over_stdio(seeded_live: Store, db_url: str, tmp_path: Path) -> None:
    async def body(client: Client) -> None:
        tools = {t.name: t for t in (await client.list_tools()).tools}
        assert set(tools) == TOOLS
        assert all(t.description for t in tools.values())
        assert tools["cost_breakdown"].input_schema["properties"]["period"]["enum"] == ["day", "week", "month"]
        for name, args, check in CALLS:
            data = payload(await client.call_tool(name, args))
            assert check(data), (name, args, data)
        for name, args, message in ERRORS:
            result = await client.call_tool(name, args)
            assert result.is_error, (name, args)
            assert message in result.content[0].text, (name, result.content[0].text)

    run(db_url, tmp_path, body)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_misnamed_argument_is_refused_and_nothing_runs(seeded_live: Store, db_url: str, tmp_path: Path) -> None:
    """A wrong argument name must not widen the call: ``trigger_poll`` would otherwise poll every account."""
    from quotawarden.store import accounts as accounts_q

    before = accounts_q.states(seeded_live)

    async def body(client: Client) -> tuple[Any, Any]:
        tools = {t.name: t for t in (await client.list_tools()).tools}
        assert all(t.input_schema.get("additionalProperties") is False for t in tools.values())
        wrong = await client.call_tool("trigger_poll", {"accounts": ["work-claude"], "force": True})
        secret = await client.call_tool("add_key", {"name": "work", "key": SECRET})
        return wrong, secret

    wrong, secret = run(db_url, tmp_path, body)
    assert wrong.is_error and "unknown argument 'accounts' (did you mean 'account_ids'?)" in wrong.content[0].text
    assert accounts_q.states(seeded_live) == before  # nothing was polled
    assert secret.is_error and "unknown argument 'key'" in secret.content[0].text
    assert SECRET not in secret.content[0].text and SECRET[14:40] not in secret.content[0].text
    assert not (tmp_path / "vault.json").exists()


def test_ack_then_list_and_audit_resource(seeded_live: Store, db_url: str, tmp_path: Path) -> None:
    async def body(client: Client) -> None:
        open_alerts = payload(await client.call_tool("list_alerts", {}))["alerts"]
        first = open_alerts[0]["id"]
        acked = payload(await client.call_tool("ack_alert", {"alert_id": first}))
        assert acked["state"] == "acked"
        again = payload(await client.call_tool("ack_alert", {"alert_id": first}))
        assert again["state"] == "acked"  # idempotent
        left = payload(await client.call_tool("list_alerts", {}))["alerts"]
        assert first not in [a["id"] for a in left]
        resources = {str(r.uri) for r in (await client.list_resources()).resources}
        assert resources == {"quotawarden://audit/latest", "quotawarden://audit/latest.json"}
        md = (await client.read_resource("quotawarden://audit/latest")).contents[0]
        assert md.text.startswith("# Account audit")
        js = json.loads((await client.read_resource("quotawarden://audit/latest.json")).contents[0].text)
        assert "account_details" in js

    run(db_url, tmp_path, body)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_add_key_never_echoes_the_secret(seeded_live: Store, db_url: str, tmp_path: Path) -> None:
    async def body(client: Client) -> list[str]:
        added = await client.call_tool("add_key", {"name": "work", "secret": SECRET, "provider": "anthropic"})
        data = payload(added)
        assert data == {"name": "work", "provider": "anthropic", "masked": "sk-...zz9W", "reference": "vault:work"}
        listed = await client.call_tool("list_keys", {})
        dup = await client.call_tool("add_key", {"name": "work", "secret": SECRET})
        assert dup.is_error and "already in the vault" in dup.content[0].text
        return [json.dumps(payload(listed)), added.content[0].text, listed.content[0].text, dup.content[0].text]

    texts = run(db_url, tmp_path, body)
    assert all(SECRET not in t and SECRET[14:40] not in t for t in texts)
    assert '"masked": "sk-...zz9W"' in texts[0]
    assert SECRET.encode() not in (tmp_path / "vault.json").read_bytes()


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_streamable_http_mount(svc: Any) -> None:
    from fastapi import FastAPI

    from quotawarden.interfaces.mcp.server import mount
    from quotawarden.interfaces.web.dashboard import DashboardServer

    app = FastAPI()
    mount(app, svc)

    async def body(url: str) -> None:
        async with Client(url + "/mcp/", read_timeout_seconds=30) as client:
            names = {t.name for t in (await client.list_tools()).tools}
            assert names == TOOLS
            data = payload(await client.call_tool("list_alerts", {"state": "all"}))
            assert len(data["alerts"]) == 3

    with DashboardServer(svc, app=app) as url:
        asyncio.run(body(url))
