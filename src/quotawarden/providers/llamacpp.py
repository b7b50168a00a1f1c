"""llama.cpp ``llama-server``: unlimited, but it can be down or still loading (Confirmed, server README).

``GET /health`` -> 200 ``{"status":"ok"}``; while loading every endpoint answers 503
``{"error":{"code":503,"message":"Loading model",...}}`` (older builds: ``{"status": "loading model"}``).
Then ``GET /v1/models`` (loaded model) and, when the
server runs with ``--metrics``, ``GET /metrics`` (Prometheus text, ``llamacpp:`` prefix): throughput, tokens
served and requests processing/deferred. A healthy server gives one ``health`` sample with ratio 0 (nothing
to run out of); loading is an ``ERROR`` outcome with that reason, so it never looks like a quota.

Memory (details ``memory``): ``/v1/models`` entries carry ``meta.size`` (the model file's bytes) and
``meta.n_params`` (Confirmed, server README; ``meta`` is null while loading). The server states no process
memory, so ``in_use_bytes`` is the loaded weights (``model_bytes``), a lower bound (``basis`` says so: KV cache
and compute buffers are not included). ``kind = "local"``: the ``health`` window is never quota capacity.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict

from quotawarden.domain import Outcome, Unit
from quotawarden.plugins import hookimpl
from quotawarden.providers._quota import SampleSet, check_status, error_text, json_object
from quotawarden.spec import HttpRequest, HttpResponse, ProbeContext, ProbeReading, ProviderSpec

BASE = "http://127.0.0.1:8080"
_KEEP = ("prompt_tokens_total", "tokens_predicted_total", "prompt_tokens_seconds", "predicted_tokens_seconds",
         "requests_processing", "requests_deferred", "n_decode_total", "kv_cache_usage_ratio")


class LlamaCppSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    metrics: bool = True
    """Read ``/metrics`` (only served with ``--metrics``; a 404/501 is ignored)."""
    model: str | None = None
    """Router (multi-model) mode: the model whose metrics to read."""


def parse_metrics(text: str) -> dict[str, float]:
    """``llamacpp:<name> <value>`` lines of Prometheus text; comments and unknown lines are skipped."""
    out: dict[str, float] = {}
    for line in text.splitlines():
        if not line.startswith("llamacpp:"):
            continue
        name, _, value = line[len("llamacpp:"):].partition(" ")
        name = name.split("{", 1)[0]
        try:
            out[name] = float(value.split()[0])
        except (ValueError, IndexError):
            continue
    return out


def memory_of(models: list[dict[str, Any]]) -> dict[str, Any] | None:
    """Loaded weights from ``meta.size``/``meta.n_params`` of the ``/v1/models`` entries; None without ``meta``."""
    sizes, params = [], []
    for m in models:
        meta = m.get("meta")
        if not isinstance(meta, dict):
            continue
        size, n = meta.get("size"), meta.get("n_params")
        if isinstance(size, int | float) and not isinstance(size, bool) and size > 0:
            sizes.append(int(size))
        if isinstance(n, int | float) and not isinstance(n, bool) and n > 0:
            params.append(int(n))
    if not sizes:
        return None
    out: dict[str, Any] = {"in_use_bytes": sum(sizes), "model_bytes": max(sizes), "loaded_models": len(sizes),
                           "basis": "model weights (llama-server reports no process memory; KV cache not included)"}
    if params:
        out["n_params"] = max(params)
    return out


def _status_text(body: bytes) -> str:
    """Older builds answer a loading 503 with ``{"status": "loading model"}`` (ggml-org/llama.cpp#4860)."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return ""
    return str(data.get("status") or "")[:80] if isinstance(data, dict) else ""


def _headers(secret: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"} if secret else {}


def probe(ctx: ProbeContext) -> Generator[HttpRequest, HttpResponse, ProbeReading]:
    settings = ctx.settings if isinstance(ctx.settings, LlamaCppSettings) else LlamaCppSettings()
    auth = _headers(ctx.secret)
    resp = yield HttpRequest("GET", ctx.url(BASE, "/health"), headers=auth)
    if resp.status == 503:
        why = error_text(resp.body) or _status_text(resp.body) or "unavailable"
        return ProbeReading(outcome=Outcome.ERROR, reason=f"llamacpp: {why} (503)",
                            details={"state": "loading" if "load" in why.lower() else "unavailable"})
    check_status(resp, "llamacpp", ctx.now)
    status = str(json_object(resp, "llamacpp").get("status", ""))
    details: dict[str, Any] = {"state": status or "ok"}
    resp = yield HttpRequest("GET", ctx.url(BASE, "/v1/models"), headers=auth)
    if resp.status == 200:
        data = json_object(resp, "llamacpp /v1/models").get("data")
        if isinstance(data, list):
            details["models"] = [str(m.get("id")) for m in data if isinstance(m, dict)]
            if (memory := memory_of([m for m in data if isinstance(m, dict)])) is not None:
                details["memory"] = memory
    if settings.metrics:
        params = {"model": settings.model} if settings.model else {}
        resp = yield HttpRequest("GET", ctx.url(BASE, "/metrics"), headers=auth, params=params)
        if resp.status == 200:
            metrics = parse_metrics(resp.body.decode("utf-8", "replace"))
            details["metrics"] = {k: metrics[k] for k in _KEEP if k in metrics}
    out = SampleSet.of(ctx)
    out.add("health", Unit.REQUESTS, used_ratio=0.0, status=details["state"])
    return out.reading(**details)


SPEC = ProviderSpec(
    slug="llamacpp", display_name="llama.cpp server", default_base_url=BASE, needs_credential=False,
    credential_env=("LLAMA_API_KEY",), settings_model=LlamaCppSettings, probe=probe, kind="local",
    probe_cost="3 local GETs (/health, /v1/models, /metrics); no tokens",
    docs="Up, loading or down; loaded model; tokens served and throughput from /metrics.")


@hookimpl
def register_providers(register: Callable[[ProviderSpec], None]) -> None:
    register(SPEC)
