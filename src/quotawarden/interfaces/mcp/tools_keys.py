"""MCP tools for credentials: list them masked (``sk-...abcd`` at most), add one to the encrypted vault."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

from mcp.server.mcpserver import MCPServer
from pydantic import Field

from quotawarden.errors import QuotawardenError
from quotawarden.redact import mask, redact_text

if TYPE_CHECKING:
    from quotawarden.app.service import Service
    from quotawarden.interfaces.mcp.tools_work import Guard

_REFS = ("env", "file", "vault")


def _ref(ref: str | None) -> str | None:
    """Credential references are shown as written; a literal key is masked."""
    if ref and ref.split(":", 1)[0] not in _REFS:
        return mask(ref)
    return ref


def list_keys(svc: Service) -> dict[str, Any]:
    accounts = [{"account": a.id, "provider": a.provider, "credential": _ref(a.credential)} for a in svc.accounts()]
    vault: dict[str, Any] = {"available": False, "entries": []}
    try:
        v = svc.vault
        if v.exists():
            vault = {"available": True, "entries": [
                {"name": e.name, "provider": e.provider, "kind": e.kind, "plan": e.plan, "masked": e.masked,
                 "validated_at": e.validated_at, "last_used_at": e.last_used_at} for e in v.entries()]}
    except QuotawardenError as exc:
        vault = {"available": False, "entries": [], "error": redact_text(str(exc))}
    return {"accounts": accounts, "vault": vault}


def register(server: MCPServer, svc: Service, guard: Guard) -> None:
    @server.tool(name="list_keys", description="Every account's credential reference and the vault's keys, masked.")
    def list_keys_tool() -> dict[str, Any]:
        return guard(list_keys, svc)

    @server.tool(description="Store an API key in the encrypted vault under a name; accounts then use "
                             "credential = \"vault:NAME\". The key is never echoed back.")
    def add_key(
        name: Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.@/\-]+$")],
        secret: Annotated[str, Field(min_length=8, max_length=4096, description="The API key or token.")],
        provider: Annotated[str | None, Field(description="Provider slug, e.g. anthropic.")] = None,
    ) -> dict[str, Any]:
        entry = guard(lambda: svc.vault.put(name, secret, provider=provider, source="mcp", actor="mcp"))
        return {"name": entry.name, "provider": entry.provider, "masked": entry.masked,
                "reference": f"vault:{entry.name}"}
