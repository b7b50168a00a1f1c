"""Typed settings from one TOML file, with environment overrides; validated once, at start.

Errors name the file, the line and the field, and exit with code 2 (``ConfigError``)::

    config.toml:12: accounts[2].provider: unknown provider 'antropic' (known: anthropic, claude, ...)
"""

from __future__ import annotations

import math
import os
import re
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from quotawarden import naming
from quotawarden.clock import parse_duration
from quotawarden.domain import Account
from quotawarden.errors import ConfigError, PluginError
from quotawarden.plugins import Plugins


def _duration(value: Any) -> float:
    """A duration in seconds, finite and not negative."""
    seconds = parse_duration(value)
    if not math.isfinite(seconds) or seconds < 0:
        raise ValueError(f"{value!r} is not a duration (a finite number of seconds, 0 or more)")
    return seconds


def _positive_duration(value: Any) -> float:
    """A duration that something waits for or repeats at: zero would spin or lapse at once."""
    seconds = _duration(value)
    if seconds <= 0:
        raise ValueError(f"{value!r} must be longer than 0 seconds")
    return seconds


Duration = Annotated[float, BeforeValidator(_duration)]
PositiveDuration = Annotated[float, BeforeValidator(_positive_duration)]
"""A duration that must be more than 0 (an interval, a lease, a timeout)."""
Port = Annotated[int, Field(ge=0, le=65535)]
"""A TCP port; 0 asks the system for a free one."""
Usd = Annotated[float, Field(ge=0, allow_inf_nan=False)]
"""An amount of US dollars: finite, not negative."""
Count = Annotated[float, Field(ge=0, allow_inf_nan=False)]
"""A finite number, 0 or more."""
WebUrl = Annotated[str, Field(pattern=naming.WEB_URL)]
Cron = Annotated[str, Field(pattern=naming.CRON)]
"""Five cron fields (minute hour day-of-month month day-of-week), UTC; empty turns the job off where allowed."""
Autonomy = Literal["auto", "ask", "off"]
SeverityName = Literal["info", "warning", "critical"]


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DatabaseSettings(Section):
    url: str | None = None


class AccountConfig(BaseModel):
    """One ``[[accounts]]`` table. Keys not listed here belong to the provider's own settings model."""

    model_config = ConfigDict(extra="allow")
    id: str = Field(min_length=1, max_length=200, pattern=naming.ACCOUNT_ID)
    provider: str
    credential: str | None = None
    base_url: str | None = None
    label: str = ""
    plan: str | None = None
    pool: str | None = None
    tags: dict[str, str] = Field(default_factory=dict)
    poll_interval: PositiveDuration | None = None
    enabled: bool = True


def _ratio(value: Any) -> Any:
    """A share of a limit, 0..1: ``80`` (a percentage) is refused with the ratio it probably meant."""
    if isinstance(value, int | float) and not isinstance(value, bool) and not 0 <= value <= 1:  # nan too
        hint = f"; did you mean {value / 100:g}?" if 1 < value <= 100 else ""
        raise ValueError(f"{value:g} is not a ratio between 0 and 1{hint}")
    return value


Ratio = Annotated[float, BeforeValidator(_ratio)]
"""A share between 0 and 1 (``0.8`` for 80%)."""


class Thresholds(Section):
    used_yellow: Ratio = 0.5
    used_red: Ratio = 0.8
    exhaust_days_yellow: Count = 14
    exhaust_days_red: Count = 7
    error_rate_yellow: Ratio = 0.001
    error_rate_red: Ratio = 0.05
    safety_margin: Ratio = 0.05
    """Subtracted from a hard cap when the window burns fast (see analysis.health)."""
    hard_caps: dict[str, Ratio] = Field(default_factory=dict)
    """``"provider/window" = fraction``, e.g. ``"claude/5h" = 0.8``; merged over the built-in defaults."""
    default_cap: Ratio = 0.85
    """The hard cap of windows that neither ``hard_caps`` nor the built-in defaults name."""
    fast_share: Ratio = 0.25
    """A window burns fast (and its cap drops by ``safety_margin``) when it would reach the cap in this share of
    its length."""


