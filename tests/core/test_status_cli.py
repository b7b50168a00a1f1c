"""`status` renders the store; `--json` is the documented contract; `--check` exit codes mean something."""

from __future__ import annotations

from datetime import timedelta

import orjson
import pytest
from typer.testing import CliRunner

from quotawarden.app.service import Service
from quotawarden.clock import FixedClock
from quotawarden.config import from_text
from quotawarden.domain import AccountState, Outcome, Provenance, QuotaSample, Source, Unit
from quotawarden.interfaces.cli.app import build_app
from quotawarden.interfaces.cli.common import State
from quotawarden.plugins import hookimpl, load_plugins
from quotawarden.spec import ProviderSpec
from quotawarden.store import accounts as accounts_q
from quotawarden.store import samples as samples_q
from tests.conftest import NOW


class Fake:
    @hookimpl
    def register_providers(self, register):  # type: ignore[no-untyped-def]
        register(ProviderSpec(slug="acme", display_name="Acme", needs_credential=False))


CONFIG = """
[[accounts]]
id = "{id}"
provider = "acme"
"""


def make_service(db_url: str, ratios: dict[str, float | None]) -> Service:
    plugins = load_plugins([Fake()], entry_points=False)
    text = "".join(CONFIG.format(id=a) for a in ratios)
    svc = Service(config=from_text(text, None, plugins), plugins=plugins, clock=FixedClock(NOW), store_url=db_url)
    samples = [QuotaSample(observed_at=NOW - timedelta(minutes=5), account_id=a, window="5h", unit=Unit.PERCENT,
                           source=Source.PROBE, provenance=Provenance.OFFICIAL, used_ratio=r,
                           resets_at=NOW + timedelta(hours=2)) for a, r in ratios.items() if r is not None]
    samples_q.write_samples(svc.store, samples)
    return svc


def run(svc: Service, *args: str) -> tuple[int, str]:
    state = State(None, None)
    state.service_factory = lambda: svc
    result = CliRunner().invoke(build_app(), list(args), obj=state)
    return result.exit_code, result.stdout


def test_status_json_contract(db_url: str) -> None:
    svc = make_service(db_url, {"a-green": 0.1, "b-yellow": 0.6, "c-none": None})
    accounts_q.set_states(svc.store, [AccountState("c-none", Outcome.INVALID, "401 authentication_error")])
    code, out = run(svc, "status", "--json")
    assert code == 0
    data = orjson.loads(out)
    assert data["generated_at"] == "2026-08-20T14:03:11Z"
    assert data["overall"] == {"RED": 1, "YELLOW": 1, "GREEN": 1, "UNKNOWN": 0}
    by_id = {a["id"]: a for a in data["accounts"]}
    assert by_id["c-none"]["status"] == "RED" and "INVALID" in by_id["c-none"]["reason"]
    w = by_id["b-yellow"]["windows"][0]
    assert set(w) >= {"name", "used_ratio", "used", "remaining", "limit", "unit", "resets_at", "status", "source",
                      "provenance", "observed_at", "burn_rate_per_hour", "exhausts_at"}
    assert (w["name"], w["used_ratio"], w["unit"], w["status"]) == ("5h", 0.6, "percent", "YELLOW")
    assert w["resets_at"] == "2026-08-20T16:03:11Z" and w["observed_at"] == "2026-08-20T13:58:11Z"


@pytest.mark.parametrize(("ratios", "code"), [({"a": 0.1}, 0), ({"a": 0.1, "b": 0.7}, 10),
                                              ({"a": 0.7, "b": 0.95}, 11)])
def test_status_check_exit_codes(db_url: str, ratios: dict[str, float], code: int) -> None:
    exit_code, out = run(make_service(db_url, ratios), "status", "--check")
    assert exit_code == code
    assert "Overall:" in out


def test_status_table_lists_every_account(db_url: str) -> None:
    code, out = run(make_service(db_url, {"first": 0.2, "second": 0.9}), "status")
    assert code == 0
    assert "first" in out and "second" in out and "Overall: 1 RED, 0 YELLOW, 1 GREEN, 0 UNKNOWN" in out


def test_status_of_unknown_accounts_is_empty(db_url: str) -> None:
    svc = make_service(db_url, {"a": 0.1})
    assert svc.status(["no-such-account"]) == []
    code, out = run(svc, "status", "--account", "no-such-account", "--json")
    assert code == 0 and orjson.loads(out)["accounts"] == []
