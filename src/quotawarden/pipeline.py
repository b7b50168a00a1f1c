"""The flow in one readable place: collect -> store -> analyse -> decide -> deliver.

``tick`` is what the daemon runs on each schedule beat and what ``demo`` runs once. Each stage is a step the
service supplies, so this module depends on no stage; it fixes the order and the hand-offs.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

Step = Callable[[datetime], Awaitable[Any]]


@dataclass
class Pipeline:
    collect: Step
    analyse: Step
    deliver: Step
    log: list[tuple[str, Any]] = field(default_factory=list)

    async def tick(self, now: datetime) -> Any:
        collected = await self.collect(now)  # sources write to the store as they read
        findings = await self.analyse(now)  # analysis reads the store
        await self.deliver(now)  # actions act on the findings
        self.log.append(("tick", now))
        return collected, findings
