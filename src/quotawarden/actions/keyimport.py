"""Find existing credentials to import into the vault: provider environment variables and agent credential files.

Each candidate names where it came from (``env:ANTHROPIC_API_KEY``, ``~/.claude/.credentials.json``) and never
leaves this module except into the vault. File shapes: Claude Code and Codex per the provider reference; the
OpenCode ``auth.json`` and Gemini CLI ``oauth_creds.json`` shapes are taken from those tools' sources (guessed
where a field is absent: a file that does not match is skipped, never an error).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson


@dataclass(frozen=True, slots=True)
class Candidate:
    name: str
    provider: str
    secret: str
    kind: str
    source: str
    plan: str | None = None

    def __repr__(self) -> str:  # never show the secret, even in a traceback
        return f"Candidate({self.name!r}, {self.provider!r}, {self.kind!r}, {self.source!r})"


def from_env(specs: Iterable[Any], env: Mapping[str, str] | None = None) -> list[Candidate]:
    env = os.environ if env is None else env
    out = []
    for spec in specs:
        for var in getattr(spec, "credential_env", ()) or ():
            value = env.get(var, "").strip()
            if value:
                out.append(Candidate(f"{spec.slug}-env", spec.slug, value, "api_key", f"env:{var}"))
                break
    return out


def _json(path: Path) -> Any:
    try:
        return orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return None


def from_files(home: Path | None = None) -> list[Candidate]:
    home = home or Path.home()
    out: list[Candidate] = []
    claude_dir = Path(os.environ.get("CLAUDE_CONFIG_DIR") or home / ".claude")
    claude = _json(claude_dir / ".credentials.json")
    if isinstance(claude, dict) and isinstance(oauth := claude.get("claudeAiOauth"), dict) \
            and oauth.get("accessToken"):
        out.append(Candidate("claude-oauth", "claude", str(oauth["accessToken"]), "oauth",
                             str(claude_dir / ".credentials.json"), oauth.get("subscriptionType")))
    codex_home = Path(os.environ.get("CODEX_HOME") or home / ".codex")
    codex = _json(codex_home / "auth.json")
    if isinstance(codex, dict):
        if codex.get("OPENAI_API_KEY"):
            out.append(Candidate("openai-codex", "openai", str(codex["OPENAI_API_KEY"]), "api_key",
                                 str(codex_home / "auth.json")))
        tokens = codex.get("tokens")
        if isinstance(tokens, dict) and tokens.get("access_token"):
            out.append(Candidate("codex-oauth", "codex", str(tokens["access_token"]), "oauth",
                                 str(codex_home / "auth.json")))
    opencode = _json(home / ".local/share/opencode/auth.json")
    if isinstance(opencode, dict):
        for provider, entry in sorted(opencode.items()):
            if not isinstance(entry, dict):
                continue
            secret = entry.get("key") if entry.get("type") == "api" else entry.get("access")
            if secret:
                kind = "api_key" if entry.get("type") == "api" else "oauth"
                out.append(Candidate(f"{provider}-opencode", str(provider), str(secret), kind,
                                     str(home / ".local/share/opencode/auth.json")))
    gemini = _json(home / ".gemini/oauth_creds.json")
    if isinstance(gemini, dict) and gemini.get("access_token"):
        out.append(Candidate("gemini-oauth", "gemini", str(gemini["access_token"]), "oauth",
                             str(home / ".gemini/oauth_creds.json")))
    return out
