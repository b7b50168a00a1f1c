"""Regenerate the committed audit example from the scripted store (``tests/analysis/seed.py``)::

    python -m tests.analysis.make_example docs/examples
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from quotawarden.analysis.audit import render
from quotawarden.app.service import Service
from quotawarden.clock import FixedClock
from tests.analysis import seed
from tests.conftest import NOW


def main(out: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        svc = Service(config=seed.config(), plugins=seed.plugins(), clock=FixedClock(NOW),
                      store_url=f"sqlite:///{tmp}/example.db")
        seed.populate(svc.store, NOW, days=30, step_s=900)
        report = svc.audit_report()
        svc.close()
    out.mkdir(parents=True, exist_ok=True)
    for fmt in ("yaml", "md"):
        path = out / f"account-audit-{report['report_date']}.{fmt}"
        path.write_text(render(report, fmt), encoding="utf-8")
        print(f"wrote {path}")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/examples"))
