"""``quotawarden status`` (the table and ``--json``) without the full CLI: the same report, read with ``sqlite3``
and ``tomllib``, printed by the same code.

The report itself is ``analysis.status_report``, the function ``Service.status_report`` calls; this module only
reads its inputs another way (``store.quick.StatusReader``). The text is ``views.status_text``'s, which the full
command prints too, with the proxy's backlog counted by ``sources.proxy_spill`` as ``Service.proxy_backlog`` counts
it. It answers only what it can answer exactly as the full path would, and hands everything else to it
(``main.full``): a PostgreSQL store or one not yet created or migrated, ``--server``, an option it does not know,
``--help``, and a config it cannot take as the full path's validation would (see :func:`read_config`): another
section than ``accounts``, ``thresholds``, ``schedule``, ``status_pages`` and ``database``, a provider that is not
built in, a provider setting other than a Gemini key's, a value whose type validation would convert, a literal
credential (the full path warns about it), or a ``QUOTAWARDEN_<SECTION>`` variable that overrides the file; such a
config comes here too once the full ``status`` has validated it without a warning and left a note of what it read
(``interfaces.fast.stamp``), for as long as the file, the environment and the installation stay as they were.
"""

import math
import os
import re
import sys
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, NamedTuple

from quotawarden import naming

FALLBACK = None
"""What a reader answers when the full path must answer instead."""
SECTIONS = frozenset({"accounts", "thresholds", "schedule", "status_pages", "database"})
SETTINGS_FIELDS = ("database", "accounts", "thresholds", "schedule", "alerts", "proxy", "server", "pools", "budgets",
                   "autonomy", "logs", "otel", "planner", "hub", "status_pages")
"""``config.Settings``' fields: ``QUOTAWARDEN_<FIELD>`` in the environment overrides the file (a test keeps this
equal to the model)."""
ACCOUNT_KEYS = frozenset({"id", "provider", "credential", "base_url", "label", "plan", "pool", "tags",
                          "poll_interval", "enabled"})
PROVIDER_SETTINGS: Mapping[str, Mapping[str, Any]] = {
    "gemini": {"rpm_limit": None, "rpd_limit": None, "tpm_limit": None, "model": "gemini-2.5-flash",
               "probe": "models"},
}
"""The provider settings taken here, with their defaults (``GeminiSettings``; a test keeps them equal)."""
_ID = re.compile(naming.ACCOUNT_ID)
_URL = re.compile(naming.WEB_URL)
_CRON = re.compile(naming.CRON)
RATIOS = frozenset({"used_yellow", "used_red", "error_rate_yellow", "error_rate_red", "safety_margin",
                    "default_cap", "fast_share"})
COUNTS = frozenset({"exhaust_days_yellow", "exhaust_days_red"})
POSITIVE_DURATIONS = frozenset({"poll_interval", "min_poll_interval", "audit_timeout", "ingest_interval",
                                "status_interval", "fairness_interval"})


class Options(NamedTuple):
    json: bool = False
    check: bool = False
    all: bool = False
    wide: bool = False
    accounts: tuple[str, ...] = ()


def parse(args: Sequence[str]) -> Options | None:
    """``status``'s options as typer reads them; None for anything else (``--server``, ``--help``, a typo)."""
    opts: dict[str, Any] = {}
    accounts: list[str] = []
    i = 0
    while i < len(args):
        a = args[i]
        if a in ("--json", "--check", "--all", "--wide", "-w"):
            opts[{"--wide": "wide", "-w": "wide"}.get(a, a[2:])] = True
        elif a in ("--account", "-a") and i + 1 < len(args):
            i += 1
            accounts.append(args[i])
        elif a.startswith("--account="):
            accounts.append(a.partition("=")[2])
        else:
            return FALLBACK
        i += 1
    return Options(**opts, accounts=tuple(accounts))


def _number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def _ratio(v: Any) -> bool:
    return _number(v) and 0 <= v <= 1


def _duration(v: Any, positive: bool) -> bool:
    from quotawarden.clock import parse_duration

    try:
        s = parse_duration(v)
    except ValueError:
        return False
    return math.isfinite(s) and (s > 0 if positive else s >= 0)


def _thresholds_ok(t: Any) -> bool:
    if not isinstance(t, dict):
        return False
    for k, v in t.items():
        if k == "hard_caps":
            if not isinstance(v, dict) or not all(isinstance(n, str) and _ratio(c) for n, c in v.items()):
                return False
        elif not ((k in RATIOS and _ratio(v)) or (k in COUNTS and _number(v) and v >= 0)):
            return False
    return True


def _schedule_ok(s: Any) -> bool:
    if not isinstance(s, dict):
        return False
    for k, v in s.items():
        if k in POSITIVE_DURATIONS or k == "cache_guard":
            if not _duration(v, k != "cache_guard"):
                return False
        elif k == "audit_cron":
            if not (isinstance(v, str) and _CRON.match(v)):
                return False
        elif k == "keep_raw_days":
            if not (type(v) is int and v >= 1):
                return False
        else:
            return False
    return True