class ScheduleSettings(Section):
    poll_interval: PositiveDuration = 3600
    min_poll_interval: PositiveDuration = 30
    cache_guard: Duration = 1200
    audit_cron: Cron = "0 2 * * *"
    audit_timeout: PositiveDuration = 900
    ingest_interval: PositiveDuration = 60
    keep_raw_days: Annotated[int, Field(ge=1)] = 30
    status_interval: PositiveDuration = 300
    fairness_interval: PositiveDuration = 900
    """How often the daemon weighs fairness and acts on it (``[autonomy] throttle_consumers``)."""
    """How often a poll reads the providers' status pages (``[status_pages]``) at most."""


def _default_channel_severities() -> list[SeverityName]:
    return ["warning", "critical"]


class ChannelConfig(Section):
    url: str
    severities: list[SeverityName] = Field(default_factory=_default_channel_severities)
    tags: list[str] = Field(default_factory=list)
    hmac_secret: str | None = None
    """For ``json://`` webhooks: a credential reference whose value signs each body (X-Quotawarden-Signature)."""


class AlertSettings(Section):
    channels: list[str | ChannelConfig] = Field(default_factory=list)
    cooldown: Duration = 3600
    daily_digest: Cron | None = "0 8 * * *"
    weekly_digest: Cron | None = "0 8 * * mon"
    digest_channels: list[str] = Field(default_factory=list)


class ClientToken(Section):
    token: str
    """A credential reference (``env:``, ``file:``, ``vault:``) or a literal; never an upstream key."""
    consumer: str
    project: str | None = None
    pools: list[str] = Field(default_factory=list)


class ProxySettings(Section):
    host: str = "127.0.0.1"
    port: Port = 8787
    client_tokens: list[ClientToken] = Field(default_factory=list)
    queue_size: Annotated[int, Field(ge=1)] = 10000
    flush_interval: PositiveDuration = 0.5
    spill_dir: str | None = None
    journal_sync: Duration = 0
    """Group commit of the usage journal (``"50ms"``): the power-loss window. 0: a process crash loses nothing,
    a power loss the records not yet in the store (about one ``flush_interval``)."""
    upstream_timeout: PositiveDuration = 600
    extra_upstream_hosts: list[str] = Field(default_factory=list)
    upstreams: dict[str, str] = Field(default_factory=dict)
    """Upstream base URL per provider for pass-through routes (``openai = "https://gateway.example"``)."""


class ServerSettings(Section):
    host: str = "127.0.0.1"
    port: Port = 7878
    admin_token: str | None = None
    """A credential reference (``env:``, ``file:``) or literal; required to listen beyond loopback."""
    overcommit: Annotated[float, Field(gt=0, allow_inf_nan=False)] = 1.5
    key_file: str | None = None
    """AES key that seals instance credentials (default: the data dir's ``secret.key``); same on every replica."""
    poll_lease: PositiveDuration = 30
    """How long a replica's claim on an account lasts while it polls; a dead replica's claims lapse after it."""
    alerts_lease: PositiveDuration = 30
    """How long the replica that evaluates and sends alerts holds the job before another may take over."""


