"""What the emulator plays: accounts with credentials, limits, usage growth, resets, faults and latency.

A :class:`Scenario` is plain data. Each :class:`EmuAccount` belongs to one emulated provider (its ``provider``
is the slug of a module in ``quotawarden.emulator.providers``) and is recognised by the credential a client
presents, so two accounts of one provider answer with different numbers.

Usage model: ``used(window, now) = used[window] + rate_per_hour[window] * hours since the scenario start``,
clipped to ``[0, limits[window]]``; each provider module decides what its windows are called and in which unit
(``5h``/``7d`` fractions 0..1 for Claude, ``requests``/``tokens`` per minute for the API providers, ...).

Faults (``fault``): ``401``, ``403``, ``429``, ``500``, ``503``, ``529``, ``timeout`` (hang until the client
gives up), ``malformed`` (a 200 with a broken body), ``insufficient_quota`` (OpenAI's billing 429), ``402``.
``fault_count`` fails only the first N requests (to exercise retries); ``None`` fails every request.

:func:`demo_scenario` is the scenario behind ``quotawarden demo``; :func:`write_demo_config` writes the matching
quotawarden config (credentials go to a throw-away env file and are referenced with ``file:``).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson


@dataclass
class EmuAccount:
    id: str
    provider: str
    credential: str
    limits: dict[str, float] = field(default_factory=dict)
    used: dict[str, float] = field(default_factory=dict)
    rate_per_hour: dict[str, float] = field(default_factory=dict)
    resets: dict[str, datetime] = field(default_factory=dict)
    fault: str | None = None
    fault_count: int | None = None
    latency_ms: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    """Provider-specific knobs (plan type, overage state, token expiry, balance...); see each provider module."""

    def used_at(self, window: str, now: datetime, start: datetime) -> float:
        hours = max(0.0, (now - start).total_seconds() / 3600)
        value = self.used.get(window, 0.0) + self.rate_per_hour.get(window, 0.0) * hours
        limit = self.limits.get(window)
        value = max(0.0, value)
        return min(value, limit) if limit is not None and not self.extra.get("allow_over_limit") else value

    def remaining_at(self, window: str, now: datetime, start: datetime) -> float:
        return max(0.0, self.limits.get(window, 0.0) - self.used_at(window, now, start))


@dataclass
class Scenario:
    accounts: list[EmuAccount] = field(default_factory=list)
    start: datetime | None = None
    """Usage grows from here; ``None`` means the emulator clock's time when the app is built."""
    latency_ms: int = 0
    hang_s: float = 30.0
    """How long a ``timeout`` fault holds the request (ended early when the client disconnects)."""
    status: dict[str, str] = field(default_factory=dict)
    """Provider slug -> the indicator its status page shows (``none`` when absent; ``minor``, ``major``,
    ``critical``), served at ``/_status/<provider>/api/v2/status.json`` in the Statuspage format."""

    def by_id(self, account_id: str) -> EmuAccount:
        for a in self.accounts:
            if a.id == account_id:
                return a
        raise KeyError(account_id)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Scenario:
        names = {f.name for f in fields(EmuAccount)}
        accounts = []
        for raw in data.get("accounts", []):
            unknown = set(raw) - names
            if unknown:
                raise ValueError(f"scenario account {raw.get('id')!r}: unknown keys {sorted(unknown)}")
            item = dict(raw)
            item["resets"] = {k: _dt(v) for k, v in item.get("resets", {}).items()}
            accounts.append(EmuAccount(**item))
        start = _dt(data["start"]) if data.get("start") else None
        return cls(accounts=accounts, start=start, latency_ms=int(data.get("latency_ms", 0)),
                   hang_s=float(data.get("hang_s", 30.0)))

    @classmethod
    def load(cls, path: str | Path) -> Scenario:
        """A scenario file: TOML or JSON with ``accounts = [...]`` and optional ``start``, ``latency_ms``."""
        p = Path(path)
        raw = p.read_bytes()
        data = tomllib.loads(raw.decode()) if p.suffix == ".toml" else orjson.loads(raw)
        return cls.from_dict(data)


def _dt(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC)
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


# -- the demo ----------------------------------------------------------------------------------------------------

def _key(prefix: str, n: int) -> str:
    return f"{prefix}{'demo' + str(n).zfill(4)}{'x' * 24}{n:04d}"


