"""``status --json`` through the fast path (``interfaces.fast.status``) says what the full CLI says, byte for byte;
whatever the fast path cannot take exactly (PostgreSQL, an option or a config section it does not know) goes to the
full CLI."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest

from quotawarden.analysis import status_report
from quotawarden.app.service import Service
from quotawarden.clock import FixedClock
from quotawarden.config import Settings, from_text
from quotawarden.domain import PageStatus
from quotawarden.interfaces.cli.main import FAST_PATHS
from quotawarden.interfaces.cli.status_fast import FULL_ENV
from quotawarden.interfaces.fast import status as fast
from quotawarden.kinds import BUILTIN_KINDS
from quotawarden.plugins import load_plugins
from quotawarden.providers.gemini import GeminiSettings
from quotawarden.spec import QUOTA_FREE_KINDS
from quotawarden.store import Store
from quotawarden.store import provider_status as status_q
from quotawarden.store.quick import StatusReader
from tests.conftest import NOW
from tests.interfaces.seed import seed

CONFIG = """
[[accounts]]
id = "work-claude"
provider = "claude"
plan = "max5x"
pool = "claude-max"
label = "Work"

[[accounts]]
id = "gemini-free"
provider = "gemini"
credential = "env:GEMINI_API_KEY"
rpm_limit = 10
rpd_limit = 250
probe = "generate"

[thresholds]
used_red = 0.75
hard_caps = {"claude/5h" = 0.7}

[schedule]
status_interval = "10m"
"""


def test_registered_and_in_step_with_the_models() -> None:
    assert FAST_PATHS["status"] == "quotawarden.interfaces.cli.status_fast:fast"
    assert set(fast.SETTINGS_FIELDS) == set(Settings.model_fields)
    assert dict(fast.PROVIDER_SETTINGS["gemini"]) == GeminiSettings().model_dump()
    assert status_report.LOCAL_KINDS == QUOTA_FREE_KINDS


def test_the_fast_paths_value_kinds_are_the_models() -> None:
    """The thresholds and schedule fields the fast path judges by kind (a ratio, a count, a positive duration),
    and the account keys it knows, are the models' own: a field added or retyped there must be seen here."""
    from pydantic import create_model

    from quotawarden import config

    def fields(model: type, kind: Any) -> set[str]:
        shape = create_model("Probe", x=(kind, 0)).model_fields["x"].metadata  # the kind's constraints, as pydantic
        return {n for n, f in model.model_fields.items()  # type: ignore[attr-defined]  # keeps them on a field
                if f.annotation is float and repr(f.metadata) == repr(shape)}

    assert set(config.AccountConfig.model_fields) == fast.ACCOUNT_KEYS
    assert fields(config.Thresholds, config.Ratio) == fast.RATIOS
    assert fields(config.Thresholds, config.Count) == fast.COUNTS
    assert fields(config.ScheduleSettings, config.PositiveDuration) == fast.POSITIVE_DURATIONS


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[tuple[Store, str]]:
    from quotawarden.store import open_store

    url = f"sqlite:///{tmp_path / 'qw.db'}"
    store = open_store(url)
    try:
        yield store, url
    finally:
        store.close()


CASES = {
    "everything": fast.Options(json=True),
    "all": fast.Options(json=True, all=True),
    "some accounts": fast.Options(json=True, accounts=("home-claude", "gemini-free", "nope")),
    "no such account": fast.Options(json=True, accounts=("nope",)),
}


