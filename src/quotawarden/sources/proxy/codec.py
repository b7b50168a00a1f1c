"""Batch items <-> JSON lines, for the journal and the spill file that keep writes safe (crash, store down)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import fields
from datetime import datetime
from decimal import Decimal
from typing import Any

import orjson

from quotawarden.domain import AccountState, Outcome, Provenance, QuotaSample, Source, Unit, UsageEvent
from quotawarden.sources.proxy.model import Batch, ObservedAccount

_SAMPLE, _USAGE, _STATE = ([f.name for f in fields(cls)] for cls in (QuotaSample, UsageEvent, AccountState))


def _default(obj: Any) -> Any:
    if isinstance(obj, Decimal):
        return str(obj)
    raise TypeError(type(obj).__name__)


def _dt(v: str | None) -> datetime | None:
    return datetime.fromisoformat(v) if v else None


def encode(batch: Batch) -> Iterator[bytes]:
    for o in batch.observed:
        yield _line("o", {"account_id": o.account_id, "provider": o.provider, "fingerprint": o.fingerprint,
                          "base_url": o.base_url})
    for s in batch.samples:
        yield _line("s", {f: getattr(s, f) for f in _SAMPLE})
    for e in batch.usage:
        yield _line("u", {f: getattr(e, f) for f in _USAGE})
    for st in batch.states:
        yield _line("a", {f: getattr(st, f) for f in _STATE})
    for (account_id, hour), (ok, failed) in batch.outcomes.items():
        yield _line("c", {"account_id": account_id, "hour": hour, "ok": ok, "errors": failed})


def usage_line(e: UsageEvent) -> bytes:
    """One usage event as a ``u`` line, fast (orjson serialises the dataclass itself): the journal's hot path."""
    return b'{"k":"u",' + orjson.dumps(e, default=_default)[1:] + b"\n"


def _line(kind: str, data: dict[str, Any]) -> bytes:
    return orjson.dumps({"k": kind, **data}, default=_default) + b"\n"


def decode(lines: Iterable[bytes]) -> tuple[Batch, int]:
    """Parse spilled lines; a torn last line (crash mid-write) is counted and skipped."""
    batch, bad = Batch(), 0
    for raw in lines:
        if not raw.strip():
            continue
        try:
            d = orjson.loads(raw)
            kind = d.pop("k")
            if kind == "s":
                batch.samples.append(_sample(d))
            elif kind == "u":
                batch.usage.append(_usage(d))
            elif kind == "a":
                batch.states.append(AccountState(d["account_id"], Outcome(d["outcome"]), d.get("reason", ""),
                                                 _dt(d.get("observed_at")), _dt(d.get("retry_at"))))
            elif kind == "o":
                batch.observed.append(ObservedAccount(**d))
            elif kind == "c":
                counts = batch.outcomes.setdefault((d["account_id"], int(d["hour"])), [0, 0])
                counts[0] += int(d["ok"])
                counts[1] += int(d["errors"])
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            bad += 1
    return batch, bad


def _sample(d: dict[str, Any]) -> QuotaSample:
    d["observed_at"] = _dt(d["observed_at"])
    d["resets_at"] = _dt(d.get("resets_at"))
    d["unit"], d["source"], d["provenance"] = Unit(d["unit"]), Source(d["source"]), Provenance(d["provenance"])
    return QuotaSample(**d)


def _usage(d: dict[str, Any]) -> UsageEvent:
    d["ts"] = _dt(d["ts"])
    d["source"] = Source(d["source"])
    for k in ("cost", "cost_recorded"):
        d[k] = Decimal(d[k]) if d.get(k) is not None else None
    return UsageEvent(**d)
