"""Third-party plug-ins load through the same entry points as the built-ins; a broken one is reported and skipped.

Each test installs fake distributions (a ``.dist-info`` with ``entry_points.txt``) on a temporary ``sys.path``
entry, or on the ``PYTHONPATH`` of a real ``quotawarden`` process.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from quotawarden.domain import Account, Unit
from quotawarden.plugins import load_plugins
from quotawarden.spec import Headers, HttpResponse, ProbeContext
from quotawarden.testing import drive_probe
from tests.conftest import NOW
from tests.plugins.kit import ROOT, cli, install_dist

EXAMPLE = ROOT / "examples" / "quotawarden-acme"

# A third party that also ships an "anthropic" provider (a slug the built-ins own), next to one of its own.
SHADOW = '''
from quotawarden.plugins import hookimpl
from quotawarden.spec import ProviderSpec


@hookimpl
def register_providers(register):
    register(ProviderSpec(slug="shadow_extra", display_name="Shadow extra"))
    register(ProviderSpec(slug="anthropic", display_name="Shadow Anthropic"))
'''
SHADOW_EP = "[quotawarden.providers]\nshadow = qw_shadow_plugin\n"


def _provider_module(slug: str, name: str) -> str:
    return ("from quotawarden.plugins import hookimpl\nfrom quotawarden.spec import ProviderSpec\n\n\n@hookimpl\n"
            f"def register_providers(register):\n    register(ProviderSpec(slug={slug!r}, display_name={name!r}))\n")


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A temporary site-packages on sys.path, every installed plug-in allowed (as for a user)."""
    monkeypatch.delenv("QUOTAWARDEN_LOAD_PLUGINS")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.syspath_prepend(str(EXAMPLE))
    before = set(sys.modules)
    yield tmp_path
    for name in set(sys.modules) - before:
        if name.startswith(("acme_quota", "qw_")):
            sys.modules.pop(name, None)


def test_a_third_party_provider_registers_like_a_builtin(site: Path) -> None:
    install_dist(site, "quotawarden_acme", "[quotawarden.providers]\nacme = acme_quota\n")
    plugins = load_plugins()
    assert "acme" in plugins.providers
    assert "anthropic" in plugins.providers  # the built-ins load through the same group
    assert plugins.origin["provider:acme"] == "quotawarden-acme"
    assert plugins.origin["provider:anthropic"] == "quotawarden"
    spec = plugins.provider("acme")
    assert spec.probe is not None
    ctx = ProbeContext(Account("a", "acme", base_url="http://127.0.0.1:9"), "key", None, NOW)
    body = b'{"used": 250, "limit": 1000, "resets_at": "2026-09-01T00:00:00Z"}'
    reading = drive_probe(spec.probe, ctx, [HttpResponse(200, Headers({}), body)])
    (sample,) = reading.samples
    assert (sample.window, sample.unit, sample.used_ratio, sample.remaining) == ("monthly", Unit.CREDITS, 0.25, 750)


def test_a_broken_plugin_is_reported_not_fatal(site: Path) -> None:
    install_dist(site, "quotawarden_broken", "[quotawarden.providers]\nbroken = no_such_module_here\n")
    plugins = load_plugins()
    assert any("broken" in f and "ModuleNotFoundError" in f for f in plugins.failed)
    assert "anthropic" in plugins.providers


def test_a_duplicate_slug_is_reported_and_the_whole_plugin_skipped(site: Path) -> None:
    install_dist(site, "qw-shadow", SHADOW_EP, {"qw_shadow_plugin": SHADOW})
    plugins = load_plugins()
    assert plugins.failed == ["quotawarden.providers:shadow (qw-shadow): provider 'anthropic' is already registered by "
                              "quotawarden; skipped"]
    assert plugins.providers["anthropic"].display_name == "Anthropic API"  # the built-in wins
    assert "shadow_extra" not in plugins.providers  # a plug-in loads whole or not at all


def test_between_third_parties_the_first_installed_wins(site: Path) -> None:
    for dist, module, name in (("qw-first", "qw_first", "First"), ("qw-second", "qw_second", "Second")):
        install_dist(site, dist, f"[quotawarden.providers]\nsame = {module}\n",
                     {module: _provider_module("same_slug", name)})
    plugins = load_plugins()
    winner = plugins.providers["same_slug"].display_name
    loser = "qw-second" if winner == "First" else "qw-first"
    assert plugins.failed == [f"quotawarden.providers:same ({loser}): provider 'same_slug' is already registered by "
                              f"{({'qw-first', 'qw-second'} - {loser}).pop()}; skipped"]


def test_a_plugin_that_raises_while_registering_is_reported(site: Path) -> None:
    source = ("from quotawarden.plugins import hookimpl\n\n\n@hookimpl\ndef register_providers(register):\n"
              "    raise RuntimeError('no config found')\n")
    install_dist(site, "qw-raises", "[quotawarden.providers]\nraises = qw_raises\n", {"qw_raises": source})
    plugins = load_plugins()
    assert plugins.failed == ["quotawarden.providers:raises (qw-raises): RuntimeError while registering: "
                              "no config found"]
    assert "anthropic" in plugins.providers


