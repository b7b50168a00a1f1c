"""Autonomy controls: each autonomous action type is ``auto`` (do it), ``ask`` (propose it) or ``off``.

Whatever the mode, the decision lands in the audit trail and is announced on the alert channels, so nothing
quotawarden does on its own goes unseen.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

ACTION_TYPES = ("switch_models", "rotate_keys", "throttle_consumers", "send_digests", "pause_overage")


class Mode(StrEnum):
    AUTO = "auto"
    ASK = "ask"
    OFF = "off"


@dataclass(frozen=True, slots=True)
class Outcome:
    action_type: str
    mode: Mode
    done: bool
    summary: str
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def audit_action(self) -> str:
        return {Mode.AUTO: self.action_type, Mode.ASK: f"{self.action_type}.proposed",
                Mode.OFF: f"{self.action_type}.skipped"}[self.mode]


def mode_for(settings: object, action_type: str) -> Mode:
    if action_type not in ACTION_TYPES:
        raise ValueError(f"unknown autonomous action {action_type!r} (known: {', '.join(ACTION_TYPES)})")
    return Mode(getattr(settings, action_type, "ask"))


def run(mode: Mode, action_type: str, summary: str, do: Callable[[], dict[str, Any] | None],
        detail: dict[str, Any] | None = None) -> Outcome:
    """Run ``do`` only in ``auto`` mode; the returned outcome says what happened, for the audit trail."""
    if mode is Mode.AUTO:
        result = do() or {}
        return Outcome(action_type, mode, True, summary, {**(detail or {}), **result})
    verb = "proposed (autonomy: ask)" if mode is Mode.ASK else "not done (autonomy: off)"
    return Outcome(action_type, mode, False, f"{summary} - {verb}", dict(detail or {}))
