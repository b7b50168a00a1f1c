"""Ollama ``/api/ps``: the loaded models (``extra["models"]``: list of names; empty = idle). No key needed;
an account is picked by a bearer token (an authenticating proxy) or a ``base_url`` ending in ``/ollama``.
Errors are Ollama's ``{"error": "<text>"}``."""

from __future__ import annotations

from datetime import timedelta

from starlette.responses import Response

from quotawarden.emulator.base import EmulatedProvider, EmuRequest, Route, json_response


async def ps(req: EmuRequest) -> Response:
    names = req.acct.extra.get("models", ["qwen2.5-coder:14b"]) if req.account else []
    expires = (req.now + timedelta(minutes=5)).isoformat()
    return json_response({"models": [
        {"name": n, "model": n, "size": 11421741056, "digest": "3028237cc8c5" + "0" * 52,
         "details": {"parent_model": "", "format": "gguf", "family": "qwen2", "families": ["qwen2"],
                     "parameter_size": "14.8B", "quantization_level": "Q4_K_M"},
         "expires_at": expires, "size_vram": 11421741056 if i == 0 else 4 * 2**30, "context_length": 32768}
        for i, n in enumerate(names)]})


def error(req: EmuRequest, kind: str) -> Response:
    status = int(kind) if kind.isdigit() else 500
    text = {401: "unauthorized", 403: "forbidden", 429: "server busy, please try again"}.get(status, "internal error")
    return json_response({"error": text}, status)


EMULATOR = EmulatedProvider(slug="ollama", error=error, routes=[Route("GET", "/api/ps", ps, auth=False)])
