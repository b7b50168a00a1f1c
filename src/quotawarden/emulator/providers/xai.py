"""xAI: OpenAI-compatible inference with ``x-ratelimit-*`` headers (assumed, undocumented) and the
Management API prepaid balance. Windows: ``requests``, ``tokens`` (per minute) and ``balance`` (USD):
the balance answers ``{"total":{"val": "<-cents>"}}`` (inverted ledger: negative = credit)."""

from __future__ import annotations

from starlette.responses import Response

from quotawarden.emulator.base import EmulatedProvider, EmuRequest, Route, json_response
from quotawarden.emulator.providers.openai import chat_completions, models, openai_ratelimit_headers


async def balance(req: EmuRequest) -> Response:
    left = req.remaining("balance")
    return json_response({"total": {"val": str(-round(left * 100))}})


def error(req: EmuRequest, kind: str) -> Response:
    status = int(kind) if kind.isdigit() else 500
    text = {401: "Incorrect API key provided", 403: "The API key does not have permission for this team",
            429: "Rate limit exceeded"}.get(status, "Internal error")
    return json_response({"code": "Client specified an invalid argument", "error": text}, status,
                         {"retry-after": "3"} if status == 429 else None)


def headers(req: EmuRequest) -> dict[str, str]:
    return {k: v for k, v in openai_ratelimit_headers(req).items() if k.startswith("x-ratelimit")}


EMULATOR = EmulatedProvider(
    slug="xai",
    routes=[Route("POST", "/v1/chat/completions", chat_completions), Route("GET", "/v1/models", models),
            Route("GET", "/v1/billing/teams/{team}/prepaid/balance", balance)],
    error=error, headers=headers, credential_hint=r"^xai-")
