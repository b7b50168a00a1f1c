"""``quotawarden mcp``: the MCP server on stdio, for an agent to start as a tool server."""

from __future__ import annotations

import typer

from quotawarden.interfaces.cli.common import service


def mcp(ctx: typer.Context) -> None:
    """Serve quotawarden's tools (status, costs, forecasts, alerts, keys, poll, audit) over MCP on stdio.

    Add it to an agent as a stdio MCP server with the command `quotawarden mcp`. Under `quotawarden serve` the same
    server answers streamable HTTP at /mcp.
    """
    from quotawarden.interfaces.mcp.server import run_stdio

    run_stdio(service(ctx))


def register(app: typer.Typer) -> None:
    app.command("mcp")(mcp)