class PoolConfig(Section):
    name: str
    accounts: list[str] = Field(default_factory=list)
    """Account ids; empty means every account whose ``pool`` is this name."""
    fallback: list[str] = Field(default_factory=list)
    """Pools (or providers) to try, in order, when this one has no headroom."""
    model_map: dict[str, str] = Field(default_factory=dict)
    api: Literal["anthropic", "openai", "gemini"] | None = None
    """The wire format the pool's accounts speak at their ``base_url`` when it is not their provider's own: a
    Z.ai, DeepSeek, Moonshot or MiniMax key on the provider's Anthropic-compatible endpoint makes a fallback tier
    for a Claude pool with ``api = "anthropic"``."""
    strategy: Literal["drain_soonest", "headroom"] | None = None
    """How the proxy orders the pool (``analysis.planner``): ``drain_soonest`` spends the included capacity that
    resets soonest first, ``headroom`` the account with the most room; unset: ``[planner] strategy``."""
    switch_margin: Ratio = 0.05
    """Hysteresis under ``headroom``: another account takes over only with this much more headroom."""
    switch_margin_s: Duration = 900
    """Hysteresis under ``drain_soonest``: another account takes over only if its window resets this much sooner."""
    pacing: bool = False
    """Hold an account back while its utilisation is ahead of the straight line from window start to reset."""
    allow_overage: bool = False
    """Keep sending to an account that answers from paid overage or extra usage; by default it is paused until
    its window's reset (``[autonomy] pause_overage``)."""


class BudgetConfig(Section):
    name: str
    scope: Literal["project", "team", "consumer", "pool", "provider", "total"] = "project"
    match: str = "*"
    monthly_usd: Usd | None = None
    daily_usd: Usd | None = None
    hard: bool = False
    """A hard budget makes the proxy refuse requests over it."""


class AutonomySettings(Section):
    switch_models: Autonomy = "auto"
    rotate_keys: Autonomy = "auto"
    throttle_consumers: Autonomy = "ask"
    send_digests: Autonomy = "auto"
    pause_overage: Autonomy = "auto"
    """The proxy pauses a pool's account that answers from paid overage or extra usage until its window resets
    (unless the pool sets ``allow_overage``)."""


class PriceOverride(Section):
    input: Usd
    output: Usd
    cache_write: Usd | None = None
    cache_write_1h: Usd | None = None
    cache_read: Usd | None = None
    """USD per million tokens."""


def _export_interval(value: Any) -> float:
    """How often to export: at least a second (a collector is not a busy loop)."""
    seconds = _duration(value)
    if seconds < 1:
        raise ValueError(f"{value!r} is shorter than 1 second")
    return seconds


class OtelSettings(Section):
    """OTLP out: ``serve`` exports its readings and usage to an OpenTelemetry collector (``docs/otel.md``)."""

    endpoint: WebUrl | None = None
    """The collector's OTLP/HTTP base URL (``/v1/metrics`` is added) or its full metrics URL; unset: no export."""
    headers: dict[str, str] = Field(default_factory=dict)
    """Sent with each export; values may be credential references (``env:``, ``file:``)."""
    interval: Annotated[float, BeforeValidator(_export_interval)] = 60


class LogSettings(Section):
    sources: list[str] = Field(default_factory=list)
    """Log sources to read; empty means every installed one whose folders exist."""
    paths: dict[str, list[str]] = Field(default_factory=dict)
    cost_mode: Literal["auto", "calculate", "display"] = "auto"
    price_overrides: dict[str, PriceOverride] = Field(default_factory=dict)
    host: str | None = None


Capacity = Literal["included", "paid", "local"]


class TaskClassConfig(Section):
    """``[planner.tasks.NAME]``: which capacity tiers, providers and models serve one class of work."""

    tiers: list[Capacity] | None = None
    """Capacity tiers in the order to use them; a tier left out never serves the class (heavy default: included,
    paid, local; light: included, local, paid)."""
    providers: list[str] = Field(default_factory=list)
    """Providers that serve this class (empty: all)."""
    models: dict[str, str] = Field(default_factory=dict)
    """Provider -> the model to use for this class."""


