"""The wake-prompt block: one line per account and a "use X, avoid Y" line, from the store's latest values only.

Kept free of heavy imports (see ``store.quick``): it answers in a few tens of milliseconds so an agent's start-up
hook or a shell prompt can call it every time. Health is ``analysis.health.decide``, the rule of ``status``, on the
same inputs: thresholds and hard caps from the config file, burn rates from the recent samples, the day's error
rate, the fresh status page readings.
"""

# No ``from __future__ import annotations`` here: a named tuple's field annotations written as strings cost a
# ``compile()`` each on import (~20 us a field), which the ``summary`` fast path pays on every call.
import os
import string
import sys
from datetime import UTC, datetime
from typing import Any, NamedTuple

from quotawarden.analysis import current, health, planner
from quotawarden.analysis.burn import Point, burn_rate
from quotawarden.analysis.durations import human_duration
from quotawarden.naming import window_scope
from quotawarden.store.quick import QuickAccount, QuickState, QuickWindow, load

ICONS = {"GREEN": "●", "YELLOW": "▲", "RED": "✖", "UNKNOWN": "?"}

FIELDS = ("id", "provider", "pool", "status", "icon", "window", "worst_pct", "resets_in", "age", "stale", "reason",
          "use", "avoid", "models")
DEFAULT_LINE = "{icon} {status:<7} {id} ({provider}) {window} {worst_pct} resets in {resets_in}"
STALE_LINE = "{icon} {status:<7} {id} ({provider}) {window} stale, read {age} ago"
"""The default line of an account whose worst window is stale: its usage and reset are unknown, its age is not."""
NO_WINDOW_LINE = "{icon} {status:<7} {id} ({provider}) {reason}"
"""The default line of an account with no window read (a refused key, an unset variable): why, not dashes."""


class Line(NamedTuple):
    id: str
    provider: str
    pool: str
    status: str
    window: str
    ratio: float | None
    resets_in_s: float | None
    age_s: float | None
    reason: str
    stale: bool = False
    """The worst window's reading is stale (``analysis.health.freshness``): its usage is unknown."""
    scoped: tuple[tuple[str, float | None, float | None], ...] = ()
    """The account's model-scoped caps (``naming.window_scope``: ``7d_opus``) as (window, ratio, resets in s):
    shown after the line, so one model's weekly cap is seen even when it is not the worst window."""

    @property
    def models(self) -> str:
        return ", ".join(f"{w} " + (f"{r * 100:.0f}%" if r is not None else "?")
                         + (f" ({human_duration(s)})" if s is not None else "") for w, r, s in self.scoped)

    def fields(self, use: str, avoid: str) -> dict[str, Any]:
        return {"id": self.id, "provider": self.provider, "pool": self.pool, "status": self.status,
                "icon": ICONS[self.status], "window": self.window or "-",
                "worst_pct": "stale" if self.stale else f"{self.ratio * 100:.0f}%" if self.ratio is not None else "-",
                "resets_in": human_duration(self.resets_in_s), "age": human_duration(self.age_s),
                "stale": "stale" if self.stale else "", "reason": self.reason, "use": use, "avoid": avoid,
                "models": self.models}


def window_health(w: QuickWindow, acc: QuickAccount, state: QuickState, policy: health.Policy,
                  now: datetime) -> health.Verdict:
    recent = state.recent.get((acc.id, w.window))
    rate = burn_rate([Point(*b) for b in recent]) if recent else None
    window = health.Window(acc.provider, w.window, w.ratio, w.remaining, w.status, w.window_length_s,
                           datetime.fromtimestamp(w.resets_ts, UTC) if w.resets_ts else None,
                           datetime.fromtimestamp(w.observed_ts, UTC))
    return health.decide(window, policy, now, rate=rate, service=state.services.get(acc.provider),
                         errors=state.errors.get(acc.id))


Rated = list[tuple[health.Verdict, QuickWindow]]
"""An account's windows, each with its verdict (:func:`rated_windows`)."""


def rated_windows(acc: QuickAccount, state: QuickState, now: float, policy: health.Policy) -> Rated:
    """Every window of the account with ``health.decide``'s verdict, decided once for its line and the planner."""
    at = datetime.fromtimestamp(now, UTC)
    return [(window_health(w, acc, state, policy, at), w) for w in acc.windows]


