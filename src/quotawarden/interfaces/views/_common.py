"""Helpers the view modules share: time and number formatting, JSON-ready values."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from quotawarden.analysis.durations import human_duration


def iso(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def parse_iso(value: str | None) -> datetime | None:
    return None if not value else datetime.fromisoformat(value.replace("Z", "+00:00"))


def seconds_until(value: str | datetime | None, now: datetime) -> float | None:
    at = parse_iso(value) if isinstance(value, str) or value is None else value
    return None if at is None else (at - now).total_seconds()


def human(seconds: float | None) -> str:
    """Signed, with seconds under a minute: ``-5m``, ``45s``, ``3h10m``."""
    return human_duration(seconds, signed=True)


def money(value: Decimal | float | None) -> float | None:
    return None if value is None else round(float(value), 4)


def jsonable(obj: Any) -> Any:
    """Dataclasses, enums, Decimals and datetimes from the service, as JSON-ready values."""
    import dataclasses
    from enum import Enum

    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: jsonable(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple | set | frozenset):
        return [jsonable(v) for v in obj]
    if isinstance(obj, Decimal):
        return float(obj)
    if isinstance(obj, Enum):
        return obj.value
    if isinstance(obj, datetime):
        return iso(obj)
    return obj