class ConfigAccount(NamedTuple):
    id: str
    provider: str
    label: str
    plan: str | None
    pool: str | None
    tags: dict[str, str]
    settings: dict[str, Any]
    enabled: bool


def _account(a: Any, kinds: Mapping[str, str]) -> ConfigAccount | None:
    if not isinstance(a, dict):
        return FALLBACK
    provider = a.get("provider")
    if not isinstance(provider, str) or provider not in kinds:
        return FALLBACK
    allowed = PROVIDER_SETTINGS.get(provider, {})
    if any(k not in ACCOUNT_KEYS and k not in allowed for k in a):
        return FALLBACK
    aid = a.get("id")
    if not (isinstance(aid, str) and 1 <= len(aid) <= 200 and _ID.match(aid)):
        return FALLBACK
    for k in ("credential", "base_url", "label", "plan", "pool"):
        if k in a and not isinstance(a[k], str):
            return FALLBACK
    cred = a.get("credential")
    if cred and ":" not in cred.split("-", 1)[0]:
        return FALLBACK  # a literal credential: the full path warns about it
    tags = a.get("tags", {})
    if not isinstance(tags, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in tags.items()):
        return FALLBACK
    if "poll_interval" in a and not _duration(a["poll_interval"], True):
        return FALLBACK
    enabled = a.get("enabled", True)
    if not isinstance(enabled, bool):
        return FALLBACK
    settings = dict(allowed)
    for k in allowed:
        if k not in a:
            continue
        v = a[k]
        if k.endswith("_limit"):
            if not (v is None or type(v) is int):
                return FALLBACK
        elif k == "probe":
            if v not in ("models", "generate"):
                return FALLBACK
        elif not isinstance(v, str):
            return FALLBACK
        settings[k] = v
    return ConfigAccount(aid, provider, a.get("label", ""), a.get("plan"), a.get("pool"), dict(tags), settings,
                         enabled)


class Config(NamedTuple):
    accounts: list[ConfigAccount]
    thresholds: dict[str, Any]
    status_interval: float
    database_url: str | None
    spill_dir: str | None = None
    """``[proxy] spill_dir``."""


def read_config(kinds: Mapping[str, str]) -> Config | None:
    """The config file as the full path would validate it, or None when it must be the judge."""
    import tomllib

    from quotawarden.clock import parse_duration
    from quotawarden.store import quick

    for name in os.environ:
        up = name.upper()
        if up.startswith("QUOTAWARDEN_") and any(up[12:] == f.upper() or up[12:].startswith(f.upper() + "__")
                                                 for f in SETTINGS_FIELDS):
            return FALLBACK
    named = bool(os.environ.get("QUOTAWARDEN_CONFIG"))
    path = quick._config_file(None)
    if path is None or not os.path.isfile(path):
        if named:
            return FALLBACK  # the full path says the file is missing
        data: dict[str, Any] = {}
    else:
        try:
            with open(path, encoding="utf-8") as fh:
                data = tomllib.loads(fh.read())
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
            return FALLBACK
    if not set(data) <= SECTIONS:
        return FALLBACK
    db = data.get("database", {})
    if not isinstance(db, dict) or not set(db) <= {"url"} or not isinstance(db.get("url", ""), str):
        return FALLBACK
    if not _thresholds_ok(data.get("thresholds", {})) or not _schedule_ok(data.get("schedule", {})):
        return FALLBACK
    pages = data.get("status_pages", {})
    if not isinstance(pages, dict) or not all(isinstance(v, str) and _URL.match(v) for v in pages.values()):
        return FALLBACK
    raw = data.get("accounts", [])
    if not isinstance(raw, list):
        return FALLBACK
    accounts = [_account(a, kinds) for a in raw]
    if any(a is None for a in accounts):
        return FALLBACK
    ids = [a.id for a in accounts if a is not None]
    if len(set(ids)) != len(ids):
        return FALLBACK
    interval = parse_duration(data.get("schedule", {}).get("status_interval", 300))
    return Config([a for a in accounts if a is not None and a.enabled], dict(data.get("thresholds", {})),
                  interval, os.environ.get("QUOTAWARDEN_DB_URL") or db.get("url"))


def stamped() -> tuple[Config, Mapping[str, str]] | None:
    """The config as the full path validated it, when it left a note for the config and environment as they are
    (``interfaces.fast.stamp``), and the providers' kinds; else None."""
    from quotawarden.interfaces.fast import stamp

    body = stamp.read()
    if body is None:
        return FALLBACK
    accounts = [ConfigAccount(aid, provider, label, plan, pool, dict(tags), dict(settings), True)
                for aid, provider, label, plan, pool, tags, settings in body["accounts"]]
    return (Config(accounts, dict(body["thresholds"]), float(body["status_interval"]), body["database_url"],
                   body["spill_dir"]), dict(body["kinds"]))


class Answer(NamedTuple):
    report: dict[str, Any]
    now: datetime
    url: str
    """The store's URL (the proxy's spill folder is the store's own)."""
    spill_dir: str | None