@pytest.mark.parametrize("config", ["", CONFIG], ids=["no config", "config"])
@pytest.mark.parametrize("extras", [False, True], ids=["seeded", "incident"])
@pytest.mark.parametrize("case", list(CASES))
def test_same_report_at_the_same_instant(sqlite_store: tuple[Store, str], tmp_path: Path, config: str,
                                         extras: bool, case: str, monkeypatch: pytest.MonkeyPatch) -> None:
    store, url = sqlite_store
    seed(store, NOW)
    if extras:  # a status page incident and a fresh quiet one
        status_q.save(store, [PageStatus("claude", "major_outage", "Elevated errors", NOW - timedelta(minutes=3)),
                              PageStatus("openai", "operational", "", NOW - timedelta(minutes=1))])
    cfg_file = tmp_path / "config.toml"
    cfg_file.write_text(config)
    monkeypatch.setenv("QUOTAWARDEN_CONFIG", str(cfg_file))
    plugins = load_plugins()
    svc = Service(config=from_text(config, cfg_file, plugins), plugins=plugins, clock=FixedClock(NOW),
                  store_url=url)
    opts = CASES[case]
    try:
        full = svc.status_report(list(opts.accounts) or None, include_all=opts.all)
    finally:
        svc.close()
    cfg = fast.read_config(BUILTIN_KINDS)
    assert cfg is not None
    reader = StatusReader.open(url)
    assert reader is not None
    try:
        quick = fast._report(reader, cfg, opts, NOW, BUILTIN_KINDS)
    finally:
        reader.close()
    assert orjson.dumps(quick, option=orjson.OPT_INDENT_2) == orjson.dumps(full, option=orjson.OPT_INDENT_2)


