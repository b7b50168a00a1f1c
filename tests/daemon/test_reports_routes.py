"""The analysis reports over HTTP answer what the facade computes: forecast, fairness and the audit report."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx
import pytest
from fastapi.encoders import jsonable_encoder

from quotawarden.app.service import Service
from quotawarden.clock import FixedClock
from quotawarden.domain import Source, UsageEvent
from quotawarden.store import usage as usage_q
from tests.daemon.conftest import ADMIN

AUTH = {"Authorization": f"Bearer {ADMIN}"}


@pytest.fixture
def usage(svc: Service) -> None:
    svc.clock = FixedClock(datetime.now(UTC))  # both sides of the comparison judge the same instant
    now = svc.now()
    usage_q.write_usage(svc.store, [
        UsageEvent(now - timedelta(hours=h), "anthropic", "claude-sonnet-4-5", Source.PROXY, f"e{h}-{who}",
                   consumer=who, project="agents", input_tokens=1000 * (h + 1), output_tokens=200,
                   cost=Decimal("0.01") * (h + 1))
        for h in range(6) for who in ("alice", "bob", "bob")])


@pytest.mark.parametrize(("path", "method"), [("/v1/forecast", "forecast"), ("/v1/fairness", "fairness"),
                                              ("/v1/audit/report", "audit_report")])
def test_a_report_route_answers_what_the_facade_computes(client: httpx.Client, svc: Service, usage: None,
                                                         path: str, method: str) -> None:
    got = client.get(path, headers=AUTH)
    assert got.status_code == 200, got.text
    want = jsonable_encoder(getattr(svc, method)())
    assert got.json() == want
    assert client.get(path).status_code == 401
