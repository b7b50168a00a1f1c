"""Third-party plug-ins load through the same entry points as the built-ins, and a broken one is reported."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from quotawarden.domain import Account, Unit
from quotawarden.plugins import load_plugins
from quotawarden.spec import Headers, HttpResponse, ProbeContext
from quotawarden.testing import drive_probe
from tests.conftest import NOW

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "quotawarden-acme"


def install_dist(site: Path, name: str, entry_points: str) -> None:
    """What pip leaves behind for a distribution: a .dist-info folder with entry_points.txt."""
    info = site / f"{name}-0.1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1.0\n")
    (info / "entry_points.txt").write_text(entry_points)


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.syspath_prepend(str(EXAMPLE))
    yield tmp_path
    sys.modules.pop("acme_quota", None)


def test_a_third_party_provider_registers_like_a_builtin(site: Path) -> None:
    install_dist(site, "quotawarden_acme", '[quotawarden.providers]\nacme = acme_quota\n')
    plugins = load_plugins()
    assert "acme" in plugins.providers
    assert "anthropic" in plugins.providers  # the built-ins load through the same group
    spec = plugins.provider("acme")
    ctx = ProbeContext(Account("a", "acme", base_url="http://127.0.0.1:9"), "key", None, NOW)
    body = b'{"used": 250, "limit": 1000, "resets_at": "2026-09-01T00:00:00Z"}'
    reading = drive_probe(spec.probe, ctx, [HttpResponse(200, Headers({}), body)])  # type: ignore[arg-type]
    (sample,) = reading.samples
    assert (sample.window, sample.unit, sample.used_ratio, sample.remaining) == ("monthly", Unit.CREDITS, 0.25, 750)


def test_a_broken_plugin_is_reported_not_fatal(site: Path) -> None:
    install_dist(site, "quotawarden_broken", "[quotawarden.providers]\nbroken = no_such_module_here\n")
    plugins = load_plugins()
    assert any("broken" in f and "ModuleNotFoundError" in f for f in plugins.failed)
    assert "anthropic" in plugins.providers
