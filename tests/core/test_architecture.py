"""The layout the README describes is the layout the code has: a small root, no import cycles, a generated map."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "src" / "quotawarden"


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return grimp.build_graph("quotawarden", exclude_type_checking_imports=False)


def test_the_package_root_holds_at_most_eleven_modules() -> None:
    """The shared vocabulary only (naming sits apart from domain so the fast paths need not build its dataclasses,
    ~20 ms); everything else lives in its layer's package."""
    modules = sorted(p.name for p in PACKAGE.glob("*.py"))
    assert len(modules) <= 11, modules


def test_no_module_takes_part_in_an_import_cycle_type_checking_imports_included(graph: grimp.ImportGraph) -> None:
    cycles = []
    for module in sorted(graph.modules):
        for imported in graph.find_modules_directly_imported_by(module):
            path = graph.find_shortest_chain(importer=imported, imported=module)
            if path is not None:
                cycles.append((module, *path))
    assert cycles == []


def test_docs_architecture_is_generated_from_the_code() -> None:
    proc = subprocess.run([sys.executable, str(ROOT / "scripts/architecture.py"), "--check"], capture_output=True,
                          text=True, check=False)
    assert proc.returncode == 0, proc.stdout


def test_the_import_contracts_hold() -> None:
    proc = subprocess.run([str(Path(sys.executable).with_name("lint-imports")), "--no-cache"], capture_output=True,
                          text=True, check=False, cwd=ROOT)
    assert proc.returncode == 0, proc.stdout[-4000:]