class PlannerConfig(Section):
    """``[planner]``: how ``quotawarden next`` and the recommendations choose an account (``analysis.planner``)."""

    strategy: Literal["drain_soonest", "headroom"] = "drain_soonest"
    default_task: str = "heavy"
    tasks: dict[str, TaskClassConfig] = Field(default_factory=dict)
    capacity: dict[str, Capacity] = Field(default_factory=dict)
    """Provider -> capacity tier, over its kind's (``my-vllm = "local"``)."""
    min_headroom: Ratio = 0.0

    @model_validator(mode="after")
    def _known_default(self) -> PlannerConfig:
        known = {"heavy", "light", *self.tasks}
        if self.default_task not in known:
            raise ValueError(f"default_task {self.default_task!r} is not a task class "
                             f"(known: {', '.join(sorted(known))})")
        return self


SeatName = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$")]
"""A seat's name: the prefix of its accounts on the hub (``<seat>/<account>``) and the host of its usage."""


class HubSeat(Section):
    """``[[hub.seats]]`` on the hub: a seat (a developer's machine) that may push, and read its own seat only."""

    name: SeatName
    token: str = Field(min_length=1)
    """A credential reference (``env:``, ``file:``, ``vault:``) or a literal; the seat sends it as its bearer token."""


class HubSettings(Section):
    """``[hub]``: on a seat, where to push (``url``, ``token``, ``interval``); on the hub, the seats it accepts."""

    url: WebUrl | None = None
    """The hub's ``serve`` (``http://hub:7878``); set on a seat to push to it."""
    token: str | None = None
    """This seat's token on the hub (a credential reference or a literal)."""
    interval: PositiveDuration = 60
    """How often the daemon pushes; the hub flags a seat silent for 3 intervals."""
    batch: Annotated[int, Field(ge=1, le=50000)] = 5000
    """At most this many readings and this many usage events per push request."""
    seats: list[HubSeat] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique(self) -> HubSettings:
        names = [s.name for s in self.seats]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"seat {dup[0]!r} is declared twice")
        tokens = [s.token for s in self.seats]
        if len(set(tokens)) != len(tokens):
            raise ValueError("two seats share a token (each seat needs its own)")
        if self.url and not self.token:
            raise ValueError("url is set but token is not (the seat's token on the hub)")
        return self


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="QUOTAWARDEN_", env_nested_delimiter="__", extra="forbid")

    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    accounts: list[AccountConfig] = Field(default_factory=list)
    thresholds: Thresholds = Field(default_factory=Thresholds)
    schedule: ScheduleSettings = Field(default_factory=ScheduleSettings)
    alerts: AlertSettings = Field(default_factory=AlertSettings)
    proxy: ProxySettings = Field(default_factory=ProxySettings)
    server: ServerSettings = Field(default_factory=ServerSettings)
    pools: list[PoolConfig] = Field(default_factory=list)
    budgets: list[BudgetConfig] = Field(default_factory=list)
    autonomy: AutonomySettings = Field(default_factory=AutonomySettings)
    logs: LogSettings = Field(default_factory=LogSettings)
    otel: OtelSettings = Field(default_factory=OtelSettings)
    planner: PlannerConfig = Field(default_factory=PlannerConfig)
    hub: HubSettings = Field(default_factory=HubSettings)
    status_pages: dict[str, WebUrl] = Field(default_factory=dict)
    """Provider slug -> its Statuspage ``/api/v2/status.json`` URL; read after polls, weighed by health."""

    @classmethod
    def settings_customise_sources(
        cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource, dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (env_settings, init_settings)  # the environment overrides the file


class Config:
    """Validated settings plus the accounts resolved against the installed providers."""

    def __init__(self, settings: Settings, accounts: list[Account], path: Path | None,
                 warnings: list[str]) -> None:
        self.settings = settings
        self.accounts = accounts
        self.path = path
        self.warnings = warnings

    @property
    def database_url(self) -> str | None:
        return os.environ.get("QUOTAWARDEN_DB_URL") or self.settings.database.url

    def account(self, account_id: str) -> Account:
        for a in self.accounts:
            if a.id == account_id:
                return a
        raise ConfigError(f"no account {account_id!r} in the config", file=str(self.path or ""))


def default_config_path() -> Path:
    import platformdirs

    return Path(platformdirs.user_config_dir("quotawarden")) / "config.toml"


def config_path(explicit: str | Path | None = None) -> tuple[Path, bool]:
    """The file to read and whether the user named it (a named file must exist)."""
    if explicit:
        return Path(explicit).expanduser(), True
    if env := os.environ.get("QUOTAWARDEN_CONFIG"):
        return Path(env).expanduser(), True
    return default_config_path(), False


def load_config(path: str | Path | None, plugins: Plugins) -> Config:
    file, named = config_path(path)
    if not file.exists():
        if named:
            raise ConfigError("config file not found (create one with `quotawarden config init`)", file=str(file))
        return from_text("", None, plugins)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror}", file=str(file)) from None
    return from_text(text, file, plugins)


