"""Find accounts in the usual places and offer them as credential *references*, never copying a secret.

Looked at: provider environment variables (each installed provider's ``credential_env``), the Claude Code
credentials file, the Codex ``auth.json``, OpenCode's ``auth.json``, the OpenCode Antigravity plug-in's
``antigravity-accounts.json`` (one account per Google login, ``#accounts[email=...]``), Gemini CLI's
``~/.gemini/oauth_creds.json`` and ``~/.pi/agent/models.json``; Antigravity's own sign-in where it keeps it in a
file (``~/.gemini/antigravity-cli/antigravity-oauth-token``, ``~/.gemini/jetski-standalone-oauth-token``: another
``antigravity_quota`` account unless the plug-in already holds that Google login); OpenCode's Zen key
(``opencode`` in its ``auth.json``) is an ``opencode_zen`` account, and OpenCode's, Cline's (the VS Code
extension's storage, ``~/.cline/data``) and the Antigravity app's data folders are local-tool accounts without a
credential. A
finding names the file and the JSON path inside it (``file:PATH#key.path``) or the variable (``env:VAR``).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import orjson

from quotawarden.domain import CLAUDE_CODE_ACCOUNT
from quotawarden.spec import ProviderSpec


@dataclass(frozen=True, slots=True)
class Finding:
    id: str
    provider: str
    credential: str
    where: str
    plan: str | None = None
    base_url: str | None = None
    notes: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "provider": self.provider, "credential": self.credential, "where": self.where,
                "plan": self.plan, "base_url": self.base_url, "notes": self.notes}


def _json(path: Path) -> Any:
    try:
        return orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return None


def from_env(specs: Iterable[ProviderSpec], env: Mapping[str, str]) -> list[Finding]:
    out = []
    for spec in sorted(specs, key=lambda s: s.slug):
        for var in spec.credential_env:
            if env.get(var):
                out.append(Finding(f"{spec.slug}-{var.lower().replace('_', '-')}", spec.slug, f"env:{var}",
                                   f"environment variable {var}"))
                break
    return out


def claude_code(home: Path, env: Mapping[str, str]) -> list[Finding]:
    root = Path(env["CLAUDE_CONFIG_DIR"]) if env.get("CLAUDE_CONFIG_DIR") else home / ".claude"
    path = root / ".credentials.json"
    data = _json(path)
    oauth = data.get("claudeAiOauth") if isinstance(data, dict) else None
    if not isinstance(oauth, dict) or not oauth.get("accessToken"):
        return []
    notes = [] if "user:profile" in (oauth.get("scopes") or []) else ["token lacks user:profile: use the proxy"]
    return [Finding(CLAUDE_CODE_ACCOUNT, "claude", f"file:{path}", str(path), plan=oauth.get("subscriptionType"),
                    notes=notes)]


def codex(home: Path, env: Mapping[str, str]) -> list[Finding]:
    root = Path(env["CODEX_HOME"]) if env.get("CODEX_HOME") else home / ".codex"
    path = root / "auth.json"
    data = _json(path)
    if not isinstance(data, dict):
        return []
    out = []
    if isinstance(data.get("tokens"), dict) and data["tokens"].get("access_token"):
        out.append(Finding("codex", "codex", f"file:{path}", str(path)))
    if data.get("OPENAI_API_KEY"):
        out.append(Finding("openai-codex", "openai", f"file:{path}#OPENAI_API_KEY", str(path)))
    return out


OPENCODE_PROVIDERS = {"anthropic": ("anthropic", "claude"), "openai": ("openai", "codex"), "openrouter":
                      ("openrouter", None), "deepseek": ("deepseek", None), "groq": ("groq", None),
                      "xai": ("xai", None), "mistral": ("mistral", None), "moonshotai": ("moonshot", None),
                      "zai-coding-plan": ("zai", None), "github-copilot": (None, "copilot"),
                      "google": ("gemini", None), "opencode": ("opencode_zen", None)}
_OPENCODE_IDS = {"opencode": "opencode-zen"}
"""Finding ids that would read oddly as ``opencode-<name>`` (OpenCode keeps its Zen key under ``opencode``)."""


def opencode(home: Path, env: Mapping[str, str]) -> list[Finding]:
    root = Path(env.get("OPENCODE_DATA_DIR") or env.get("XDG_DATA_HOME", str(home / ".local/share")))
    path = (root if env.get("OPENCODE_DATA_DIR") else root / "opencode") / "auth.json"
    data = _json(path)
    if not isinstance(data, dict):
        return []
    out = []
    for name, entry in sorted(data.items()):
        if not isinstance(entry, dict) or name not in OPENCODE_PROVIDERS:
            continue
        api, oauth = OPENCODE_PROVIDERS[name]
        if entry.get("type") == "api" and entry.get("key") and api:
            out.append(Finding(_OPENCODE_IDS.get(name, f"opencode-{name}"), api, f"file:{path}#{name}.key", str(path)))
        elif entry.get("type") == "oauth" and oauth and (entry.get("access") or entry.get("refresh")):
            key = "access" if entry.get("access") else "refresh"
            out.append(Finding(f"opencode-{name}", oauth, f"file:{path}#{name}.{key}", str(path),
                               notes=["OpenCode refreshes this token itself"]))
    return out


def antigravity_opencode(home: Path, env: Mapping[str, str]) -> list[Finding]:
    """Every Google login of the OpenCode Antigravity plug-in (``$OPENCODE_CONFIG_DIR`` or
    ``~/.config/opencode/antigravity-accounts.json``), referenced by its email, never by position."""
    root = Path(env["OPENCODE_CONFIG_DIR"]) if env.get("OPENCODE_CONFIG_DIR") else \
        Path(env.get("XDG_CONFIG_HOME") or home / ".config") / "opencode"
    path = root / "antigravity-accounts.json"
    data = _json(path)
    accounts = data.get("accounts") if isinstance(data, dict) else None
    out: list[Finding] = []
    for entry in accounts if isinstance(accounts, list) else []:
        email = entry.get("email") if isinstance(entry, dict) else None
        if not isinstance(email, str) or not email or not entry.get("refreshToken") or "]" in email:
            continue
        notes = ["disabled in the plug-in"] if entry.get("enabled") is False else []
        out.append(Finding(f"antigravity:{email}", "antigravity_quota", f"file:{path}#accounts[email={email}]",
                           str(path), notes=notes))
    return out


ANTIGRAVITY_TOKEN_FILES = (".gemini/antigravity-cli/antigravity-oauth-token", ".gemini/jetski-standalone-oauth-token")
"""Where Antigravity keeps its own Google sign-in when no keyring takes it (Observed in public tools that read it:
``{"token": {"access_token", "refresh_token", "expiry", ...}, "auth_method", "id_token"}``); the first one with a
refresh token wins. macOS keeps it in the Keychain and many Linux desktops in the Secret Service: not read."""


def antigravity_app(home: Path, env: Mapping[str, str]) -> list[Finding]:
    """Antigravity's own sign-in (the app and its ``agy`` CLI), referenced by the refresh token's JSON path."""
    from quotawarden.providers._google import jwt_email

    for rel in ANTIGRAVITY_TOKEN_FILES:
        path = home / rel
        data = _json(path)
        if not isinstance(data, dict):
            continue
        nested = data.get("token")
        token: dict[str, Any] = nested if isinstance(nested, dict) else data
        key = "token.refresh_token" if isinstance(nested, dict) else "refresh_token"
        if not isinstance(token.get("refresh_token"), str) or not token["refresh_token"]:
            continue
        email = jwt_email(data.get("id_token") or token.get("id_token"))
        return [Finding(f"antigravity:{email}" if email else "antigravity:signed-in", "antigravity_quota",
                        f"file:{path}#{key}", str(path), notes=["Antigravity's own sign-in"])]
    return []


def gemini_cli(home: Path, env: Mapping[str, str]) -> list[Finding]:
    """Gemini CLI's Google login (``~/.gemini/oauth_creds.json``); an API-key or Vertex setup has none."""
    from quotawarden.providers._google import jwt_email

    path = home / ".gemini" / "oauth_creds.json"
    data = _json(path)
    if not isinstance(data, dict) or not (data.get("refresh_token") or data.get("access_token")):
        return []
    email = jwt_email(data.get("id_token"))
    return [Finding(f"gemini-cli:{email}" if email else "gemini-cli", "gemini_cli", f"file:{path}", str(path))]


