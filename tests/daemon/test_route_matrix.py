"""Every route of ``serve`` (API, dashboard, assets, MCP, the proxy mount) against every kind of caller: none, an
instance's key, another instance's key, the admin token; on a loopback bind (no token configured: the admin token
is the per-install one ``serve`` writes to the data dir) and on a non-loopback bind (token configured).

A route this table does not name still has to refuse a caller without a credential (and an instance key, outside
``/v1/status``, ``/v1/providers`` and ``/v1/poll``), and let the admin in.
"""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from quotawarden.interfaces.daemon.serve import build, local_token_file
from tests.daemon.conftest import ADMIN, DEEPSEEK_KEY, make_service

DENIED = (401, 403)
PUBLIC = {("GET", "/openapi.json"), ("GET", "/docs"), ("GET", "/docs/oauth2-redirect"), ("GET", "/redoc"),
          ("GET", "/v1/health"), ("POST", "/v1/instances")}
OWN = {("DELETE", "/v1/instances/{instance_id}"), ("PATCH", "/v1/instances/{instance_id}/heartbeat"),
       ("GET", "/v1/status/{instance_id}")}
ANY_INSTANCE = {("GET", "/v1/status"), ("GET", "/v1/providers"), ("GET", "/v1/providers/{name}"), ("POST", "/v1/poll")}
PAGES = {("GET", "/"), ("GET", "/accounts/{account_id}"), ("GET", "/costs"), ("GET", "/fairness"),
         ("GET", "/alerts"), ("GET", "/audit"), ("GET", "/audit/latest.{fmt}"), ("GET", "/static/qw/app.js")}
PAGE_POSTS = {("POST", "/alerts/{alert_id}/ack")}
ADMIN_ONLY = {("GET", "/v1/jobs"), ("GET", "/v1/accounts"), ("GET", "/v1/accounts/{account_id}"),
              ("GET", "/v1/accounts/{account_id}/samples"), ("GET", "/v1/accounts/{account_id}/rollups"),
              ("GET", "/v1/usage"), ("GET", "/v1/alerts"), ("POST", "/v1/alerts/{alert_id}/ack"),
              ("GET", "/v1/audit/events"), ("GET", "/v1/audit/report"), ("GET", "/v1/fairness"),
              ("GET", "/v1/forecast"), ("GET", "/metrics")}
MCP = ("POST", "/mcp/")
PROXY = ("GET", "/proxy/openai/v1/models")
KNOWN = PUBLIC | OWN | ANY_INSTANCE | PAGES | PAGE_POSTS | ADMIN_ONLY | {MCP, PROXY}
INIT = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
    "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "matrix", "version": "1"}}}


def non_loopback_address() -> str | None:
    """An address of this machine that is not loopback (the route out), or None."""
    for probe in ("192.0.2.1", "10.255.255.255", "8.8.8.8"):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            try:
                s.connect((probe, 9))  # UDP: nothing is sent
                addr: str = s.getsockname()[0]
            except OSError:
                continue
        if not addr.startswith("127."):
            return addr
    return None


def closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port: int = s.getsockname()[1]
    s.close()
    return port


def routes(app: Any) -> list[tuple[str, str]]:
    """(method, path template) of every route and mount, routers flattened."""
    out: list[tuple[str, str]] = []

    def walk(items: Any, prefix: str = "") -> None:
        for r in items:
            inner = getattr(r, "original_router", None)
            if inner is not None:
                ctx = getattr(r, "include_context", None)
                walk(inner.routes, prefix + (getattr(ctx, "prefix", "") or ""))
            elif type(r).__name__ == "Mount":
                out.append({"/static/qw": ("GET", "/static/qw/app.js"), "/mcp": MCP,
                            "/proxy": PROXY}.get(r.path, ("GET", r.path + "/")))
            else:
                for m in sorted((getattr(r, "methods", None) or {"GET"}) - {"HEAD"}):
                    out.append((m, re.sub(r"\{(\w+):\w+\}", r"{\1}", prefix + r.path)))  # {id:path} -> {id}
    walk(app.routes)
    return out


class Served:
    def __init__(self, app: Any, host: str) -> None:
        import asyncio
        import threading

        import uvicorn

        self.sock = socket.socket()
        self.sock.bind((host, 0))
        self.url = f"http://{host}:{self.sock.getsockname()[1]}"
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
        self.thread = threading.Thread(target=lambda: asyncio.run(self.server.serve(sockets=[self.sock])),
                                       daemon=True)

    def __enter__(self) -> str:
        import time

        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            assert time.monotonic() < deadline, "server did not start"
            time.sleep(0.01)
        return self.url

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.sock.close()


