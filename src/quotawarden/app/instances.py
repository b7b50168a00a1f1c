"""Agent instances, quota-sentinel style: register with credentials, heartbeat, ask "may I proceed?".

Instances that send the same key share one account, so one poller (the account id carries the key's
fingerprint, never the key). What an instance sends is sealed at rest (:mod:`quotawarden.credentials.secretbox`).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import orjson

from quotawarden.analysis import allocation as alloc
from quotawarden.domain import Account, Health, Instance
from quotawarden.errors import CredentialError
from quotawarden.redact import fingerprint
from quotawarden.store import accounts as accounts_q
from quotawarden.store import instances as inst_q

if TYPE_CHECKING:
    from quotawarden.analysis.status import AccountStatus
    from quotawarden.app.context import AppContext

# quota-sentinel's auth keys (opencode auth.json names) -> provider slugs
AUTH_KEYS: Mapping[str, str] = {
    "zai-coding-plan": "zai", "zai": "zai", "deepseek-coding-plan": "deepseek", "deepseek": "deepseek",
    "minimax-coding-plan": "minimax", "minimax": "minimax", "bailian-coding-plan": "alibaba",
    "alibaba-coding-plan": "alibaba", "dashscope": "alibaba", "alibaba": "alibaba",
    "anthropic": "anthropic", "openai": "openai", "openrouter": "openrouter", "xai": "xai",
    "moonshot": "moonshot", "kimi-for-coding": "moonshot", "gemini": "gemini", "google": "gemini",
}
SAFETY_MARGIN_MIN = 30.0
KEY_PREFIX = "qw_"


MAX_INSTANCES = 500
"""Registered instances at most, in total: a registration beyond it is refused (429) until some deregister or
are reaped (no heartbeat for three poll intervals)."""
MAX_REGISTRATIONS_PER_SOURCE = 20
"""Registrations one client address may make per :data:`REGISTRATION_WINDOW_S` without the admin token (counted
per replica; the interface layer keeps the count)."""
REGISTRATION_WINDOW_S = 3600.0


class RegistrationError(ValueError):
    pass


class TooManyInstances(RegistrationError):
    """The total cap (:data:`MAX_INSTANCES`) is reached."""


@dataclass(frozen=True, slots=True)
class Credential:
    provider: str
    secret: str
    extra: dict[str, Any]


def hash_key(api_key: str) -> str:
    return hashlib.sha256(api_key.encode()).hexdigest()


def key_matches(api_key: str, stored_hash: str) -> bool:
    return hmac.compare_digest(hash_key(api_key), stored_hash)


def parse_auth(auth: Mapping[str, Any], provider_config: Mapping[str, Any]) -> list[Credential]:
    out: dict[str, Credential] = {}
    for name, entry in (auth.get("opencode_auth") or {}).items():
        slug = AUTH_KEYS.get(name)
        if slug and slug not in out and isinstance(entry, Mapping) and entry.get("key"):
            extra = {k: v for k, v in entry.items() if k != "key"} | dict(provider_config.get(slug) or {})
            out[slug] = Credential(slug, str(entry["key"]), extra)
    claude = auth.get("claude_credentials") or {}
    if isinstance(claude, Mapping) and claude.get("accessToken") and "claude" not in out:
        out["claude"] = Credential("claude", str(claude["accessToken"]), {
            "refreshToken": claude.get("refreshToken", ""), "expiresAt": claude.get("expiresAt", 0)})
    gh = auth.get("github_token")
    if gh and "copilot" not in out:
        out["copilot"] = Credential("copilot", str(gh), dict(provider_config.get("copilot") or {}))
    return list(out.values())


def account_id(provider: str, fp: str) -> str:
    return f"{provider}-{fp[:12]}"


def configured_keys(svc: AppContext) -> dict[str, str]:
    """Key fingerprint -> configured account id, for the configured accounts whose key resolves now (recorded in
    the store too, so the proxy and the fast paths know those keys by fingerprint). A key that does not resolve
    is left out: it cannot be compared."""
    out: dict[str, str] = {}
    for a in svc.config.accounts:
        try:
            secret = svc.resolve_credential(a.credential, a.id)
        except CredentialError:
            continue
        if secret:
            out.setdefault(fingerprint(secret), a.id)
    accounts_q.record_fingerprints(svc.store, {aid: fp for fp, aid in out.items()})
    return out


def register(svc: AppContext, *, project_name: str, framework: str, auth: Mapping[str, Any], poll_interval: int,
             provider_config: Mapping[str, Any], hard_caps: Mapping[str, float]) -> tuple[Instance, str]:
    creds = parse_auth(auth, provider_config)
    if not creds:
        raise RegistrationError("no valid providers found in auth")
    live = len(inst_q.all_instances(svc.store))
    if live >= MAX_INSTANCES:
        raise TooManyInstances(f"{live} instances are registered, the most this server takes ({MAX_INSTANCES}): "
                               "deregister unused ones, or wait for silent ones to be reaped")
    now = time.time()
    api_key = KEY_PREFIX + secrets.token_urlsafe(24)
    iid = uuid.uuid4().hex
    providers: dict[str, str] = {}
    accounts: list[Account] = []
    fps: dict[str, str] = {}
    sealed = []
    owners = configured_keys(svc)
    for c in creds:
        fp = fingerprint(c.secret)
        if fp in owners:  # the user's own configured account: it is polled as configured, not a second time
            providers[c.provider] = owners[fp]
            continue
        aid = account_id(c.provider, fp)
        providers[c.provider] = aid
        accounts.append(Account(id=aid, provider=c.provider, label=f"{c.provider} ({project_name})",
                                credential=f"vault:instance/{fp}", tags={"origin": "instance"}))
        fps[aid] = fp
        blob = orjson.dumps({"secret": c.secret, "extra": c.extra})
        sealed.append((c.provider, fp, svc.secret_box.seal(blob, f"instance/{fp}")))
    inst = Instance(id=iid, project=project_name, framework=framework, state="active",
                           poll_interval_s=max(int(poll_interval), int(svc.config.settings.schedule.min_poll_interval)),
                           api_key_hash=hash_key(api_key), created_ts=now, last_heartbeat_ts=now,
                           providers=providers, hard_caps=dict(hard_caps), provider_config=dict(provider_config))
    existing = {a.id for a in accounts_q.list_accounts(svc.store)}
    new_accounts = [a for a in accounts if a.id not in existing]
    accounts_q.upsert_accounts(svc.store, new_accounts, origin="instance", fingerprints=fps)
    inst_q.add(svc.store, inst, sealed)
    svc.audit(iid, "instance.register", project_name, providers=sorted(providers))
    return inst, api_key


def deregister(svc: AppContext, instance_id: str) -> bool:
    inst = inst_q.get(svc.store, instance_id)
    if inst is None:
        return False
    inst_q.remove(svc.store, [instance_id])
    _drop_orphans(svc, inst)
    svc.audit(instance_id, "instance.deregister", inst.project)
    return True


def _drop_orphans(svc: AppContext, inst: Instance) -> None:
    """An account no instance shares any more stops being polled (its history stays); a configured account that
    an instance was using stays as it is."""
    in_use = {a for i in inst_q.all_instances(svc.store) for a in i.providers.values()}
    configured = {a.id for a in svc.config.accounts}
    for aid in inst.providers.values():
        if aid not in in_use and aid not in configured:
            accounts_q.remove_account(svc.store, aid)


def reap(svc: AppContext, now: float | None = None) -> list[str]:
    """Instances that missed heartbeats for 3 poll intervals are removed."""
    now = time.time() if now is None else now
    dead = inst_q.stale(svc.store, now)
    for iid in dead:
        deregister(svc, iid)
    return dead


def key_fingerprint(svc: AppContext, account_id: str) -> str:
    """The short fingerprint of the key behind an account (``sk-...`` never leaves): the stored one, else the
    one an instance account's id carries."""
    fp = accounts_q.fingerprint_of(svc.store, account_id)
    return fp[:12] if fp else account_id.rsplit("-", 1)[-1]


