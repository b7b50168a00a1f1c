"""A credential problem is that account's outcome: a locked vault, a missing vault entry or an unset variable marks
one account INVALID with what to set, and every other account is still probed (the real entry point, a cron poll)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from quotawarden.credentials.vault import PASSPHRASE_ENV, PATH_ENV, Vault
from quotawarden.emulator import write_demo_config


def _poll(config: Path, vault: Path, **env: str) -> tuple[int, dict, str]:  # type: ignore[type-arg]
    clean = {k: v for k, v in os.environ.items() if k != PASSPHRASE_ENV}
    proc = subprocess.run([sys.executable, "-m", "quotawarden.interfaces.cli.main", "--config", str(config),
                           "poll", "--force", "--json"], env={**clean, PATH_ENV: str(vault), **env},
                          capture_output=True, text=True, timeout=120)
    return proc.returncode, json.loads(proc.stdout) if proc.stdout.strip() else {}, proc.stderr


@pytest.fixture
def config(emulator, tmp_path: Path) -> tuple[Path, Path, list[str]]:  # type: ignore[no-untyped-def]
    """The demo config with its first account's key in a passphrase vault, the second under ``vault:gone``
    (no such entry) and the third under an unset environment variable."""
    _url, scenario = emulator
    cfg = write_demo_config(scenario, _url, tmp_path, db_url=f"sqlite:///{tmp_path / 'qw.db'}")
    vault = tmp_path / "vault.json"
    first, second, third = scenario.accounts[:3]
    Vault(vault, passphrase="cron-pass").put("first", first.credential)
    text = cfg.read_text()
    for acct, ref in ((first, "vault:first"), (second, "vault:gone"), (third, "env:QW_TEST_UNSET_KEY")):
        text = text.replace(f'"file:{tmp_path / "secrets" / acct.id}.key"', f'"{ref}"')
    cfg.write_text(text)
    return cfg, vault, [first.id, second.id, third.id]


def test_missing_passphrase_marks_only_the_vault_accounts_invalid(emulator, config) -> None:  # type: ignore[no-untyped-def]
    cfg, vault, (first, second, third) = config
    code, data, err = _poll(cfg, vault)
    assert code == 0, err
    results = {r["account"]: r for r in data["poll"]["results"]}
    for acct in (first, second):
        assert results[acct]["outcome"] == "INVALID"
        assert f"set {PASSPHRASE_ENV}" in results[acct]["reason"]
    assert "vault:first" in results[first]["reason"] and "vault:gone" in results[second]["reason"]
    assert results[third]["outcome"] == "INVALID"
    assert "environment variable QW_TEST_UNSET_KEY is not set" in results[third]["reason"]
    others = [r for a, r in results.items() if a not in (first, second, third)]
    assert len(others) >= 9 and all(not r["skipped"] and r["cost"]["requests"] >= 1 for r in others)
    assert "cron-pass" not in json.dumps(data)


def test_unlocked_vault_reads_its_entry_and_names_a_missing_one(emulator, config) -> None:  # type: ignore[no-untyped-def]
    cfg, vault, (first, second, _third) = config
    code, data, err = _poll(cfg, vault, **{PASSPHRASE_ENV: "cron-pass"})
    assert code == 0, err
    results = {r["account"]: r for r in data["poll"]["results"]}
    assert results[first]["outcome"] != "INVALID" and results[first]["cost"]["requests"] >= 1
    assert results[second]["outcome"] == "INVALID"
    assert "no entry 'gone'" in results[second]["reason"] and "quotawarden keys add gone" in results[second]["reason"]


def test_wrong_passphrase_is_each_vault_accounts_outcome(emulator, config) -> None:  # type: ignore[no-untyped-def]
    cfg, vault, (first, _second, third) = config
    code, data, err = _poll(cfg, vault, **{PASSPHRASE_ENV: "not-it"})
    assert code == 0, err
    results = {r["account"]: r for r in data["poll"]["results"]}
    assert results[first]["outcome"] == "INVALID" and "wrong passphrase" in results[first]["reason"]
    assert results[third]["outcome"] == "INVALID"
    assert sum(not r["skipped"] and r["cost"]["requests"] >= 1 for r in results.values()) >= 9