def test_an_unknown_dialect_is_reported(site: Path) -> None:
    source = _provider_module("odd", "Odd").replace("display_name='Odd'", "display_name='Odd', dialect='cohere'")
    install_dist(site, "qw-odd", "[quotawarden.providers]\nodd = qw_odd\n", {"qw_odd": source})
    plugins = load_plugins()
    (failure,) = plugins.failed
    assert "ValueError" in failure and "dialect 'cohere' is not one of openai, anthropic, gemini" in failure
    assert "odd" not in plugins.providers


def test_one_module_in_both_groups_loads_once(site: Path) -> None:
    groups = "[quotawarden.providers]\nboth = qw_both\n[quotawarden.log_sources]\nboth = qw_both\n"
    install_dist(site, "qw-both", groups, {"qw_both": _provider_module("both_slug", "Both")})
    plugins = load_plugins()
    assert plugins.failed == [] and "both_slug" in plugins.providers


def test_quotawarden_load_plugins_picks_third_party_distributions(site: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    install_dist(site, "quotawarden_acme", "[quotawarden.providers]\nacme = acme_quota\n")
    install_dist(site, "qw-shadow", SHADOW_EP, {"qw_shadow_plugin": SHADOW})
    monkeypatch.setenv("QUOTAWARDEN_LOAD_PLUGINS", "")
    builtins_only = load_plugins()
    assert builtins_only.failed == [] and "acme" not in builtins_only.providers
    assert set(builtins_only.origin.values()) == {"quotawarden"}
    monkeypatch.setenv("QUOTAWARDEN_LOAD_PLUGINS", "Quotawarden-Acme")  # compared as pip compares names
    chosen = load_plugins()
    assert "acme" in chosen.providers and chosen.failed == []  # qw-shadow was not asked for
    assert set(chosen.providers) == {*builtins_only.providers, "acme"}


def test_the_cli_reports_a_duplicate_and_keeps_working(tmp_path: Path) -> None:
    """The real command, in a process whose PYTHONPATH holds the shadowing distribution."""
    install_dist(tmp_path, "qw-shadow", SHADOW_EP, {"qw_shadow_plugin": SHADOW})
    clean = cli(tmp_path, "providers", "--json", load="")
    shadowed = cli(tmp_path, "providers", "--json")
    assert (clean.returncode, shadowed.returncode) == (0, 0), shadowed.stderr
    got, want = json.loads(shadowed.stdout), json.loads(clean.stdout)
    assert got["providers"] == want["providers"]  # nothing of the skipped plug-in, the built-in anthropic kept
    assert got["failed"] == ["quotawarden.providers:shadow (qw-shadow): provider 'anthropic' is already registered by "
                             "quotawarden; skipped"]
    table = cli(tmp_path, "providers")
    assert table.returncode == 0 and "anthropic" in table.stdout and "shadow_extra" not in table.stdout
    assert "warning: plug-in skipped: quotawarden.providers:shadow (qw-shadow)" in table.stderr
    config = tmp_path / "qw.toml"
    config.write_text('[[accounts]]\nid = "a"\nprovider = "anthropic"\ncredential = "env:ANTHROPIC_API_KEY"\n')
    check = cli(tmp_path, "--config", str(config), "config", "check")
    assert check.returncode == 0, check.stdout + check.stderr


# A third party that ships its own "claude_code" log source (a built-in slug) and one of its own.
LOG_SHADOW = '''
from quotawarden.logsources.base import LogSourceSpec, hookimpl


@hookimpl
def register_log_sources(register):
    register(LogSourceSpec(slug="claude_code", display_name="Shadow Claude Code", provider="anthropic",
                           roots=lambda environ, home: [], discover=lambda root: []))
'''
LOG_EXTRA = '''
from quotawarden.logsources.base import LogSourceSpec, hookimpl


@hookimpl
def register_log_sources(register):
    register(LogSourceSpec(slug="acme_cli", display_name="Acme CLI", provider="acme",
                           roots=lambda environ, home: [], discover=lambda root: []))
'''


def test_the_usage_fast_path_chooses_log_sources_as_the_full_path_does(site: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    from quotawarden.app.agent_logs import _entry_point_log_sources

    install_dist(site, "qw-log-shadow", "[quotawarden.log_sources]\nshadow = qw_log_shadow\n",
                 {"qw_log_shadow": LOG_SHADOW})
    install_dist(site, "qw-log-extra", "[quotawarden.log_sources]\nextra = qw_log_extra\n",
                 {"qw_log_extra": LOG_EXTRA})
    fast, full = _entry_point_log_sources(), load_plugins()
    assert fast["claude_code"].display_name == full.log_sources["claude_code"].display_name != "Shadow Claude Code"
    assert set(fast) == set(full.log_sources) and "acme_cli" in fast
    monkeypatch.setenv("QUOTAWARDEN_LOAD_PLUGINS", "")
    assert "acme_cli" not in _entry_point_log_sources()
    assert set(_entry_point_log_sources()) == set(load_plugins().log_sources)