def all_instances(svc: AppContext) -> list[Instance]:
    """Every registered instance, oldest first."""
    return inst_q.all_instances(svc.store)


def get(svc: AppContext, instance_id: str) -> Instance | None:
    return inst_q.get(svc.store, instance_id)


def by_key_hash(svc: AppContext, key_hash: str) -> Instance | None:
    """The instance whose API key hashes to ``key_hash`` (see :func:`hash_key`)."""
    return inst_q.by_key_hash(svc.store, key_hash)


def heartbeat(svc: AppContext, instance_id: str, state: str | None = None) -> bool:
    """Keep-alive now, optionally with a new state; False for an unknown instance."""
    return inst_q.heartbeat(svc.store, instance_id, svc.now().timestamp(), state)


class InstanceSecrets:
    """``vault:instance/<fingerprint>`` references, opened from the sealed registrations."""

    def __init__(self, svc: AppContext) -> None:
        self.svc = svc

    def get(self, name: str) -> str:
        scheme, _, fp = name.partition("/")
        blob = inst_q.sealed_secret(self.svc.store, fp) if scheme == "instance" else None
        if blob is None:
            raise CredentialError(f"vault:{scheme}/{fp[:6]}... is not a registered instance credential")
        return str(orjson.loads(self.svc.secret_box.open(blob, name))["secret"])


# -- status -----------------------------------------------------------------------------------------------


def _iso(ts: datetime | None) -> str | None:
    return None if ts is None else ts.astimezone(UTC).isoformat()


