"""``quotawarden mcp``: tools and resources over stdio, or streamable HTTP under the daemon (``mount``).

Every tool is a thin call into ``Service`` (through the shared view modules) with typed inputs; failures come back
as tool errors whose text says what went wrong and what to do, never a secret. An argument a tool does not declare
is refused by name (the SDK would drop it silently, and a misspelt filter would widen the call to everything).
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any, Literal, ParamSpec, TypeVar

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import Field

from quotawarden.errors import QuotawardenError
from quotawarden.interfaces.views import alerts as alerts_v
from quotawarden.interfaces.views import money as money_v
from quotawarden.interfaces.views import overview as overview_v
from quotawarden.interfaces.views._common import jsonable
from quotawarden.redact import redact_text

if TYPE_CHECKING:
    from quotawarden.app.service import Service

INSTRUCTIONS = ("quotawarden knows every quota, rate limit, balance and dollar across this user's LLM accounts. "
                "Call `status` or `recommend` before starting heavy work; `list_alerts` says what needs attention.")
AUDIT_URI = "quotawarden://audit/latest"

Days = Annotated[int, Field(ge=1, le=366, description="How many days back to look.")]
Period = Literal["day", "week", "month"]
Dimension = Literal["provider", "model", "project", "consumer", "account_id"]
AlertStateName = Literal["open", "acked", "resolved", "all"]
TaskSize = Literal["small", "medium", "large"]

P = ParamSpec("P")
T = TypeVar("T")


def _guard(fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
    """Domain errors become tool errors with their (redacted) message; anything else stays a crash."""
    try:
        return fn(*args, **kwargs)
    except (QuotawardenError, ValueError, alerts_v.NotFound) as exc:
        raise ToolError(redact_text(str(exc))) from None


class StrictServer(MCPServer[Any]):
    """The SDK's server, except that each tool's input schema is closed (``additionalProperties: false``) and a call
    with an argument the tool does not declare fails, naming it, instead of running without it."""

    async def list_tools(self) -> Any:
        tools = await super().list_tools()
        for t in tools:
            t.input_schema = {**t.input_schema, "additionalProperties": False}
        return tools

    async def call_tool(self, name: str, arguments: dict[str, Any], context: Any = None) -> Any:
        schema = next((t.input_schema for t in await super().list_tools() if t.name == name), None)
        if schema is not None:
            known = sorted(schema.get("properties", {}))
            unknown = sorted(set(arguments) - set(known))
            if unknown:
                raise ToolError(unknown_arguments(name, unknown, known))
        return await super().call_tool(name, arguments, context)


def unknown_arguments(tool: str, unknown: list[str], known: list[str]) -> str:
    """``trigger_poll: unknown argument 'account' (did you mean 'account_ids'?); it takes account_ids, force``."""
    parts = []
    for u in unknown:
        close = difflib.get_close_matches(u, known, n=1, cutoff=0.5)
        parts.append(f"{u!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
    takes = f"it takes {', '.join(known)}" if known else "it takes no arguments"
    return f"{tool}: unknown argument{'s' if len(unknown) > 1 else ''} {', '.join(parts)}; {takes}; nothing was done"


def build_server(svc: Service) -> MCPServer[Any]:
    from quotawarden import __version__
    from quotawarden.interfaces.mcp import tools_keys, tools_work

    server = StrictServer("quotawarden", instructions=INSTRUCTIONS, version=__version__)

    @server.tool(description="Every account's windows: used, remaining, reset time, health and why.")
    def status(account_ids: Annotated[list[str] | None, Field(description="Only these accounts.")] = None
               ) -> dict[str, Any]:
        if account_ids:
            unknown = sorted(set(account_ids) - {a.id for a in svc.accounts()})
            if unknown:
                raise ToolError(f"unknown account id(s): {', '.join(unknown)}")
        return _guard(svc.status_report, account_ids or None)

    @server.tool(description="Spend and tokens over the last days: total, per provider and per model.")
    def usage_summary(days: Days = 7) -> dict[str, Any]:
        data = _guard(money_v.breakdown, svc, days, "day")
        return {"days": days, "total_usd": data["total"], "unpriced_events": data.get("unpriced_events", 0),
                "by_provider": data["by_provider"], "by_model": data["by_model"][:10]}

    @server.tool(description="Cost per period (day/week/month) grouped by provider, model, project, consumer "
                             "or account.")
    def cost_breakdown(period: Period = "day", by: Dimension = "provider", days: Days = 30) -> dict[str, Any]:
        data = _guard(money_v.breakdown, svc, days, period)
        return {"period": period, "by": by, "days": days, "total_usd": data["total"], "series": data["series"],
                "groups": data[f"by_{by}"]}

    @server.tool(description="Spend this month, the month-end forecast (with an interval) and every budget's state.")
    def monthly_forecast() -> dict[str, Any]:
        return {"forecast": _guard(money_v.forecast, svc), "budgets": _guard(money_v.budgets, svc)}

    @server.tool(description="Which subscription tier fits each account's last 30 days, the monthly saving and "
                             "how sure that is.")
    def subscription_analysis() -> dict[str, Any]:
        advice = _guard(svc.tier_advice)
        return {"advice": jsonable(advice)}

    @server.tool(description="Fairness between consumers sharing quota: shares, Jain's index, advice.")
    def fairness_report(days: Annotated[int, Field(ge=1, le=90)] = 7) -> dict[str, Any]:
        return _guard(money_v.fairness, svc, days)

    @server.tool(description="Alerts, newest and most severe first.")
    def list_alerts(state: AlertStateName = "open") -> dict[str, Any]:
        rows = _guard(alerts_v.list_alerts, svc, None if state == "all" else state)
        return {"state": state, "alerts": rows}

    @server.tool(description="Acknowledge an open alert by id (acknowledging twice is harmless).")
    def ack_alert(alert_id: Annotated[int, Field(ge=1)]) -> dict[str, Any]:
        return _guard(alerts_v.ack, svc, alert_id, by="mcp")

    @server.tool(description="Run the account audit now and return the report (also readable as the resource "
                             f"{AUDIT_URI}).")
    def run_audit() -> dict[str, Any]:
        return _guard(alerts_v.latest_audit, svc)

    @server.tool(description="The overview: per-provider health, warnings, next resets, next rotation, cost.")
    def overview() -> dict[str, Any]:
        data = _guard(overview_v.overview, svc)
        for chart_only in ("accounts", "capacity", "spark_hours"):  # the page's pictures, not an agent's context
            data.pop(chart_only, None)
        return data

    tools_work.register(server, svc, _guard)
    tools_keys.register(server, svc, _guard)

    @server.resource(AUDIT_URI, name="latest-audit", title="Latest account audit (Markdown)",
                     mime_type="text/markdown")
    def audit_markdown() -> str:
        return alerts_v.audit_markdown(alerts_v.latest_audit(svc))

    @server.resource(AUDIT_URI + ".json", name="latest-audit-json", title="Latest account audit (JSON)",
                     mime_type="application/json")
    def audit_json() -> str:
        import orjson

        return orjson.dumps(alerts_v.latest_audit(svc), default=str).decode()

    return server


def mount(app: Any, service: Service, path: str = "/mcp") -> None:
    """Serve the MCP server over streamable HTTP at ``path`` on the daemon's app (it keeps the daemon's auth).

    The SDK's session manager must run for the app's lifetime, so it is wrapped around the app's own lifespan.
    """
    from contextlib import asynccontextmanager

    server = build_server(service)
    sub = server.streamable_http_app(streamable_http_path="/", stateless_http=True, json_response=True)
    outer = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(a: Any) -> Any:
        async with server.session_manager.run(), outer(a) as state:
            yield state

    app.router.lifespan_context = lifespan
    app.mount(path, sub)


def run_stdio(service: Service) -> None:
    build_server(service).run("stdio")