def account_line(acc: QuickAccount, state: QuickState, now: float, policy: health.Policy | None = None,
                 rated: Rated | None = None) -> Line:
    policy = policy or health.Policy.from_mapping(state.thresholds)
    rated = rated_windows(acc, state, now, policy) if rated is None else rated
    worst = max(rated, key=lambda vw: (health.RANK[vw[0].level], 0 if vw[0].stale else vw[1].ratio or 0),
                default=None)
    status = health.account_level((health.for_account(w.window, v.level) for v, w in rated), acc.outcome)
    reason = f"{acc.outcome}: {acc.reason}".rstrip(": ") if acc.outcome in health.BAD_OUTCOMES else ""
    w = worst[1] if worst else None
    stale = worst is not None and worst[0].stale
    observed = max((x.observed_ts for x in acc.windows), default=None)
    if worst is not None and not reason:
        reason = worst[0].reason
    scoped = tuple((x.window, None if v.stale else x.ratio, (x.resets_ts - now) if x.resets_ts and not v.stale
                    else None) for v, x in sorted(rated, key=lambda vx: vx[1].window)
                   if window_scope(x.window) is not None)
    return Line(acc.id, acc.provider, acc.pool or "", status, w.window if w else "",
                w.ratio if w and not stale else None, (w.resets_ts - now) if w and w.resets_ts and not stale else None,
                (now - observed) if observed else None, reason or "no data yet", stale, scoped)


def current_accounts(state: QuickState, now: float) -> list[QuickAccount]:
    """The accounts ``status`` lists (``analysis.current``): configured ones and the store's that still count."""
    configured = set(state.configured)
    keep = current.current_ids((current.Known(a.id, a.origin, a.fingerprint, a.outcome, a.last_seen)
                                for a in state.accounts), configured, now)
    return [a for a in state.accounts if a.id in configured or a.id in keep]


def account_option(acc: QuickAccount, state: QuickState, now: float, policy: health.Policy,
                   rated: Rated | None = None) -> planner.Option:
    """One account as the planner weighs it (``analysis.planner``): every quota window with its hard cap, reset
    and projected cap from ``health.decide``; the provider's kind from :data:`planner.BUILTIN_KINDS` (the plug-ins
    are not loaded here; a provider not built in counts as paid unless ``[planner.capacity]`` says otherwise)."""
    kind, plan = planner.BUILTIN_KINDS.get(acc.provider, "api"), state.plans.get(acc.id)
    capacity = planner.capacity_of(kind, plan)
    rooms, levels, stale = [], [], bool(acc.windows)
    for v, w in rated_windows(acc, state, now, policy) if rated is None else rated:
        levels.append(health.for_account(w.window, v.level))
        stale = stale and v.stale
        if capacity == planner.INCLUDED and w.unit == "usd":
            continue  # extra usage in dollars is not included capacity
        rooms.append(planner.Room(w.window, None if v.stale else w.ratio, v.cap,
                                  w.resets_ts if w.resets_ts and not v.stale else None,
                                  bool(v.projection and v.projection.cap_before_reset)))
    last = max((w.observed_ts for w in acc.windows), default=now)
    return planner.option(acc.id, acc.provider, capacity, health.account_level(levels, acc.outcome), acc.outcome,
                          rooms, acc.pool, reason=acc.reason, stale_s=max(0.0, now - last) if stale else None,
                          free=planner.is_free(kind, plan))


def recommend(lines: list[Line], plan: planner.Plan | None = None) -> tuple[list[str], list[str]]:
    """Use the planner's pick (``quotawarden next``), then the other accounts of its tier, one per provider; avoid
    every RED one."""
    use: list[str] = []
    if plan is not None and plan.best is not None:
        best, providers = plan.best, set()
        for c in plan.ranked:
            if (c.chain, c.tier) == (best.chain, best.tier) and c.provider not in providers:
                providers.add(c.provider)
                use.append(c.account_id)
    return use, [ln.id for ln in lines if ln.status == "RED"]


def next_plan(state: QuickState, now: float, policy: health.Policy, accounts: list[QuickAccount] | None = None,
              rated: list[Rated] | None = None) -> planner.Plan:
    """The planner's answer for the default task class over the current accounts (``rated``: their windows'
    verdicts, in the same order, when already decided)."""
    accs = current_accounts(state, now) if accounts is None else accounts
    found = [rated_windows(a, state, now, policy) for a in accs] if rated is None else rated
    return planner.plan([account_option(a, state, now, policy, r) for a, r in zip(accs, found, strict=True)],
                        planner.settings_from_mapping(state.planner), now=now)