def demo_scenario(now: datetime | None = None) -> Scenario:
    """Fourteen accounts over five providers: healthy, warning, limited, one paid-overage, one bad key."""
    now = now or datetime.now(UTC)
    h5 = now + timedelta(hours=2, minutes=17)
    d7 = now + timedelta(days=3, hours=5)
    api = {"requests": 1000, "tokens": 2_000_000, "input-tokens": 2_000_000, "output-tokens": 400_000}
    oai = {"requests": 5000, "tokens": 2_000_000}
    accts = [
        EmuAccount("anthropic-prod", "anthropic", _key("sk-ant-api03-", 1), dict(api),
                   {"requests": 120, "tokens": 300_000, "input-tokens": 250_000, "output-tokens": 20_000}),
        EmuAccount("anthropic-batch", "anthropic", _key("sk-ant-api03-", 2), dict(api),
                   {"requests": 640, "tokens": 1_300_000, "input-tokens": 1_200_000, "output-tokens": 150_000}),
        EmuAccount("anthropic-ci", "anthropic", _key("sk-ant-api03-", 3),
                   {"requests": 50, "tokens": 38_000, "input-tokens": 30_000, "output-tokens": 8_000},
                   {"requests": 50, "tokens": 38_000, "input-tokens": 30_000, "output-tokens": 2_000}),
        EmuAccount("claude-max-alice", "claude", _key("sk-ant-oat01-", 4), {"5h": 1.0, "7d": 1.0, "7d_opus": 1.0},
                   {"5h": 0.42, "7d": 0.18, "7d_opus": 0.03}, {"5h": 0.05}, {"5h": h5, "7d": d7, "7d_opus": d7},
                   extra={"plan": "max_5x"}),
        EmuAccount("claude-max-bob", "claude", _key("sk-ant-oat01-", 5), {"5h": 1.0, "7d": 1.0},
                   {"5h": 0.91, "7d": 0.57}, {}, {"5h": h5, "7d": d7}, extra={"plan": "max_5x"}),
        EmuAccount("claude-pro-carol", "claude", _key("sk-ant-oat01-", 6), {"5h": 1.0, "7d": 1.0},
                   {"5h": 1.0, "7d": 0.62}, {}, {"5h": h5, "7d": d7},
                   extra={"plan": "pro", "overage": "allowed", "overage_used": 0.12}),
        EmuAccount("openai-main", "openai", _key("sk-proj-", 7), dict(oai), {"requests": 400, "tokens": 150_000}),
        EmuAccount("openai-research", "openai", _key("sk-proj-", 8), dict(oai),
                   {"requests": 3100, "tokens": 1_250_000}),
        EmuAccount("openai-intern", "openai", _key("sk-proj-", 9), dict(oai), fault="insufficient_quota"),
        EmuAccount("codex-plus", "codex", _key("eyJhbGciOi-", 10), {"5h": 100, "7d": 100},
                   {"5h": 26, "7d": 42}, {}, {"5h": h5, "7d": d7}, extra={"plan_type": "plus"}),
        EmuAccount("codex-pro", "codex", _key("eyJhbGciOi-", 11), {"5h": 100, "7d": 100},
                   {"5h": 71, "7d": 88}, {}, {"5h": h5, "7d": d7}, extra={"plan_type": "pro"}),
        EmuAccount("gemini-free", "gemini", _key("AIzaSy", 12), {"rpm": 10, "rpd": 250}, {"rpm": 2, "rpd": 60}),
        EmuAccount("gemini-side", "gemini", _key("AIzaSy", 13), {"rpm": 10, "rpd": 250}, {"rpm": 10, "rpd": 250}),
        EmuAccount("openai-old-key", "openai", _key("sk-proj-", 14), dict(oai), fault="401"),
    ]
    return Scenario(accounts=accts, start=now)


DEMO_SETTINGS: dict[str, dict[str, Any]] = {
    "gemini": {"rpm_limit": 10, "rpd_limit": 250, "probe": "generate"},
}


def write_demo_config(scenario: Scenario, base_url: str, directory: str | Path, *,
                      db_url: str | None = None) -> Path:
    """Write ``config.toml`` (+ a ``secrets/`` folder with one key file per account) for ``scenario``.

    Every account gets ``base_url`` pointing at the emulator and a ``file:`` credential reference, so no
    secret is ever written into the config itself. Returns the config path.
    """
    root = Path(directory)
    secrets = root / "secrets"
    secrets.mkdir(parents=True, exist_ok=True)
    lines: list[str] = []
    if db_url:
        lines += ["[database]", f"url = {_toml_str(db_url)}", ""]
    for a in scenario.accounts:
        key_file = secrets / f"{a.id}.key"
        key_file.write_text(a.credential + "\n", encoding="utf-8")
        key_file.chmod(0o600)
        lines += ["[[accounts]]", f"id = {_toml_str(a.id)}", f"provider = {_toml_str(a.provider)}",
                  f"credential = {_toml_str('file:' + str(key_file))}", f"base_url = {_toml_str(base_url)}"]
        if plan := a.extra.get("plan") or a.extra.get("plan_type"):
            lines.append(f"plan = {_toml_str(str(plan))}")
        for k, v in DEMO_SETTINGS.get(a.provider, {}).items():
            lines.append(f"{k} = {_toml_str(v) if isinstance(v, str) else v}")
        lines.append("")
    lines.append("[status_pages]")
    for provider in sorted({a.provider for a in scenario.accounts}):
        lines.append(f"{provider} = {_toml_str(status_page_url(base_url, provider))}")
    path = root / "config.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def status_page_url(base_url: str, provider: str) -> str:
    return f"{base_url.rstrip('/')}/_status/{provider}/api/v2/status.json"


def _toml_str(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
