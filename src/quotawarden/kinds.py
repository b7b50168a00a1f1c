"""The built-in providers' kinds (``ProviderSpec.kind``: ``subscription``, ``api``, ``balance``, ``local``, ``admin``,
``tool``), for the fast paths that cannot load the plug-ins. A plain dict and no imports: ``status`` reads it on
every run. ``analysis.planner`` re-exports it.
"""

from __future__ import annotations

from collections.abc import Mapping

BUILTIN_KINDS: Mapping[str, str] = {
    "alibaba": "subscription", "anthropic": "api", "anthropic_admin": "admin", "antigravity": "tool",
    "antigravity_quota": "subscription", "claude": "subscription", "cline": "tool", "cline_account": "balance",
    "codex": "subscription", "copilot": "subscription", "copilot_billing": "admin", "deepseek": "balance",
    "gemini": "api", "gemini_cli": "subscription", "groq": "api", "kimi": "subscription", "llamacpp": "local",
    "minimax": "subscription", "mistral": "api", "moonshot": "balance", "ollama": "local", "openai": "api",
    "openai_admin": "admin", "opencode": "tool", "opencode_zen": "balance", "openrouter": "balance", "xai": "api",
    "zai": "subscription",
}
"""The built-in providers' ``ProviderSpec.kind``, for the fast paths that cannot load the plug-ins (a test keeps it
equal to the registry). Everything else reads the kind from the spec itself."""
