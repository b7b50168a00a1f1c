"""OpenCode Zen: ``GET /v1/credits`` (the monitors' guessed shape) and ``GET /zen/v1/models``.

Window ``credits`` (``limits["credits"]`` total, used as it grows). ``extra["credits"] = "not_found"`` answers the
credits call like the keys the monitors report: ``200 text/html "Not Found"``; ``"404"`` with a 404."""

from __future__ import annotations

from starlette.responses import Response

from quotawarden.emulator.base import EmulatedProvider, EmuRequest, Route, json_response

MODELS = ["big-pickle", "claude-sonnet-4-5", "gpt-5-nano", "kimi-k2.5", "qwen3-coder"]


async def credits(req: EmuRequest) -> Response:
    mode = req.acct.extra.get("credits")
    if mode == "not_found":
        return Response(b"Not Found", status_code=200, media_type="text/html")
    if mode == "404":
        return Response(b"Not Found", status_code=404, media_type="text/plain")
    total = req.acct.limits.get("credits", 0.0)
    used = req.used("credits")
    return json_response({"data": {"total_credits": total, "used_credits": round(used, 4),
                                   "remaining_credits": round(total - used, 4)}})


async def models(req: EmuRequest) -> Response:
    return json_response({"object": "list", "data": [{"id": m, "object": "model", "owned_by": "opencode"}
                                                     for m in MODELS]})


def error(req: EmuRequest, kind: str) -> Response:
    status = int(kind) if kind.isdigit() else 500
    text = {401: "Invalid API key.", 403: "Forbidden", 429: "Rate limit exceeded"}.get(status, "Server error")
    etype = {401: "AuthError", 403: "AuthError", 429: "RateLimitError"}.get(status, "ServerError")
    return json_response({"type": "error", "error": {"type": etype, "message": text}}, status,
                         {"retry-after": "7"} if status == 429 else None)


EMULATOR = EmulatedProvider(slug="opencode_zen", error=error, routes=[
    Route("GET", "/v1/credits", credits), Route("GET", "/zen/v1/models", models)])
