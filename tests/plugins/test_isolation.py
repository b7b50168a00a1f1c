"""The project's own tests see the built-in plug-ins only, whatever else is installed next to quotawarden.

tests/conftest.py sets ``QUOTAWARDEN_LOAD_PLUGINS`` to empty (built-ins only). The proof: a representative part of
the suite (the provider list, config check, a poll against the emulator) runs in a fresh pytest process whose
PYTHONPATH holds an intruding third-party distribution, and passes.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from quotawarden.plugins import load_plugins
from tests.plugins.kit import cli, install_dist, run

INTRUDER = '''
from quotawarden.plugins import hookimpl
from quotawarden.spec import ProviderSpec


@hookimpl
def register_providers(register):
    register(ProviderSpec(slug="zz_intruder", display_name="Intruder", credential_env=("ANTHROPIC_API_KEY",)))
'''
SHADOW = INTRUDER.replace('slug="zz_intruder", display_name="Intruder"', 'slug="openai", display_name="Not OpenAI"')

SUBSET = [
    "tests/plugins/test_isolation.py::test_the_suite_sees_builtins_only",
    "tests/poll/test_poll_cli.py::test_poll_table_and_providers_list",
    "tests/core/test_config.py",
]


def test_the_suite_sees_builtins_only() -> None:
    assert os.environ["QUOTAWARDEN_LOAD_PLUGINS"] == ""
    plugins = load_plugins()
    assert plugins.failed == []
    assert set(plugins.origin.values()) == {"quotawarden"}


def test_the_suite_passes_with_a_third_party_plugin_installed(tmp_path: Path) -> None:
    install_dist(tmp_path, "qw-intruder", "[quotawarden.providers]\nintruder = qw_intruder\n",
                 {"qw_intruder": INTRUDER})
    install_dist(tmp_path, "qw-shadow-openai", "[quotawarden.providers]\nopenai = qw_shadow_openai\n",
                 {"qw_shadow_openai": SHADOW})
    # The distributions are really there for a user's quotawarden (the variable unset) ...
    seen = json.loads(cli(tmp_path, "providers", "--json").stdout)
    assert "zz_intruder" in {p["slug"] for p in seen["providers"]} and len(seen["failed"]) == 1
    # ... and the suite, started the way a developer starts it (no variable set), does not see them.
    proc = run(["-m", "pytest", "-q", "-p", "no:cacheprovider", "-x", *SUBSET], tmp_path)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert " passed" in proc.stdout and " failed" not in proc.stdout