def report(opts: Options) -> Answer | None:
    """``Service.status_report`` over the SQLite store, or None when the full path must answer."""
    from quotawarden.kinds import BUILTIN_KINDS

    kinds: Mapping[str, str] = BUILTIN_KINDS
    cfg = read_config(BUILTIN_KINDS)
    if cfg is None:
        noted = stamped()
        if noted is None:
            return FALLBACK
        cfg, kinds = noted
    from quotawarden.store import quick

    url = quick.database_url({}, cfg.database_url)
    reader = quick.StatusReader.open(url)
    if reader is None:
        return FALLBACK
    now = datetime.now(UTC)
    try:
        return Answer(_report(reader, cfg, opts, now, kinds), now, url, cfg.spill_dir)
    finally:
        reader.close()


def _report(reader: Any, cfg: Config, opts: Options, now: datetime, kinds: Mapping[str, str]) -> dict[str, Any]:
    from quotawarden.analysis import counting, current, status_report
    from quotawarden.analysis.health import Policy
    from quotawarden.domain import Account
    from quotawarden.store import health_inputs as hi
    from quotawarden.store.rows import account_from_row, from_row, state_from_row

    configured = [Account(id=a.id, provider=a.provider, label=a.label, plan=a.plan, pool=a.pool, tags=a.tags,
                          settings=a.settings) for a in cfg.accounts]
    conf_ids = {a.id for a in configured}
    extra = [a for a in (account_from_row(*r) for r in reader.accounts()) if a.id not in conf_ids]
    if not (opts.all or opts.accounts):
        keep = conf_ids | current.current_ids(
            (current.Known(r[0], r[3], r[4], r[5], max((t for t in (r[6], r[7]) if t is not None), default=None))
             for r in reader.known()), conf_ids, now.timestamp())
        extra = [a for a in extra if a.id in keep]
    accounts = [*configured, *extra]
    if opts.accounts:
        accounts = [a for a in accounts if a.id in set(opts.accounts)]
    sts: list[Any] = []
    if accounts or not opts.accounts:
        ids = [a.id for a in accounts] if opts.accounts else None
        latest = [from_row(r) for r in reader.latest(ids)]
        states = {r[0]: state_from_row(*r) for r in reader.states()}
        errors = hi.error_rates(reader.outcome_counts(now.timestamp() - hi.ERROR_WINDOW_S, ids))
        pages = reader.pages(now.timestamp() - hi.PAGE_FRESH_INTERVALS * cfg.status_interval)
        services = {p: state for p, (state, _, _) in pages.items() if state not in hi.QUIET_PAGES}
        limits = status_report.counted_limits(accounts)
        if limits:
            latest += status_report.counted_samples(
                limits, reader.counted_usage(sorted(limits), *counting.since(now)), now)
        scope = status_report.reading_scope(latest, ids)
        per_source = [from_row(r) for r in reader.latest_per_source(
            now.timestamp() - status_report.READINGS_HORIZON_S, *scope)] if scope else []
        sts = status_report.statuses(accounts, latest, per_source, states, Policy.from_mapping(cfg.thresholds),
                                     now, rates=status_report.rates(reader.buckets(ids)), errors=errors,
                                     services=services)
    else:
        pages = reader.pages(now.timestamp() - hi.PAGE_FRESH_INTERVALS * cfg.status_interval)
    out = status_report.report(sts, now, pages)
    if local := status_report.local_ids(out, kinds):
        status_report.add_details(out, reader.details(local))
    return out


def _fail(_: Any) -> Any:
    raise TypeError("not plain JSON")


def text(found: Answer, opts: Options) -> str:
    """The table and the lines after it, as ``cli.status`` prints them."""
    from quotawarden.interfaces.views import status_text
    from quotawarden.interfaces.views.table import Ink, terminal_width
    from quotawarden.sources import proxy_spill
    from quotawarden.store import quick

    count, folder = proxy_spill.waiting(found.spill_dir, found.url, quick._user_dir("data"))
    lines = status_text.lines(found.report, found.now, None if opts.wide else terminal_width(),
                              filtered=bool(opts.accounts), backlog=(count, folder or ""), ink=Ink.for_stream())
    return "\n".join(lines) + "\n"


def main(args: list[str]) -> int | None:
    """The exit code of ``status`` answered here, or None (nothing written) when the full CLI must answer."""
    opts = parse(args)
    if opts is None:
        return FALLBACK
    try:
        found = report(opts)
        if found is None:
            return FALLBACK
        if opts.json:
            import orjson

            out = orjson.dumps(found.report, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS,
                               default=_fail).decode() + "\n"
        else:
            out = text(found, opts)
    except Exception:  # whatever went wrong (not plain JSON, an unreadable file), the full path says it its own way
        return FALLBACK
    sys.stdout.write(out)
    if not opts.check:
        return 0
    from quotawarden.interfaces.views.status_text import exit_code

    return exit_code(found.report)
