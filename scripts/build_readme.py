"""Assemble README.md from docs/readme/*.md (one file per capability, in name order).

    python scripts/build_readme.py          # write README.md
    python scripts/build_readme.py --check  # exit 1 if README.md is out of date (the test suite runs this)

A line ``<!-- include: path/to/file.py -->`` is kept and followed by that file, verbatim, in a fenced block, so
code shown in the README is the code that is tested (e.g. the "Adding a provider" plug-in under examples/).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
INCLUDE = re.compile(r"^<!-- include: (?P<path>\S+) -->$", re.MULTILINE)
LANGUAGES = {".py": "python", ".toml": "toml", ".sh": "sh", ".json": "json", ".yaml": "yaml", ".yml": "yaml"}


def include(match: re.Match[str]) -> str:
    """The marker, then the file it names in a fenced block (the fence outgrows any backtick run inside)."""
    path = ROOT / match["path"]
    text = path.read_text(encoding="utf-8")
    fence = "`" * max([3, *(len(run) + 1 for run in re.findall(r"`{3,}", text))])
    return f"{match[0]}\n{fence}{LANGUAGES.get(path.suffix, '')}\n{text.rstrip()}\n{fence}"


def build() -> str:
    parts = [INCLUDE.sub(include, p.read_text(encoding="utf-8").strip()) + "\n"
             for p in sorted((ROOT / "docs" / "readme").glob("*.md"))]
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
