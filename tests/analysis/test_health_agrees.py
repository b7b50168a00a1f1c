"""One rule, every view: the same readings in a real store are judged alike by ``status`` (text and ``--json``),
``summary``, the dashboard, the admin's ``/v1/status``, ``/metrics`` and the MCP ``status`` tool, on SQLite and
PostgreSQL.

Each account below holds one case of the rule (README, Analysis: Health). The CLI and the MCP server run as
subprocesses, the API and the dashboard on a real uvicorn on loopback, all on the wall clock.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from mcp import Client
from mcp.client.stdio import StdioServerParameters
from sqlalchemy import insert

from quotawarden.domain import Account, AccountState, Outcome, QuotaSample, Source, Unit
from quotawarden.store import Store
from quotawarden.store import accounts as accounts_q
from quotawarden.store import outcomes as outcomes_q
from quotawarden.store import samples as samples_q
from quotawarden.store.schema_health import provider_status
from tests.daemon.conftest import ADMIN, Uvicorn, make_service
from tests.interfaces.test_mcp import payload

CONFIG = '[thresholds]\nhard_caps = { "acme/monthly" = 0.25 }\n'

CASES: dict[str, tuple[str, str]] = {
    # account: (expected health, why)
    "claude-at-cap": ("RED", "claude 5h at exactly its 80% hard cap"),
    "acme-over-cap": ("RED", "30% used against a configured 25% cap"),
    "codex-burning": ("YELLOW", "30% used, 15%/h: reaches the 85% cap in 3h40m, before the reset in 4h30m"),
    "openai-errors": ("RED", "20% of the day's calls failed"),
    "gemini-degraded": ("YELLOW", "20% used, and the provider's status page says degraded"),
    "claude-calm": ("GREEN", "20% used, nothing else"),
}
PROVIDERS = {"claude-at-cap": "claude", "acme-over-cap": "acme", "codex-burning": "codex",
             "openai-errors": "openai", "gemini-degraded": "gemini", "claude-calm": "claude"}


def five_hour(account: str, at: datetime, ratio: float, resets_in: timedelta) -> QuotaSample:
    return QuotaSample(at, account, "5h", Unit.PERCENT, Source.PROBE, used_ratio=ratio, resets_at=at + resets_in,
                       window_length_s=18000)


def seed(store: Store, now: datetime) -> None:
    accounts_q.upsert_accounts(store, [Account(a, p) for a, p in PROVIDERS.items()])
    resets = now + timedelta(hours=4, minutes=30)
    samples = [
        five_hour("claude-at-cap", now, 0.80, timedelta(hours=2)),
        QuotaSample(now, "acme-over-cap", "monthly", Unit.PERCENT, Source.PROBE, used_ratio=0.30,
                    resets_at=now + timedelta(days=12), window_length_s=30 * 86400),
        # an hour from 15 % to 30 %, a sample every 5 minutes
        *(five_hour("codex-burning", now - timedelta(minutes=5 * i), 0.30 - 0.0125 * i, resets - now + timedelta(
            minutes=5 * i)) for i in range(13)),
        five_hour("openai-errors", now, 0.20, timedelta(hours=3)),
        five_hour("gemini-degraded", now, 0.20, timedelta(hours=3)),
        five_hour("claude-calm", now, 0.20, timedelta(hours=3)),
    ]
    samples_q.write_samples(store, samples)
    accounts_q.set_states(store, [AccountState(a, Outcome.OK, "", now) for a in PROVIDERS])
    outcomes_q.add(store, {("openai-errors", outcomes_q.hour_of(now.timestamp())): (20, 5)})
    with store.engine.begin() as conn:
        conn.execute(insert(provider_status), [{"provider": "gemini", "state": "degraded",
                                                "description": "Elevated error rates", "observed_ts": now.timestamp()}])


def cli(*args: str, env: dict[str, str]) -> str:
    out = subprocess.run([sys.executable, "-m", "quotawarden.interfaces.cli.main", *args], capture_output=True,
                         text=True, timeout=120, env=env)
    assert out.returncode == 0, out.stderr
    return out.stdout


def from_report(report: dict[str, Any]) -> dict[str, str]:
    return {a["id"]: a["status"] for a in report["accounts"]}


def from_table(text: str) -> dict[str, str]:
    """``status``'s table: the row that names the account carries its (only) window's status."""
    found = {}
    for line in text.splitlines():
        words = re.findall(r"[\w-]+", line)
        if words and words[0] in CASES:
            found[words[0]] = next(w for w in words if w in ("GREEN", "YELLOW", "RED", "UNKNOWN"))
    return found


def from_metrics(text: str) -> dict[str, str]:
    names = {0: "GREEN", 1: "YELLOW", 2: "RED", -1: "UNKNOWN"}
    found = re.finditer(r'^quotawarden_account_health\{account="([^"]+)",[^}]*\} (\S+)$', text, re.M)
    return {m[1]: names[int(float(m[2]))] for m in found}


def from_dashboard(html: str) -> dict[str, str]:
    return dict(re.findall(r'>([\w-]+)</a></th><td><span class="badge (\w+)">', html))


def mcp_status(args: list[str], env: dict[str, str]) -> dict[str, Any]:
    params = StdioServerParameters(command=sys.executable, args=["-m", "quotawarden.interfaces.cli.main", *args,
                                                                 "mcp"], env=env)

    async def main() -> Any:
        async with Client(params, read_timeout_seconds=60) as client:
            return payload(await client.call_tool("status", {}))

    return asyncio.run(main())


def test_every_view_agrees(store: Store, db_url: str, tmp_path: Path) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    seed(store, now)
    config = tmp_path / "config.toml"
    config.write_text(CONFIG, encoding="utf-8")
    env = {**os.environ, "COLUMNS": "200", "PYTHONPATH": os.pathsep.join(sys.path),
           "QUOTAWARDEN_VAULT": str(tmp_path / "vault.json"), "QUOTAWARDEN_VAULT_PASSPHRASE": "not a secret here"}
    root = ["--config", str(config), "--db", db_url]
    summary = json.loads(cli("summary", *root, "--json", env=env))
    seen = {
        "status --json": from_report(json.loads(cli(*root, "status", "--json", env=env))),
        "status": from_table(cli(*root, "status", env=env)),
        "summary": from_report(summary),
        "mcp status": from_report(mcp_status(root, env)),
    }
    svc = make_service(db_url, tmp_path, CONFIG)
    try:
        from quotawarden.interfaces.api import create_app

        auth = {"Authorization": f"Bearer {ADMIN}"}
        with Uvicorn(create_app(svc, admin_token=ADMIN)) as url, httpx.Client(base_url=url, headers=auth,
                                                                               timeout=30) as http:
            seen["/v1/status"] = from_report(http.get("/v1/status").raise_for_status().json())
            seen["/metrics"] = from_metrics(http.get("/metrics").raise_for_status().text)
            seen["dashboard"] = from_dashboard(http.get("/").raise_for_status().text)
    finally:
        svc.close()
    expected = {account: health for account, (health, _) in CASES.items()}
    assert {view: {a: got.get(a) for a in CASES} for view, got in seen.items()} == dict.fromkeys(seen, expected)
    assert sorted(summary["avoid"]) == sorted(a for a, h in expected.items() if h == "RED")
