"""Google Gemini API (``x-goog-api-key`` or ``?key=``): models, generateContent, streamGenerateContent, countTokens.

Windows (``EmuAccount.limits``): ``rpm`` (per minute) and ``rpd`` (per day, reset at midnight Pacific). A
request over either gets the exact 429 ``RESOURCE_EXHAUSTED`` body with ``QuotaFailure`` violations and
``RetryInfo`` (a delay of seconds, also for a per-day violation, as the real one). No rate-limit headers (Gemini
sends none). A bad key is a 400 ``API_KEY_INVALID``.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from typing import Any

import orjson
from starlette.responses import Response, StreamingResponse

from quotawarden.emulator.base import EmulatedProvider, EmuRequest, Route, json_response

_ids = itertools.count(1)
QUOTA = {"rpm": "GenerateRequestsPerMinutePerProjectPerModel-FreeTier",
         "rpd": "GenerateRequestsPerDayPerProjectPerModel-FreeTier"}
STATUS = {"400": (400, "INVALID_ARGUMENT"), "401": (400, "INVALID_ARGUMENT"), "403": (403, "PERMISSION_DENIED"),
          "429": (429, "RESOURCE_EXHAUSTED"), "500": (500, "INTERNAL"), "503": (503, "UNAVAILABLE")}


def google_error(kind: str, message: str = "", details: list[dict[str, Any]] | None = None) -> Response:
    code, status = STATUS.get(kind, (500, "INTERNAL"))
    if kind in ("401", "400") and not message:
        message = "API key not valid. Please pass a valid API key."
        details = [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID",
                    "domain": "googleapis.com", "metadata": {"service": "generativelanguage.googleapis.com"}}]
    body: dict[str, Any] = {"code": code, "message": message or status.replace("_", " ").capitalize(),
                            "status": status}
    if details:
        body["details"] = details
    return json_response({"error": body}, code)


def _exhausted(req: EmuRequest, model: str) -> Response:
    window = "rpd" if req.remaining("rpd") < 1 and "rpd" in req.acct.limits else "rpm"
    # the real service gives a delay of seconds even for a per-day violation (googleapis/python-genai#2044:
    # the per-day quota named with retryDelay "47s"); the day's quota is back only at midnight Pacific
    delay = 60 - req.now.second + 0.5
    limit = int(req.acct.limits[window])
    message = ("You exceeded your current quota, please check your plan and billing details. \n* Quota exceeded "
               f"for metric: generativelanguage.googleapis.com/generate_content_free_tier_requests, limit: {limit}, "
               f"model: {model}\nPlease retry in {delay:.3f}s.")
    return google_error("429", message, [
        {"@type": "type.googleapis.com/google.rpc.QuotaFailure", "violations": [{
            "quotaMetric": "generativelanguage.googleapis.com/generate_content_free_tier_requests",
            "quotaId": QUOTA[window], "quotaDimensions": {"location": "global", "model": model},
            "quotaValue": str(limit)}]},
        {"@type": "type.googleapis.com/google.rpc.Help", "links": [
            {"description": "Learn more about Gemini API quotas",
             "url": "https://ai.google.dev/gemini-api/docs/rate-limits"}]},
        {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": f"{int(delay)}s"},
    ])


def _answer(req: EmuRequest, body: dict[str, Any], model: str) -> tuple[dict[str, Any], Response | None]:
    for w in ("rpm", "rpd"):
        if w in req.acct.limits and req.remaining(w) < 1:
            return {}, _exhausted(req, model)
    req.state.consume(req.acct.id, {"rpm": 1, "rpd": 1}, req.now)
    prompt = max(1, len(orjson.dumps(body.get("contents"))) // 4)
    max_out = int((body.get("generationConfig") or {}).get("maxOutputTokens") or 5)
    words = ["Hello", " from", " the", " emulator", "."][:max(1, min(max_out, 5))]
    usage = {"promptTokenCount": prompt, "candidatesTokenCount": len(words), "totalTokenCount": prompt + len(words),
             "promptTokensDetails": [{"modality": "TEXT", "tokenCount": prompt}]}
    return {"candidates": [{"content": {"parts": [{"text": "".join(words)}], "role": "model"},
                            "finishReason": "STOP" if len(words) == 5 else "MAX_TOKENS", "index": 0}],
            "usageMetadata": usage, "modelVersion": model, "responseId": f"emu{next(_ids):020d}"}, None


async def generate(req: EmuRequest) -> Response:
    body = req.json()
    if not isinstance(body, dict) or not isinstance(body.get("contents"), list):
        return google_error("400", "Invalid JSON payload received.")
    answer, refusal = _answer(req, body, req.params["model"])
    return refusal or json_response(answer)


async def stream(req: EmuRequest) -> Response:
    body = req.json()
    if not isinstance(body, dict) or not isinstance(body.get("contents"), list):
        return google_error("400", "Invalid JSON payload received.")
    answer, refusal = _answer(req, body, req.params["model"])
    if refusal:
        return refusal

    async def events() -> AsyncIterator[bytes]:
        usage = answer["usageMetadata"]
        first = dict(answer, candidates=[{"content": {"parts": [{"text": "Hello"}], "role": "model"}, "index": 0}],
                     usageMetadata={k: usage[k] for k in ("promptTokenCount", "promptTokensDetails")}
                     | {"totalTokenCount": usage["promptTokenCount"]})
        yield b"data: " + orjson.dumps(first) + b"\r\n\r\n"
        yield b"data: " + orjson.dumps(answer) + b"\r\n\r\n"

    return StreamingResponse(events(), media_type="text/event-stream")


async def count_tokens(req: EmuRequest) -> Response:
    body = req.json() or {}
    return json_response({"totalTokens": max(1, len(orjson.dumps(body.get("contents"))) // 4)})


async def models(req: EmuRequest) -> Response:
    names = ["gemini-2.5-flash", "gemini-2.5-pro", "gemini-2.0-flash"]
    return json_response({"models": [{
        "name": f"models/{n}", "version": "001", "displayName": n.replace("-", " ").title(),
        "inputTokenLimit": 1048576, "outputTokenLimit": 65536,
        "supportedGenerationMethods": ["generateContent", "countTokens"]} for n in names]})


def error(req: EmuRequest, kind: str) -> Response:
    return google_error(kind)


EMULATOR = EmulatedProvider(
    slug="gemini",
    routes=[  # the stable v1 and the v1beta surface answer alike (the SDK picks either)
        route for version in ("v1beta", "v1") for route in (
            Route("GET", f"/{version}/models", models),
            Route("POST", f"/{version}/models/{{model}}:generateContent", generate),
            Route("POST", f"/{version}/models/{{model}}:streamGenerateContent", stream),
            Route("POST", f"/{version}/models/{{model}}:countTokens", count_tokens))
    ],
    error=error,
    credential_hint=r"^AIza",
)
