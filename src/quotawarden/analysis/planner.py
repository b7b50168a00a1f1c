"""Which account (and model) next: spend the included capacity that expires soonest while its pace allows it, keep
paid fall-backs for when no included capacity is left, and local servers last for heavy work.

One function, :func:`plan`, answers ``quotawarden next``, MCP ``recommend_account``, ``summary``'s "use" line,
``/v1/status`` and (through :func:`quotawarden.analysis.rotation.rank`) the proxy's pool ordering.

Inputs are plain values the caller already holds, one :class:`Option` per account (build them with
:func:`option` from its windows; ``analysis.status.AccountStatus`` values go through
:func:`quotawarden.analysis.rotation.option_from_status`), the ``[planner]`` settings (:class:`PlannerSettings`,
:func:`settings_from_mapping`) and ``now`` in epoch seconds. No I/O, no clock, standard library only: the
``summary`` fast path imports it. A decision over 20 accounts takes a few tens of microseconds.

Order, for a task class (``heavy``, ``light`` or any configured one):

1. the pool's fallback chain (``[[pools]] fallback``), when a pool is named;
2. the capacity tier, in the class's ``tiers`` order (default heavy: included, paid, local; light: included,
   local, paid). A provider's capacity comes from its ``ProviderSpec.kind`` (:data:`KIND_CAPACITY`):
   ``subscription`` is included capacity, ``api`` and ``balance`` are paid, ``local`` is a local server; ``admin``
   and ``tool`` accounts serve no work. ``[planner.capacity]`` overrides it per provider. An included account
   answering from paid extra usage (outcome ``OVERAGE``) counts as paid;
3. the strategy's key (:data:`STRATEGIES`): ``drain_soonest`` (default) puts first the accounts whose pace allows
   it (no window projected to reach its hard cap before its reset, by ``analysis.burn`` through
   ``analysis.health.decide``), the one whose allowance expires soonest first (its longest window with room, when
   window lengths are known: a weekly or monthly allowance, which a 5h window only gates; allowances expiring
   within the same day from now count as expiring together), then the one whose window with room resets soonest,
   then more headroom; then
   accounts whose usage is unknown; then the ones that would reach a cap before their reset, most headroom
   first. ``headroom`` is the older order: most headroom on the tightest window first, then the sooner reset.

Accounts refused (``LIMITED``, ``INVALID``), RED (unless answering from extra usage), at a hard cap, or of a tier
or provider the class does not allow are listed in :attr:`Plan.skipped` with the reason. A model-scoped window
(``7d_opus``: :func:`quotawarden.naming.window_scope`) weighs only for a task whose model for that provider is in
its scope (``claude-opus-4`` for ``opus``): one model's weekly cap at 100% leaves the account usable for the other
models (:func:`applies`).
"""

# No ``from __future__ import annotations`` here: a named tuple's field annotations written as strings cost a
# ``compile()`` each on import (~20 us a field), which the ``summary`` fast path pays on every call.
import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, NamedTuple

from quotawarden.analysis.durations import human_duration
from quotawarden.kinds import BUILTIN_KINDS as BUILTIN_KINDS  # re-exported: the planner's callers name it here
from quotawarden.naming import window_scope

INCLUDED, PAID, LOCAL = "included", "paid", "local"
CAPACITIES = (INCLUDED, PAID, LOCAL)
KIND_CAPACITY: Mapping[str, str] = {"subscription": INCLUDED, "api": PAID, "balance": PAID, "local": LOCAL}
"""``ProviderSpec.kind`` -> capacity tier. Kinds not listed (``admin``, ``tool``) report only: they serve no work."""
FREE_PLANS = frozenset({"free", "free_tier", "free-tier"})
"""An account ``plan`` that marks a pay-as-you-go provider's free tier (a Gemini API key's): its counted windows
(``rpm``, ``rpd``) are included capacity that costs nothing and expires at each reset."""
STRATEGY_NAMES = ("drain_soonest", "headroom")
DEFAULT_TIERS: Mapping[str, tuple[str, ...]] = {"heavy": (INCLUDED, PAID, LOCAL), "light": (INCLUDED, LOCAL, PAID)}
MIN_HEADROOM = 0.0
SKIP_OUTCOMES = frozenset({"LIMITED", "INVALID"})
_INF = float("inf")