_HOSTS = [("anthropic.com", "anthropic"), ("api.openai.com", "openai"), ("openrouter.ai", "openrouter"),
          ("deepseek.com", "deepseek"), ("groq.com", "groq"), ("x.ai", "xai"), ("mistral.ai", "mistral"),
          ("moonshot", "moonshot"), ("z.ai", "zai"), ("bigmodel.cn", "zai"), ("minimax", "minimax"),
          ("generativelanguage", "gemini"), (":11434", "ollama"), (":8080", "llamacpp")]
_ENV_NAME = re.compile(r"^[A-Z][A-Z0-9_]{2,}$")


def pi_agent(home: Path, env: Mapping[str, str]) -> list[Finding]:
    path = home / ".pi" / "agent" / "models.json"
    data = _json(path)
    providers = data.get("providers") if isinstance(data, dict) else None
    if not isinstance(providers, dict):
        return []
    out = []
    for name, entry in sorted(providers.items()):
        if not isinstance(entry, dict):
            continue
        base = str(entry.get("baseUrl") or "")
        slug = next((s for host, s in _HOSTS if host in base.lower()), None) or \
            next((s for host, s in _HOSTS if host.split(".")[0] in name.lower()), None)
        if slug is None:
            continue
        key = entry.get("apiKey")
        if isinstance(key, str) and _ENV_NAME.match(key):
            cred = f"env:{key}"
        elif key:
            cred = f"file:{path}#providers.{name}.apiKey"
        else:
            cred = ""
        local = slug in ("ollama", "llamacpp")
        if cred or local:  # a base_url replaces scheme and host only where the server is not the provider's own
            split = urlsplit(base)
            out.append(Finding(f"pi-{name}", slug, cred, str(path),
                               base_url=f"{split.scheme}://{split.netloc}" if local and split.netloc else None))
    return out


