"""OpenAI Codex CLI: ``$CODEX_HOME/sessions/YYYY/MM/DD/rollout-*.jsonl`` and ``archived_sessions``.

``token_count`` events carry cumulative session totals; each growth of the total becomes one usage event (a
re-emitted total is ignored). ``input_tokens`` includes ``cached_input_tokens`` and ``output_tokens`` includes
reasoning (reference section 8b), so the event stores the uncached part as input. ``rate_limits`` snapshots
become official quota samples; windows are named by ``window_minutes``, not by primary/secondary.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from quotawarden.domain import Provenance, QuotaSample, Source, Unit, UsageEvent, window_name
from quotawarden.logsources.base import (
    Item,
    LogSourceSpec,
    MalformedRecord,
    Parsed,
    ReaderContext,
    as_int,
    hookimpl,
    parse_iso,
    walk,
)

DEFAULT_MODEL = "gpt-5"  # what ccusage assumes before any turn_context names one
_FIELDS = ("input_tokens", "cached_input_tokens", "output_tokens", "reasoning_output_tokens")


def roots(environ: Mapping[str, str], home: Path) -> list[Path]:
    base = Path(environ["CODEX_HOME"]).expanduser() if environ.get("CODEX_HOME") else home / ".codex"
    return [base / "sessions", base / "archived_sessions"]


def discover(root: Path) -> list[Path]:
    return list(walk(root, (".jsonl",)))


def rate_limit_samples(limits: Any, at: datetime, account_id: str) -> list[QuotaSample]:
    if not isinstance(limits, dict):
        return []
    prefix = "" if limits.get("limit_id") in (None, "codex") else f"{limits['limit_id']}:"
    out = []
    for key in ("primary", "secondary"):
        w = limits.get(key)
        if not isinstance(w, dict) or w.get("used_percent") is None or not w.get("window_minutes"):
            continue
        used = float(w["used_percent"])
        minutes = as_int(w["window_minutes"])
        if not 0 <= used <= 100 or minutes <= 0:
            continue
        if w.get("resets_at") is not None:
            resets = datetime.fromtimestamp(float(w["resets_at"]), at.tzinfo)
        elif w.get("resets_in_seconds") is not None:
            resets = at + timedelta(seconds=float(w["resets_in_seconds"]))
        else:
            resets = None
        out.append(QuotaSample(
            observed_at=at, account_id=account_id, window=prefix + window_name(minutes * 60), unit=Unit.PERCENT,
            source=Source.LOG, provenance=Provenance.OFFICIAL, used_ratio=used / 100, resets_at=resets,
            window_length_s=minutes * 60,
        ))
    return out


class CodexReader:
    def __init__(self, ctx: ReaderContext) -> None:
        st = ctx.state
        self._host = ctx.host
        self._account = ctx.account_id or "codex"
        self._session: str = st.get("session") or _session_from(ctx.path)
        self._project: str | None = st.get("project")
        self._model: str = st.get("model") or DEFAULT_MODEL
        self._total: list[int] = list(st.get("total") or [0, 0, 0, 0])

    def feed(self, line: bytes) -> Sequence[Item]:
        try:
            obj = orjson.loads(line)
        except orjson.JSONDecodeError:
            raise MalformedRecord("not JSON") from None
        if not isinstance(obj, dict):
            raise MalformedRecord("not an object")
        kind, payload = obj.get("type"), obj.get("payload")
        if not isinstance(payload, dict):
            return ()
        if kind == "session_meta":
            self._session = str(payload.get("id") or self._session)
            self._project = payload.get("cwd") or self._project
        elif kind == "turn_context" and payload.get("model"):
            self._model = str(payload["model"])
        elif kind == "event_msg" and payload.get("type") == "token_count":
            return self._token_count(obj, payload)
        return ()

    def _token_count(self, obj: dict[str, Any], payload: dict[str, Any]) -> list[Item]:
        at = parse_iso(obj.get("timestamp"))
        items: list[Item] = list(rate_limit_samples(payload.get("rate_limits"), at, self._account))
        info = payload.get("info")
        total = info.get("total_token_usage") if isinstance(info, dict) else None
        if not isinstance(total, dict):
            return items
        now = [as_int(total.get(f)) for f in _FIELDS]
        if sum(now) <= sum(self._total):
            return items  # a re-emitted (or reset) total: nothing new was spent
        d = [max(0, a - b) for a, b in zip(now, self._total, strict=True)]
        self._total = now
        items.append(Parsed(UsageEvent(
            ts=at, provider="openai", model=self._model, source=Source.LOG,
            dedup_key=f"codex:{self._session}:{sum(now)}", project=self._project, session=self._session,
            host=self._host, input_tokens=max(0, d[0] - d[1]), cache_read_tokens=d[1], output_tokens=d[2],
            reasoning_tokens=d[3], consumer="codex",
        ), message_id=f"{self._session}:{sum(now)}"))
        return items

    def state(self) -> dict[str, Any]:
        return {"session": self._session, "project": self._project, "model": self._model, "total": self._total}


def _session_from(path: Path) -> str:
    # rollout-2026-08-20T09-30-00-<uuid>.jsonl: the uuid is the last five dash-separated groups
    return "-".join(path.stem.split("-")[-5:])


SPEC = LogSourceSpec(
    slug="codex", display_name="Codex CLI", provider="openai", roots=roots, discover=discover,
    reader=CodexReader, usage_hint=None, on_conflict="larger",
)


@hookimpl
def register_log_sources(register: Any) -> None:
    register(SPEC)