def is_free(kind: str | None, plan: str | None) -> bool:
    """A pay-as-you-go account (kind ``api`` or ``balance``) on its provider's free tier (``plan = "free"``)."""
    return (plan or "").strip().lower() in FREE_PLANS and KIND_CAPACITY.get(kind or "") == PAID


def capacity_of(kind: str | None, plan: str | None = None) -> str | None:
    """The capacity tier of a ``ProviderSpec.kind`` (None: the account serves no work); a free tier
    (:func:`is_free`) is included capacity."""
    return INCLUDED if is_free(kind, plan) else KIND_CAPACITY.get(kind or "")


def rounded(ratio: float | None) -> float | None:
    """A ratio for JSON output: 4 decimals (0.48, not 0.48000000000000004); the planner's own math is unrounded."""
    return None if ratio is None else round(ratio, 4)


class Room(NamedTuple):
    """One quota window as the planner weighs it."""

    name: str
    ratio: float | None
    """Used fraction now; None when unknown (no reading, or stale since its reset)."""
    cap: float = 1.0
    """The hard cap treated as exhausted (``analysis.health.Policy.cap``, lowered when burning fast)."""
    resets_t: float | None = None
    """Epoch seconds of its reset; None when it does not reset (a balance)."""
    reaches_cap: bool = False
    """At its burn rate it reaches ``cap`` before its reset (``analysis.burn.Projection.cap_before_reset``)."""
    length_s: float | None = None
    """Its nominal length (5h = 18000), when known: the longest window with room is the allowance that expires."""


class Option(NamedTuple):
    """One account as the planner weighs it."""

    account_id: str
    provider: str
    capacity: str | None
    """``included``, ``paid``, ``local`` (:func:`capacity_of`); None for accounts that serve no work."""
    level: str = "UNKNOWN"
    """The account's health (``GREEN``, ``YELLOW``, ``RED``, ``UNKNOWN``)."""
    outcome: str = "OK"
    rooms: tuple[Room, ...] = ()
    pool: str | None = None
    reason: str = ""
    """The account's health reason (``AccountStatus.reason``): why it is RED, LIMITED or INVALID."""
    stale_s: float | None = None
    """Set when no window has a fresh reading (``analysis.health.freshness``): seconds since the last one."""
    retry_t: float | None = None
    """When a LIMITED account may be tried again (``AccountState.retry_at``), epoch seconds."""
    free: bool = False
    """A pay-as-you-go key on its free tier (:func:`is_free`), counted as included capacity."""


class Choice(NamedTuple):
    """One eligible account, ranked."""

    account_id: str
    provider: str
    capacity: str
    chain: int
    """0 for the requested pool (or no pool), 1 for its first fallback, ..."""
    tier: int
    """The capacity tier's position in the task class's ``tiers``."""
    headroom: float | None
    """Room left on the tightest window before its hard cap; None when no window is known."""
    binding: str | None
    """The tightest window."""
    window: str | None
    """The window whose room expires first (the one to use before it resets), else the tightest."""
    ratio: float | None
    resets_t: float | None
    pace_ok: bool
    """No window is projected to reach its cap before its reset."""
    model: str | None
    pool: str | None
    extra_usage: bool = False
    """An included account answering from paid extra usage (outcome ``OVERAGE``)."""
    expires_t: float | None = None
    """The reset of the account's longest window with room (its weekly or monthly allowance, when window lengths
    are known; else the drain window's reset): when the capacity that goes unused is lost."""
    stale_s: float | None = None
    """Seconds since the last reading when none is fresh (:attr:`Option.stale_s`); None: fresh."""
    free: bool = False

    @property
    def unknown(self) -> bool:
        """No known room: no reading, or no fresh one."""
        return self.headroom is None or self.stale_s is not None

    @property
    def group(self) -> int:
        """0 known room and pace allows it, 1 unknown (no reading, or no fresh one), 2 would reach a cap before
        its reset."""
        return 2 if not self.pace_ok else (1 if self.unknown else 0)


EXPIRY_HORIZON_S = 86400.0
"""Allowances that expire within the same day from now count as expiring together (:func:`drain_soonest`)."""


