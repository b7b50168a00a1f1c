"""llama.cpp and Ollama: memory in use and the loaded model's size in their readings (real captures, and the
emulated twins over loopback), and a ``local`` kind the planner reads so they never count as quota capacity."""

from __future__ import annotations

import asyncio

from quotawarden.clock import FixedClock
from quotawarden.domain import Account, Outcome
from quotawarden.emulator.app import create_app
from quotawarden.emulator.scenario import EmuAccount, Scenario
from quotawarden.emulator.server import serve
from quotawarden.sources.probe_runner import ProbeJob, ProbeRunner
from tests.providers.more_kit import NOW, context, fixture, run, spec


def test_llamacpp_model_size_from_the_readme_models_answer() -> None:
    r = run("llamacpp", context("llamacpp", {"metrics": False}, secret=None),
            [fixture("llamacpp/llamacpp_health_ok.json"), fixture("llamacpp/llamacpp_models_meta.json")])
    mem = r.details["memory"]
    assert (mem["model_bytes"], mem["in_use_bytes"], mem["n_params"]) == (4912898304, 4912898304, 8030261312)
    assert "KV cache not included" in mem["basis"]


def test_llamacpp_without_meta_states_no_memory() -> None:
    from quotawarden.spec import Headers, HttpResponse

    models = HttpResponse(200, Headers({"content-type": "application/json"}),
                          b'{"object":"list","data":[{"id":"m.gguf","meta":null}]}')
    r = run("llamacpp", context("llamacpp", {"metrics": False}, secret=None),
            [fixture("llamacpp/llamacpp_health_ok.json"), models])
    assert "memory" not in r.details and r.details["models"] == ["m.gguf"]


def test_ollama_memory_from_a_real_ps_answer() -> None:
    r = run("ollama", context("ollama", secret=None), [fixture("ollama/ollama_ps_gemma3_2025_08.json")])
    assert r.details["memory"] == {"in_use_bytes": 5964735424, "vram_bytes": 5964735424,
                                   "model_bytes": 5964735424, "loaded_models": 1}
    idle = run("ollama", context("ollama", secret=None), [fixture("ollama/ollama_ps_empty.json")])
    assert idle.details["memory"] == {"in_use_bytes": 0, "vram_bytes": 0, "model_bytes": 0, "loaded_models": 0}


def test_emulated_local_servers_report_memory_over_loopback() -> None:
    accounts = [EmuAccount("box", "llamacpp", "llama-emu-key-0001", extra={"model_size": 9 * 2**30}),
                EmuAccount("gpu", "ollama", "ollama-emu-key-0001",
                           extra={"models": ["qwen2.5-coder:14b", "llama3.2:3b"]})]
    runner = ProbeRunner(FixedClock(NOW), tries=1, backoff=0.01, timeout=5)
    with serve(create_app(Scenario(accounts=accounts, start=NOW), FixedClock(NOW))) as url:
        llama = asyncio.run(runner.run(ProbeJob(spec("llamacpp"), Account("box", "llamacpp", base_url=url),
                                                "llama-emu-key-0001", spec("llamacpp").settings_model())))  # type: ignore[misc]
        ollama = asyncio.run(runner.run(ProbeJob(spec("ollama"), Account("gpu", "ollama", base_url=url),
                                                 "ollama-emu-key-0001", None)))
    assert llama.outcome is Outcome.OK and llama.details["memory"]["model_bytes"] == 9 * 2**30
    assert ollama.outcome is Outcome.OK
    mem = ollama.details["memory"]
    assert (mem["in_use_bytes"], mem["vram_bytes"], mem["loaded_models"]) == (2 * 11421741056,
                                                                              11421741056 + 4 * 2**30, 2)
    assert "emu-key" not in str(llama.as_json()) + str(ollama.as_json())


def test_local_servers_are_marked_local_not_capacity() -> None:
    assert spec("llamacpp").kind == spec("ollama").kind == "local"


def test_status_and_audit_show_memory_of_local_servers(tmp_path, db_url, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Polled through the service on each database: ``status --json`` carries each local server's details and the
    audit lists ``memory_usage``; the local ``health`` window is no quota."""
    from quotawarden.app.service import build_service

    accounts = [EmuAccount("box", "llamacpp", "llama-emu-key-0002", extra={"model_size": 5 * 2**30}),
                EmuAccount("gpu", "ollama", "ollama-emu-key-0002", extra={"models": ["qwen2.5-coder:14b"]})]
    with serve(create_app(Scenario(accounts=accounts, start=NOW))) as url:
        cfg = tmp_path / "config.toml"
        cfg.write_text(f"""
[[accounts]]
id = "box"
provider = "llamacpp"
credential = "env:QW_TEST_LLAMA_KEY"
base_url = "{url}"

[[accounts]]
id = "gpu"
provider = "ollama"
credential = "env:QW_TEST_OLLAMA_KEY"
base_url = "{url}"
""", encoding="utf-8")
        monkeypatch.setenv("QW_TEST_LLAMA_KEY", "llama-emu-key-0002")
        monkeypatch.setenv("QW_TEST_OLLAMA_KEY", "ollama-emu-key-0002")
        svc = build_service(cfg, store_url=db_url)
        results = svc.poll()
    assert {r.account_id: r.outcome for r in results} == {"box": Outcome.OK, "gpu": Outcome.OK}
    report = svc.status_report()
    got = {a["id"]: a for a in report["accounts"]}
    assert got["box"]["details"]["memory"]["model_bytes"] == 5 * 2**30
    assert got["gpu"]["details"]["memory"]["in_use_bytes"] == 11421741056
    assert got["gpu"]["details"]["models"][0]["name"] == "qwen2.5-coder:14b"
    assert "cost" not in got["box"]["details"]
    usage = {d["account"]: d["memory_usage"] for d in svc.audit_report()["account_details"] if "memory_usage" in d}
    assert usage["box"]["in_use_bytes"] == 5 * 2**30 and usage["gpu"]["vram_bytes"] == 11421741056
    assert "llama-emu-key" not in str(report) + str(usage)
    svc.close()
