"""Property-based run of the published OpenAPI document: no 5xx, every answer matches its schema (bounded)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from quotawarden.app import instances
from quotawarden.interfaces.api import create_app
from tests.daemon.conftest import ADMIN, DEEPSEEK_KEY, Uvicorn, make_service


def _app(tmp: Path) -> Any:
    svc = make_service(f"sqlite:///{tmp / 'st.db'}", tmp)
    instances.register(svc, project_name="p", framework="opencode", poll_interval=300, provider_config={},
                       hard_caps={}, auth={"opencode_auth": {"deepseek": {"key": DEEPSEEK_KEY}}})
    return create_app(svc, admin_token=ADMIN)


_TMP = Path(__import__("tempfile").mkdtemp(prefix="qw-schemathesis-"))
# A real uvicorn on loopback (lifespan runs once, as in production); it lives as long as the test process.
_URL = Uvicorn(_app(_TMP)).__enter__()
schema = schemathesis.openapi.from_url(f"{_URL}/openapi.json")


@pytest.mark.slow
@schema.parametrize()
@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
def test_openapi_contract(case: Any) -> None:
    # Every body the schema allows is accepted (the schema names the providers a registration needs).
    case.call_and_validate(headers={"Authorization": f"Bearer {ADMIN}"})