def drain_soonest(c: Choice, now: float = 0.0) -> tuple[Any, ...]:
    """Capacity that expires soonest first, while its pace allows it: the longest window's reset (the allowance a
    short window only gates), by the day from ``now`` it falls in, then the soonest reset of a window with room.

    Allowances that expire within the same day are all urgent: each account's 5h window caps how fast it can be
    spent, so among them the one whose 5h room is lost first goes first, rather than one allowance taking every
    request until it runs out while another's (expiring a few hours later) sits idle. ``bench/planner.py`` shows
    it: at 120% demand over five accounts, the strict allowance order left 0.7% of included capacity unused, by
    the day 0.0% (and 38% less paid spend than headroom); at 100% demand the same within 0.3 points."""
    group = c.group
    soon = c.resets_t if c.resets_t is not None and group == 0 else _INF
    expires = c.expires_t if c.expires_t is not None and group == 0 else soon
    day = _INF if expires == _INF else max(0, int((expires - now) // EXPIRY_HORIZON_S))
    return (group, day, soon, -(c.headroom or 0.0), c.account_id)


def headroom(c: Choice, now: float = 0.0) -> tuple[Any, ...]:
    """Most headroom on the tightest window first, then the sooner reset."""
    return (c.unknown, -(c.headroom or 0.0), c.resets_t if c.resets_t is not None else _INF, c.account_id)


STRATEGIES: Mapping[str, Callable[[Choice, float], tuple[Any, ...]]] = {"drain_soonest": drain_soonest,
                                                                "headroom": headroom}
"""Ranking keys within one pool tier and capacity tier, by strategy name."""


class TaskClass(NamedTuple):
    name: str
    tiers: tuple[str, ...]
    """Capacity tiers allowed, in order; a tier left out never serves this class."""
    providers: tuple[str, ...] = ()
    """Providers allowed (empty: all)."""
    models: Mapping[str, str] = {}
    """Provider -> the model to use for this class."""


class PoolSpec(NamedTuple):
    """One ``[[pools]]`` entry. Empty ``accounts`` means every account whose ``pool`` is ``name``."""

    name: str
    accounts: tuple[str, ...] = ()
    fallback: tuple[str, ...] = ()
    """Pools, or provider slugs, to try in order when this pool has no usable account."""


DEFAULT_TASKS: Mapping[str, TaskClass] = {n: TaskClass(n, t) for n, t in DEFAULT_TIERS.items()}


class PlannerSettings(NamedTuple):
    """The ``[planner]`` section."""

    strategy: str = "drain_soonest"
    default_task: str = "heavy"
    tasks: Mapping[str, TaskClass] = DEFAULT_TASKS
    capacity: Mapping[str, str] = {}
    """Provider -> capacity tier, over the kind's (a self-hosted OpenAI-compatible server marked ``local``)."""
    min_headroom: float = MIN_HEADROOM
    """An account with this much room or less on a window is treated as at its cap."""

    def task(self, name: str | None) -> TaskClass:
        name = name or self.default_task
        if name not in self.tasks:
            raise ValueError(f"unknown task class {name!r} (known: {', '.join(sorted(self.tasks))})")
        return self.tasks[name]


def settings_from_mapping(section: Mapping[str, Any] | None) -> PlannerSettings:
    """From a ``[planner]`` table (the validated settings dumped, or the raw TOML of the fast paths)."""
    section = section or {}
    tasks = dict(DEFAULT_TASKS)
    for name, spec in dict(section.get("tasks") or {}).items():
        spec = dict(spec or {})
        base = tasks.get(str(name), TaskClass(str(name), DEFAULT_TIERS["heavy"]))
        tiers = tuple(str(t) for t in spec["tiers"]) if spec.get("tiers") is not None else base.tiers
        tasks[str(name)] = TaskClass(str(name), tiers, tuple(str(p) for p in spec.get("providers") or ()),
                                     {str(k): str(v) for k, v in dict(spec.get("models") or {}).items()})
    return PlannerSettings(str(section.get("strategy") or "drain_soonest"),
                           str(section.get("default_task") or "heavy"), tasks,
                           {str(k): str(v) for k, v in dict(section.get("capacity") or {}).items()},
                           float(section.get("min_headroom") or 0.0))


class Plan(NamedTuple):
    task: str
    strategy: str
    ranked: list[Choice]
    skipped: list[tuple[str, str]]
    """(account id, why) for every account that may not serve the task now."""
    chain: list[str]
    now: float

    @property
    def best(self) -> Choice | None:
        return self.ranked[0] if self.ranked else None

    def reason(self, c: Choice | None = None) -> str:
        """Why ``c`` (default: the pick), in one human line."""
        c = c or self.best
        if c is None:
            why = "; ".join(f"{a}: {w}" for a, w in self.skipped[:3]) or "no account fits"
            return f"no account can take {self.task} work now ({why})"
        return explain(c, self, self.now)


def option(account_id: str, provider: str, capacity: str | None, level: str = "UNKNOWN", outcome: str = "OK",
           rooms: Iterable[Room] = (), pool: str | None = None, *, reason: str = "", stale_s: float | None = None,
           retry_t: float | None = None, free: bool = False) -> Option:
    """An :class:`Option`; an included account answering from paid extra usage counts as paid."""
    if capacity == INCLUDED and outcome == "OVERAGE":
        capacity = PAID
    return Option(account_id, provider, capacity, level, outcome, tuple(rooms), pool, reason, stale_s, retry_t, free)


def fallback_chain(pools: Sequence[PoolSpec], start: str) -> list[str]:
    """``start`` then its fallbacks, depth first, each pool once (cycles in the config are cut)."""
    by_name = {p.name: p for p in pools}
    chain: list[str] = []

    def visit(name: str) -> None:
        if name in chain:
            return
        chain.append(name)
        for nxt in by_name[name].fallback if name in by_name else ():
            visit(nxt)

    visit(start)
    return chain


def is_member(account_id: str, provider: str, account_pool: str | None, name: str,
              pools: Sequence[PoolSpec]) -> bool:
    """Whether an account belongs to pool ``name`` (a fallback may also name a provider, "gemini", "ollama")."""
    spec = next((p for p in pools if p.name == name), None)
    if spec is not None:
        return account_id in spec.accounts if spec.accounts else account_pool == name
    return provider == name or account_pool == name


def _norm(name: str) -> str:
    return name.strip().lower().replace("-", "_").replace(" ", "_").replace(".", "_")


def applies(window: str, model: str | None) -> bool:
    """Whether a window limits work on ``model``: an account-wide window always; a model-scoped one (``7d_opus``)
    only when the task's model is in its scope (``claude-opus-4-1``); with no model set, the account's other
    models still answer, so a scoped window does not."""
    scope = window_scope(window)
    if scope is None:
        return True
    if model is None:
        return False
    scope, model = _norm(scope), _norm(model)
    families = scope.split("_and_")  # a family pool, Antigravity's claude_and_gpt: either family's models
    return scope in model or (len(families) > 1 and any(model.startswith(f) for f in families))


def for_model(o: Option, model: str | None, min_room: float = 0.0) -> Option:
    """``o`` with only the windows that limit work on ``model`` (:func:`applies`). With no model set, the
    model-scoped windows that still have room are kept too: they measure an account whose every window is a model's
    (Antigravity), while a used-up one does not bench the account."""
    rooms = tuple(r for r in o.rooms if applies(r.name, model) or (
        model is None and r.ratio is not None and r.cap - r.ratio > min_room))
    return o if len(rooms) == len(o.rooms) else o._replace(rooms=rooms)


def expires(o: Option, min_room: float = 0.0) -> float | None:
    """The reset of the longest window (by ``Room.length_s``) that still has room; None when no length is known."""
    longest: Room | None = None
    for r in o.rooms:
        if r.length_s is None or r.resets_t is None or r.ratio is None or r.cap - r.ratio <= min_room:
            continue
        if longest is None or r.length_s > (longest.length_s or 0.0):
            longest = r
    return longest.resets_t if longest is not None else None


def measure(o: Option, min_room: float = 0.0) -> tuple[float | None, str | None, str | None, float | None,
                                                       float | None, bool]:
    """(headroom, binding window, drain window, its ratio, its reset, pace ok) of one account."""
    room: float | None = None
    binding: str | None = None
    drain: Room | None = None
    pace_ok = True
    for r in o.rooms:
        if r.reaches_cap:
            pace_ok = False
        if r.ratio is None:
            continue
        left = r.cap - r.ratio
        if room is None or left < room:
            room, binding = left, r.name
        if left > min_room and r.resets_t is not None and (drain is None or drain.resets_t is None
                                                            or r.resets_t < drain.resets_t):
            drain = r
    if drain is None:
        tight = next((r for r in o.rooms if r.name == binding), None)
        return room, binding, binding, tight.ratio if tight else None, tight.resets_t if tight else None, pace_ok
    return room, binding, drain.name, drain.ratio, drain.resets_t, pace_ok


def plan(options: Sequence[Option], settings: PlannerSettings | None = None, *, task: str | None = None,
         pool: str | None = None, pools: Sequence[PoolSpec] = (), now: float = 0.0,
         strategy: str | None = None) -> Plan:
    """The accounts fit for ``task`` ranked best first, with why the others were skipped (see the module)."""
    cfg = settings or PlannerSettings()
    klass = cfg.task(task)
    strat = strategy or cfg.strategy
    if strat not in STRATEGIES:
        raise ValueError(f"unknown strategy {strat!r} (known: {', '.join(STRATEGY_NAMES)})")
    key = STRATEGIES[strat]
    chain = fallback_chain(pools, pool) if pool else [""]
    matchers = [_matcher(name, pools) for name in chain]
    ranked: list[Choice] = []
    skipped: list[tuple[str, str]] = []
    for o in options:
        capacity = cfg.capacity.get(o.provider, o.capacity)
        if capacity == INCLUDED and o.outcome == "OVERAGE":
            capacity = PAID
        if capacity is None:
            continue  # reports only (admin, tool): never a candidate, never noise
        link = next((i for i, m in enumerate(matchers) if m(o)), None)
        if link is None:
            continue
        why = _unfit(o, capacity, klass, now)
        o = for_model(o, klass.models.get(o.provider), cfg.min_headroom)
        room, binding, window, ratio, resets_t, pace_ok = measure(o, cfg.min_headroom)
        if why is None and capacity != LOCAL and room is not None and room <= cfg.min_headroom:
            tight = next(r for r in o.rooms if r.name == binding)
            why = _at_cap(tight, now)
        if why:
            skipped.append((o.account_id, why))
            continue
        ranked.append(Choice(o.account_id, o.provider, capacity, link, klass.tiers.index(capacity), room, binding,
                             window, ratio, resets_t, pace_ok, klass.models.get(o.provider),
                             chain[link] or o.pool, o.outcome == "OVERAGE", expires(o, cfg.min_headroom),
                             o.stale_s, o.free))
    ranked.sort(key=lambda c: (c.chain, c.tier, *key(c, now)))
    return Plan(klass.name, strat, ranked, skipped, [c for c in chain if c], now)


def _matcher(name: str, pools: Sequence[PoolSpec]) -> Callable[[Option], bool]:
    """:func:`is_member` for one pool name, resolved once per decision."""
    if not name:
        return lambda o: True
    spec = next((p for p in pools if p.name == name), None)
    if spec is not None and spec.accounts:
        ids = frozenset(spec.accounts)
        return lambda o: o.account_id in ids
    if spec is not None:
        return lambda o: o.pool == name
    return lambda o: o.provider == name or o.pool == name


def _clock(t: float, now: float) -> str:
    """``14:05 UTC`` the same day, ``Dec 04 14:05 UTC`` another (the planner has no time zone of its own)."""
    same_day = time.gmtime(t)[:3] == time.gmtime(now)[:3]
    return time.strftime("%H:%M UTC" if same_day else "%b %d %H:%M UTC", time.gmtime(t))


def _at_cap(r: Room, now: float) -> str:
    """``5h at its hard cap: 97% used (cap 90%), resets in 2h10m at 14:05 UTC``."""
    used = f"{r.name} at its hard cap: {r.ratio or 0.0:.0%} used (cap {r.cap:.0%})"
    if r.resets_t is None:
        return used
    if now <= 0:  # no clock given (a ranking without ``now``): the reset's time only
        return f"{used}, resets {_clock(r.resets_t, now)}"
    return f"{used}, resets in {human_duration(r.resets_t - now)} at {_clock(r.resets_t, now)}"


def _refused(o: Option, now: float) -> str:
    """``LIMITED until 14:05 UTC (in 2h10m): gemini: quota exhausted (rpd)`` or ``INVALID: 401 ...``."""
    cause = o.reason.split(": ", 1)[1] if o.reason.startswith(o.outcome + ": ") else o.reason
    cause = re.sub(r", retry (in|after) \S+$", "", cause)  # said by "until" instead, which stays true
    head = o.outcome
    if o.retry_t is not None and o.retry_t > now:
        head += f" until {_clock(o.retry_t, now)}" + (f" (in {human_duration(o.retry_t - now)})" if now > 0 else "")
    return f"{head}: {cause}" if cause else head


def _red(o: Option, now: float) -> str:
    """RED and why: the window at its cap and when it resets, else the health reason."""
    full = [r for r in o.rooms if r.ratio is not None and r.ratio >= r.cap]
    if full:
        r = max(full, key=lambda r: (r.resets_t or _INF))  # the one that holds the account longest
        return f"RED, {_at_cap(r, now)}"
    return f"RED: {o.reason}" if o.reason else "RED"


def _unfit(o: Option, capacity: str, klass: TaskClass, now: float) -> str | None:
    if klass.providers and o.provider not in klass.providers:
        return f"{o.provider} does not serve {klass.name} work"
    if capacity not in klass.tiers:
        what = "a local server" if capacity == LOCAL else f"{capacity} capacity"
        return f"{what}: not used for {klass.name} work"
    if o.outcome in SKIP_OUTCOMES:
        return _refused(o, now)
    if capacity == LOCAL and o.outcome in ("ERROR", "UNREACHABLE"):
        return f"local server not answering ({o.outcome})"
    if o.level == "RED" and o.outcome != "OVERAGE":
        return _red(o, now)
    return None


def explain(c: Choice, p: Plan, now: float) -> str:
    """One human line: "claude-b: 5h window at 30% resets in 28m — use it before it expires"."""
    line = _explain(c, p, now)
    if c.stale_s is not None:
        line += f"; no fresh reading (last read {human_duration(c.stale_s)} ago)"
    return line


def _explain(c: Choice, p: Plan, now: float) -> str:
    first = p.best is not None and c.account_id == p.best.account_id
    if c.capacity == LOCAL:
        return f"{c.account_id}: local server" + ("" if c.tier == 0 else ", nothing ahead of it can take the work"
                                                   if first else ", kept for when nothing ahead of it can")
    if c.capacity == PAID:
        extra = "paid extra usage" if c.extra_usage else "pay-as-you-go"
        return f"{c.account_id}: {extra}" + ("" if c.tier == 0 else ", no included capacity left" if first
                                             else ", kept for when included capacity runs out")
    at = f" at {c.ratio:.0%}" if c.ratio is not None else ""
    resets = f" resets in {human_duration(c.resets_t - now)}" if c.resets_t is not None else ""
    name = f"{c.account_id} (free tier)" if c.free else c.account_id
    if c.unknown:
        what = "free-tier" if c.free else "included"
        return f"{name}: usage unknown; {what} capacity"
    if not c.pace_ok:
        return (f"{name}: {c.window} window{at}{resets}; at its pace it would reach a cap before its reset, "
                "so use it sparingly")
    if p.strategy == "headroom":
        return f"{name}: most headroom ({c.headroom:.0%} on {c.binding}){';' if resets else ''}{resets}"
    return f"{name}: {c.window} window{at}{resets} — use it before it expires"


def choice_json(c: Choice, p: Plan) -> dict[str, Any]:
    return {"account": c.account_id, "provider": c.provider, "model": c.model, "window": c.window,
            "capacity": c.capacity, "free_tier": c.free, "pool": c.pool or None, "headroom": rounded(c.headroom),
            "used_ratio": rounded(c.ratio),
            "resets_in_s": None if c.resets_t is None else round(c.resets_t - p.now, 1), "pace_ok": c.pace_ok,
            "fresh": c.stale_s is None, "last_read_s": None if c.stale_s is None else round(c.stale_s, 1),
            "reason": explain(c, p, p.now)}


def plan_json(p: Plan) -> dict[str, Any]:
    """The documented shape of ``quotawarden next --json`` (docs/cli-json.md)."""
    best = p.best
    return {"account": best.account_id if best else None, "provider": best.provider if best else None,
            "model": best.model if best else None, "window": best.window if best else None,
            "reason": p.reason(), "task": p.task, "strategy": p.strategy,
            "ranked": [choice_json(c, p) for c in p.ranked],
            "skipped": [{"account": a, "reason": why} for a, why in p.skipped]}