CLINE_DIRS = (".config/Code/User/globalStorage/saoudrizwan.claude-dev", ".cline/data")
"""Cline's data: the VS Code extension's global storage and the Cline CLI's folder."""


def local_tools(home: Path, env: Mapping[str, str]) -> list[Finding]:
    """OpenCode, Cline and the Antigravity app installed for this user: accounts of the local-tool providers (no
    credential; they read activity, errors and, for Cline, its MCP servers from these folders). The Antigravity app
    gets one only when its local data exists; its quotas are the ``antigravity_quota`` accounts."""
    out = []
    data = Path(env.get("XDG_DATA_HOME") or home / ".local/share") / "opencode"
    if (data / "storage").is_dir() or (home / ".config/opencode").is_dir():
        out.append(Finding("opencode", "opencode", "", str(data if data.is_dir() else home / ".config/opencode"),
                           notes=["local activity and errors"]))
    cline = [home / d for d in CLINE_DIRS if (home / d).is_dir()]
    if cline:
        servers = 0
        for d in cline:
            settings = _json(d / "settings" / "cline_mcp_settings.json")
            if isinstance(settings, dict) and isinstance(settings.get("mcpServers"), dict):
                servers += len(settings["mcpServers"])
        notes = ["local activity and errors"] + ([f"{servers} MCP server(s) configured"] if servers else [])
        out.append(Finding("cline", "cline", "", str(cline[0]), notes=notes))
    app = [home / d for d in (".gemini/antigravity", ".config/Antigravity") if (home / d).is_dir()]
    if app:  # the app's local activity and errors; its quotas are the antigravity_quota accounts
        out.append(Finding("antigravity-app", "antigravity", "", str(app[0]),
                           notes=["the Antigravity app's local activity and errors (quotas: antigravity_quota)"]))
    return out


def discover(specs: Iterable[ProviderSpec], env: Mapping[str, str] | None = None,
             home: Path | None = None) -> list[Finding]:
    env = dict(os.environ) if env is None else env
    home = home or Path(env.get("HOME") or Path.home())
    specs = list(specs)
    known = {s.slug for s in specs}
    found = [*from_env(specs, env), *claude_code(home, env), *codex(home, env), *opencode(home, env),
             *antigravity_opencode(home, env), *antigravity_app(home, env), *gemini_cli(home, env),
             *pi_agent(home, env), *local_tools(home, env)]
    logins: set[str] = set()
    unique = []
    for f in found:  # one account per Google login: the plug-in's entry before the app's own sign-in
        if f.provider == "antigravity_quota":
            if f.id in logins:
                continue
            logins.add(f.id)
        unique.append(f)
    found = unique
    return [f for f in found if f.provider in known]
