"""Read JSONL probe logs written by older monitoring tools into samples (source ``import``).

One JSON object per line with fields such as ``ts`` (ISO time or epoch s), ``provider``, ``account``,
``status``, ``utilization_5h``, ``utilization_7d`` (a fraction 0..1, or a percentage when above 2) and
``reset_in_seconds`` (of the 5-hour window). Bad lines are counted, skipped and reported by line number.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from quotawarden.domain import Provenance, QuotaSample, Source, Unit

WINDOWS = {"utilization_5h": ("5h", 18000), "utilization_7d": ("7d", 604800),
           "utilization_7d_opus": ("7d_opus", 604800), "utilization_7d_sonnet": ("7d_sonnet", 604800)}


@dataclass
class ImportReport:
    samples: list[QuotaSample] = field(default_factory=list)
    lines: int = 0
    skipped: list[str] = field(default_factory=list)


def _time(value: Any) -> datetime:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value / 1000 if value > 1e11 else value, UTC)
    dt = datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def _ratio(value: Any) -> float | None:
    if value is None or value == "":
        return None
    v = float(value)
    if v != v or v < 0:
        raise ValueError(f"utilization {value!r} is out of range")
    if v > 2:
        v /= 100
    if v > 2:
        raise ValueError(f"utilization {value!r} is out of range")
    return v


def parse_line(record: dict[str, Any], default_account: str | None) -> list[QuotaSample]:
    ts = _time(record["ts"])
    account = default_account or record.get("account") or record.get("account_id") or record.get("provider")
    if not account:
        raise ValueError("no account or provider field (use --account)")
    reset = record.get("reset_in_seconds")
    out = []
    for key, (window, length) in WINDOWS.items():
        ratio = _ratio(record.get(key))
        if ratio is None:
            continue
        resets_at = ts + timedelta(seconds=float(reset)) if reset is not None and window == "5h" else None
        out.append(QuotaSample(observed_at=ts, account_id=str(account), window=window, unit=Unit.PERCENT,
                               source=Source.IMPORT, provenance=Provenance.OFFICIAL, used_ratio=ratio,
                               resets_at=resets_at, status=record.get("status"), window_length_s=length))
    return out


def read_files(paths: Iterable[str | Path], account: str | None = None) -> ImportReport:
    report = ImportReport()
    for path in paths:
        p = Path(path)
        with p.open("rb") as fh:
            for n, raw in enumerate(fh, 1):
                if not raw.strip():
                    continue
                report.lines += 1
                try:
                    record = orjson.loads(raw)
                    if not isinstance(record, dict):
                        raise ValueError("not a JSON object")
                    report.samples += parse_line(record, account)
                except (orjson.JSONDecodeError, ValueError, KeyError, TypeError, OverflowError) as exc:
                    report.skipped.append(f"{p}:{n}: {exc}"[:200])
    return report
