"""A key presented to ``/v1/instances`` that is a configured account's key is that account: no second account,
no second poller at the default URL; deregistering leaves the configured account alone. Both databases."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from quotawarden.interfaces.api import create_app
from quotawarden.redact import fingerprint
from quotawarden.store import accounts as accounts_q
from tests.daemon.conftest import ADMIN, DEEPSEEK_KEY, Uvicorn, make_service, register

CONFIG = '[[accounts]]\nid = "my-deepseek"\nprovider = "deepseek"\ncredential = "env:MY_DEEPSEEK_KEY"\n'


def test_an_instance_with_a_configured_key_uses_that_account(db_url: str, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MY_DEEPSEEK_KEY", DEEPSEEK_KEY)
    svc = make_service(db_url, tmp_path, CONFIG)
    try:
        with Uvicorn(create_app(svc, admin_token=ADMIN)) as url, httpx.Client(base_url=url, timeout=10) as client:
            reg = register(client)
            other = register(client, key="sk-someoneelse0123456789abcdef", project="other")
            h = {"X-API-Key": reg["api_key"]}
            detail = client.get("/v1/providers/deepseek", headers=h).json()
            assert detail["subscribers"] == [reg["instance_id"]]
            assert detail["fingerprint"] == fingerprint(DEEPSEEK_KEY)[:12]  # the key's, not the account name's
            ids = [a.id for a in svc.accounts()]
            assert ids[0] == "my-deepseek" and len(ids) == 2  # the configured one, and the other key's own
            assert f"deepseek-{fingerprint(DEEPSEEK_KEY)[:12]}" not in ids
            assert accounts_q.account_by_fingerprint(svc.store, fingerprint(DEEPSEEK_KEY)) == "my-deepseek"
            assert client.delete(f"/v1/instances/{reg['instance_id']}", headers=h).json() == {"status": "ok"}
            client.delete(f"/v1/instances/{other['instance_id']}", headers={"X-API-Key": other["api_key"]})
        assert [a.id for a in svc.accounts()] == ["my-deepseek"]  # still there, still polled
        assert [a.id for a in accounts_q.list_accounts(svc.store)] == ["my-deepseek"]
    finally:
        svc.close()
