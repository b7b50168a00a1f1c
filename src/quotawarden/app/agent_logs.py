"""Agent-log use cases behind ``Service.ingest_logs`` / ``Service.usage_report`` and the fast ``usage`` command.

Both routes describe what they need as a :class:`LogsEnv`: from the full service (validated config, plug-ins,
any store) or, for ``quotawarden usage ...`` on a SQLite store, from the raw TOML and the log-source entry points
alone (:func:`quick_env`), so a report with nothing new to read never imports SQLAlchemy, pydantic or alembic.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from quotawarden.errors import ConfigError
from quotawarden.sources.log_plan import IngestReport
from quotawarden.sources.log_tailer import Progress, ingest

if TYPE_CHECKING:
    from quotawarden.analysis.usage_report import ReportQuery
    from quotawarden.app.context import AppContext
    from quotawarden.logsources.base import LogSourceSpec
    from quotawarden.store.logs_sql import LogDb

OTEL = "otel"
"""``--source otel``: usage received over OTLP (``serve``'s ``/v1/logs``), not a log source to read."""
# which configured provider's account a log's official quota readings belong to
_ACCOUNT_PROVIDER = {"claude_code": "claude", "codex": "codex"}
# logs whose calls count against a configured account's limits, when there is one (analysis.counting)
_COUNTED_PROVIDER = {"gemini_cli": "gemini"}


@dataclass
class LogsEnv:
    log_sources: Mapping[str, LogSourceSpec]
    db: Callable[[str], LogDb]
    """``host -> LogDb`` (a fresh connection; closed by ``ingest``)."""
    now: Callable[[], datetime]
    sources: list[str] = field(default_factory=list)
    paths: Mapping[str, list[str]] = field(default_factory=dict)
    host: str | None = None
    cost_mode: str = "auto"
    price_overrides: Mapping[str, Any] = field(default_factory=dict)
    accounts: list[tuple[str, str]] = field(default_factory=list)
    """(account id, provider) of the configured accounts."""


def from_service(svc: AppContext) -> LogsEnv:
    from quotawarden.store.ingest import StoreLogSink

    logs = svc.config.settings.logs
    return LogsEnv(svc.plugins.log_sources, lambda host: StoreLogSink(svc.store, host, svc.now().timestamp()),
                   svc.now, list(logs.sources), logs.paths, logs.host, logs.cost_mode, logs.price_overrides,
                   [(a.id, a.provider) for a in svc.config.accounts])


def quick_env_from_files() -> LogsEnv | None:
    """``quick_env`` for the config file and database the environment names (``QUOTAWARDEN_CONFIG``,
    ``QUOTAWARDEN_DB_URL``, else the platform defaults), read with ``tomllib`` alone."""
    from quotawarden.store.quick import database_url, read_config

    config = read_config(None)
    return quick_env(config, database_url(config))


def quick_env(config: Mapping[str, Any], url: str) -> LogsEnv | None:
    """The environment from the raw TOML (``config``) on the SQLite store at ``url`` (created and migrated first
    when needed); None when the full service is needed (PostgreSQL, a ``[logs]`` section pydantic must check)."""
    from quotawarden.store.logs_sql import LogDb, open_sqlite

    if not url.startswith("sqlite:///"):
        return None
    path = url.split("///", 1)[1]
    if not path or path == ":memory:":
        return None
    logs = config.get("logs", {})
    if not _plain_logs_section(logs) or not isinstance(config.get("accounts", []), list):
        return None  # the full CLI validates and names the file, line and field
    if not _migrated(path):
        # a first run: a new file from the schema snapshot (no SQLAlchemy, no Alembic), else the migrations alone
        # (the full CLI would load every command's code as well)
        from quotawarden.store.schema_snapshot import create_sqlite

        if os.path.exists(path) or not create_sqlite(path):
            from quotawarden.store import open_store

            open_store(url).close()
    return LogsEnv(_entry_point_log_sources(), lambda host: LogDb(lambda: open_sqlite(path), "sqlite", host,
                                                                    datetime.now(UTC).timestamp()),
                   lambda: datetime.now(UTC), list(logs.get("sources") or []), logs.get("paths") or {},
                   logs.get("host"), logs.get("cost_mode") or "auto", logs.get("price_overrides") or {},
                   [(str(a.get("id")), str(a.get("provider"))) for a in config.get("accounts", []) if a.get("id")])


def _migrated(path: str) -> bool:
    from quotawarden.store.logs_sql import open_sqlite, sqlite_ready

    if not os.path.exists(path):
        return False
    conn = open_sqlite(path)
    try:
        return sqlite_ready(conn)
    finally:
        conn.close()


def _plain_logs_section(logs: Any) -> bool:
    """The ``[logs]`` shapes the fast path can use as they are (anything else: let pydantic explain)."""
    def strs(v: Any) -> bool:
        return isinstance(v, list) and all(isinstance(x, str) for x in v)

    def price(v: Any) -> bool:
        return isinstance(v, dict) and all(isinstance(v.get(k), int | float) for k in ("input", "output")) and all(
            isinstance(x, int | float) for x in v.values())

    known = {"sources", "paths", "cost_mode", "price_overrides", "host"}
    return (isinstance(logs, dict) and set(logs) <= known and strs(logs.get("sources", []))
            and isinstance(logs.get("paths", {}), dict) and all(strs(v) for v in logs.get("paths", {}).values())
            and logs.get("cost_mode", "auto") in ("auto", "calculate", "display")
            and isinstance(logs.get("host", ""), str)
            and isinstance(logs.get("price_overrides", {}), dict)
            and all(price(v) for v in logs.get("price_overrides", {}).values()))


def _entry_point_log_sources() -> dict[str, LogSourceSpec]:
    """The ``quotawarden.log_sources`` entry points only (the provider plug-ins are not needed here), chosen as
    ``plugins.load_plugins`` chooses them: built-ins first and they keep their slugs, third parties as
    ``QUOTAWARDEN_LOAD_PLUGINS`` selects, the first registration of a slug wins. Problems are reported by the
    full path (``quotawarden providers``); here a failing plug-in is simply left out."""
    from importlib import import_module

    from quotawarden.plugins import BUILTIN_DIST, selected_dists

    allowed = selected_dists()
    found: dict[str, LogSourceSpec] = {}
    eps = entry_points("quotawarden.log_sources")
    for _name, target, dist in sorted(eps, key=lambda e: e[2] != BUILTIN_DIST):
        if dist != BUILTIN_DIST and allowed is not None and dist not in allowed:
            continue
        module, _, attr = target.partition(":")
        try:
            plugin: Any = import_module(module.strip())
            for part in filter(None, attr.strip().split(".")):
                plugin = getattr(plugin, part)
            hook = getattr(plugin, "register_log_sources", None)
            if hook is None:
                continue
            mine: dict[str, LogSourceSpec] = {}
            hook(register=lambda spec, into=mine: into.__setitem__(spec.slug, spec))
        except Exception:  # reported by `quotawarden providers` on the full path; never fatal here
            continue
        if not set(mine) & set(found):  # a plug-in loads whole or not at all, as on the full path
            found.update(mine)
    return found


def entry_points(group: str) -> list[tuple[str, str, str]]:
    """(name, "module:attr", normalized distribution) of one entry-point group, read straight from the installed
    distributions' ``entry_points.txt`` (an INI file): importing ``importlib.metadata`` alone costs ~90 ms, a fifth
    of the budget of a report with nothing new. Falls back to it when nothing is found this way (zipped installs)."""
    import sys

    from quotawarden.plugins import normalize

    seen: dict[tuple[str, str], str] = {}
    header = f"[{group}]"
    for base in sys.path:
        try:
            entries = list(os.scandir(base or "."))
        except OSError:
            continue
        for e in entries:
            if not e.name.endswith((".dist-info", ".egg-info")):
                continue
            try:
                with open(os.path.join(e.path, "entry_points.txt"), encoding="utf-8") as f:
                    text = f.read()
            except OSError:
                continue
            if header in text:
                dist = normalize(e.name.rsplit(".", 1)[0].split("-", 1)[0])
                for name, value in _section(text, header):
                    seen.setdefault((dist, name), value)
    if not seen:
        import importlib.metadata

        return [(ep.name, ep.value, normalize(ep.dist.name) if ep.dist else "")
                for ep in importlib.metadata.entry_points(group=group)]
    return [(name, value, dist) for (dist, name), value in seen.items()]


def _section(text: str, header: str) -> list[tuple[str, str]]:
    out, inside = [], False
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("["):
            inside = line == header
        elif inside and "=" in line and not line.startswith(("#", ";")):
            name, _, value = line.partition("=")
            out.append((name.strip(), value.strip()))
    return out


def host_name(env: LogsEnv) -> str:
    return env.host or socket.gethostname()


def selected_specs(env: LogsEnv, sources: Iterable[str] | None) -> list[LogSourceSpec]:
    wanted = list(sources or env.sources or env.log_sources)
    unknown = [s for s in wanted if s not in env.log_sources]
    if unknown:
        known = ", ".join(sorted([*env.log_sources, OTEL]))
        raise ConfigError(f"unknown log source {unknown[0]!r} (known: {known})")
    return [env.log_sources[s] for s in wanted]


def roots_for(env: LogsEnv, specs: list[LogSourceSpec], paths: Mapping[str, list[str]] | list[str] | None,
              ) -> dict[str, list[Path]]:
    out: dict[str, list[Path]] = {}
    for spec in specs:
        if isinstance(paths, list):  # --path DIR: the same folders for every selected source
            out[spec.slug] = [Path(p).expanduser() for p in paths]
        elif paths and spec.slug in paths:
            out[spec.slug] = [Path(p).expanduser() for p in paths[spec.slug]]
        elif spec.slug in env.paths:
            out[spec.slug] = [Path(p).expanduser() for p in env.paths[spec.slug]]
        else:
            out[spec.slug] = spec.default_roots()
    return out


def looked_in(env: LogsEnv, sources: Iterable[str] | None = None,
              paths: Mapping[str, list[str]] | list[str] | None = None) -> list[Path]:
    """The folders a report of ``sources`` reads (the agents' defaults, ``[logs] paths`` or ``--path``), for a report
    that found nothing to say where it looked."""
    wanted = [s for s in sources or [] if s != OTEL] or None
    if sources and not wanted:
        return []
    return [root for roots in roots_for(env, selected_specs(env, wanted), paths).values() for root in roots]


def account_map(env: LogsEnv) -> dict[str, str]:
    out = {}
    for slug, provider in _ACCOUNT_PROVIDER.items():
        match = next((a for a, p in env.accounts if p == provider), None)
        out[slug] = match or provider
    for slug, provider in _COUNTED_PROVIDER.items():
        if slug == "gemini_cli" and not gemini_cli_uses_api_key():
            continue
        if match := next((a for a, p in env.accounts if p == provider), None):
            out[slug] = match
    return out


def gemini_cli_uses_api_key(home: Path | None = None) -> bool:
    """Whether Gemini CLI's calls may count against a Gemini API key: not when its ``~/.gemini/settings.json``
    selects another sign-in (``security.auth.selectedType``, older builds ``selectedAuthType``: ``oauth-personal``
    uses Code Assist's own quota, ``vertex-ai`` Vertex's). Without a readable choice they count."""
    import orjson

    path = (home or Path.home()) / ".gemini" / "settings.json"
    try:
        data = orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return True
    if not isinstance(data, dict):
        return True
    auth = data.get("security", {}).get("auth", {}) if isinstance(data.get("security"), dict) else {}
    chosen = (auth.get("selectedType") if isinstance(auth, dict) else None) or data.get("selectedAuthType")
    return chosen in (None, "", "gemini-api-key")


def pricer(env: LogsEnv) -> Any:
    from quotawarden.pricing import Pricer

    return Pricer(env.price_overrides)


def ingest_env(env: LogsEnv, sources: Iterable[str] | None = None,
               paths: Mapping[str, list[str]] | list[str] | None = None,
               progress: Progress | None = None) -> IngestReport:
    if sources is not None:
        sources = list(sources)
        if sources and all(s == OTEL for s in sources):
            return IngestReport()  # received over OTLP by ``serve``: no file to read
        sources = [s for s in sources if s != OTEL]
    specs = selected_specs(env, sources)
    host = host_name(env)
    return ingest(env.db(host), specs, roots_for(env, specs, paths), pricer=pricer(env), host=host,
                  accounts=account_map(env), progress=progress)


def report_env(env: LogsEnv, query: ReportQuery) -> dict[str, Any]:
    from quotawarden.analysis.usage_report import build

    db = env.db("")
    try:
        rows = db.report_rows(query.kind == "session", since_ts(query), query.source, query.project, query.host)
    finally:
        db.close()
    return build(rows, query, env.now())


def ingest_logs(svc: AppContext, sources: Iterable[str] | None = None,
                paths: Mapping[str, list[str]] | list[str] | None = None,
                progress: Progress | None = None) -> IngestReport:
    report = ingest_env(from_service(svc), sources, paths, progress)
    if report.events:  # calls read from logs move counted windows (analysis.counting): store them for fast views
        from quotawarden.app import reports

        reports.store_counted(svc.store, svc.config.accounts, svc.now())
    return report


def usage_report(svc: AppContext, query: ReportQuery) -> dict[str, Any]:
    return report_env(from_service(svc), query)


def since_ts(query: ReportQuery) -> float | None:
    """Roll-up rows that may fall on ``--since`` or later in any time zone."""
    if query.since is None:
        return None
    return datetime(query.since.year, query.since.month, query.since.day).timestamp() - 2 * 86400
