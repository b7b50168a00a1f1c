"""Window names, the one rule for every provider, log source and view: a window's name from its length
(:func:`window_name`), a model-scoped window's name (:func:`scoped_window`) and the model it covers
(:func:`window_scope`). Plain strings, no imports: the fast paths (``summary``, ``statusline``) use it too.
``quotawarden.domain`` re-exports these names. Also the shapes of the names and values the config checks
(:data:`ACCOUNT_ID`, :data:`WEB_URL`, :data:`CRON`): ``config`` validates with them, and the ``status`` fast path
judges a config with the same patterns without importing pydantic.
"""

from __future__ import annotations

import re

ACCOUNT_ID = r"^[A-Za-z0-9_.:@/\-]+$"
"""An account id (1-200 characters of these)."""
WEB_URL = r"^https?://\S+$"
CRON = r"^(\s*\S+(\s+\S+){4}\s*)?$"
"""Five cron fields (minute hour day-of-month month day-of-week), or empty."""

_NAMED_LENGTHS = {5 * 3600: "5h", 86400: "daily", 7 * 86400: "7d"}
_MONTH_DAYS = range(28, 32)


def window_name(length_s: float) -> str:
    """A window's name from its length in seconds, the one rule for every provider and log source: 18000 -> ``5h``,
    86400 -> ``daily``, 604800 -> ``7d``, 28 to 31 days -> ``monthly``; any other length in its largest whole unit
    (60 -> ``1m``, 10800 -> ``3h``, 1209600 -> ``14d``), else in seconds."""
    s = round(length_s)
    if s in _NAMED_LENGTHS:
        return _NAMED_LENGTHS[s]
    if s % 86400 == 0 and s // 86400 in _MONTH_DAYS:
        return "monthly"
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if s >= size and s % size == 0:
            return f"{s // size}{unit}"
    return f"{s}s"


WINDOW_BASES = re.compile(r"^(?:\d+[smhd]|daily|weekly|monthly)$")
"""The names :func:`window_name` gives, and the calendar names some providers use."""


def scoped_window(base: str, scope: str) -> str:
    """The name of a window that covers one model (or feature) only: ``7d`` + ``Opus`` -> ``7d_opus``. Every
    provider names model-scoped windows this way, so every view and the planner can tell them apart."""
    return f"{base}_{scope.strip().lower().replace(' ', '_').replace('-', '_')}"


MODEL_WINDOW = re.compile(r"^(?:gemini|gemma|claude|gpt|o\d|grok|llama|qwen|deepseek|kimi|glm|mistral|codestral)-",
                          re.IGNORECASE)
"""A window named after a model id (hyphens, as providers spell models; window names use underscores): the
per-model quotas of Antigravity (``claude-sonnet-4-5``) and Gemini CLI (``gemini-2.5-pro``)."""


def window_scope(window: str) -> str | None:
    """The model (or feature) a window is scoped to, None for an account-wide window: ``7d_opus`` -> ``opus``
    (:func:`scoped_window`), ``gpt_5_codex_mini_5h`` -> ``gpt_5_codex_mini`` (a Codex additional limit), a window
    named after a model id (:data:`MODEL_WINDOW`) -> that model."""
    if MODEL_WINDOW.match(window):
        return window
    head, _, tail = window.partition("_")
    if tail and WINDOW_BASES.match(head):
        return tail
    rest, _, last = window.rpartition("_")
    if rest and WINDOW_BASES.match(last):
        return rest
    return None
