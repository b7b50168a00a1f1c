"""``quotawarden summary``: the wake-prompt block, from the store alone, through the fast path and the full CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from quotawarden.interfaces.cli.main import FAST_PATHS
from quotawarden.interfaces.fast import summary
from quotawarden.store import Store
from quotawarden.store.quick import load
from tests.conftest import NOW


def test_lines_status_and_recommendation(seeded: Store, db_url: str) -> None:
    lines, use, avoid = summary.build(load(None, db_url), NOW.timestamp())
    by_id = {ln.id: ln for ln in lines}
    assert by_id["home-claude"].status == "RED"
    assert by_id["home-claude"].window == "7d"
    # the rule of `status`: work-claude's 7d window runs out before its reset, openrouter's credits within 7 days
    assert by_id["work-claude"].status == "YELLOW"
    assert by_id["work-claude"].reason == "7d: reaches its 90% cap in 3d15h; exhausted in 4d06h"
    assert by_id["openrouter"].status == "RED"
    assert by_id["deepseek"].status == "UNKNOWN"  # a balance without a limit has no ratio
    # the planner's pick (`quotawarden next`): included capacity before the pay-as-you-go key
    assert use == ["work-claude"]
    assert avoid == ["home-claude", "openrouter"]
    text = summary.render(lines, use, avoid)
    first, *rest = text.splitlines()
    assert first == "quota: 2 RED, 1 YELLOW, 1 GREEN, 1 UNKNOWN"
    assert rest[-1] == f"use {', '.join(use)}; avoid {', '.join(avoid)}"
    assert any("home-claude (claude) 7d 87% resets in 2d00h" in ln for ln in rest)


def test_format_template_for_a_status_line(seeded: Store, db_url: str) -> None:
    lines, use, avoid = summary.build(load(None, db_url), NOW.timestamp())
    out = summary.render(lines, use, avoid, "{icon}{id}:{worst_pct}", " | ")
    assert "\n" not in out
    assert "✖home-claude:87%" in out.split(" | ")


def test_unknown_template_field_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match=r"unknown field \{nope\}.*fields: id"):
        summary.render([], [], [], "{nope}")


def _cli(*args: str, env_db: str | None = None) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "quotawarden.interfaces.cli.main", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60)


def test_fast_path_is_registered() -> None:
    assert FAST_PATHS["summary"] == "quotawarden.interfaces.cli.summary:fast"


def test_cli_json_and_both_routes(seeded_live: Store, db_url: str) -> None:
    fast = _cli("summary", "--db", db_url, "--json")
    assert fast.returncode == 0, fast.stderr
    data = json.loads(fast.stdout)
    assert {a["id"] for a in data["accounts"]} >= {"home-claude", "work-claude"}
    assert not any(a["stale"] for a in data["accounts"])  # seeded at the wall clock the subprocess runs on
    full = _cli("--db", db_url, "summary", "--json")  # root options first: the typer route
    assert full.returncode == 0, full.stderr
    other = json.loads(full.stdout)
    assert other["avoid"] == data["avoid"]
    assert [a["status"] for a in other["accounts"]] == [a["status"] for a in data["accounts"]]


def test_missing_config_and_bad_template_exit_non_zero(tmp_path: Path) -> None:
    missing = _cli("summary", "--config", str(tmp_path / "nope.toml"))
    assert missing.returncode == 2 and "config file not found" in missing.stderr
    bad = _cli("summary", "--db", f"sqlite:///{tmp_path / 'empty.db'}", "--format", "{x}")
    assert bad.returncode == 2 and "unknown field {x}" in bad.stderr


def test_empty_store_says_so(tmp_path: Path) -> None:
    out = _cli("summary", "--db", f"sqlite:///{tmp_path / 'none.db'}")
    assert out.returncode == 0
    assert out.stdout.strip() == "quota: no accounts configured"


def test_help_goes_through_typer() -> None:
    out = _cli("summary", "--help")
    assert out.returncode == 0 and "--format" in out.stdout and "wake" not in out.stderr


def test_the_use_avoid_line_fits_a_known_width_and_stays_whole_otherwise(monkeypatch: pytest.MonkeyPatch) -> None:
    lines = [summary.Line(f"account-{i:02d}", "claude", "", "RED", "5h", 0.9, 600.0, 5.0, "") for i in range(12)]
    avoid = [ln.id for ln in lines]
    monkeypatch.delenv("COLUMNS", raising=False)
    whole = summary.render(lines, [], avoid).splitlines()[-1]  # no terminal, no COLUMNS: one line for a hook
    assert whole.startswith("use -; avoid account-00") and whole.endswith("account-11")
    monkeypatch.setenv("COLUMNS", "60")
    text = summary.render(lines, [], avoid)
    assert max(len(line) for line in text.splitlines()) <= 60 and text.count("\n") > len(lines) + 1
    assert all(f"account-{i:02d}" in text for i in range(12))  # ids are never split


def test_no_options_are_the_parsers_defaults() -> None:
    """``summary`` alone (a prompt hook's call) skips argparse: it must mean what the parser says for no options."""
    from quotawarden.interfaces.cli import summary as cli_summary

    assert vars(cli_summary.parser().parse_args([])) == cli_summary.DEFAULTS


@pytest.mark.parametrize("columns", [None, "60", "0", "-3", "wide", ""])
def test_width_is_shutils_rule(monkeypatch: pytest.MonkeyPatch, columns: str | None) -> None:
    """The wrap width is ``shutil.get_terminal_size(fallback=(0, 0)).columns``, read without importing shutil."""
    import shutil

    if columns is None:
        monkeypatch.delenv("COLUMNS", raising=False)
    else:
        monkeypatch.setenv("COLUMNS", columns)
    assert summary._width() == shutil.get_terminal_size(fallback=(0, 0)).columns


def test_the_rules_it_imports_hold_no_string_annotations() -> None:
    """Every call of the fast path imports these modules: a named tuple's field annotation written as a string (as
    ``from __future__ import annotations`` writes them all) costs a ``compile()`` on import."""
    from typing import ForwardRef

    from quotawarden.analysis import burn, current, health, planner
    from quotawarden.store import quick

    for module in (burn, current, health, planner, quick, summary):
        for name, value in vars(module).items():
            if isinstance(value, type) and issubclass(value, tuple) and value.__module__ == module.__name__:
                strings = [k for k, v in getattr(value, "__annotations__", {}).items()
                           if isinstance(v, str | ForwardRef)]
                assert not strings, f"{module.__name__}.{name}: {strings}"


def test_a_bare_call_imports_neither_argparse_nor_shutil(tmp_path: Path) -> None:
    code = ("import sys\nfrom quotawarden.interfaces.cli.main import main\ntry:\n    main(['summary'])\n"
            "except SystemExit:\n    pass\n"
            "print('IMPORTED', *sorted(m for m in ('argparse', 'shutil') if m in sys.modules), file=sys.stderr)\n")
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    env.update(QUOTAWARDEN_DB_URL=f"sqlite:///{tmp_path / 'none.db'}", QUOTAWARDEN_CONFIG=str(tmp_path / "c.toml"))
    (tmp_path / "c.toml").write_text("")
    p = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60, check=True)
    assert p.stdout.strip() == "quota: no accounts configured"
    assert p.stderr.split("IMPORTED", 1)[1].split() == []
