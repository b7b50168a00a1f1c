"""Reading a running daemon over HTTP (``quotawarden status --server URL``)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import httpx

from quotawarden.errors import CredentialError, Unreachable


def remote_status(url: str, token: str | None, account_ids: list[str] | None = None
                  ) -> tuple[dict[str, Any], datetime]:
    from quotawarden.interfaces.daemon.serve import is_loopback, local_token_file

    if not token and is_loopback(urlsplit(url).hostname or "") and local_token_file().exists():
        token = local_token_file().read_text().strip()
    if not token:
        raise CredentialError("the daemon needs its admin token: pass --token or set QUOTAWARDEN_ADMIN_TOKEN")
    try:
        r = httpx.get(url.rstrip("/") + "/v1/accounts", headers={"Authorization": f"Bearer {token}"}, timeout=10)
    except httpx.HTTPError as exc:
        raise Unreachable(f"cannot reach the daemon at {url}: {exc}") from None
    if r.status_code in (401, 403):
        raise CredentialError(f"the daemon at {url} refused the admin token ({r.status_code})")
    r.raise_for_status()
    report: dict[str, Any] = r.json()
    if account_ids:
        report["accounts"] = [a for a in report["accounts"] if a["id"] in set(account_ids)]
    generated = report.get("generated_at")
    now = datetime.fromisoformat(generated.replace("Z", "+00:00")) if generated else datetime.now(UTC)
    return report, now
