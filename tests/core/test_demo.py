"""`demo --once --json`: the whole job on the embedded default, as a user runs it (a real process)."""

from __future__ import annotations

import subprocess
import sys

import orjson


def test_demo_once_json_covers_a_dozen_accounts_over_several_providers() -> None:
    proc = subprocess.run([sys.executable, "-m", "quotawarden.interfaces.cli.main", "demo", "--once", "--json"],
                          capture_output=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr.decode()
    report = orjson.loads(proc.stdout)
    accounts = report["accounts"]
    assert len(accounts) >= 12
    assert len({a["provider"] for a in accounts}) >= 3
    with_windows = [a for a in accounts if a["windows"]]
    assert len(with_windows) >= 12 - 2, [a["id"] for a in accounts if not a["windows"]]
    assert sum(report["overall"].values()) == len(accounts)
    for a in with_windows:
        for w in a["windows"]:
            assert (w["source"] == "probe" or w["provider_status"] == "counted") and w["observed_at"]
    text = proc.stdout.decode() + proc.stderr.decode()
    assert "demo0" not in text, "a demo key leaked into the output"
