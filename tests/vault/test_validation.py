"""`keys add` validates a key with one cheap provider call, here against the emulator over loopback HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from quotawarden.credentials.vault import PASSPHRASE_ENV, Vault
from quotawarden.emulator import Scenario, create_app, demo_scenario, serve
from quotawarden.errors import QuotawardenError
from quotawarden.interfaces.cli.app import build_app
from quotawarden.plugins import load_plugins

pytestmark = pytest.mark.skipif("anthropic" not in load_plugins().providers, reason="anthropic provider not installed")


@pytest.fixture(scope="module")
def emulator() -> Iterator[tuple[str, Scenario]]:
    scenario = demo_scenario()
    with serve(create_app(scenario)) as url:
        yield url, scenario


def key_of(scenario: Scenario, account_id: str) -> str:
    return next(a for a in scenario.accounts if a.id == account_id).credential


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv(PASSPHRASE_ENV, "pass")
    monkeypatch.setenv("QUOTAWARDEN_VAULT", str(tmp_path / "vault.json"))
    monkeypatch.setenv("QUOTAWARDEN_DB_URL", f"sqlite:///{tmp_path / 'qw.db'}")

    def invoke(*args: str, stdin: str) -> tuple[int, str]:
        res = CliRunner().invoke(build_app(), list(args), input=stdin)
        if isinstance(res.exception, QuotawardenError):
            return res.exception.exit_code, res.output + str(res.exception)
        return res.exit_code, res.output

    return invoke


@pytest.mark.parametrize(("provider", "account"), [("anthropic", "anthropic-ci"), ("openai", "openai-main")])
def test_valid_key_is_checked_and_stored(emulator: tuple[str, Scenario], run, tmp_path: Path,  # type: ignore[no-untyped-def]
                                         provider: str, account: str) -> None:
    url, scenario = emulator
    secret = key_of(scenario, account)
    code, out = run("keys", "add", "k", "--provider", provider, "--stdin", "--base-url", url, stdin=secret)
    assert code == 0, out
    assert "validation: ok" in out and secret not in out
    entry = Vault(tmp_path / "vault.json").entry("k")
    assert entry.validation and entry.validation.startswith("ok") and entry.validated_at


def test_rejected_key_is_not_stored(emulator: tuple[str, Scenario], run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    url, scenario = emulator
    secret = key_of(scenario, "openai-old-key")
    code, out = run("keys", "add", "old", "--provider", "openai", "--stdin", "--base-url", url, stdin=secret)
    assert code == 1 and "rejected the key" in out and "nothing was stored" in out and secret not in out
    assert not (tmp_path / "vault.json").exists()
