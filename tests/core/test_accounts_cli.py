"""`config init`, `accounts add|list|remove` on a real file: comments survive, secrets never print."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from quotawarden.interfaces.cli.main import main


def qw(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    try:
        main(list(args))
        code = 0
    except SystemExit as exit_:
        code = int(exit_.code or 0)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_init_add_list_remove(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = str(tmp_path / "qw.toml")
    db = f"sqlite:///{tmp_path / 'qw.db'}"
    assert qw(capsys, "-c", cfg, "config", "init", "--json")[0] == 0
    assert qw(capsys, "-c", cfg, "config", "init")[0] == 1  # never overwrites without --force
    code, out, _ = qw(capsys, "-c", cfg, "accounts", "add", "work", "--provider", "anthropic",
                      "--credential", "env:WORK_KEY", "--pool", "team", "--tag", "team=platform", "--json")
    assert code == 0 and orjson.loads(out)["added"] == "work"
    qw(capsys, "-c", cfg, "accounts", "add", "lit", "--provider", "openai",
       "--credential", "sk-proj-abcdefghijklmnopqrstuvwx1234")
    code, out, err = qw(capsys, "-c", cfg, "--db", db, "accounts", "list", "--json")
    assert code == 0
    rows = {r["id"]: r for r in orjson.loads(out)["accounts"]}
    assert rows["work"]["credential"] == "env:WORK_KEY" and rows["work"]["tags"] == {"team": "platform"}
    assert rows["lit"]["credential"] == "sk-...1234"
    assert "abcdefghijkl" not in out + err and "literal credential" in err
    assert "# quotawarden configuration" in Path(cfg).read_text()  # comments kept
    assert qw(capsys, "-c", cfg, "accounts", "remove", "lit")[0] == 0
    assert "lit" not in Path(cfg).read_text()
    code, _, err = qw(capsys, "-c", cfg, "accounts", "add", "x", "--provider", "nope")
    assert code == 2 and "unknown provider 'nope'" in err


@pytest.mark.parametrize("url", ["postgresql://user:s3cretpw@127.0.0.1:1/db", "sqlite:////proc/no/such/dir/qw.db"])
def test_a_database_that_is_down_is_one_clear_line(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = qw(capsys, "--db", url, "status")
    assert code == 1
    assert err.startswith("error: cannot ") and "Traceback" not in err and "s3cretpw" not in err


def test_global_options_before_a_fast_command_keep_the_fast_path(tmp_path: Path) -> None:
    import subprocess
    import sys

    cfg = tmp_path / "qw.toml"
    cfg.write_text(f'[database]\nurl = "sqlite:///{tmp_path / "qw.db"}"\n')
    code = ("import sys\nfrom quotawarden.interfaces.cli.main import main\n"
            f"try:\n    main(['-c', {str(cfg)!r}, 'summary', '--json'])\nexcept SystemExit:\n    pass\n"
            "print('typer' in sys.modules, file=sys.stderr)\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False)
    assert proc.stderr.strip().endswith("False"), proc.stderr