@pytest.fixture(params=["loopback", "non-loopback"])
def served(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
           ) -> Iterator[tuple[str, str, dict[str, Any], Any]]:
    """(bind kind, base URL, {credential name: headers, "own_id": the first instance's id}, the app)."""
    bind = "127.0.0.1"
    if request.param == "non-loopback":
        found = non_loopback_address()
        if found is None:
            pytest.skip("this machine has no address beyond loopback")
        bind = found
    dead = f"http://127.0.0.1:{closed_port()}"
    monkeypatch.setenv("MATRIX_DS_KEY", DEEPSEEK_KEY)
    token_line = f'admin_token = "{ADMIN}"\n' if request.param == "non-loopback" else ""
    svc = make_service(f"sqlite:///{tmp_path / 'm.db'}", tmp_path, f"""{token_line}
[proxy]
upstreams = {{ openai = "{dead}" }}

[[accounts]]
id = "ds"
provider = "deepseek"
credential = "env:MATRIX_DS_KEY"
base_url = "{dead}"
""")  # instances register this key: they share the configured account, polled at a closed port only
    app, _ = build(svc, bind, tick_s=3600, with_proxy=True)
    try:
        with Served(app, bind) as url:
            admin = ADMIN if request.param == "non-loopback" else local_token_file().read_text().strip()
            keys = []
            for project in ("one", "two"):
                auth = {"opencode_auth": {"deepseek-coding-plan": {"key": DEEPSEEK_KEY}}}
                r = httpx.post(f"{url}/v1/instances", json={"project_name": project, "auth": auth})
                assert r.status_code == 201, r.text
                keys.append((r.json()["instance_id"], r.json()["api_key"]))
            creds = {"none": {}, "instance": {"x-api-key": keys[0][1]}, "other": {"x-api-key": keys[1][1]},
                     "admin": {"authorization": f"Bearer {admin}"}}
            yield request.param, url, {"own_id": keys[0][0], **creds}, app
    finally:
        svc.close()


def fill(path: str, own_id: str) -> str:
    return (path.replace("{instance_id}", own_id).replace("{account_id}", "ds").replace("{name}", "deepseek")
            .replace("{alert_id}", "999").replace("{fmt}", "json").replace("{seat}", "nobody"))


def expected(bind: str, method: str, path: str, who: str) -> str:
    """``ok`` (not 401/403), ``denied`` (401/403), or ``forbidden`` (403 exactly)."""
    route = (method, path)
    if who == "admin":
        return "ok" if route in KNOWN or not path.startswith("/v1/") else "any"  # a seat-only route may refuse it
    if route in PUBLIC or (route == ("GET", "/metrics") and bind == "loopback"):
        return "ok"
    if route == PROXY:  # on loopback with no token configured, the proxy's own rules (its own 401 without a key)
        return "proxy" if bind == "loopback" else "denied"
    page = not path.startswith(("/v1/", "/mcp", "/proxy", "/metrics"))  # every other path is the dashboard's
    if route in PAGES or (page and method == "GET"):
        return "ok" if bind == "loopback" else "denied"  # an instance key is no dashboard credential
    if route in PAGE_POSTS or page:
        return "forbidden" if bind == "loopback" else "denied"  # loopback: no CSRF token
    if who == "none":
        return "denied"
    if route in OWN:
        return "ok" if who == "instance" else "forbidden"
    if route in ANY_INSTANCE:
        return "ok"
    return "denied"  # admin-only: every other /v1 route, /metrics off loopback, MCP


def test_every_route_against_every_caller(served: tuple[str, str, dict[str, Any], Any]) -> None:
    bind, url, creds, app = served
    own_id = creds.pop("own_id")
    app_routes = routes(app.api())  # the FastAPI app behind serve's front
    assert MCP in app_routes and PROXY in app_routes and ("GET", "/v1/status") in app_routes
    seen = []
    with httpx.Client(base_url=url, timeout=10) as c:
        # the instance that deletes itself comes last, so every other row still has both instances
        order = sorted(app_routes, key=lambda r: r == ("DELETE", "/v1/instances/{instance_id}"))
        for method, path in order:
            for who in ("none", "other", "instance", "admin"):
                if (method, path) == ("DELETE", "/v1/instances/{instance_id}") and who == "admin":
                    continue  # the admin deleting it would leave the instance row nothing to delete
                headers = dict(creds[who])
                body: Any = INIT if (method, path) == MCP else None
                if (method, path) == MCP:
                    headers["accept"] = "application/json, text/event-stream"
                r = c.request(method, fill(path, own_id), headers=headers, json=body)
                want = expected(bind, method, path, who)
                got = "denied" if r.status_code in DENIED else "ok"
                if want == "proxy":  # answered by the proxy itself, in the provider's format, not by the guard
                    ok = isinstance(r.json().get("error"), dict)
                else:
                    ok = (r.status_code == 403) if want == "forbidden" else (want == "any" or got == want)
                seen.append((method, path, who, r.status_code))
                assert ok, f"{bind}: {method} {path} as {who}: {r.status_code} (want {want}) {r.text[:200]}"
                assert r.status_code < 500 or (method, path) == PROXY, (method, path, who, r.status_code, r.text)
    assert len({(m, p) for m, p, _, _ in seen}) == len(app_routes)

