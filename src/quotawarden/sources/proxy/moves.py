"""The proxy's autonomous moves (``[autonomy] rotate_keys``), reported through the action hook: the caller audits
and announces them away from the request path."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from quotawarden.sources.proxy.model import ActionHook, Upstream
from quotawarden.sources.proxy.routing import Route

log = logging.getLogger("quotawarden.proxy")


class MoveReporter:
    def __init__(self, hook: ActionHook | None) -> None:
        self.hook = hook
        self._proposed: dict[str, datetime] = {}
        """ask mode: account -> until when its move stands proposed (one proposal per limit, not per request)"""

    def rotated(self, route: Route, frm: Upstream, to: Upstream, status: int, until: datetime) -> None:
        self._report("rotate_keys", f"pool:{route.name}",
                     f"{frm.account_id} answered {status}: {route.name} moved to {to.account_id}",
                     {"from": frm.account_id, "to": to.account_id, "status": status, "until": until.isoformat()})

    def propose(self, route: Route, target: Upstream, status: int, until: datetime, now: datetime) -> None:
        others = [m.account_id for m in route.members if m.account_id != target.account_id]
        if not others or self._proposed.get(target.account_id, now) > now:
            return
        self._proposed[target.account_id] = until
        self._report("rotate_keys", f"pool:{route.name}",
                     f"{target.account_id} answered {status}: move {route.name} to {others[0]}",
                     {"from": target.account_id, "to": others[0], "status": status, "until": until.isoformat()})

    def _report(self, action: str, subject: str, summary: str, detail: dict[str, Any]) -> None:
        if self.hook is not None:
            try:
                self.hook(action, subject, summary, detail)
            except Exception:  # reporting must never break traffic
                log.exception("could not report %s", action)
