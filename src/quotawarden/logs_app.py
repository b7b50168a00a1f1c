"""Agent-log use cases behind ``Service.ingest_logs`` / ``Service.usage_report`` / ``Service.record_statusline``.

Kept out of ``service.py`` so the facade stays a list of thin methods; everything here receives the service.
"""

from __future__ import annotations

import socket
from collections.abc import Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from quotawarden.errors import ConfigError
from quotawarden.sources.log_tailer import IngestReport, Progress, ingest

if TYPE_CHECKING:
    from quotawarden.analysis.usage_report import ReportQuery
    from quotawarden.logsources.base import LogSourceSpec
    from quotawarden.service import Service

# which configured provider's account a log's official quota readings belong to
_ACCOUNT_PROVIDER = {"claude_code": "claude", "codex": "codex"}


def host_name(svc: Service) -> str:
    return svc.config.settings.logs.host or socket.gethostname()


def selected_specs(svc: Service, sources: Iterable[str] | None) -> list[LogSourceSpec]:
    wanted = list(sources or svc.config.settings.logs.sources or svc.plugins.log_sources)
    unknown = [s for s in wanted if s not in svc.plugins.log_sources]
    if unknown:
        known = ", ".join(sorted(svc.plugins.log_sources))
        raise ConfigError(f"unknown log source {unknown[0]!r} (known: {known})")
    return [svc.plugins.log_sources[s] for s in wanted]


def roots_for(svc: Service, specs: list[LogSourceSpec], paths: Mapping[str, list[str]] | list[str] | None,
              ) -> dict[str, list[Path]]:
    configured = svc.config.settings.logs.paths
    out: dict[str, list[Path]] = {}
    for spec in specs:
        if isinstance(paths, list):  # --path DIR: the same folders for every selected source
            out[spec.slug] = [Path(p).expanduser() for p in paths]
        elif paths and spec.slug in paths:
            out[spec.slug] = [Path(p).expanduser() for p in paths[spec.slug]]
        elif spec.slug in configured:
            out[spec.slug] = [Path(p).expanduser() for p in configured[spec.slug]]
        else:
            out[spec.slug] = spec.default_roots()
    return out


def account_map(svc: Service) -> dict[str, str]:
    out = {}
    for slug, provider in _ACCOUNT_PROVIDER.items():
        match = next((a.id for a in svc.config.accounts if a.provider == provider), None)
        out[slug] = match or provider
    return out


def pricer(svc: Service) -> Any:
    from quotawarden.pricing import Pricer

    return Pricer(svc.config.settings.logs.price_overrides)


def ingest_logs(svc: Service, sources: Iterable[str] | None = None,
                paths: Mapping[str, list[str]] | list[str] | None = None,
                progress: Progress | None = None) -> IngestReport:
    from quotawarden.store.ingest import StoreLogSink

    specs = selected_specs(svc, sources)
    host = host_name(svc)
    sink = StoreLogSink(svc.store, host, svc.now().timestamp())
    return ingest(sink, specs, roots_for(svc, specs, paths), pricer=pricer(svc), host=host,
                  accounts=account_map(svc), progress=progress)


def usage_report(svc: Service, query: ReportQuery) -> dict[str, Any]:
    from quotawarden.analysis.usage_report import build
    from quotawarden.store.ingest import report_rows

    return build(report_rows(svc.store, query.kind == "session", since_ts(query)), query, svc.now())


def since_ts(query: ReportQuery) -> float | None:
    """Roll-up rows that may fall on ``--since`` or later in any time zone."""
    if query.since is None:
        return None
    return datetime(query.since.year, query.since.month, query.since.day).timestamp() - 2 * 86400
