"""Agents' own OpenTelemetry events -> usage events; their token and cost counters -> totals to cross-check.

Pure code over plain attribute maps (a record's attributes merged over its resource's): the OTLP decoding lives in
``quotawarden.sources.otlp``, the writing in ``quotawarden.app.otlp``. Names, as documented by each agent:

* Claude Code: event ``claude_code.api_request`` (``event.name = "api_request"``) with ``model``,
  ``input_tokens``, ``output_tokens``, ``cache_read_tokens``, ``cache_creation_tokens``, ``cost_usd``,
  ``duration_ms`` and the standard ``session.id``, ``user.email``, ``user.account_uuid``, ``organization.id``;
  counters ``claude_code.token.usage`` (``type`` = input, output, cacheRead, cacheCreation) and
  ``claude_code.cost.usage`` (USD), both per ``model`` and ``session.id``.
* Codex: event ``codex.sse_event`` with ``event.kind = "response.completed"`` and ``input_token_count`` (cached
  included), ``output_token_count`` (reasoning included), ``cached_token_count``, ``reasoning_token_count``,
  ``tool_token_count``, with ``conversation.id``, ``model``, ``user.email``, ``user.account_id``. Codex formats
  these counts as text, so numbers arrive as strings. It exports no token counter.
* Gemini CLI: event ``gemini_cli.api_response`` with ``model``, ``input_token_count`` (Gemini's
  ``promptTokenCount``: cached included), ``output_token_count``, ``cached_content_token_count``,
  ``thoughts_token_count``, ``tool_token_count``, ``prompt_id``, ``session.id``, ``user.email``,
  ``installation.id``; counter ``gemini_cli.token.usage`` (``type`` = input, output, thought, cache, tool).

Token fields mean what they mean in the local logs (``logsources.claude_code``, ``codex``, ``gemini_cli``): input
without the cached part, output with reasoning, so one call counts the same whichever way it arrived.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from quotawarden.domain import Source, UsageEvent
from quotawarden.logsources.base import MalformedRecord, as_int

USAGE_EVENTS = {
    "api_request": "claude_code", "claude_code.api_request": "claude_code",
    "codex.sse_event": "codex",
    "gemini_cli.api_response": "gemini_cli", "api_response": "gemini_cli",
}
"""Event names that carry one billed call, and the agent each belongs to."""
TOKEN_METRICS = {"claude_code.token.usage": "claude_code", "gemini_cli.token.usage": "gemini_cli"}
COST_METRICS = {"claude_code.cost.usage": "claude_code"}
KNOWN_METRIC_PREFIXES = ("claude_code.", "gemini_cli.", "codex.", "gen_ai.")
"""Metrics of these agents that carry no usage (sessions, lines of code, tool calls) are known, not counted as
unknown."""
MATCH_WINDOW_S = 600.0
"""How far apart in time the OTLP and the local-log copy of one call may be stamped."""
_TYPE = {
    "claude_code": {"input": "input", "output": "output", "cacheRead": "cache_read", "cacheCreation": "cache_write"},
    "gemini_cli": {"input": "input", "output": "output", "thought": "reasoning", "cache": "cache_read",
                   "tool": "tool"},
}


def _str(a: Mapping[str, Any], *keys: str) -> str | None:
    for k in keys:
        v = a.get(k)
        if v not in (None, ""):
            return str(v)
    return None


def _ts(a: Mapping[str, Any], fallback: float) -> datetime:
    stamp = a.get("event.timestamp")
    if isinstance(stamp, str):
        try:
            t = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
            return t if t.tzinfo is not None else t.replace(tzinfo=UTC)
        except ValueError:
            pass
    if fallback <= 0:
        raise MalformedRecord("no event.timestamp and no record time")
    try:
        return datetime.fromtimestamp(fallback, UTC)
    except (OverflowError, OSError, ValueError):
        raise MalformedRecord(f"record time {fallback!r} is not a time") from None


def _money(v: Any) -> Decimal | None:
    if v is None or isinstance(v, bool):
        return None
    try:
        d = Decimal(str(v))
    except InvalidOperation:
        raise MalformedRecord(f"cost {v!r} is not a number") from None
    if not d.is_finite() or d < 0:
        raise MalformedRecord(f"cost {v!r} is not an amount")
    return d


def agent_of(event_name: str, attrs: Mapping[str, Any]) -> str | None:
    """The agent whose billed-call event this is, or None (another event, or a Codex event without usage)."""
    agent = USAGE_EVENTS.get(event_name)
    if agent == "codex" and (attrs.get("event.kind") != "response.completed" or "input_token_count" not in attrs):
        return None
    if agent == "gemini_cli" and event_name == "api_response" and "input_token_count" not in attrs:
        return None
    return agent


def usage_event(event_name: str, attrs: Mapping[str, Any], record_ts: float,
                host: str | None = None) -> UsageEvent | None:
    """One record -> a usage event (``source = otel``), or None when it is not a billed call.

    ``attrs`` are the record's attributes over its resource's; ``host`` (the pushing seat) wins over the
    resource's ``host.name``. Raises :class:`MalformedRecord` for a billed-call event that cannot be read."""
    agent = agent_of(event_name, attrs)
    if agent is None:
        return None
    model = _str(attrs, "model", "gen_ai.response.model", "gen_ai.request.model")
    if model is None:
        raise MalformedRecord(f"{event_name} without a model")
    ts = _ts(attrs, record_ts)
    g = attrs.get
    cost: Decimal | None = None
    reasoning = 0
    if agent == "claude_code":
        provider, session = "anthropic", _str(attrs, "session.id")
        inp, out = as_int(g("input_tokens")), as_int(g("output_tokens"))
        cr, cw = as_int(g("cache_read_tokens")), as_int(g("cache_creation_tokens"))
        cost = _money(g("cost_usd"))
        consumer = _str(attrs, "user.email", "user.account_uuid", "user.account_id", "user.id")
        call = _str(attrs, "request_id")
    elif agent == "codex":
        provider, session = "openai", _str(attrs, "conversation.id", "session.id")
        total_in, cr = as_int(g("input_token_count")), as_int(g("cached_token_count"))
        inp, out, cw = max(0, total_in - cr), as_int(g("output_token_count")), 0
        reasoning = as_int(g("reasoning_token_count"))
        consumer = _str(attrs, "user.email", "user.account_id")
        call = _str(attrs, "response.id")
    else:
        provider, session = "google", _str(attrs, "session.id")
        total_in, cr = as_int(g("input_token_count")), as_int(g("cached_content_token_count"))
        thoughts, tool = as_int(g("thoughts_token_count")), as_int(g("tool_token_count"))
        inp, out, cw, reasoning = max(0, total_in - cr) + tool, as_int(g("output_token_count")) + thoughts, 0, thoughts
        consumer = _str(attrs, "user.email", "installation.id")
        call = _str(attrs, "prompt_id")
    seq = _str(attrs, "event.sequence")
    # the same record sent again (an exporter's retry) gets the same key; two calls never share one
    key = (f"otel:{agent}:{session or '-'}:{call or '-'}:{seq or '-'}:{ts.timestamp():.3f}:{model}:"
           f"{inp}:{out}:{cr}:{cw}")
    return UsageEvent(
        ts=ts, provider=provider, model=model, source=Source.OTEL, dedup_key=key[:300], consumer=consumer or agent,
        project=_str(attrs, "project", "service.namespace"), session=session,
        host=host or _str(attrs, "host.name"), input_tokens=inp, output_tokens=out, cache_write_tokens=cw,
        cache_read_tokens=cr, reasoning_tokens=reasoning, cost_recorded=cost, request_id=call,
    )


