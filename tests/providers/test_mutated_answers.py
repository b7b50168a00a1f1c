"""Every recorded provider answer, mutated field by field (a 26-digit number, -1, a list, an object, null, text,
a boolean, 1e308, the field removed) and header by header (26 digits, text, -1, 1e999, empty): a probe returns a
reading or raises one of quotawarden's own errors (a ``MalformedResponse`` naming the field), never a raw
``TypeError``, ``OverflowError``, ``AttributeError`` or ``decimal.InvalidOperation``."""

from __future__ import annotations

import copy
import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from quotawarden.domain import Account
from quotawarden.errors import MalformedResponse, QuotawardenError
from quotawarden.plugins import load_plugins
from quotawarden.spec import Headers, HttpResponse, ProbeContext, ProviderSpec
from quotawarden.testing import drive_probe, load_http_response

HERE = Path(__file__).parent
NOW = datetime(2026, 8, 20, 14, 3, 11, tzinfo=UTC)
PLUGINS = load_plugins()
DELETE = object()
VALUES: list[Any] = [10**26, -1, [1], {}, None, "x", True, 1e308, "99999999999999999999999999", DELETE]
HEADER_VALUES = ["12345678901234567890123456", "x", "-1", "1e999", "", "-12345678901234567890123456"]


def _probing(d: Path) -> ProviderSpec | None:
    try:
        spec = PLUGINS.provider(d.name)
    except Exception:
        return None
    return spec if spec.probe is not None else None


def _paths(obj: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield (*path, k)
            yield from _paths(v, (*path, k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj[:3]):
            yield from _paths(v, (*path, i))


def _mutated(doc: Any, path: tuple[Any, ...], value: Any) -> Any:
    out = copy.deepcopy(doc)
    node = out
    for p in path[:-1]:
        node = node[p]
    if value is DELETE:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return out


def _drive(spec: ProviderSpec, resp: HttpResponse) -> None:
    model = spec.settings_model() if spec.settings_model else None
    ctx = ProbeContext(Account(f"{spec.slug}-1", spec.slug), "sk-test-0123456789abcdef", model, NOW)
    assert spec.probe is not None
    try:
        drive_probe(spec.probe, ctx, lambda _req: resp)
    except QuotawardenError:
        pass
    except AssertionError as exc:  # the probe asked for more than one answer: not what this test is about
        assert "more requests" in str(exc)


BODIES = [(d.name, f) for d in sorted(HERE.iterdir()) if d.is_dir() and _probing(d) for f in sorted(d.glob("*.json"))]
HEADERS = [(d.name, f) for d in sorted(HERE.iterdir()) if d.is_dir() and _probing(d) for f in sorted(d.glob("*.txt"))]


@pytest.mark.parametrize(("slug", "path"), BODIES, ids=[f"{s}/{p.name}" for s, p in BODIES])
def test_a_mutated_body_is_a_reading_or_our_error(slug: str, path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR)
    spec = _probing(HERE / slug)
    assert spec is not None
    try:
        doc = json.loads(path.read_text())
    except ValueError:
        pytest.skip("not JSON")
    for where in sorted(set(_paths(doc)), key=str):
        for value in VALUES:
            body = json.dumps(_mutated(doc, where, value)).encode()
            _drive(spec, HttpResponse(200, Headers({"content-type": "application/json"}), body))


@pytest.mark.parametrize(("slug", "path"), HEADERS, ids=[f"{s}/{p.name}" for s, p in HEADERS])
def test_a_mutated_header_is_a_reading_or_our_error(slug: str, path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR)
    spec = _probing(HERE / slug)
    assert spec is not None
    try:
        base = load_http_response(path)
    except (ValueError, IndexError):
        pytest.skip("not a raw HTTP answer")
    for name in list(base.headers):
        for value in HEADER_VALUES:
            _drive(spec, HttpResponse(base.status, Headers({**dict(base.headers.items()), name: value}), base.body))


@pytest.mark.parametrize(("slug", "name", "body", "field"), [
    ("claude", "anthropic_oauth_usage.json", {"limits": [{"kind": "weekly_scoped", "scope": 5}]}, "limits[0].scope"),
    ("codex", "codex_wham_usage.json", {"additional_rate_limits": 7}, "additional_rate_limits"),
])
def test_the_error_names_the_field(slug: str, name: str, body: dict[str, Any], field: str) -> None:
    spec = _probing(HERE / slug)
    assert spec is not None and spec.probe is not None
    doc = {**json.loads((HERE / slug / name).read_text()), **body}
    ctx = ProbeContext(Account(f"{slug}-1", slug), "sk-test-0123456789abcdef",
                       spec.settings_model() if spec.settings_model else None, NOW)
    with pytest.raises(MalformedResponse, match=field.replace("[", r"\[").replace("]", r"\]")):
        drive_probe(spec.probe, ctx, lambda _req: HttpResponse(200, Headers({}), json.dumps(doc).encode()))
