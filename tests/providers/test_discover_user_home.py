"""``accounts discover --add`` on a home folder laid out like the user's the project was made for: the OpenCode
Antigravity plug-in's accounts file with two Google logins, Antigravity's own sign-in and local data, Gemini CLI's
Google login, OpenCode (a Zen key, its data folder) and Cline (tasks, MCP settings). The real CLI in subprocesses:
the right accounts are added, each by reference; the config, ``accounts list --json`` and ``status --json`` hold no
token or key."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

from quotawarden.app.service import build_service
from quotawarden.plugins import load_plugins
from quotawarden.sources.discovery import discover
from tests.providers.test_discover_home import CLAUDE_ACCESS, ZEN_KEY, lay_out

PLUGIN_REFRESH = {"work@gmail.com": "1//0plugin-work-" + "p" * 40, "play@gmail.com": "1//0plugin-play-" + "q" * 40}
APP_REFRESH, APP_ACCESS = "1//0app-" + "s" * 40, "ya29.app-" + "t" * 60
GEMINI_REFRESH, GEMINI_ACCESS = "1//0gcli-" + "u" * 40, "ya29.gcli-" + "v" * 60
SECRETS = (*PLUGIN_REFRESH.values(), APP_REFRESH, APP_ACCESS, GEMINI_REFRESH, GEMINI_ACCESS, ZEN_KEY,
           CLAUDE_ACCESS, "r" * 40)


def _cli(home: Path, config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The real CLI with ``HOME`` as the user's: no XDG overrides, no keys or tokens from this environment."""
    env = {k: v for k, v in os.environ.items() if not k.endswith(("_API_KEY", "_TOKEN")) and not k.startswith("XDG_")}
    env.update(HOME=str(home), QUOTAWARDEN_DB_URL=f"sqlite:///{home / 'qw.db'}", COLUMNS="200")
    return subprocess.run([sys.executable, "-m", "quotawarden.interfaces.cli.main", "--config", str(config), *args],
                          env=env, capture_output=True, text=True, timeout=120)


def _id_token(email: str) -> str:
    claims = base64.urlsafe_b64encode(json.dumps({"email": email}).encode()).decode().rstrip("=")
    return f"eyJhbGciOiJub25lIn0.{claims}.c2ln"


def lay_out_google(home: Path, app_email: str = "studio@gmail.com") -> None:
    """The plug-in's accounts file (its v3 shape, tests/providers/antigravity/antigravity-accounts.json), Antigravity's
    own sign-in file and local data, Gemini CLI's oauth_creds.json (tests/providers/gemini_cli/oauth_creds.json)."""
    (home / ".config/opencode").mkdir(parents=True, exist_ok=True)
    (home / ".config/opencode/antigravity-accounts.json").write_text(json.dumps({
        "version": 3, "activeIndex": 0,
        "accounts": [{"email": e, "refreshToken": t, "projectId": f"proj-{e[:4]}", "enabled": True}
                     for e, t in PLUGIN_REFRESH.items()]}))
    (home / ".gemini/antigravity-cli").mkdir(parents=True)
    (home / ".gemini/antigravity-cli/antigravity-oauth-token").write_text(json.dumps({
        "token": {"access_token": APP_ACCESS, "token_type": "Bearer", "refresh_token": APP_REFRESH,
                  "expiry": "2026-12-03T13:00:00Z"}, "auth_method": "consumer", "id_token": _id_token(app_email)}))
    (home / ".gemini/antigravity/brain/4f0c1e52-0000-4000-8000-000000000001").mkdir(parents=True)
    (home / ".gemini/oauth_creds.json").write_text(json.dumps({
        "access_token": GEMINI_ACCESS, "refresh_token": GEMINI_REFRESH, "token_type": "Bearer",
        "id_token": _id_token("me@example.com"), "expiry_date": 1786975391000}))


def test_a_real_users_home_becomes_accounts_by_reference(tmp_path: Path) -> None:
    home = tmp_path / "home"
    lay_out(home)  # OpenCode (Zen key, a Claude login, its data folder) and Cline (tasks, MCP settings)
    lay_out_google(home)
    config = tmp_path / "config.toml"
    config.write_text("")
    added = _cli(home, config, "accounts", "discover", "--add", "--yes")
    assert added.returncode == 0, added.stderr
    text = config.read_text()
    svc = build_service(config, store_url=f"sqlite:///{tmp_path / 'check.db'}")
    try:
        accounts = {a.id: a for a in svc.config.accounts}
        plugin = home / ".config/opencode/antigravity-accounts.json"
        app = home / ".gemini/antigravity-cli/antigravity-oauth-token"
        want = {
            "antigravity:work@gmail.com": ("antigravity_quota", f"file:{plugin}#accounts[email=work@gmail.com]"),
            "antigravity:play@gmail.com": ("antigravity_quota", f"file:{plugin}#accounts[email=play@gmail.com]"),
            "antigravity:studio@gmail.com": ("antigravity_quota", f"file:{app}#token.refresh_token"),
            "gemini-cli:me@example.com": ("gemini_cli", f"file:{home / '.gemini/oauth_creds.json'}"),
            "opencode-zen": ("opencode_zen", f"file:{home / '.local/share/opencode/auth.json'}#opencode.key"),
            "opencode": ("opencode", None), "cline": ("cline", None), "antigravity-app": ("antigravity", None),
        }
        got = {i: (a.provider, a.credential) for i, a in accounts.items() if i in want}
        assert got == want
        assert accounts["opencode-anthropic"].provider == "claude"
        for acct_id, (_, ref) in want.items():  # live references: the secret stays where the tool keeps it
            if ref is not None:
                assert svc.resolve_credential(ref, acct_id), acct_id
        assert svc.resolve_credential(f"file:{app}#token.refresh_token", "x") == APP_REFRESH
    finally:
        svc.close()
    listed = _cli(home, config, "accounts", "list", "--json")
    status = _cli(home, config, "status", "--json")
    assert listed.returncode == 0 and status.returncode in (0, 10), listed.stderr + status.stderr
    assert {a["id"] for a in json.loads(listed.stdout)["accounts"]} >= set(want)
    for out in (text, added.stdout, added.stderr, listed.stdout, listed.stderr, status.stdout, status.stderr):
        assert not [s for s in SECRETS if s in out]


def test_one_account_per_google_login(tmp_path: Path) -> None:
    """Antigravity's own sign-in for a login the plug-in already holds adds nothing; the app's local data alone
    adds only the local-tool account."""
    home = tmp_path / "home"
    lay_out_google(home, app_email="work@gmail.com")
    found = discover(load_plugins().providers.values(), env={"HOME": str(home)}, home=home)
    quota = [f.credential for f in found if f.provider == "antigravity_quota"]
    assert len(quota) == 2 and all("#accounts[email=" in c for c in quota)
    (home / ".gemini/antigravity-cli/antigravity-oauth-token").unlink()
    (home / ".config/opencode/antigravity-accounts.json").unlink()
    found = discover(load_plugins().providers.values(), env={"HOME": str(home)}, home=home)
    assert [(f.id, f.provider) for f in found if "antigravity" in f.provider] == [("antigravity-app", "antigravity")]