@dataclass(frozen=True, slots=True)
class MetricDelta:
    """What one token or cost data point adds to a (agent, session, model, kind) total."""

    agent: str
    session: str
    model: str
    kind: str
    """input, output, cache_read, cache_write, reasoning, tool or cost"""
    value: float


def metric_kind(name: str, attrs: Mapping[str, Any]) -> tuple[str, str] | None:
    """(agent, kind) of a token/cost counter's data point, or None for any other metric."""
    if name in COST_METRICS:
        return COST_METRICS[name], "cost"
    agent = TOKEN_METRICS.get(name)
    if agent is None:
        return None
    kind = _TYPE[agent].get(str(attrs.get("type") or attrs.get("gen_ai.token.type") or ""))
    return (agent, kind) if kind else None


def is_known_metric(name: str) -> bool:
    return name.startswith(KNOWN_METRIC_PREFIXES)


def comparable(agent: str, sums: Mapping[str, float]) -> dict[str, float]:
    """Stored events' sums (``input``, ``output``, ``cache_read``, ``cache_write``, ``reasoning``, ``cost``) in the
    kinds of the agent's own counters, to compare with them."""
    if agent == "gemini_cli":  # its "output" leaves thoughts out; its "input" leaves out the tool tokens we add
        return {"output": sums["output"] - sums["reasoning"], "cache_read": sums["cache_read"],
                "reasoning": sums["reasoning"]}
    return {k: sums[k] for k in ("input", "output", "cache_read", "cache_write", "cost")}
