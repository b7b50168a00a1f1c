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

from quotawarden.interfaces.views import overview as overview_v
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

_RANK = {"GREEN": 0, "YELLOW": 1}


def _models(svc: Service, account_id: str, days: int = 14) -> list[tuple[str, float]]:
    """Models this account served lately, with their mean cost per call (cheapest first)."""
    now = svc.now()
    cost: dict[str, Decimal] = defaultdict(Decimal)
    calls: dict[str, int] = defaultdict(int)
    for e in svc.usage_events(now - timedelta(days=days), now, account_id=account_id):
        cost[e.model] += e.cost or Decimal(0)
        calls[e.model] += 1
    return sorted(((m, float(cost[m]) / calls[m]) for m in calls), key=lambda mc: mc[1])


def recommend(svc: Service, task: str, size: str, provider: str | None, pool: str | None) -> dict[str, Any]:
    accounts = svc.status_report()["accounts"]
    if provider:
        accounts = [a for a in accounts if a["provider"] == provider]
    if pool:
        accounts = [a for a in accounts if a.get("pool") == pool]
    if not accounts:
        raise ToolError(f"no account matches provider={provider!r} pool={pool!r}")
    usable = sorted((a for a in accounts if a["status"] in _RANK),
                    key=lambda a: (_RANK[a["status"]], overview_v.worst_ratio(a) or 0.0))
    avoid = [{"account": a["id"], "why": a["reason"]} for a in accounts if a["status"] == "RED"]
    if not usable:
        return {"task": task, "account": None, "model": None, "avoid": avoid,
                "advice": "every matching account is exhausted or unknown: wait for the next reset or add capacity"}
    best = usable[0]
    models = _models(svc, best["id"])
    pick = None
    if models:
        # a large task on a window already YELLOW should not take the most expensive model
        pick = models[-1][0] if size == "large" and best["status"] == "GREEN" else models[0][0] \
            if size == "small" else models[len(models) // 2][0]
    ratio = overview_v.worst_ratio(best)
    return {
        "task": task, "size": size, "account": best["id"], "provider": best["provider"], "model": pick,
        "status": best["status"], "worst_window_used": ratio, "avoid": avoid,
        "alternatives": [a["id"] for a in usable[1:3]],
        "advice": f"use {best['id']} ({best['status']}, worst window {ratio * 100:.0f}% used)" if ratio is not None
        else f"use {best['id']} ({best['status']})",
        "model_basis": "models this account served in the last 14 days, by mean cost per call" if models
        else "no recent usage on this account to suggest a model from",
    }


def register(server: MCPServer, svc: Service, guard: Guard) -> None:
    @server.tool(description="Which account (and model) to use for a task now: the healthiest account with the "
                             "most headroom, and the ones to avoid.")
    def recommend_account(
        task: Annotated[str, Field(min_length=1, max_length=500, description="What the work is, in a few words.")],
        size: Literal["small", "medium", "large"] = "medium",
        provider: Annotated[str | None, Field(description="Only accounts of this provider.")] = None,
        pool: Annotated[str | None, Field(description="Only accounts in this pool.")] = None,
    ) -> dict[str, Any]:
        return guard(recommend, svc, task, size, provider, pool)

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
