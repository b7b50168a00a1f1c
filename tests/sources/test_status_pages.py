"""Status pages in the Statuspage format: every indicator maps to a service state; anything else is unreadable."""

from __future__ import annotations

import pytest

from quotawarden.sources.status_pages import parse


@pytest.mark.parametrize(("indicator", "state"), [("none", "operational"), ("minor", "degraded"),
                                                  ("major", "partial_outage"), ("critical", "major_outage"),
                                                  ("maintenance", "degraded"), ("purple", "unknown")])
def test_indicators(indicator: str, state: str) -> None:
    body = b'{"page": {"id": "x"}, "status": {"indicator": "%s", "description": "Words"}}' % indicator.encode()
    assert parse(body) == (state, "Words")


@pytest.mark.parametrize("body", [b"<html>maintenance</html>", b"{}", b'{"status": "fine"}', b"[]"])
def test_not_a_status_page(body: bytes) -> None:
    with pytest.raises(ValueError, match="not a status page answer"):
        parse(body)
