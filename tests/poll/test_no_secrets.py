"""No API key or token appears in logs, errors, the poll table or ``--json`` output, for any installed provider.

Each provider is probed twice against the emulator: with a key it does not know (the 401 path, in that
provider's own error envelope) and with a known key whose answers are broken (malformed body, then 429).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from quotawarden.emulator import EmuAccount, Scenario, create_app, serve
from quotawarden.emulator.app import load_emulated_providers
from quotawarden.plugins import load_plugins

PLUGINS = load_plugins()
SLUGS = sorted(slug for slug, spec in PLUGINS.providers.items() if spec.probe is not None)
EMULATED = set(load_emulated_providers())


@pytest.fixture(scope="module")
def emu() -> Iterator[tuple[str, object]]:
    app = create_app(Scenario())
    with serve(app) as url:
        yield url, app.state.emulator


def _required_settings(slug: str) -> str:
    """Placeholder values for settings a provider requires (e.g. a user name), as TOML lines."""
    model = PLUGINS.provider(slug).settings_model
    fields = model.model_fields if model else {}
    return "".join(f'{name} = "example"\n' for name, f in fields.items() if f.is_required())


def _secret(slug: str, tag: str) -> str:
    return f"sk-{tag}-{slug.replace('_', '')}SECRETx{'9' * 24}TAIL"


@pytest.mark.parametrize("slug", SLUGS)
def test_no_secret_in_any_output(slug, emu, cli, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    url, state = emu
    caplog.set_level(logging.DEBUG)
    unknown, known = _secret(slug, "unknown"), _secret(slug, "known")
    if slug in EMULATED:
        state.add_account(EmuAccount(f"{slug}-known", slug, known, fault="malformed"))
    lines = [f'[database]\nurl = "sqlite:///{tmp_path / "qw.db"}"\n']
    for tag, secret in (("unknown", unknown), ("known", known)):
        key_file = tmp_path / f"{tag}.key"
        key_file.write_text(secret)
        lines.append(f'[[accounts]]\nid = "{slug}-{tag}"\nprovider = "{slug}"\ncredential = "file:{key_file}"\n'
                     f'base_url = "{url}"\n{_required_settings(slug)}')
    config = tmp_path / "config.toml"
    config.write_text("\n".join(lines))
    outputs = [cli("poll", "--force", "--json", config=config), cli("poll", "--force", config=config),
               cli("status", "--json", config=config)]
    if slug in EMULATED:
        state.scenario.by_id(f"{slug}-known").fault = "429"
        outputs.append(cli("poll", "--force", "--json", config=config))
    text = "\n".join(out + err for _, out, err in outputs) + caplog.text
    for secret in (unknown, known):
        assert secret not in text
        assert secret[8:-6] not in text  # not even the middle of it
    results = json.loads(outputs[0][1])["poll"]["results"]
    assert {r["outcome"] for r in results} <= {"INVALID", "ERROR", "LIMITED", "UNREACHABLE", "UNKNOWN", "OK"}
    assert all(r["reason"] or r["outcome"] == "OK" for r in results)
