"""Ollama: ``GET /api/ps`` (Confirmed, docs/api.md) -> the loaded models (``{"models":[]}`` when idle), each
with ``size``/``size_vram`` bytes (``size_vram < size`` means partly offloaded to CPU), ``expires_at``
(RFC 3339 with a local offset) and, in newer builds, ``context_length``. No quota: a reachable server gives
one ``health`` sample (``ok`` or ``idle``) with ratio 0; an unreachable one is the runner's UNREACHABLE.

Memory (details ``memory``): ``in_use_bytes`` is the sum of the loaded models' ``size`` (what Ollama holds in RAM
and VRAM for each, weights and context), ``vram_bytes`` the sum of their ``size_vram`` and ``model_bytes`` the
largest loaded model. The provider is ``kind = "local"``: its ``health`` window is a liveness reading, never quota
capacity for the planner.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import Any

from quotawarden.domain import Unit
from quotawarden.plugins import hookimpl
from quotawarden.providers._quota import SampleSet, arr, check_status, json_object, num, obj, parse_time
from quotawarden.spec import HttpRequest, HttpResponse, ProbeContext, ProbeReading, ProviderSpec

BASE = "http://127.0.0.1:11434"


def parse_ps(body: dict[str, Any]) -> list[dict[str, Any]]:
    models = []
    for i, raw in enumerate(arr(body.get("models"), "models")):
        m = obj(raw, f"models[{i}]")
        size = num(m.get("size", 0), f"models[{i}].size")
        vram = num(m.get("size_vram", 0), f"models[{i}].size_vram")
        item: dict[str, Any] = {"name": str(m.get("name") or m.get("model")), "size_bytes": int(size),
                                "vram_bytes": int(vram), "cpu_offload": vram < size}
        if m.get("expires_at"):
            item["expires_at"] = parse_time(m["expires_at"], f"models[{i}].expires_at").isoformat()
        if m.get("context_length") is not None:
            item["context_length"] = int(num(m["context_length"], f"models[{i}].context_length"))
        details = m.get("details")
        if isinstance(details, dict):
            item.update({k: details[k] for k in ("parameter_size", "quantization_level") if k in details})
        models.append(item)
    return models


def probe(ctx: ProbeContext) -> Generator[HttpRequest, HttpResponse, ProbeReading]:
    headers = {"Authorization": f"Bearer {ctx.secret}"} if ctx.secret else {}
    resp = yield HttpRequest("GET", ctx.url(BASE, "/api/ps"), headers=headers)
    check_status(resp, "ollama", ctx.now)
    models = parse_ps(json_object(resp, "ollama"))
    out = SampleSet.of(ctx)
    out.add("health", Unit.REQUESTS, used_ratio=0.0, status="ok" if models else "idle")
    return out.reading(models=models, memory=memory_of(models))


def memory_of(models: list[dict[str, Any]]) -> dict[str, Any]:
    """Memory the loaded models hold (bytes): in use (RAM + VRAM), in VRAM, and the largest model's size."""
    return {"in_use_bytes": sum(m["size_bytes"] for m in models), "vram_bytes": sum(m["vram_bytes"] for m in models),
            "model_bytes": max((m["size_bytes"] for m in models), default=0), "loaded_models": len(models)}


SPEC = ProviderSpec(
    slug="ollama", display_name="Ollama", default_base_url=BASE, needs_credential=False, probe=probe,
    kind="local", probe_cost="1 local GET /api/ps; no tokens",
    docs="Up or down; loaded models, VRAM vs CPU offload, when each unloads.")


@hookimpl
def register_providers(register: Callable[[ProviderSpec], None]) -> None:
    register(SPEC)
