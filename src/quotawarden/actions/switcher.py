"""OpenCode model switching: move agents off a provider that turns YELLOW/RED, and back once it recovers.

For every agent in ``opencode.json`` (the top-level ``model`` and each ``agent.<name>.model``), with its
``fallback_models`` (``provider/model`` ids):

* its provider YELLOW or RED -> switch to the first fallback whose provider is GREEN;
* switched, and the original's provider GREEN for ``hold`` consecutive polls -> switch back (hysteresis);
* the side file ``.<name>.quotawarden.json`` next to the config remembers the originals across restarts;
  ``restore`` puts them all back. A model the user changed by hand is the user's: it is left alone.

The file is edited surgically (comments and layout stay) and replaced atomically (temp file + rename), after
the side file is written, so a crash at any point leaves the config old or new, never broken, and the originals
known. A file that cannot be parsed is left untouched and reported with its line.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path as FsPath
from typing import Any

import json5
import orjson

from quotawarden.actions.jsonc import Path, ScanError, replace_strings
from quotawarden.domain import Health
from quotawarden.errors import ConfigError

HealthOf = Callable[[str], Health]
"""The health of an OpenCode provider id (``anthropic``, ``openai``, ...)."""


@dataclass(frozen=True, slots=True)
class Agent:
    name: str
    """``(default)`` for the top-level model, else the agent's name."""
    path: Path
    model: str
    fallbacks: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Change:
    agent: str
    path: Path
    old: str
    new: str
    reason: str


@dataclass
class Result:
    file: str
    changes: list[Change] = field(default_factory=list)
    held: list[str] = field(default_factory=list)
    """Agents switched away and still waiting for their original to recover."""
    error: str | None = None
    warnings: list[str] = field(default_factory=list)
    """What went wrong after the file was handled (a notice that could not be sent); the changes stand."""


def provider_of(model: str) -> str:
    return model.split("/", 1)[0]


def _models(node: Mapping[str, Any]) -> tuple[str, ...]:
    fb = node.get("fallback_models") or node.get("fallbackModels") or ()
    return tuple(m for m in fb if isinstance(m, str)) if isinstance(fb, list) else ()


def read_agents(data: Mapping[str, Any]) -> list[Agent]:
    out = []
    if isinstance(data.get("model"), str):
        out.append(Agent("(default)", ("model",), data["model"], _models(data)))
    agents = data.get("agent")
    if isinstance(agents, Mapping):
        for name, node in agents.items():
            if isinstance(node, Mapping) and isinstance(node.get("model"), str):
                out.append(Agent(str(name), ("agent", str(name), "model"), node["model"], _models(node)))
    return out


def _usable(model: str, health: HealthOf) -> bool:
    return health(provider_of(model)) is Health.GREEN


def decide(agents: Sequence[Agent], state: Mapping[str, Any], health: HealthOf, hold: int
           ) -> tuple[list[Change], dict[str, Any], list[str]]:
    """Pure: the changes to make, the new side-file state, and the agents held on a fallback."""
    new_state: dict[str, Any] = {}
    changes: list[Change] = []
    held: list[str] = []
    for a in agents:
        st = state.get(a.name)
        if st and a.model == st["current"]:
            original = st["original"]
            if _usable(original, health):
                polls = int(st.get("green_polls", 0)) + 1
                if polls >= hold:
                    changes.append(Change(a.name, a.path, a.model, original,
                                          f"{provider_of(original)} GREEN for {polls} polls: back to the original"))
                    continue
                new_state[a.name] = {**st, "green_polls": polls}
                held.append(a.name)
                continue
            current_ok = _usable(a.model, health)
            better = next((m for m in a.fallbacks if m != original and _usable(m, health)), None)
            if not current_ok and better and better != a.model:
                changes.append(Change(a.name, a.path, a.model, better, f"{provider_of(a.model)} is "
                                      f"{health(provider_of(a.model)).value} too: next GREEN fallback"))
                new_state[a.name] = {**st, "current": better, "green_polls": 0}
            else:
                new_state[a.name] = {**st, "green_polls": 0}
            held.append(a.name)
            continue
        # not switched by us (or the user changed the model by hand: theirs now)
        status = health(provider_of(a.model))
        if status in (Health.YELLOW, Health.RED):
            target = next((m for m in a.fallbacks if m != a.model and _usable(m, health)), None)
            if target:
                changes.append(Change(a.name, a.path, a.model, target,
                                      f"{provider_of(a.model)} is {status.value}: first GREEN fallback"))
                new_state[a.name] = {"original": a.model, "current": target, "green_polls": 0}
    return changes, new_state, held


def side_path(path: FsPath) -> FsPath:
    return path.with_name(f".{path.name}.quotawarden.json")


def parse(path: FsPath) -> tuple[str, dict[str, Any]]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror}", file=str(path)) from None
    try:
        data = json5.loads(text)
    except ValueError as exc:
        msg = str(exc)
        line = None
        if msg.startswith("<string>:"):
            head, _, msg = msg[len("<string>:"):].partition(" ")
            line = int(head) if head.isdigit() else None
        raise ConfigError(f"cannot parse this JSON file, left untouched: {msg}", file=str(path), line=line) \
            from None
    if not isinstance(data, dict):
        raise ConfigError("not a JSON object, left untouched", file=str(path))
    return text, data