@pytest.mark.parametrize("text", [
    "[alerts]\nchannels = []\n",  # a section the fast path leaves to validation
    '[[accounts]]\nid = "x"\nprovider = "claude"\ncredential = "sk-literal"\n',  # the full path warns
    '[[accounts]]\nid = "x"\nprovider = "gemini"\nrpm_limit = "10"\n',  # validation would convert it
    '[[accounts]]\nid = "x"\nprovider = "no-such-provider"\n',
    "[thresholds]\nused_red = 80\n",  # refused with a hint
])
def test_configs_left_to_the_full_path(tmp_path: Path, text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text(text)
    monkeypatch.setenv("QUOTAWARDEN_CONFIG", str(cfg))
    assert fast.read_config(BUILTIN_KINDS) is None


def test_environment_overrides_are_left_to_the_full_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QUOTAWARDEN_THRESHOLDS__USED_RED", "0.7")
    assert fast.read_config(BUILTIN_KINDS) is None


@pytest.mark.parametrize("args", [["--server", "http://127.0.0.1:9"], ["--help"], ["--jsonx"], ["-a"], []])
def test_options_it_does_not_take(args: list[str]) -> None:
    assert fast.parse(args) is None or not fast.parse(args).json  # type: ignore[union-attr]


def _run(args: list[str], db_url: str, full: bool, config: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != FULL_ENV}
    env.update({"QUOTAWARDEN_DB_URL": db_url, "COLUMNS": "160"})
    if config is not None:
        env["QUOTAWARDEN_CONFIG"] = str(config)
    if full:
        env[FULL_ENV] = "1"
    return subprocess.run([sys.executable, "-m", "quotawarden.interfaces.cli.main", "status", *args], env=env,
                          capture_output=True, text=True, timeout=120)


def _masked(out: str) -> str:
    """Digits that move between two runs a moment apart (ages, generated_at) masked."""
    return re.sub(r"\d+(\.\d+)?", "N", out)


@pytest.mark.parametrize("args", [["--json"], ["--json", "--check"], ["--json", "--all", "-a", "home-claude"],
                                  ["--json", "--account", "nope"]])
def test_both_routes_as_processes(seeded_live: Store, db_url: str, tmp_path: Path, args: list[str]) -> None:
    """Both backends: on PostgreSQL the fast path hands over to the full CLI, which answers the same (the table is
    compared byte for byte on readings old enough to read the same twice: ``test_the_table_is_the_full_paths``)."""
    cfg = tmp_path / "config.toml"
    cfg.write_text(CONFIG)
    quick, full = _run(args, db_url, False, cfg), _run(args, db_url, True, cfg)
    assert (quick.returncode, _masked(quick.stdout)) == (full.returncode, _masked(full.stdout)), quick.stderr
    assert quick.returncode in (0, 10, 11), quick.stderr
    if "--json" in args:
        assert orjson.loads(quick.stdout)["generated_at"][:10] == datetime.now(UTC).isoformat()[:10]


# -- the table: the fast path prints the same bytes as the full CLI ------------------------------------------------

TEXT_CONFIG = "".join(f'[[accounts]]\nid = "{a}"\nprovider = "{p}"\n\n' for a, p in [
    ("work-claude", "claude"), ("home-claude", "claude"), ("openai-api", "openai"), ("openrouter", "openrouter"),
    ("deepseek", "deepseek")]) + """
[thresholds]
hard_caps = {"claude/5h" = 0.7}

[status_pages]
claude = "https://status.claude.com/api/v2/summary.json"
"""
"""The seeded accounts (a counted window such as a Gemini key's would count seconds to its reset: never the same
in two runs)."""
LONG_REASON = ("openai: rate limited (429) on tokens per minute; the organisation limit is shared by every project "
               "key, retry in 7s")


@pytest.fixture
def text_world(store: Store, db_url: str, tmp_path: Path) -> tuple[str, Path]:
    """Readings ten minutes old (every age and countdown reads in whole minutes, so two runs a moment apart agree),
    an INVALID and a LIMITED account, a stale minute window, model-scoped caps, a status-page incident and three
    usage records waiting in the proxy's spill folder."""
    from quotawarden.domain import AccountState, Outcome, QuotaSample, Source, Unit, scoped_window
    from quotawarden.sources import proxy_spill
    from quotawarden.store import accounts as accounts_q
    from quotawarden.store import samples as samples_q

    now = datetime.now(UTC).replace(microsecond=0)
    at = now - timedelta(minutes=10)
    seed(store, at)
    samples_q.write_samples(store, [
        QuotaSample(at, "work-claude", scoped_window("7d", "Opus"), Unit.PERCENT, Source.PROBE, used_ratio=1.0,
                    resets_at=now + timedelta(days=3), window_length_s=604800),
        QuotaSample(at, "work-claude", scoped_window("7d", "Sonnet"), Unit.PERCENT, Source.PROBE, used_ratio=0.6,
                    resets_at=now + timedelta(days=3), window_length_s=604800)])
    accounts_q.set_states(store, [AccountState("openrouter", Outcome.INVALID, "openrouter: key refused (401)", at),
                                  AccountState("openai-api", Outcome.LIMITED, LONG_REASON, at)])
    status_q.save(store, [PageStatus("claude", "major_outage", "Elevated errors on Opus", at)])
    folder = proxy_spill.spill_folder(None, db_url)
    folder.mkdir(parents=True)
    (folder / "spill.jsonl").write_bytes(b'{"k":"u","n":1}\n{"k":"u","n":2}\n{"k":"o"}\n{"k":"u","n":3}\n')
    cfg = tmp_path / "config.toml"
    cfg.write_text(TEXT_CONFIG)
    return db_url, cfg


def _text_run(args: list[str], db_url: str, full: bool, config: Path, columns: int,
              python: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in (FULL_ENV, "FORCE_COLOR", "TTY_COMPATIBLE")}
    env.update({"QUOTAWARDEN_DB_URL": db_url, "COLUMNS": str(columns), "QUOTAWARDEN_CONFIG": str(config)})
    if full:
        env[FULL_ENV] = "1"
    return subprocess.run([sys.executable, *python, "-m", "quotawarden.interfaces.cli.main", "status", *args],
                          env=env, capture_output=True, text=True, timeout=120)


def _both(args: list[str], db_url: str, config: Path, columns: int) -> subprocess.CompletedProcess[str]:
    """Both paths, compared byte for byte (once more if a minute turned between the two runs)."""
    for _ in range(3):
        quick, full = _text_run(args, db_url, False, config, columns), _text_run(args, db_url, True, config, columns)
        if quick.stdout == full.stdout:
            break
    assert (quick.returncode, quick.stdout) == (full.returncode, full.stdout), quick.stderr + full.stderr
    assert quick.stderr == "", quick.stderr
    return quick


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("columns", [80, 120, 200])
@pytest.mark.parametrize("args", [[], ["--wide"], ["--check"], ["--all", "--check"], ["-a", "openai-api"]],
                         ids=["table", "wide", "check", "all", "one account"])
def test_the_table_is_the_full_paths(text_world: tuple[str, Path], columns: int, args: list[str]) -> None:
    db_url, cfg = text_world
    out = _both(args, db_url, cfg, columns)
    text = out.stdout
    assert out.returncode == (11 if "--check" in args else 0)
    if "--wide" not in args:
        assert all(len(line) <= columns for line in text.splitlines()), text
    flat = " ".join(text.split())
    assert "quota status" in text and "Overall: " in text
    assert "3 proxy usage record(s) are not in the store yet" in flat
    assert "claude status page: Elevated errors on Opus" in flat
    assert LONG_REASON in flat, text  # whole, on its row or under the table
    if "-a" not in args:
        assert "7d_opus" in text and "7d_sonnet" in text and "INVALID" in flat, text
    assert "\x1b[" not in text  # a pipe: no colour


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_the_table_comes_from_the_fast_path(text_world: tuple[str, Path]) -> None:
    db_url, cfg = text_world
    quick = _text_run([], db_url, False, cfg, 120, ("-X", "importtime"))
    assert quick.returncode == 0 and "quota status" in quick.stdout
    assert not re.search(r"\| +(typer|rich|sqlalchemy)$", quick.stderr, re.M)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("args", [[], ["-a", "nope"], ["--check"], ["--wide"]])
def test_no_accounts_yet(store: Store, db_url: str, tmp_path: Path, args: list[str]) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text("")
    out = _both(args, db_url, cfg, 80)
    assert out.returncode == 0
    if "-a" in args:  # a filter that matches nothing: an empty table
        assert out.stdout.startswith("quota status\n") and "Overall: 0 RED" in out.stdout
    else:
        assert " ".join(out.stdout.split()).startswith("No accounts yet. Add some with")
        assert all(len(line) <= 80 for line in out.stdout.splitlines()) or "--wide" in args


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_check_says_yellow_with_10(store: Store, db_url: str, tmp_path: Path) -> None:
    from quotawarden.domain import Account, QuotaSample, Source, Unit
    from quotawarden.store import accounts as accounts_q
    from quotawarden.store import samples as samples_q

    now = datetime.now(UTC).replace(microsecond=0)
    accounts_q.upsert_accounts(store, [Account("solo", "claude")])
    samples_q.write_samples(store, [QuotaSample(now - timedelta(minutes=5), "solo", "5h", Unit.PERCENT, Source.PROBE,
                                                used_ratio=0.7, resets_at=now + timedelta(hours=2),
                                                window_length_s=18000)])
    cfg = tmp_path / "config.toml"
    cfg.write_text("")
    assert _both(["--check"], db_url, cfg, 100).returncode == 10
    assert _both([], db_url, cfg, 100).returncode == 0


# -- any config the full path validated: its note (interfaces.fast.stamp) ---------------------------------------------

def _proc(args: list[str], env: dict[str, str], full: bool = False) -> subprocess.CompletedProcess[str]:
    """``status`` in a fresh interpreter that says on stderr which modules it imported (every installed plug-in
    loads, as for a user who never heard of ``QUOTAWARDEN_LOAD_PLUGINS``)."""
    run_env = {k: v for k, v in os.environ.items() if k not in (FULL_ENV, "QUOTAWARDEN_LOAD_PLUGINS")} | env
    if full:
        run_env[FULL_ENV] = "1"
    return subprocess.run([sys.executable, "-X", "importtime", "-m", "quotawarden.interfaces.cli.main", "status",
                           *args], env=run_env, capture_output=True, text=True, timeout=120)


def _fast(proc: subprocess.CompletedProcess[str]) -> bool:
    return re.search(r"\| +typer$", proc.stderr, re.M) is None


def _out(proc: subprocess.CompletedProcess[str]) -> str:
    return "".join(line + "\n" for line in proc.stderr.splitlines() if not line.startswith("import time:"))


WIDER = TEXT_CONFIG + """
[alerts]
channels = []

[planner]
capacity = {claude = "included"}

[proxy]
spill_dir = "{spill}"
"""


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_config_the_full_path_validated_takes_the_fast_path(text_world: tuple[str, Path], tmp_path: Path) -> None:
    from quotawarden.interfaces.fast import stamp

    db_url, _ = text_world
    spill = tmp_path / "spill"
    spill.mkdir()
    (spill / "spill.jsonl").write_bytes(b'{"k":"u","n":1}\n' * 5)
    cfg = tmp_path / "wider.toml"
    cfg.write_text(WIDER.replace("{spill}", str(spill)))
    env = {"QUOTAWARDEN_DB_URL": db_url, "QUOTAWARDEN_CONFIG": str(cfg), "COLUMNS": "120"}
    first = _proc([], env)
    assert not _fast(first) and first.returncode == 0, first.stderr  # never seen: the full path judges it
    assert os.stat(stamp.path()).st_mode & 0o777 == 0o600
    assert "env:" not in Path(stamp.path()).read_text()  # no credential reference, let alone a secret
    for args in ([], ["--json"], ["--check"], ["--wide"]):
        for _ in range(3):
            quick, full = _proc(args, env), _proc(args, env, full=True)
            same = (lambda t: _masked(t)) if "--json" in args else (lambda t: t)  # generated_at: to the second
            if same(quick.stdout) == same(full.stdout):
                break
        assert _fast(quick) and not _fast(full), args
        assert (quick.returncode, same(quick.stdout)) == (full.returncode, same(full.stdout)), args
        assert _out(quick) == _out(full) == ""
    assert "5 proxy usage record(s) are not in the store yet: they wait in " + str(spill) in \
        " ".join(quick.stdout.split())  # [proxy] spill_dir, as validated

    cfg.write_text(cfg.read_text() + "\n# edited\n")  # another file: the full path judges it again
    assert not _fast(_proc([], env))
    assert _fast(_proc([], env))
    assert not _fast(_proc([], env | {"QUOTAWARDEN_ALERTS__COOLDOWN": "5m"}))  # an override: another key
    assert not _fast(_proc([], env))  # and back


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_no_note_for_a_config_that_warns_or_fails(store: Store, db_url: str, tmp_path: Path) -> None:
    from quotawarden.interfaces.fast import stamp

    cfg = tmp_path / "config.toml"
    cfg.write_text('[[accounts]]\nid = "x"\nprovider = "claude"\ncredential = "sk-ant-literal-000"\n[alerts]\n')
    env = {"QUOTAWARDEN_DB_URL": db_url, "QUOTAWARDEN_CONFIG": str(cfg)}
    for _ in range(2):
        proc = _proc([], env)
        assert not _fast(proc) and "a literal credential is in the config file" in _out(proc)
        assert "sk-ant-literal-000" not in proc.stdout + proc.stderr
    assert not os.path.exists(stamp.path())
    cfg.write_text('[[accounts]]\nid = "x"\nprovider = "no-such-provider"\n[alerts]\n')
    proc = _proc([], env)
    assert proc.returncode != 0 and not _fast(proc) and not os.path.exists(stamp.path())


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_third_party_provider_until_it_is_uninstalled(store: Store, db_url: str, tmp_path: Path) -> None:
    import shutil

    from tests.plugins.kit import install_dist

    site = tmp_path / "site"
    info = install_dist(site, "qw-relay", "[quotawarden.providers]\nrelay = tests.plugins.relay_plugin\n")
    cfg = tmp_path / "config.toml"
    cfg.write_text('[[accounts]]\nid = "relay-1"\nprovider = "relay"\n\n[[accounts]]\nid = "c"\nprovider = "claude"\n')
    env = {"QUOTAWARDEN_DB_URL": db_url, "QUOTAWARDEN_CONFIG": str(cfg), "COLUMNS": "100",
           "PYTHONPATH": os.pathsep.join([str(site), *filter(None, [os.environ.get("PYTHONPATH")])])}
    assert not _fast(_proc([], env))
    quick, full = _proc(["--json"], env), _proc(["--json"], env, full=True)
    assert _fast(quick)
    assert _masked(quick.stdout) == _masked(full.stdout) and "relay-1" in quick.stdout
    shutil.rmtree(info)  # uninstalled: the full path says the provider is unknown
    gone = _proc([], env)
    assert not _fast(gone) and gone.returncode != 0 and "relay" in _out(gone)
