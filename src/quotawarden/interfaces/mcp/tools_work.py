"""MCP tools that help an agent choose and refresh: recommend an account and model for a task, poll now."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any, Literal, ParamSpec, Protocol, TypeVar

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import Field

from quotawarden.interfaces.views._common import jsonable
from quotawarden.redact import redact_text

if TYPE_CHECKING:
    from quotawarden.app.service import Service

P = ParamSpec("P")
T = TypeVar("T")


class Guard(Protocol):
    """How the server runs a tool's call: ``guard(fn, *args, **kwargs)`` returns ``fn``'s result and turns domain
    errors into tool errors (``mcp.server._guard``)."""

    def __call__(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T: ...


def _models(svc: Service, account_id: str, days: int = 14) -> list[tuple[str, float]]:
    """Models this account served lately, with their mean cost per call (cheapest first)."""
    now = svc.now()
    cost: dict[str, Decimal] = defaultdict(Decimal)
    calls: dict[str, int] = defaultdict(int)
    for e in svc.usage_events(now - timedelta(days=days), now, account_id=account_id):
        cost[e.model] += e.cost or Decimal(0)
        calls[e.model] += 1
    return sorted(((m, float(cost[m]) / calls[m]) for m in calls), key=lambda mc: mc[1])


SIZE_CLASS = {"small": "light", "large": "heavy"}
"""A task's size -> the planner's task class (medium: ``[planner] default_task``)."""


def recommend(svc: Service, task: str, size: str, provider: str | None, pool: str | None,
              task_class: str | None = None) -> dict[str, Any]:
    """The planner's answer (``Service.next_account``, as ``quotawarden next``) with a model and what to avoid."""
    statuses = svc.status()
    if provider:
        statuses = [s for s in statuses if s.account.provider == provider]
    if not statuses:
        raise ToolError(f"no account matches provider={provider!r} pool={pool!r}")
    try:
        plan = svc.next_account(task_class or SIZE_CLASS.get(size), pool, statuses=statuses)
    except ValueError as exc:
        raise ToolError(str(exc)) from None
    avoid = [{"account": a, "why": why} for a, why in plan.skipped]
    best = plan.best
    if best is None:
        return {"task": task, "size": size, "task_class": plan.task, "account": None, "model": None,
                "window": None, "avoid": avoid, "ranked": [],
                "advice": plan.reason() + ": wait for the next reset or add capacity"}
    st = next(s for s in statuses if s.account.id == best.account_id)
    pick, basis = best.model, "[planner] models for this task class"
    if pick is None:
        models = _models(svc, best.account_id)
        basis = ("models this account served in the last 14 days, by mean cost per call" if models
                 else "no recent usage on this account to suggest a model from")
        if models:  # a large task on a window already YELLOW should not take the most expensive model
            pick = models[-1][0] if size == "large" and st.status.value == "GREEN" else models[0][0] \
                if size == "small" else models[len(models) // 2][0]
    ratios = [w.sample.effective_ratio for w in st.windows if w.sample.effective_ratio is not None]
    return {
        "task": task, "size": size, "task_class": plan.task, "account": best.account_id,
        "provider": best.provider, "model": pick, "window": best.window, "capacity": best.capacity,
        "status": st.status.value, "worst_window_used": max(ratios, default=None), "avoid": avoid,
        "alternatives": [c.account_id for c in plan.ranked[1:3]],
        "ranked": [c.account_id for c in plan.ranked],
        "advice": plan.reason(), "model_basis": basis,
    }


def register(server: MCPServer, svc: Service, guard: Guard) -> None:
    @server.tool(description="Which account (and model) to use for a task now, as `quotawarden next`: included "
                             "capacity that expires soonest while its pace allows it, paid fall-backs only when "
                             "none is left, local servers last for heavy work; and the ones to avoid.")
    def recommend_account(
        task: Annotated[str, Field(min_length=1, max_length=500, description="What the work is, in a few words.")],
        size: Literal["small", "medium", "large"] = "medium",
        provider: Annotated[str | None, Field(description="Only accounts of this provider.")] = None,
        pool: Annotated[str | None, Field(description="Only accounts in this pool.")] = None,
        task_class: Annotated[str | None, Field(description="A [planner] task class (heavy, light, ...); "
                                                            "default from size: small light, large heavy.")] = None,
    ) -> dict[str, Any]:
        return guard(recommend, svc, task, size, provider, pool, task_class)

    @server.tool(description="Probe accounts now (the cache guard skips ones observed recently unless force) and "
                             "return what each probe found.")
    def trigger_poll(account_ids: Annotated[list[str] | None, Field(description="Only these accounts.")] = None,
                     force: bool = False) -> dict[str, Any]:
        known = {a.id for a in svc.accounts()}
        unknown = sorted(set(account_ids or []) - known)
        if unknown:
            raise ToolError(f"unknown account id(s): {', '.join(unknown)}")
        results = guard(svc.poll, account_ids or None, force=force)
        import orjson

        text = redact_text(orjson.dumps(jsonable(results), default=str).decode())
        return {"polled": len(results), "results": orjson.loads(text)}
