"""The provider emulator: an ASGI app that speaks each provider's exact wire format, driven by a scenario.

* ``scenario.py`` -- :class:`Scenario` / :class:`EmuAccount` (limits, usage growth, resets, faults, latency),
  ``demo_scenario()`` and ``write_demo_config()``.
* ``base.py`` -- the interface a provider module implements (``EMULATOR = EmulatedProvider(...)``).
* ``app.py`` -- ``create_app(scenario, clock)``: discovers ``emulator/providers/*.py`` and dispatches by credential.
* ``server.py`` -- ``serve(app)``: uvicorn on a free loopback port in a background thread.

Add a provider: create ``emulator/providers/<slug>.py`` defining ``EMULATOR``; no other file changes.
"""

from quotawarden.emulator.app import create_app
from quotawarden.emulator.scenario import EmuAccount, Scenario, demo_scenario, write_demo_config
from quotawarden.emulator.server import serve

__all__ = ["EmuAccount", "Scenario", "create_app", "demo_scenario", "serve", "write_demo_config"]
