"""Fake installed distributions: what pip leaves in site-packages, written to a temporary folder.

A folder holding ``<name>-<version>.dist-info/entry_points.txt`` (and the plug-in's module) is, once on ``sys.path``
or ``PYTHONPATH``, an installed plug-in as far as ``importlib.metadata`` and the loader are concerned.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def install_dist(site: Path, name: str, entry_points: str, modules: Mapping[str, str] | None = None) -> Path:
    """Write a distribution's .dist-info (METADATA, entry_points.txt) and its modules (``{"mod": source}``)."""
    info = site / f"{name.replace('-', '_')}-0.1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1.0\n")
    (info / "entry_points.txt").write_text(entry_points)
    for module, source in (modules or {}).items():
        (site / f"{module}.py").write_text(source)
    return info


def run(argv: list[str], site: Path, *, load: str | None = None, cwd: Path = ROOT,
        timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run ``python <argv>`` with ``site`` on PYTHONPATH and ``QUOTAWARDEN_LOAD_PLUGINS`` set to ``load`` (None:
    unset, so every installed plug-in loads, as for a user who never heard of the variable)."""
    env = {k: v for k, v in os.environ.items() if k != "QUOTAWARDEN_LOAD_PLUGINS"}
    env["PYTHONPATH"] = os.pathsep.join([str(site), *filter(None, [env.get("PYTHONPATH")])])
    if load is not None:
        env["QUOTAWARDEN_LOAD_PLUGINS"] = load
    return subprocess.run([sys.executable, *argv], env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout,
                          check=False)


def cli(site: Path, *args: str, load: str | None = None) -> subprocess.CompletedProcess[str]:
    """The real ``quotawarden`` command in a fresh interpreter that sees ``site``."""
    return run(["-m", "quotawarden.interfaces.cli.main", *args], site, load=load)