def build(state: QuickState, now: float | None = None) -> tuple[list[Line], list[str], list[str]]:
    """Every account's line and the recommendation, at ``now`` (default: when the state was read)."""
    now = state.now if now is None else now
    policy = health.Policy.from_mapping(state.thresholds)
    accounts = current_accounts(state, now)
    rated = [rated_windows(a, state, now, policy) for a in accounts]
    lines = [account_line(a, state, now, policy, r) for a, r in zip(accounts, rated, strict=True)]
    use, avoid = recommend(lines, next_plan(state, now, policy, accounts, rated))
    return lines, use, avoid


def render(lines: list[Line], use: list[str], avoid: list[str], fmt: str | None = None,
           join: str = "\n", header: bool = True) -> str:
    """The block itself; ``fmt`` is a ``str.format`` template over :data:`FIELDS` applied to each account."""
    use_s, avoid_s = ", ".join(use) or "-", ", ".join(avoid) or "-"
    template = fmt or DEFAULT_LINE
    _check_template(template)
    out = [(template if fmt else _default_line(ln)).format(**ln.fields(use_s, avoid_s)) for ln in lines]
    if fmt is None:  # the default line names each model-scoped cap after the worst window
        out = [f"{o}; {ln.models}" if ln.models else o for o, ln in zip(out, lines, strict=True)]
        if join == "\n":
            out = [_fit(o) for o in out]
        if header:
            counts = {k: sum(1 for ln in lines if ln.status == k) for k in ("RED", "YELLOW", "GREEN", "UNKNOWN")}
            out.insert(0, "quota: " + ", ".join(f"{v} {k}" for k, v in counts.items() if v) if lines
                       else "quota: no accounts configured")
        if lines:
            out.append(_fit(f"use {use_s}; avoid {avoid_s}") if join == "\n" else f"use {use_s}; avoid {avoid_s}")
    return join.join(out)


def _default_line(ln: Line) -> str:
    if not ln.window or (ln.stale and ln.reason.partition(":")[0] in health.BAD_OUTCOMES):
        return NO_WINDOW_LINE  # nothing current to show but why it is RED (INVALID, LIMITED, OVERAGE)
    return STALE_LINE if ln.stale else DEFAULT_LINE


def _fit(line: str) -> str:
    """An account's line or the use/avoid line, wrapped between words when a terminal width is known (``COLUMNS``
    or a tty); whole otherwise, so a prompt hook reads it as one line. An id is never split."""
    width = _width()
    if not width or len(line) <= width:
        return line
    import textwrap

    return "\n".join(textwrap.wrap(line, width, subsequent_indent="  ", break_long_words=False,
                                    break_on_hyphens=False))


def _width() -> int:
    """``shutil.get_terminal_size(fallback=(0, 0)).columns``, the same rule (``COLUMNS``, else the terminal on
    stdout, else 0) without importing ``shutil``, which loads the compression modules on import."""
    try:
        columns = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            columns = 0
    return columns


def _check_template(template: str) -> None:
    for _, name, _, _ in string.Formatter().parse(template):
        if name is not None and name not in FIELDS:
            raise ValueError(f"unknown field {{{name}}} in --format (fields: {', '.join(FIELDS)})")


def as_json(lines: list[Line], use: list[str], avoid: list[str]) -> dict[str, Any]:
    return {"accounts": [{"id": ln.id, "provider": ln.provider, "pool": ln.pool or None, "status": ln.status,
                          "worst_window": ln.window or None, "worst_ratio": ln.ratio,
                          "resets_in_s": ln.resets_in_s, "age_s": ln.age_s, "stale": ln.stale, "reason": ln.reason,
                          "scoped_caps": [{"window": w, "scope": window_scope(w), "ratio": r, "resets_in_s": s}
                                          for w, r, s in ln.scoped]}
                         for ln in lines],
            "use": use, "avoid": avoid}


def run(*, fmt: str | None, join: str | None, json_out: bool, header: bool, config: str | None,
        db: str | None) -> int:
    try:
        lines, use, avoid = build(load(config, db))
        if json_out:
            import orjson

            sys.stdout.write(orjson.dumps(as_json(lines, use, avoid), option=orjson.OPT_INDENT_2).decode()
                             + "\n")
            return 0
        sys.stdout.write(render(lines, use, avoid, fmt, join if join is not None else "\n", header) + "\n")
        return 0
    except ValueError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 2
    except Exception as exc:  # the prompt must never break: say why, exit non-zero, print nothing half-done
        from quotawarden.redact import redact_text

        sys.stderr.write(f"error: summary unavailable: {redact_text(str(exc))}\n")
        return 1