def from_text(text: str, file: Path | None, plugins: Plugins) -> Config:
    name = str(file) if file else "<config>"
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        m = re.search(r"line (\d+)", str(exc))
        detail = re.sub(r" \(at line.*", "", str(exc))
        raise ConfigError(f"invalid TOML: {detail}", file=name,
                          line=int(m.group(1)) if m else None) from None
    try:
        settings = Settings(**data)
    except ValidationError as exc:
        raise _validation_error(exc, text, name) from None
    warnings: list[str] = []
    accounts = [_resolve_account(i, a, plugins, text, name, warnings) for i, a in enumerate(settings.accounts)]
    seen: set[str] = set()
    for i, a in enumerate(accounts):
        if a.id in seen:
            raise ConfigError(f"duplicate account id {a.id!r}", file=name,
                              line=locate(text, ("accounts", i, "id")), field=f"accounts[{i}].id")
        seen.add(a.id)
    _check_planner(settings.planner, plugins, text, name)
    declared = {p.name for p in settings.pools}
    implicit = dict.fromkeys(c.pool for c in settings.accounts if c.enabled and c.pool and c.pool not in declared)
    settings.pools = [*settings.pools, *(PoolConfig(name=str(p)) for p in implicit)]  # `pool = "x"` declares x
    return Config(settings, [a for a, c in zip(accounts, settings.accounts, strict=True) if c.enabled],
                  file, warnings)


def _check_planner(cfg: PlannerConfig, plugins: Plugins, text: str, name: str) -> None:
    """Every provider ``[planner]`` names is installed (a typo would silently match no account)."""
    named: list[tuple[tuple[str, ...], str, str]] = [(("planner", "capacity", p), f"planner.capacity.{p}", p)
                                                     for p in cfg.capacity]
    for task, tc in cfg.tasks.items():
        named += [(("planner", "tasks", task, "providers"), f"planner.tasks.{task}.providers", p)
                  for p in tc.providers]
        named += [(("planner", "tasks", task, "models", p), f"planner.tasks.{task}.models.{p}", p)
                  for p in tc.models]
    for loc, field, provider in named:
        try:
            plugins.provider(provider)
        except PluginError as exc:
            raise ConfigError(str(exc), file=name, line=locate(text, loc), field=field) from None


