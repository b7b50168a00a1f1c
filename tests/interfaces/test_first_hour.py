"""A new user's first hour, the parts that read badly at 80 columns: ``next`` lists every option it ranked,
wrapped; ``providers`` prints every credential variable whole and an empty ``accounts discover`` says where it
looked; ``summary`` says why an account with no current window is RED and how old a stale reading is; a reset
under a minute away reads in seconds, not ``0m``; a [hub] or [otel] address that is not a URL says so in words."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

from quotawarden.analysis.durations import human_duration
from quotawarden.app.service import Service
from quotawarden.config import from_text
from quotawarden.domain import AccountState, Outcome, QuotaSample, Source, Unit
from quotawarden.errors import ConfigError
from quotawarden.interfaces.cli.app import build_app
from quotawarden.interfaces.cli.common import State
from quotawarden.interfaces.fast.summary import Line, render
from quotawarden.plugins import load_plugins
from quotawarden.store import accounts as accounts_q
from quotawarden.store import samples as samples_q

MAIN = [sys.executable, "-m", "quotawarden.interfaces.cli.main"]
IDS = ["claude-max-alice-laptop", "claude-max-bob-desktop", "codex-plus-shared", "openai-research-batch",
       "anthropic-production-key", "openai-intern-sandbox"]
CONFIG = "".join(f'[[accounts]]\nid = "{a}"\nprovider = "{a.split("-")[0]}"\n\n' for a in IDS)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_next_text_lists_every_ranked_option_within_80_columns(db_url: str, tmp_path: Path) -> None:
    plugins = load_plugins()
    svc = Service(config=from_text(CONFIG, None, plugins), plugins=plugins, store_url=db_url)
    try:
        svc.accounts()
        now = datetime.now(UTC).replace(microsecond=0)
        at = now - timedelta(seconds=20)
        rows = [QuotaSample(at, a, "5h", Unit.PERCENT, Source.PROBE, used_ratio=0.2 + 0.1 * i,
                            resets_at=now + timedelta(hours=1 + i), window_length_s=18000)
                for i, a in enumerate(IDS[:3])]
        rows += [QuotaSample(at, a, "rpm", Unit.REQUESTS, Source.PROXY, used=1, limit=500,
                             resets_at=now + timedelta(seconds=40), window_length_s=60) for a in IDS[3:]]
        samples_q.write_samples(svc.store, rows)
        accounts_q.set_states(svc.store, [AccountState(a, Outcome.OK, "", at) for a in IDS])
        state = State(None, None)
        state.service_factory = lambda: svc

        def run(*args: str) -> str:
            result = CliRunner().invoke(build_app(), list(args), obj=state, env={"COLUMNS": "80"})
            assert result.exit_code == 0, result.stdout
            return result.stdout

        data = orjson.loads(run("next", "--json"))
        text = run("next")
    finally:
        svc.close()
    assert len(data["ranked"]) == len(IDS)
    assert all(len(line) <= 80 for line in text.splitlines()), text
    flat = " ".join(text.split())
    for r in data["ranked"][1:]:
        assert f"then {r['reason']}" in flat, r["account"]  # none left out of the text that --json lists


def line(**kw: object) -> Line:
    base: dict[str, object] = {"id": "openai-old-key", "provider": "openai", "pool": "", "status": "RED",
                               "window": "", "ratio": None, "resets_in_s": None, "age_s": 30.0,
                               "reason": "INVALID: openai: HTTP 401: Incorrect API key provided."}
    return Line(**{**base, **kw})  # type: ignore[arg-type]


def test_summary_says_why_and_how_old(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)
    no_window = render([line()], [], ["openai-old-key"]).splitlines()[1]
    assert no_window == "✖ RED     openai-old-key (openai) INVALID: openai: HTTP 401: Incorrect API key provided."
    stale = line(id="openai-main", status="UNKNOWN", window="rpm", stale=True, age_s=180.0, reason="rpm: stale")
    assert render([stale], [], []).splitlines()[1] == "? UNKNOWN openai-main (openai) rpm stale, read 3m ago"
    limited = line(id="openai-intern", window="rpm", stale=True, reason="LIMITED: openai: insufficient_quota")
    assert "LIMITED: openai: insufficient_quota" in render([limited], [], [])
    fresh = line(id="claude-a", provider="claude", status="GREEN", window="5h", ratio=0.42, resets_in_s=45.0)
    assert render([fresh], ["claude-a"], []).splitlines()[1] == "● GREEN   claude-a (claude) 5h 42% resets in 45s"
    monkeypatch.setenv("COLUMNS", "80")  # at a known width the long line wraps, whole otherwise
    assert all(len(x) <= 80 for x in render([line(reason="INVALID: " + "x " * 60)], [], []).splitlines())


@pytest.mark.parametrize(("seconds", "text"), [(45, "45s"), (0.4, "0m"), (0, "0m"), (-30, "0m"), (90, "1m"),
                                               (3700, "1h01m")])
def test_a_countdown_under_a_minute_reads_in_seconds(seconds: float, text: str) -> None:
    assert human_duration(seconds) == text


@pytest.mark.parametrize("section", ['[hub]\nurl = "hub:7878"', '[otel]\nendpoint = "collector:4318"'])
def test_an_address_that_is_not_a_url_says_so(section: str) -> None:
    with pytest.raises(ConfigError) as err:
        from_text("\n" + section + "\n", Path("qw.toml"), load_plugins())
    assert err.value.file == "qw.toml" and err.value.line == 3
    assert err.value.field in ("hub.url", "otel.endpoint")
    assert err.value.detail.startswith("not an http:// or https:// address: '")
    assert "pattern" not in str(err.value)


def _fresh_home(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("QUOTAWARDEN_", "XDG_", "COLUMNS"))
           and not k.endswith(("_API_KEY", "_TOKEN", "_KEY", "_COOKIE"))}
    return {**env, "HOME": str(tmp_path), "COLUMNS": "80", "XDG_CONFIG_HOME": str(tmp_path / ".config"),
            "XDG_DATA_HOME": str(tmp_path / ".local/share")}


def test_providers_and_an_empty_discover_read_at_80_columns(tmp_path: Path) -> None:
    env = _fresh_home(tmp_path)
    listed = subprocess.run([*MAIN, "providers"], capture_output=True, text=True, env=env, timeout=60)
    assert listed.returncode == 0, listed.stderr
    assert "…" not in listed.stdout and all(len(x) <= 80 for x in listed.stdout.splitlines())
    specs = json.loads(subprocess.run([*MAIN, "providers", "--json"], capture_output=True, text=True, env=env,
                                      timeout=60).stdout)["providers"]
    for spec in specs:  # the variable a user copies is printed whole
        for var in spec["credential_env"]:
            assert var in listed.stdout, var
    empty = subprocess.run([*MAIN, "accounts", "discover"], capture_output=True, text=True, env=env, timeout=60)
    assert empty.returncode == 0, empty.stderr
    said = " ".join(empty.stdout.split())
    assert said.startswith("No accounts found. Looked at provider keys in the environment")
    assert "~/.claude" in said and "~/.codex" in said and "quotawarden accounts add" in said


def test_a_fresh_home_counts_one_account_and_shows_no_empty_job_table(tmp_path: Path) -> None:
    env = _fresh_home(tmp_path)

    def run(*args: str) -> str:
        proc = subprocess.run([*MAIN, *args], capture_output=True, text=True, env=env, timeout=60)
        assert proc.returncode == 0, proc.stderr
        return proc.stdout

    run("config", "init")
    run("accounts", "add", "work", "--provider", "anthropic", "--credential", "env:ANTHROPIC_API_KEY")
    assert run("config", "check").rstrip().endswith(": 1 account")
    assert run("jobs").strip() == "No job has run yet: start the daemon with `quotawarden serve`."


def test_serve_says_where_the_dashboard_is_and_which_token_the_api_takes(tmp_path: Path) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([*MAIN, "serve", "--port", str(port)], env=_fresh_home(tmp_path),
                            stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    try:
        assert proc.stderr is not None
        first = proc.stderr.readline()
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    token_file = tmp_path / ".local/share/quotawarden/admin-token"
    assert first.strip() == (f"dashboard http://127.0.0.1:{port}/; the API (/v1, /mcp) takes Authorization: "
                             f"Bearer with the token in {token_file}")
    assert not token_file.exists() or token_file.read_text().strip() not in first  # the source, never the token
