"""A broken config gets a one-line error naming file, line and field, and exit code 2."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel, ConfigDict
from typer.testing import CliRunner

from quotawarden.config import from_text, load_config, parse_duration
from quotawarden.errors import ConfigError
from quotawarden.interfaces.cli.main import main
from quotawarden.plugins import Plugins, hookimpl, load_plugins
from quotawarden.spec import ProviderSpec


class AcmeSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    rpm_limit: int = 60


class AcmePlugin:
    @hookimpl
    def register_providers(self, register):  # type: ignore[no-untyped-def]
        register(ProviderSpec(slug="acme", display_name="Acme", credential_env=("ACME_KEY",),
                              settings_model=AcmeSettings))
        register(ProviderSpec(slug="plain", display_name="Plain"))


@pytest.fixture
def plugins() -> Plugins:
    return load_plugins([AcmePlugin()], entry_points=False)


GOOD = """\
[database]
url = "sqlite:///x.db"

[[accounts]]
id = "one"
provider = "acme"
rpm_limit = 30
tags = { team = "a" }

[[accounts]]
id = "two"
provider = "acme"
credential = "env:ACME_KEY_2"
"""


def test_good_config_resolves_accounts_and_provider_settings(plugins: Plugins) -> None:
    cfg = from_text(GOOD, Path("qw.toml"), plugins)
    assert [a.id for a in cfg.accounts] == ["one", "two"]
    assert cfg.accounts[0].settings == {"rpm_limit": 30}
    assert cfg.accounts[0].credential == "env:ACME_KEY"  # falls back to the provider's variable
    assert cfg.accounts[1].credential == "env:ACME_KEY_2"
    assert cfg.warnings == []


@pytest.mark.parametrize(("text", "expected"), [
    ("[database\nurl = 1\n", "qw.toml:1: invalid TOML"),
    (GOOD.replace('provider = "acme"\nrpm', 'provider = "acmee"\nrpm'),
     "qw.toml:6: accounts[0].provider: unknown provider 'acmee' (known: acme, plain)"),
    (GOOD.replace('id = "two"\n', ""), "qw.toml:10: accounts[1].id: required field is missing"),
    (GOOD.replace("rpm_limit = 30", 'rpm_limit = "fast"'), "qw.toml:7: accounts[0].rpm_limit: Input should be"),
    (GOOD.replace("rpm_limit = 30", "colour = 3"), "qw.toml:7: accounts[0].colour: Extra inputs"),
    (GOOD + '\n[[accounts]]\nid = "p"\nprovider = "plain"\nspeed = 2\n',
     "qw.toml:18: accounts[2].speed: unknown key 'speed'"),
    (GOOD + "\n[server]\nport = \"high\"\n", "qw.toml:16: server.port: Input should be a valid integer"),
    (GOOD + "\n[thresholds]\nused_yelow = 0.4\n", "qw.toml:16: thresholds.used_yelow: unknown key"),
    (GOOD.replace('id = "two"', 'id = "one"'), "qw.toml:11: accounts[1].id: duplicate account id 'one'"),
    (GOOD + "\n[schedule]\npoll_interval = \"soon\"\n", "qw.toml:16: schedule.poll_interval: not a duration"),
    (GOOD + "\n[thresholds]\nused_red = 80\n",
     "qw.toml:16: thresholds.used_red: 80 is not a ratio between 0 and 1; did you mean 0.8?"),
    (GOOD + "\n[thresholds.hard_caps]\n\"claude/5h\" = 85\n",
     "qw.toml:16: thresholds.hard_caps.claude/5h: 85 is not a ratio"),
    (GOOD + "\n[status_pages]\nacme = \"status.acme.example\"\n",
     "qw.toml:16: status_pages.acme: not an http:// or https:// address: 'status.acme.example'"),
    (GOOD + "\n[alerts]\ndaily_digest = \"0 8 * *\"\n", "qw.toml:16: alerts.daily_digest: String should match"),
])
def test_broken_config_names_the_place(plugins: Plugins, text: str, expected: str) -> None:
    with pytest.raises(ConfigError) as err:
        from_text(text, Path("qw.toml"), plugins)
    message = str(err.value)
    assert message.startswith(expected), message
    assert "\n" not in message


def test_literal_credential_warns(plugins: Plugins) -> None:
    cfg = from_text('[[accounts]]\nid = "x"\nprovider = "acme"\ncredential = "sk-ant-api03-abcdefghijkl"\n',
                    Path("qw.toml"), plugins)
    assert "literal credential" in cfg.warnings[0]
    assert "abcdefghijkl" not in cfg.warnings[0]


def test_named_missing_file_is_an_error(tmp_path: Path, plugins: Plugins) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "nope.toml", plugins)


def test_environment_overrides_the_file(plugins: Plugins, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QUOTAWARDEN_SERVER__PORT", "9999")
    cfg = from_text("[server]\nport = 1234\n", None, plugins)
    assert cfg.settings.server.port == 9999


@pytest.mark.parametrize(("value", "seconds"), [(90, 90), ("90s", 90), ("20m", 1200), ("1h", 3600),
                                                ("7d", 604800), ("250ms", 0.25)])
def test_durations(value: object, seconds: float) -> None:
    assert parse_duration(value) == seconds


def test_cli_exits_2_with_one_line_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = tmp_path / "bad.toml"
    cfg.write_text('[[accounts]]\nid = "a"\nprovider = "no-such-provider"\n')
    with pytest.raises(SystemExit) as exit_info:
        main(["--config", str(cfg), "config", "check"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"error: {cfg}:3: accounts[0].provider: unknown provider 'no-such-provider'")
    assert "Traceback" not in err


def test_cli_help_for_every_command() -> None:
    from quotawarden.interfaces.cli.app import build_app

    app = build_app()
    result = CliRunner().invoke(app, ["--help"])
    assert result.exit_code == 0
    import typer.main

    group = typer.main.get_command(app)
    for name, cmd in group.commands.items():  # type: ignore[attr-defined]
        assert cmd.help or cmd.short_help, f"`{name}` has no help text"


@pytest.mark.parametrize(("table", "line", "field", "says"), [
    ("[thresholds]\nused_red = nan", 2, "thresholds.used_red", "not a ratio"),
    ("[thresholds]\nused_red = inf", 2, "thresholds.used_red", "not a ratio"),
    ("[thresholds]\nused_yellow = -1", 2, "thresholds.used_yellow", "not a ratio"),
    ("[thresholds]\nexhaust_days_red = nan", 2, "thresholds.exhaust_days_red", "finite"),
    ('[[budgets]]\nname = "b"\nhard = true\ndaily_usd = nan', 4, "budgets[0].daily_usd", "finite"),
    ('[[budgets]]\nname = "b"\nmonthly_usd = -10', 3, "budgets[0].monthly_usd", "greater than or equal to 0"),
    ("[proxy]\nqueue_size = -1", 2, "proxy.queue_size", "greater than or equal to 1"),
    ("[proxy]\nflush_interval = 0", 2, "proxy.flush_interval", "longer than 0"),
    ('[proxy]\njournal_sync = "-50ms"', 2, "proxy.journal_sync", "not a duration"),
    ("[server]\nport = 99999", 2, "server.port", "less than or equal to 65535"),
    ("[proxy]\nport = -1", 2, "proxy.port", "greater than or equal to 0"),
    ('[server]\npoll_lease = "0s"', 2, "server.poll_lease", "longer than 0"),
    ("[server]\novercommit = -5", 2, "server.overcommit", "greater than 0"),
    ("[server]\novercommit = nan", 2, "server.overcommit", "finite"),
    ("[schedule]\nkeep_raw_days = -3", 2, "schedule.keep_raw_days", "greater than or equal to 1"),
    ("[schedule]\npoll_interval = nan", 2, "schedule.poll_interval", "not a duration"),
    ("[schedule]\ncooldown_x = 1", 2, "schedule.cooldown_x", "unknown key"),
    ("[alerts]\ncooldown = -60", 2, "alerts.cooldown", "not a duration"),
    ('[logs.price_overrides."m"]\ninput = -1\noutput = 2', 2, "logs.price_overrides.m.input", "greater than"),
])
def test_values_that_load_but_make_no_sense_are_config_errors(plugins: Plugins, table: str, line: int,
                                                              field: str, says: str) -> None:
    with pytest.raises(ConfigError) as err:
        from_text("# quotawarden\n" + table + "\n", Path("qw.toml"), plugins)
    message = str(err.value)
    assert message.startswith(f"qw.toml:{line + 1}: {field}: "), message
    assert says in message, message
