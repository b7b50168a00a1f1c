"""Mistral. Windows: ``tokens`` (per minute), ``requests`` (per minute) and ``month`` (tokens per month).

Answers carry what the real service sends (a curl capture in mistralai/client-ts#169):
``x-ratelimit-{limit,remaining}-tokens-minute``, ``x-ratelimit-{limit,remaining}-req-minute``,
``x-ratelimit-{limit,remaining}-tokens-month`` and ``x-ratelimit-tokens-query-cost`` (the call's total tokens),
with no reset header (the query cost is not played). ``extra["legacy"]`` sends the older
``ratelimitbysize-*`` family instead.
"""

from __future__ import annotations

from starlette.responses import Response

from quotawarden.emulator.base import EmulatedProvider, EmuRequest, Route, json_response
from quotawarden.emulator.providers.openai import chat_completions, models


def error(req: EmuRequest, kind: str) -> Response:
    status = int(kind) if kind.isdigit() else 500
    text = {401: "Unauthorized", 403: "Forbidden", 429: "Requests rate limit exceeded"}.get(status, "Internal error")
    return json_response({"object": "error", "message": text, "type": "invalid_request_error", "param": None,
                          "code": None}, status, {"retry-after": "40"} if status == 429 else None)


def _legacy(req: EmuRequest) -> dict[str, str]:
    out: dict[str, str] = {}
    if "tokens" in req.acct.limits:
        limit, left = int(req.acct.limits["tokens"]), int(req.remaining("tokens"))
        out.update({"ratelimitbysize-limit": str(limit), "ratelimitbysize-remaining": str(left),
                    "ratelimitbysize-reset": "40", "x-ratelimitbysize-limit-minute": str(limit),
                    "x-ratelimitbysize-remaining-minute": str(left)})
    if "month" in req.acct.limits:
        out["x-ratelimitbysize-limit-month"] = str(int(req.acct.limits["month"]))
        out["x-ratelimitbysize-remaining-month"] = str(int(req.remaining("month")))
    return out


def headers(req: EmuRequest) -> dict[str, str]:
    if req.acct.extra.get("legacy"):
        return _legacy(req)
    out: dict[str, str] = {}
    for window, name in (("tokens", "tokens-minute"), ("requests", "req-minute"),
                         ("month", "tokens-month")):
        if window in req.acct.limits:
            out[f"x-ratelimit-limit-{name}"] = str(int(req.acct.limits[window]))
            out[f"x-ratelimit-remaining-{name}"] = str(max(0, int(req.remaining(window))))
    return out


EMULATOR = EmulatedProvider(
    slug="mistral",
    routes=[Route("POST", "/v1/chat/completions", chat_completions), Route("GET", "/v1/models", models)],
    error=error, headers=headers)
