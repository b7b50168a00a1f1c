"""Plug-in loading with pluggy: built-ins and third parties register through the same entry-point groups.

A provider module implements::

    from quotawarden.plugins import hookimpl

    @hookimpl
    def register_providers(register):
        register(ProviderSpec(slug="acme", display_name="Acme", ...))

and is named in ``pyproject.toml`` under ``[project.entry-points."quotawarden.providers"]``.

A plug-in loads whole or not at all: one that fails to import, raises while registering, or registers a slug
another plug-in already has is skipped and listed in :attr:`Plugins.failed` (``quotawarden providers --json``).
Built-ins register first, so they keep their slugs; among third parties the first installed wins.

``QUOTAWARDEN_LOAD_PLUGINS`` picks which third-party distributions load (as ``LLM_LOAD_PLUGINS`` does for llm):
unset, all of them; a comma-separated list of distribution names, only those; empty, none (built-ins only, which is
what the project's own test suite runs with).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from types import ModuleType
from typing import TYPE_CHECKING, Any

import pluggy

from quotawarden.errors import PluginError

if TYPE_CHECKING:  # annotations only: the fast paths read the selection rule without loading pydantic
    import importlib.metadata

    from quotawarden.spec import ProviderSpec

hookspec = pluggy.HookspecMarker("quotawarden")
hookimpl = pluggy.HookimplMarker("quotawarden")

ENTRY_POINT_GROUPS = ("quotawarden.providers", "quotawarden.log_sources")
BUILTIN_DIST = "quotawarden"
LOAD_ENV = "QUOTAWARDEN_LOAD_PLUGINS"
_HOOKS = (("register_providers", "provider"), ("register_log_sources", "log source"))


class HookSpecs:
    @hookspec
    def register_providers(self, register: Callable[[ProviderSpec], None]) -> None:
        """Register one or more provider specs."""

    @hookspec
    def register_log_sources(self, register: Callable[[Any], None]) -> None:
        """Register one or more log sources (``quotawarden.logsources.base.LogSourceSpec``)."""


@dataclass
class Plugins:
    providers: dict[str, ProviderSpec] = field(default_factory=dict)
    log_sources: dict[str, Any] = field(default_factory=dict)
    failed: list[str] = field(default_factory=list)
    """One line per plug-in that was skipped: ``group:name (distribution): why``."""
    origin: dict[str, str] = field(default_factory=dict)
    """Who registered each slug (``provider:acme`` / ``log source:acme`` -> distribution or plug-in name)."""

    def provider(self, slug: str) -> ProviderSpec:
        try:
            return self.providers[slug]
        except KeyError:
            known = ", ".join(sorted(self.providers))
            raise PluginError(f"unknown provider {slug!r} (known: {known})") from None


def normalize(dist: str) -> str:
    """Distribution names compare as pip compares them (PEP 503): ``Quotawarden_Acme`` == ``quotawarden-acme``."""
    return re.sub(r"[-_.]+", "-", dist).lower()


def selected_dists(environ: Mapping[str, str] | None = None) -> frozenset[str] | None:
    """The third-party distributions ``QUOTAWARDEN_LOAD_PLUGINS`` allows (normalized), or None for all of them."""
    raw = (os.environ if environ is None else environ).get(LOAD_ENV)
    if raw is None:
        return None
    return frozenset(normalize(part) for part in raw.split(",") if part.strip())


@dataclass(frozen=True, slots=True)
class _Source:
    name: str
    """``group:entry-point (distribution)`` (or the object's name for a plug-in passed in directly), as reported."""
    dist: str
    builtin: bool


def _dist_of(ep: importlib.metadata.EntryPoint, names: dict[int, str] | None = None) -> str:
    """The normalised name of the distribution that declares ``ep``. ``names`` (id of a distribution -> its name)
    remembers each distribution's: ``Distribution.name`` parses the whole METADATA file on every call, and the
    entry points of one distribution share its object."""
    dist = getattr(ep, "dist", None)
    if dist is not None:
        name = names.get(id(dist)) if names is not None else None
        if name is None:
            name = dist.name or ""
            if names is not None:
                names[id(dist)] = name
        if name:
            return normalize(name)
    return BUILTIN_DIST if ep.value.startswith(BUILTIN_DIST + ".") else ""


def _entry_points() -> list[importlib.metadata.EntryPoint]:
    import importlib.metadata

    eps = importlib.metadata.entry_points()
    return [ep for group in ENTRY_POINT_GROUPS for ep in eps.select(group=group)]


def load_plugins(extra: Iterable[ModuleType | object] = (), *, entry_points: bool = True) -> Plugins:
    """Build a fresh registry (no module-level state): entry points, then ``extra`` modules or objects."""
    pm = pluggy.PluginManager("quotawarden")
    pm.add_hookspecs(HookSpecs)
    result = Plugins()
    sources: dict[str, _Source] = {}
    if entry_points:
        wanted = selected_dists()
        eps = _entry_points()
        names: dict[int, str] = {}
        for ep in eps:
            dist = _dist_of(ep, names)
            builtin = dist == BUILTIN_DIST
            if not builtin and wanted is not None and dist not in wanted:
                continue
            label = f"{ep.group}:{ep.name}" if builtin or not dist else f"{ep.group}:{ep.name} ({dist})"
            source = _Source(label, dist or ep.name, builtin)
            try:
                plugin = ep.load()
                if pm.is_registered(plugin):  # one module named in both groups: its hooks are called once
                    continue
                pm.register(plugin, name=label)
            except Exception as exc:  # a broken third-party plug-in must not take the tool down
                result.failed.append(f"{label}: {type(exc).__name__}: {exc}")
                continue
            sources[label] = source
    for plugin in extra:
        name = pm.register(plugin)
        assert name is not None
        label = getattr(plugin, "__name__", type(plugin).__name__)
        sources[name] = _Source(label, label, False)
    for name in sorted(sources, key=lambda n: not sources[n].builtin):  # built-ins first; stable otherwise
        _register(pm, pm.get_plugin(name), sources[name], result)
    return result


def _register(pm: pluggy.PluginManager, plugin: object, source: _Source, result: Plugins) -> None:
    """Collect one plug-in's registrations; keep them only if all are sound, else report the plug-in."""
    found: list[tuple[str, Any]] = []
    try:
        for hook, kind in _HOOKS:
            impl = next((i for i in getattr(pm.hook, hook).get_hookimpls() if i.plugin is plugin), None)
            if impl is not None:
                impl.function(**{arg: (lambda spec, kind=kind: found.append((kind, spec))) for arg in impl.argnames})
    except Exception as exc:
        result.failed.append(f"{source.name}: {type(exc).__name__} while registering: {exc}")
        return
    mine: dict[str, Any] = {}
    for kind, spec in found:
        key = f"{kind}:{spec.slug}"
        if mine.get(key, spec) is not spec or key in result.origin:
            owner = result.origin.get(key, source.dist)
            result.failed.append(f"{source.name}: {kind} {spec.slug!r} is already registered by {owner}; skipped")
            return
        mine[key] = spec
    for key, spec in mine.items():
        (result.providers if key.startswith("provider:") else result.log_sources)[spec.slug] = spec
        result.origin[key] = source.dist
