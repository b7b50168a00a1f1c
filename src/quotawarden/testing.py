"""A test kit for plug-in authors: drive a probe against recorded responses, read raw HTTP fixture files.

    from quotawarden.testing import FixedClock, drive_probe, load_http_response

    reading = drive_probe(my_probe, ctx, [load_http_response("tests/acme/quota_200.txt")])
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from quotawarden.clock import FixedClock
from quotawarden.spec import Headers, HttpRequest, HttpResponse, Probe, ProbeContext, ProbeReading

__all__ = ["FixedClock", "drive_probe", "load_http_response"]


def load_http_response(path: str | Path) -> HttpResponse:
    """Parse a raw response file: status line, headers, blank line, body (the shared fixtures' ``.txt`` form)."""
    raw = Path(path).read_bytes().replace(b"\r\n", b"\n")
    head, _, body = raw.partition(b"\n\n")
    lines = head.decode().split("\n")
    status = int(lines[0].split()[1])
    headers = [tuple(part.strip() for part in line.split(":", 1)) for line in lines[1:] if ":" in line]
    return HttpResponse(status=status, headers=Headers(headers), body=body)  # type: ignore[arg-type]


def drive_probe(probe: Probe, ctx: ProbeContext,
                responses: Sequence[HttpResponse] | Callable[[HttpRequest], HttpResponse]) -> ProbeReading:
    """Run a sans-I/O probe to completion, answering each request from a list or a function."""
    gen = probe(ctx)
    answer = responses if callable(responses) else _from_list(list(responses))
    try:
        request = next(gen)
        while True:
            request = gen.send(answer(request))
    except StopIteration as stop:
        return stop.value  # type: ignore[no-any-return]


def _from_list(items: list[HttpResponse]) -> Callable[[HttpRequest], HttpResponse]:
    def answer(_request: HttpRequest) -> HttpResponse:
        if not items:
            raise AssertionError("the probe asked for more requests than responses were given")
        return items.pop(0)

    return answer
