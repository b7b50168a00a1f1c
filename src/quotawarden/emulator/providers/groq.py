"""Groq (OpenAI-compatible under ``/openai/v1``). Windows: ``requests`` (per day, RPD) and ``tokens`` (TPM);
every response carries ``x-ratelimit-*`` with Go-style resets, a 429 adds ``retry-after``."""

from __future__ import annotations

from starlette.responses import Response

from quotawarden.emulator.base import EmulatedProvider, EmuRequest, Route, json_response, openai_error
from quotawarden.emulator.providers.openai import chat_completions, models, openai_ratelimit_headers


def error(req: EmuRequest, kind: str) -> Response:
    if kind == "429":
        msg = ("Rate limit reached for model `llama-3.1-8b-instant` in organization `org_emu` service tier "
               "`on_demand` on tokens per minute (TPM): Limit 18000, Used 17912, Requested 410.")
        return json_response({"error": {"message": msg, "type": "tokens", "code": "rate_limit_exceeded"}}, 429,
                             {"retry-after": "2"})
    return openai_error(kind)


def headers(req: EmuRequest) -> dict[str, str]:
    return {k: v for k, v in openai_ratelimit_headers(req).items() if k.startswith("x-ratelimit")}


EMULATOR = EmulatedProvider(
    slug="groq",
    routes=[Route("POST", "/openai/v1/chat/completions", chat_completions),
            Route("GET", "/openai/v1/models", models)],
    error=error, headers=headers, credential_hint=r"^gsk_")
