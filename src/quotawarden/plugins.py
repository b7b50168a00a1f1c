"""Plug-in loading with pluggy: built-ins and third parties register through the same entry-point groups.

A provider module implements::

    from quotawarden.plugins import hookimpl

    @hookimpl
    def register_providers(register):
        register(ProviderSpec(slug="acme", display_name="Acme", ...))

and is named in ``pyproject.toml`` under ``[project.entry-points."quotawarden.providers"]``.
"""

from __future__ import annotations

import importlib.metadata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import pluggy

from quotawarden.errors import PluginError
from quotawarden.spec import ProviderSpec

hookspec = pluggy.HookspecMarker("quotawarden")
hookimpl = pluggy.HookimplMarker("quotawarden")

ENTRY_POINT_GROUPS = ("quotawarden.providers", "quotawarden.log_sources")


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

    def provider(self, slug: str) -> ProviderSpec:
        try:
            return self.providers[slug]
        except KeyError:
            known = ", ".join(sorted(self.providers))
            raise PluginError(f"unknown provider {slug!r} (known: {known})") from None


def _entry_points() -> list[importlib.metadata.EntryPoint]:
    eps = importlib.metadata.entry_points()
    return [ep for group in ENTRY_POINT_GROUPS for ep in eps.select(group=group)]


def load_plugins(extra: Iterable[ModuleType | object] = (), *, entry_points: bool = True) -> Plugins:
    """Build a fresh registry (no module-level state): entry points, then ``extra`` modules or objects."""
    pm = pluggy.PluginManager("quotawarden")
    pm.add_hookspecs(HookSpecs)
    result = Plugins()
    if entry_points:
        for ep in _entry_points():
            try:
                pm.register(ep.load(), name=f"{ep.group}:{ep.name}")
            except Exception as exc:  # a broken third-party plug-in must not take the tool down
                result.failed.append(f"{ep.group}:{ep.name}: {type(exc).__name__}: {exc}")
    for plugin in extra:
        pm.register(plugin)

    def add_provider(spec: ProviderSpec) -> None:
        if spec.slug in result.providers and result.providers[spec.slug] is not spec:
            raise PluginError(f"provider {spec.slug!r} registered twice")
        result.providers[spec.slug] = spec

    def add_log_source(spec: Any) -> None:
        result.log_sources[spec.slug] = spec

    pm.hook.register_providers(register=add_provider)
    pm.hook.register_log_sources(register=add_log_source)
    return result
