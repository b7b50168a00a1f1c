"""One ``quotawarden poll --force`` over many accounts on every emulated provider, with emulator latency.

    python bench/poll.py                      # 500 accounts, 200 ms per call
    python bench/poll.py --accounts 100 --latency-ms 50

The emulator runs in this process (a background uvicorn thread); the poll runs as a separate
``quotawarden poll --force --json`` process, so its wall time and peak RSS are the command's own.
Targets: < 10 s wall, < 200 MB peak memory.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from quotawarden.emulator import EmuAccount, Scenario, create_app, serve
from quotawarden.emulator.app import load_emulated_providers
from quotawarden.plugins import load_plugins

KNOBS: dict[str, dict[str, Any]] = {
    "anthropic": {"limits": {"requests": 1000, "tokens": 2_000_000}, "used": {"requests": 100, "tokens": 90_000}},
    "claude": {"limits": {"5h": 1, "7d": 1}, "used": {"5h": 0.4, "7d": 0.2}},
    "codex": {"limits": {"5h": 100, "7d": 100}, "used": {"5h": 30, "7d": 40}},
    "openai": {"limits": {"requests": 5000, "tokens": 2_000_000}, "used": {"requests": 10, "tokens": 5000}},
    "gemini": {"limits": {"rpm": 10, "rpd": 250}, "used": {"rpd": 20}},
}


def _settings(plugins: Any, slug: str) -> str:
    model = plugins.provider(slug).settings_model
    fields = model.model_fields if model else {}
    return "".join(f'{name} = "example"\n' for name, f in fields.items() if f.is_required())


def build(n: int, latency_ms: int, folder: Path) -> tuple[Scenario, list[str]]:
    plugins = load_plugins()
    slugs = sorted(s for s in load_emulated_providers() if s in plugins.providers and plugins.provider(s).probe)
    accounts = []
    for i in range(n):
        slug = slugs[i % len(slugs)]
        accounts.append(EmuAccount(f"{slug}-{i:04d}", slug, f"sk-bench-{slug}-{i:06d}-abcdefghijklmnopqrstuvwx",
                                   **KNOBS.get(slug, {})))
    return Scenario(accounts, latency_ms=latency_ms), slugs


def write_config(scenario: Scenario, url: str, folder: Path) -> Path:
    plugins = load_plugins()
    keys = folder / "keys"
    keys.mkdir()
    lines = [f'[database]\nurl = "sqlite:///{folder / "bench.db"}"\n']
    for a in scenario.accounts:
        (keys / a.id).write_text(a.credential)
        lines.append(f'[[accounts]]\nid = "{a.id}"\nprovider = "{a.provider}"\ncredential = "file:{keys / a.id}"\n'
                     f'base_url = "{url}"\n{_settings(plugins, a.provider)}')
    path = folder / "config.toml"
    path.write_text("\n".join(lines))
    return path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--accounts", type=int, default=500)
    ap.add_argument("--latency-ms", type=int, default=200)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        scenario, slugs = build(args.accounts, args.latency_ms, folder)
        app = create_app(scenario)
        with serve(app) as url:
            config = write_config(scenario, url, folder)
            # warm the database (migrations) outside the measured run, as a configured install would be
            subprocess.run([sys.executable, "-m", "quotawarden.interfaces.cli.main", "--config", str(config),
                            "status", "--json"], check=True, capture_output=True)
            before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
            t0 = time.perf_counter()
            proc = subprocess.run([sys.executable, "-m", "quotawarden.interfaces.cli.main", "--config", str(config),
                                   "poll", "--force", "--json"], capture_output=True, text=True)
            wall = time.perf_counter() - t0
            peak_mb = max(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, before) / 1024
            calls = len(app.state.emulator.calls)
        if proc.returncode != 0:
            sys.exit(f"poll failed ({proc.returncode}): {proc.stderr[-2000:]}")
        poll = json.loads(proc.stdout)["poll"]
    rows = [
        ("accounts", f"{poll['accounts']}"), ("providers", f"{len(slugs)}"),
        ("emulator latency per call", f"{args.latency_ms} ms"), ("HTTP calls served", f"{calls}"),
        ("probe requests / tokens", f"{poll['requests']} / {poll['tokens']}"),
        ("outcomes", ", ".join(f"{k} {v}" for k, v in sorted(poll["outcomes"].items()))),
        ("wall time (poll --force, whole command)", f"{wall:.2f} s   (target < 10 s)"),
        ("peak RSS of the poll process", f"{peak_mb:.0f} MB   (target < 200 MB)"),
    ]
    width = max(len(k) for k, _ in rows)
    print(f"{'metric':<{width}}  value\n{'-' * width}  {'-' * 40}")
    for k, v in rows:
        print(f"{k:<{width}}  {v}")


if __name__ == "__main__":
    main()