class Switcher:
    def __init__(self, path: str | FsPath, hold: int = 3,
                 before_replace: Callable[[FsPath], None] | None = None) -> None:
        self.path = FsPath(path).expanduser()
        self.side = side_path(self.path)
        self.hold = max(1, hold)
        self._before_replace = before_replace  # a seam for crash tests

    def state(self) -> dict[str, Any]:
        try:
            return dict(orjson.loads(self.side.read_bytes()).get("agents", {}))
        except FileNotFoundError:
            return {}
        except (orjson.JSONDecodeError, OSError, AttributeError):
            raise ConfigError("the switcher's side file is damaged; fix or delete it (it only holds the "
                              "original models)", file=str(self.side)) from None

    def _write_state(self, agents: Mapping[str, Any], now: datetime) -> None:
        if not agents:
            self.side.unlink(missing_ok=True)
            return
        doc = {"file": str(self.path.resolve()), "updated_at": now.isoformat(), "agents": agents}
        _atomic_write(self.side, orjson.dumps(doc, option=orjson.OPT_INDENT_2), mode=0o644)

    def plan(self, health: HealthOf) -> tuple[list[Change], dict[str, Any], list[str]]:
        _, data = parse(self.path)
        return decide(read_agents(data), self.state(), health, self.hold)

    def poll(self, health: HealthOf, now: datetime, apply: bool = True) -> Result:
        """One poll: decide, then (when ``apply``) write the side file and the config."""
        text, data = parse(self.path)
        changes, new_state, held = decide(read_agents(data), self.state(), health, self.hold)
        if apply:
            self._apply(text, changes, new_state, now)
        return Result(str(self.path), changes, held)

    def restore(self, now: datetime) -> Result:
        """Put every original back (where the model is still the one we set) and forget the side file."""
        text, data = parse(self.path)
        state = self.state()
        changes = [Change(a.name, a.path, a.model, state[a.name]["original"], "restore")
                   for a in read_agents(data) if a.name in state and a.model == state[a.name]["current"]]
        self._apply(text, changes, {}, now)
        return Result(str(self.path), changes)

    def _apply(self, text: str, changes: Sequence[Change], new_state: Mapping[str, Any], now: datetime) -> None:
        if not changes:
            if new_state != self.state():
                self._write_state(new_state, now)
            return
        try:
            new_text = replace_strings(text, {c.path: c.new for c in changes})
        except ScanError as exc:
            raise ConfigError(f"cannot edit this file in place, left untouched: {exc}", file=str(self.path)) \
                from None
        check = {a.name: a.model for a in read_agents(json5.loads(new_text))}
        if any(check.get(c.agent) != c.new for c in changes):  # never write something we cannot read back
            raise ConfigError("the edit did not read back as intended; left untouched", file=str(self.path))
        # The side file must know every original whenever the config holds a switched model: first the union
        # of old and new memory, then the config, then the new memory. A crash anywhere leaves the config old or
        # new and the originals known (a stale entry is dropped on the next poll: its model no longer matches).
        self._write_state({**self.state(), **new_state}, now)
        if self._before_replace is not None:
            self._before_replace(self.path)
        mode = self.path.stat().st_mode & 0o777
        _atomic_write(self.path, new_text.encode("utf-8"), mode=mode)
        self._write_state(new_state, now)


def switch_files(paths: Sequence[str | FsPath], health: HealthOf, now: datetime, hold: int = 3,
                 apply: bool = True) -> list[Result]:
    """One poll over several files (what the daemon runs); one bad file does not stop the others."""
    out = []
    for p in paths:
        try:
            out.append(Switcher(p, hold).poll(health, now, apply))
        except ConfigError as exc:
            out.append(Result(str(p), error=str(exc)))
    return out


def provider_health(statuses: Sequence[Any], aliases: Mapping[str, str] | None = None) -> HealthOf:
    """OpenCode provider id -> health: the best known health among the accounts of that provider.

    ``aliases`` maps an OpenCode provider id to a quotawarden provider slug or account id
    (``{"anthropic": "claude"}`` when OpenCode's anthropic provider runs on a Claude subscription).
    """
    by_key: dict[str, list[Health]] = {}
    for s in statuses:
        by_key.setdefault(s.account.provider, []).append(s.status)
        by_key.setdefault(s.account.id, []).append(s.status)

    def health(provider: str) -> Health:
        known = [h for h in by_key.get((aliases or {}).get(provider, provider), []) if h is not Health.UNKNOWN]
        return min(known, key=lambda h: h.rank) if known else Health.UNKNOWN

    return health


def _atomic_write(path: FsPath, data: bytes, *, mode: int) -> None:
    """``credentials.vault.atomic_write_bytes``, imported when a file is written: the vault module loads the
    cryptography library (about 7 MB resident), which a daemon that never switches an account does not need."""
    from quotawarden.credentials.vault import atomic_write_bytes

    atomic_write_bytes(path, data, mode=mode)