def provider_windows(svc: AppContext, account_ids: list[str], caps_for: Any,
                     statuses: Sequence[AccountStatus] | None = None) -> dict[str, dict[str, Any]]:
    """provider -> {status, windows} (or {status: UNKNOWN, error}) for these accounts, sentinel-shaped.

    ``statuses`` may hold the accounts' statuses already (of these accounts and maybe others)."""
    wanted = set(account_ids)
    found = svc.status(account_ids) if statuses is None else [s for s in statuses if s.account.id in wanted]
    out: dict[str, dict[str, Any]] = {}
    for st in found:
        provider = st.account.provider
        windows: dict[str, Any] = {}
        worst: list[Health] = []
        for w in st.windows:
            ratio = w.sample.effective_ratio
            if ratio is None:
                continue
            util = ratio * 100
            vel = (w.burn_rate_per_hour or 0.0) * 100
            cap = caps_for(provider, w.name)
            health = alloc.window_health(util, vel, cap, SAFETY_MARGIN_MIN)
            worst.append(health)
            windows[w.name] = {
                "utilization": round(util, 1), "velocity_pct_per_hour": round(max(vel, 0.0), 1),
                "projected_exhaustion_min": alloc.exhaustion_minutes(util, vel, cap),
                "resets_at": _iso(w.sample.resets_at), "status": health.value, "cap": round(cap, 1),
            }
        if not windows:
            out[provider] = {"status": Health.UNKNOWN.value, "error": st.reason or "no data"}
        else:
            out[provider] = {"status": Health.worst(worst).value, "windows": windows}
    return out


def next_account(svc: AppContext, account_ids: list[str], statuses: Sequence[AccountStatus] | None = None
                 ) -> dict[str, Any] | None:
    """The planner's pick among these accounts (``analysis.planner``, as ``quotawarden next``): account, provider,
    model, window and why; None when none can take work now."""
    from quotawarden.app import planning

    wanted = set(account_ids)
    found = svc.status(account_ids) if statuses is None else [s for s in statuses if s.account.id in wanted]
    p = planning.next_plan(found, svc.config.settings, planning.kinds(svc.plugins), None, svc.now())
    best = p.best
    return None if best is None else {"account": best.account_id, "provider": best.provider, "model": best.model,
                                      "window": best.window, "reason": p.reason()}


def provider_shares(all_instances: Sequence[Instance]) -> dict[str, dict[str, float]]:
    """provider -> instance id -> its weighted share of that provider's budget."""
    subs: dict[str, list[alloc.Subscriber]] = {}
    for i in all_instances:
        for provider in i.providers:
            subs.setdefault(provider, []).append(alloc.Subscriber(i.id, i.state))
    return {p: alloc.weights(s) for p, s in subs.items()}


def instance_status(svc: AppContext, inst: Instance, all_instances: Sequence[Instance], *,
                    statuses: Sequence[AccountStatus] | None = None,
                    shares: Mapping[str, Mapping[str, float]] | None = None,
                    budget_weights: Mapping[str, float] | None = None) -> dict[str, Any]:
    """One instance's answer. Building many at once, pass what they share: the accounts' ``statuses``,
    ``provider_shares(all_instances)`` and the instances' overall ``budget_weights``."""
    overcommit = svc.config.settings.server.overcommit
    config_caps = svc.config.settings.thresholds.hard_caps
    if shares is None:
        shares = provider_shares(all_instances)
    if budget_weights is None:
        budget_weights = alloc.weights([alloc.Subscriber(i.id, i.state) for i in all_instances])

    def caps_for(provider: str, window: str) -> float:
        base = alloc.hard_cap(provider, window, inst.hard_caps, config_caps)
        return alloc.allocate(base, shares.get(provider, {}).get(inst.id, 1.0), overcommit)

    providers = provider_windows(svc, list(inst.providers.values()), caps_for, statuses)
    nxt = next_account(svc, list(inst.providers.values()), statuses)
    statuses_ = {p: Health(v["status"]) for p, v in providers.items() if "error" not in v}
    rec, green, exhausted = alloc.recommend(inst.framework, statuses_)
    messages = [f"{p} {w} at {d['utilization']:.0f}% of {d['cap']:.0f}%"
                for p, v in providers.items() for w, d in v.get("windows", {}).items()
                if d["status"] in ("YELLOW", "RED")]
    if inst.framework != "claude" and rec is alloc.Recommendation.PROCEED and len(green) < len(statuses_):
        messages.append(f"OpenCode will auto-retry with: {', '.join(green)}")
    return {
        "timestamp": svc.now().astimezone(UTC).isoformat(),
        "instance_id": inst.id,
        "framework": inst.framework,
        "overall_status": Health.worst(list(statuses_.values())).value if statuses_ else Health.UNKNOWN.value,
        "recommendation": rec.value,
        "next_account": nxt,
        "message": "; ".join(messages) if messages else "All providers healthy",
        "providers": providers,
        "alternative_providers": green,
        "all_exhausted": exhausted,
        "central_watchdog": {"active_instances": len(all_instances),
                             "budget_weight": round(budget_weights.get(inst.id, 0.0), 2),
                             "mode": "centralized"},
    }
