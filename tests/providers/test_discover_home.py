"""``accounts discover --add`` on a home folder laid out like a real user's: OpenCode (its auth.json with a Zen key
and a Claude login, its data folder) and Cline (the VS Code extension's storage with tasks and MCP settings, the
Cline CLI's folder) become accounts by reference; no secret reaches the config or the output."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from quotawarden.app.service import build_service

ZEN_KEY = "sk-zen-" + "z" * 40
CLAUDE_ACCESS = "sk-ant-oat01-" + "c" * 40


def lay_out(home: Path) -> None:
    data = home / ".local/share/opencode"
    (data / "storage/message/ses_1").mkdir(parents=True)
    (data / "storage/message/ses_1/msg_1.json").write_text("{}")
    (data / "auth.json").write_text(json.dumps({
        "opencode": {"type": "api", "key": ZEN_KEY},
        "anthropic": {"type": "oauth", "access": CLAUDE_ACCESS, "refresh": "sk-ant-ort01-" + "r" * 40,
                      "expires": 1769729563641}}))
    (home / ".config/opencode").mkdir(parents=True)
    (home / ".config/opencode/opencode.json").write_text('{"model": "opencode/kimi-k2.5"}')
    cline = home / ".config/Code/User/globalStorage/saoudrizwan.claude-dev"
    (cline / "tasks/1787230000000").mkdir(parents=True)
    (cline / "tasks/1787230000000/ui_messages.json").write_text('[{"ts":1787230000000,"type":"say","say":"text"}]')
    (cline / "settings").mkdir()
    fixture = Path(__file__).parent / "cline" / "cline_mcp_settings.json"
    (cline / "settings/cline_mcp_settings.json").write_text(fixture.read_text())
    (home / ".cline/data/tasks").mkdir(parents=True)


def _cli(home: Path, config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.endswith(("_API_KEY", "_TOKEN")) and k != "XDG_DATA_HOME"}
    env.update(HOME=str(home), QUOTAWARDEN_DB_URL=f"sqlite:///{home / 'qw.db'}")
    return subprocess.run([sys.executable, "-m", "quotawarden.interfaces.cli.main", "--config", str(config), *args],
                          env=env, capture_output=True, text=True, timeout=120)


def test_opencode_and_cline_data_become_accounts_by_reference(tmp_path: Path) -> None:
    home = tmp_path / "home"
    lay_out(home)
    config = tmp_path / "config.toml"
    config.write_text("")
    found = _cli(home, config, "accounts", "discover", "--json")
    assert found.returncode == 0, found.stderr
    by_id = {f["id"]: f for f in json.loads(found.stdout)["found"]}
    auth = home / ".local/share/opencode/auth.json"
    assert by_id["opencode-zen"]["provider"] == "opencode_zen"
    assert by_id["opencode-zen"]["credential"] == f"file:{auth}#opencode.key"
    assert by_id["opencode-anthropic"]["provider"] == "claude"
    assert (by_id["opencode"]["provider"], by_id["opencode"]["credential"]) == ("opencode", "")
    assert by_id["cline"]["provider"] == "cline" and "3 MCP server(s) configured" in by_id["cline"]["notes"]
    added = _cli(home, config, "accounts", "discover", "--add", "--yes")
    assert added.returncode == 0, added.stderr
    text = config.read_text()
    for secret in (ZEN_KEY, CLAUDE_ACCESS, "r" * 40):
        assert secret not in text and secret not in found.stdout + added.stdout + added.stderr
    svc = build_service(config, store_url=f"sqlite:///{tmp_path / 'check.db'}")
    accounts = {a.id: a for a in svc.config.accounts}
    assert {"opencode-zen", "opencode-anthropic", "opencode", "cline"} <= set(accounts)
    assert svc.resolve_credential(accounts["opencode-zen"].credential, "opencode-zen") == ZEN_KEY  # a live reference
    assert accounts["cline"].credential is None and accounts["opencode"].credential is None
    again = _cli(home, config, "accounts", "discover", "--add", "--yes")  # nothing new the second time
    assert again.returncode == 0 and config.read_text() == text
    svc.close()
