"""The vault: round trip, wrong passphrase, tampering, missing keyring, no plaintext at rest, keys never printed."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

from quotawarden.credentials import resolve
from quotawarden.credentials.vault import PASSPHRASE_ENV, Vault
from quotawarden.errors import CredentialError, QuotawardenError, VaultError
from quotawarden.interfaces.cli.app import build_app

KEY = "sk-ant-api03-Vt7QeXample0SecretKeyMaterial9988776655-abcd"
OAUTH = "sk-ant-oat01-AnotherSecretToken000000000000000000000-wxyz"


@pytest.fixture
def vault(tmp_path: Path) -> Vault:
    v = Vault(tmp_path / "vault.json", passphrase="correct horse battery staple")
    v.put("work", KEY, provider="anthropic", plan="team", owner="alice")
    return v


def test_round_trip_and_credential_reference(vault: Vault) -> None:
    again = Vault(vault.path, passphrase="correct horse battery staple")
    assert again.get("work") == KEY
    assert resolve("vault:work", vault=again) == KEY
    e = again.entry("work")
    assert (e.provider, e.plan, e.owner, e.masked) == ("anthropic", "team", "alice", "sk-...abcd")
    assert e.last_used_at is not None  # get() records the use


def test_file_holds_no_plaintext(vault: Vault) -> None:
    vault.put("oauth", OAUTH, provider="claude", kind="oauth")
    raw = vault.path.read_bytes()
    for secret in (KEY, OAUTH):
        for needle in (secret, secret[8:30], secret[-12:], base64.b64encode(secret.encode()).decode()[:20]):
            assert needle.encode() not in raw
    assert b"alice" not in raw and b"anthropic" not in raw  # metadata is encrypted too
    assert oct(vault.path.stat().st_mode & 0o777) == "0o600"


def test_wrong_passphrase_is_clear_and_writes_nothing(vault: Vault) -> None:
    before = vault.path.read_bytes()
    wrong = Vault(vault.path, passphrase="wrong")
    with pytest.raises(VaultError, match="wrong passphrase"):
        wrong.get("work")
    with pytest.raises(VaultError, match="wrong passphrase"):
        wrong.put("new", "sk-new-000000000000000000000")
    assert vault.path.read_bytes() == before


@pytest.mark.parametrize("part", ["data", "dek", "kek"])
def test_tampered_file_is_refused(vault: Vault, part: str) -> None:
    doc = json.loads(vault.path.read_text())
    if part == "kek":
        doc["kek"]["n"] = 2**14  # a weaker KDF slipped in: the wrapped key no longer authenticates
    else:
        ct = bytearray(base64.b64decode(doc[part]["ct"]))
        ct[5] ^= 0x01
        doc[part]["ct"] = base64.b64encode(bytes(ct)).decode()
    vault.path.write_text(json.dumps(doc))
    tampered = vault.path.read_bytes()
    fresh = Vault(vault.path, passphrase="correct horse battery staple")
    with pytest.raises(VaultError, match=r"integrity check|key block was altered"):
        fresh.get("work")
    with pytest.raises(VaultError):
        fresh.put("more", "sk-more-000000000000000000000")
    assert vault.path.read_bytes() == tampered  # nothing overwritten


def test_not_a_vault(tmp_path: Path) -> None:
    p = tmp_path / "vault.json"
    p.write_text("{not json")
    with pytest.raises(VaultError, match="not a readable quotawarden vault"):
        Vault(p, passphrase="x").entries()
    assert p.read_text() == "{not json"


def test_missing_keyring_is_explained(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(PASSPHRASE_ENV, raising=False)
    v = Vault(tmp_path / "vault.json")
    with pytest.raises(VaultError, match=rf"no OS keyring is available.*{PASSPHRASE_ENV}"):
        v.put("work", KEY)
    assert not v.path.exists()


def test_environment_passphrase(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PASSPHRASE_ENV, "from-env")
    Vault(tmp_path / "v.json").put("k", KEY)
    assert Vault(tmp_path / "v.json").get("k") == KEY
    monkeypatch.delenv(PASSPHRASE_ENV)
    with pytest.raises(VaultError, match=PASSPHRASE_ENV):
        Vault(tmp_path / "v.json").get("k")


def test_rotate_remove_and_errors(vault: Vault) -> None:
    vault.rotate("work", OAUTH)
    assert vault.get("work") == OAUTH and vault.entry("work").masked == "sk-...wxyz"
    with pytest.raises(VaultError, match="already in the vault"):
        vault.put("work", KEY)
    vault.remove("work")
    with pytest.raises(VaultError, match="no entry 'work'"):
        vault.get("work")
    with pytest.raises(CredentialError):
        resolve("vault:work", vault=None)


def test_seal_round_trip(vault: Vault) -> None:
    blob = vault.seal(b"instance token", b"ctx")
    assert vault.open_sealed(blob, b"ctx") == b"instance token"
    with pytest.raises(VaultError):
        vault.open_sealed(blob, b"other")


# -- the CLI: secrets never printed ------------------------------------------------------------------------------


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv(PASSPHRASE_ENV, "cli-pass")
    monkeypatch.setenv("QUOTAWARDEN_VAULT", str(tmp_path / "vault.json"))
    monkeypatch.setenv("QUOTAWARDEN_DB_URL", f"sqlite:///{tmp_path / 'qw.db'}")
    runner = CliRunner()

    def run(*args: str, stdin: str | None = None) -> tuple[int, str]:
        res = runner.invoke(build_app(), list(args), input=stdin)
        if isinstance(res.exception, QuotawardenError):  # what `main` turns into one line on stderr
            return res.exception.exit_code, res.output + str(res.exception)
        return res.exit_code, res.output + (res.stderr if res.stderr_bytes else "")

    return run


def test_cli_never_prints_keys(cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    code, out = cli("keys", "add", "work", "--provider", "anthropic", "--stdin", "--no-validate",
                    "--plan", "team", stdin=KEY + "\n")
    assert code == 0, out
    monkeypatch.setenv("OPENAI_API_KEY", "sk-proj-EnvSecretKey0000000000000000000-efgh")
    claude = tmp_path / "home/.claude"
    claude.mkdir(parents=True)
    (claude / ".credentials.json").write_text(json.dumps({"claudeAiOauth": {"accessToken": OAUTH,
                                                                            "subscriptionType": "max"}}))
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(claude))
    outputs = [out]
    for args in (["keys", "list"], ["keys", "list", "--json"], ["keys", "show", "work"],
                 ["keys", "show", "work", "--json"], ["keys", "import", "--json"], ["keys", "list", "--json"]):
        code, out = cli(*args)
        assert code == 0, out
        outputs.append(out)
    code, out = cli("keys", "rotate", "work", "--stdin", "--no-validate", stdin=OAUTH)
    outputs.append(out)
    code, out = cli("keys", "show", "nope")
    assert code == 1 and "no entry 'nope'" in out
    text = "\n".join(outputs)
    for secret in (KEY, OAUTH, "sk-proj-EnvSecretKey0000000000000000000-efgh"):
        assert secret not in text and secret[10:30] not in text
    listed = orjson.loads(outputs[-2])["keys"]
    assert {k["name"] for k in listed} >= {"work", "claude-oauth"}
    assert {k["source"] for k in listed} >= {"manual", str(claude / ".credentials.json")}
    assert all(k["masked"].startswith("sk-...") for k in listed)


def test_cli_wrong_passphrase_exit(cli, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    cli("keys", "add", "work", "--stdin", "--no-validate", stdin=KEY)
    monkeypatch.setenv(PASSPHRASE_ENV, "nope")
    code, out = cli("keys", "list")
    assert code == 1 and "wrong passphrase" in out and KEY not in out
