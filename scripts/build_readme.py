"""Assemble README.md from docs/readme/*.md (one file per capability, in name order).

    python scripts/build_readme.py          # write README.md
    python scripts/build_readme.py --check  # exit 1 if README.md is out of date (the test suite runs this)
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def build() -> str:
    parts = [p.read_text(encoding="utf-8").strip() + "\n" for p in sorted((ROOT / "docs" / "readme").glob("*.md"))]
    return "\n".join(parts)


def main() -> int:
    text = build()
    readme = ROOT / "README.md"
    if "--check" in sys.argv:
        if readme.read_text(encoding="utf-8") != text:
            print("README.md is out of date: run python scripts/build_readme.py")
            return 1
        return 0
    readme.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
