"""The README's "Adding a provider" plug-in is examples/quotawarden-acme/, shown verbatim and tested here.

The example is installed as its pyproject.toml declares it (a ``.dist-info`` whose entry points are read from that
file), loaded through the entry point, and probes an account against a loopback server answering the Acme format:
once through the probe runner, once through the real ``quotawarden poll`` command.
"""

from __future__ import annotations

import asyncio
import json
import re
import sys
import tomllib
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest

from quotawarden.clock import SystemClock
from quotawarden.domain import Account, Outcome, Provenance, Source, Unit
from quotawarden.emulator import serve
from quotawarden.plugins import load_plugins
from quotawarden.sources.probe_runner import ProbeJob, ProbeRunner
from quotawarden.spec import ProviderSpec
from tests.plugins.kit import ROOT, cli, install_dist

EXAMPLE = ROOT / "examples" / "quotawarden-acme"
KEY = "acme-test-key-0123456789"
RESETS = "2026-09-01T00:00:00Z"


class AcmeServer:
    """Acme's quota endpoint: ``GET /v1/quota`` with a Bearer key -> used, limit, resets_at."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        auth = dict(scope["headers"]).get(b"authorization", b"").decode()
        self.calls.append((scope["path"], auth))
        body: dict[str, Any]
        if scope["path"] != "/v1/quota":
            status, body = 404, {"error": "not found"}
        elif auth != f"Bearer {KEY}":
            status, body = 401, {"error": "invalid key"}
        else:
            status, body = 200, {"used": 120, "limit": 1000, "resets_at": RESETS}
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": orjson.dumps(body)})


@pytest.fixture(scope="module")
def acme() -> Iterator[tuple[AcmeServer, str]]:
    server = AcmeServer()
    with serve(server) as url:
        yield server, url


def entry_points_txt() -> str:
    """The example's ``[project.entry-points]`` as pip writes them into ``entry_points.txt``."""
    project = tomllib.loads((EXAMPLE / "pyproject.toml").read_text())["project"]
    return "".join(f"[{group}]\n" + "".join(f"{name} = {target}\n" for name, target in eps.items())
                   for group, eps in project["entry-points"].items())


@pytest.fixture
def site(tmp_path: Path) -> Path:
    """The example installed: its .dist-info in a site folder, its module next to it (as ``pip install`` does)."""
    install_dist(tmp_path / "site", "quotawarden-acme", entry_points_txt(),
                 {"acme_quota": (EXAMPLE / "acme_quota.py").read_text()})
    return tmp_path / "site"


@pytest.fixture
def spec(site: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ProviderSpec]:
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.setenv("QUOTAWARDEN_LOAD_PLUGINS", "quotawarden-acme")
    plugins = load_plugins()
    assert plugins.failed == [] and plugins.origin["provider:acme"] == "quotawarden-acme"
    yield plugins.provider("acme")
    sys.modules.pop("acme_quota", None)


def test_the_readme_shows_the_example_verbatim() -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("### Adding a provider", 1)[1].split("\n## ", 1)[0].split("\n### ", 1)[0]
    shown = dict(re.findall(r"<!-- include: (\S+) -->\n```\w*\n(.*?)\n```\n", section, re.DOTALL))
    assert set(shown) == {"examples/quotawarden-acme/acme_quota.py", "examples/quotawarden-acme/pyproject.toml"}
    for path, text in shown.items():
        assert text == (ROOT / path).read_text().rstrip(), f"README shows an old {path}"


def test_the_example_probes_an_acme_account(spec: ProviderSpec, acme: tuple[AcmeServer, str]) -> None:
    server, url = acme
    runner = ProbeRunner(SystemClock(), tries=1)
    account = Account("acme-main", "acme", base_url=url)
    result = asyncio.run(runner.run(ProbeJob(spec, account, KEY)))
    assert (result.outcome, result.reason, result.cost.requests) == (Outcome.OK, "", 1)
    (sample,) = result.samples
    assert (sample.account_id, sample.window, sample.unit, sample.source, sample.provenance) == (
        "acme-main", "monthly", Unit.CREDITS, Source.PROBE, Provenance.OFFICIAL)
    assert (sample.used, sample.limit, sample.remaining, sample.used_ratio) == (120, 1000, 880, 0.12)
    assert sample.resets_at == datetime(2026, 9, 1, tzinfo=UTC)
    assert server.calls[-1] == ("/v1/quota", f"Bearer {KEY}")

    refused = asyncio.run(runner.run(ProbeJob(spec, account, "wrong-key")))
    assert refused.outcome is Outcome.INVALID and refused.samples == []


def test_the_cli_polls_the_installed_example(site: Path, acme: tuple[AcmeServer, str], tmp_path: Path) -> None:
    _, url = acme
    key_file = tmp_path / "acme.key"
    key_file.write_text(KEY + "\n")
    db = tmp_path / "qw.db"
    config = tmp_path / "qw.toml"
    config.write_text(f'[database]\nurl = "sqlite:///{db}"\n\n[[accounts]]\nid = "acme-main"\nprovider = "acme"\n'
                      f'credential = "file:{key_file}"\nbase_url = "{url}"\n')
    proc = cli(site, "--config", str(config), "poll", "--json", load="quotawarden-acme")
    assert proc.returncode == 0, proc.stderr
    (result,) = json.loads(proc.stdout)["poll"]["results"]
    assert (result["account"], result["provider"], result["outcome"], result["samples"]) == (
        "acme-main", "acme", "OK", 1)

    from quotawarden.store import open_store
    from quotawarden.store.samples import latest

    store = open_store(f"sqlite:///{db}")
    try:
        (stored,) = latest(store)
    finally:
        store.close()
    assert (stored.account_id, stored.window, stored.used, stored.limit) == ("acme-main", "monthly", 120, 1000)
