"""llama.cpp ``llama-server``: ``/health``, ``/v1/models``, ``/metrics`` (Prometheus, ``llamacpp:`` prefix).

No key is needed (``auth=False``); an account is picked by the ``--api-key`` it presents, or use a
``base_url`` ending in ``/llamacpp``. ``extra["state"] = "loading"`` answers 503 ``Loading model`` everywhere;
``extra["metrics"] = False`` is a server started without ``--metrics``. Counters: window ``tokens``.
``/v1/models`` carries ``meta`` (``extra["model_size"]`` bytes, default a 7B Q4_K_M file)."""

from __future__ import annotations

from starlette.responses import Response

from quotawarden.emulator.base import EmulatedProvider, EmuRequest, Route, json_response

_TEXT = {401: ("Invalid API Key", "authentication_error"), 403: ("Forbidden", "permission_error"),
         429: ("no slot available", "unavailable_error")}


def _loading(req: EmuRequest) -> Response | None:
    if req.account is not None and req.acct.extra.get("state") == "loading":
        return json_response({"error": {"code": 503, "message": "Loading model", "type": "unavailable_error"}}, 503)
    return None


async def health(req: EmuRequest) -> Response:
    return _loading(req) or json_response({"status": "ok"})


async def models(req: EmuRequest) -> Response:
    name = req.acct.extra.get("model", "qwen2.5-coder-7b-q4_k_m.gguf") if req.account else "model.gguf"
    meta = {"vocab_type": 2, "n_vocab": 151936, "n_ctx_train": 32768, "n_embd": 3584, "n_params": 7615616512,
            "size": int(req.acct.extra.get("model_size", 4683073536)) if req.account else 4683073536}
    return _loading(req) or json_response({"object": "list", "data": [
        {"id": name, "object": "model", "created": 1787234591, "owned_by": "llamacpp", "meta": meta}]})


async def metrics(req: EmuRequest) -> Response:
    if req.account is not None and req.acct.extra.get("metrics") is False:
        return json_response({"error": {"code": 501, "message": "This server does not support metrics endpoint.",
                                        "type": "not_supported_error"}}, 501)
    if (busy := _loading(req)) is not None:
        return busy
    served = int(req.used("tokens")) if req.account else 0
    text = (f"# TYPE llamacpp:prompt_tokens_total counter\nllamacpp:prompt_tokens_total {served}\n"
            f"# TYPE llamacpp:tokens_predicted_total counter\nllamacpp:tokens_predicted_total {served // 4}\n"
            "# TYPE llamacpp:requests_processing gauge\nllamacpp:requests_processing 1\n"
            "# TYPE llamacpp:requests_deferred gauge\nllamacpp:requests_deferred 0\n")
    return Response(text.encode(), media_type="text/plain; version=0.0.4")


def error(req: EmuRequest, kind: str) -> Response:
    status = int(kind) if kind.isdigit() else 500
    text, etype = _TEXT.get(status, ("Internal Server Error", "server_error"))
    return json_response({"error": {"code": status, "message": text, "type": etype}}, status)


EMULATOR = EmulatedProvider(slug="llamacpp", error=error, routes=[
    Route("GET", "/health", health, auth=False), Route("GET", "/v1/models", models, auth=False),
    Route("GET", "/metrics", metrics, auth=False)])