def _resolve_account(i: int, cfg: AccountConfig, plugins: Plugins, text: str, name: str,
                     warnings: list[str]) -> Account:
    try:
        spec = plugins.provider(cfg.provider)
    except PluginError as exc:
        raise ConfigError(str(exc), file=name, line=locate(text, ("accounts", i, "provider")),
                          field=f"accounts[{i}].provider") from None
    extra = dict(cfg.model_extra or {})
    settings: dict[str, Any] = {}
    if spec.settings_model is not None:
        try:
            settings = spec.settings_model(**extra).model_dump()
        except ValidationError as exc:
            err = exc.errors()[0]
            key = ".".join(str(p) for p in err["loc"])
            raise ConfigError(f"{err['msg']} (settings of provider {cfg.provider!r})", file=name,
                              line=locate(text, ("accounts", i, str(err["loc"][0]) if err["loc"] else "")),
                              field=f"accounts[{i}].{key}") from None
    elif extra:
        key = sorted(extra)[0]
        raise ConfigError(f"unknown key {key!r} (provider {cfg.provider!r} takes no extra settings)", file=name,
                          line=locate(text, ("accounts", i, key)), field=f"accounts[{i}].{key}")
    if cfg.credential and ":" not in cfg.credential.split("-", 1)[0]:
        warnings.append(f"{name}: accounts[{i}] ({cfg.id}): a literal credential is in the config file; "
                        "prefer env:VAR, file:PATH or vault:NAME")
    if not cfg.credential and spec.needs_credential and spec.credential_env:
        cred: str | None = f"env:{spec.credential_env[0]}"
    else:
        cred = cfg.credential
    return Account(id=cfg.id, provider=cfg.provider, label=cfg.label, credential=cred, base_url=cfg.base_url,
                   plan=cfg.plan, pool=cfg.pool, tags=cfg.tags, settings=settings,
                   poll_interval_s=int(cfg.poll_interval) if cfg.poll_interval else None)


def _validation_error(exc: ValidationError, text: str, name: str) -> ConfigError:
    err = exc.errors()[0]
    loc = tuple(err["loc"])
    msg = err["msg"]
    if err["type"] == "value_error":
        msg = msg.removeprefix("Value error, ")
    elif err["type"] == "missing":
        msg = "required field is missing"
    elif err["type"] == "extra_forbidden":
        msg = "unknown key"
    elif err["type"] == "string_pattern_mismatch" and "https?" in str(err.get("ctx", {}).get("pattern", "")):
        from quotawarden.redact import redact_text

        shown = redact_text(repr(err["input"]))
        msg = f"not an http:// or https:// address: {shown} (for example \"http://hub:7878\")"
    field = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc).lstrip(".")
    more = f" (and {len(exc.errors()) - 1} more)" if len(exc.errors()) > 1 else ""
    return ConfigError(msg + more, file=name, line=locate(text, loc), field=field)


_HEADER = re.compile(r"^\s*(\[\[?)\s*([A-Za-z0-9_.\-\"]+)\s*\]\]?")


def locate(text: str, loc: tuple[Any, ...]) -> int | None:
    """The line of the key that ``loc`` (pydantic's error location) points at, best effort."""
    if not loc:
        return None
    if len(loc) > 2 and isinstance(loc[1], str):  # a key of a sub-table: ``[thresholds.hard_caps]``
        nested = locate(text, (f"{loc[0]}.{loc[1]}", *loc[2:]))
        if nested is not None:
            return nested
    lines = text.splitlines()
    target_table, rest = str(loc[0]), list(loc[1:])
    index = rest.pop(0) if rest and isinstance(rest[0], int) else None
    key = str(rest[0]) if rest else None
    seen = -1
    start = None
    for n, line in enumerate(lines, 1):
        m = _HEADER.match(line)
        if not m:
            continue
        table = m.group(2).replace('"', "")  # ``[logs.price_overrides."m"]``
        if table == target_table:
            seen += 1
            if index is None or seen == index:
                start = n
                break
    if start is None:
        if key is None:
            for n, line in enumerate(lines, 1):
                if re.match(rf"^\s*{re.escape(target_table)}\s*=", line):
                    return n
        return None
    if key is None:
        return start
    for n in range(start + 1, len(lines) + 1):
        line = lines[n - 1]
        if _HEADER.match(line) and not _HEADER.match(line).group(2).startswith(target_table + "."):  # type: ignore[union-attr]
            break
        if re.match(rf"^\s*\"?{re.escape(key)}\"?\s*=", line):
            return n
    return start
