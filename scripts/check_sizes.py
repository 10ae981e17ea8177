"""No Python module under src/ over `MAX_LINES` lines: a module that grows past it is split.

    python scripts/check_sizes.py            # exit 1, naming each module over the limit

Paths exempt for now are listed in pyproject.toml, ``[tool.agentcron.module-size] exempt``
(`fnmatch` patterns on the path from the repository root: ``*`` spans folders too).
"""

from __future__ import annotations

import fnmatch
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MAX_LINES = 500


def exempt() -> list[str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    patterns: list[str] = (
        config.get("tool", {}).get("agentcron", {}).get("module-size", {}).get("exempt", [])
    )
    return patterns


def oversized(patterns: list[str]) -> list[tuple[str, int]]:
    found = []
    for path in sorted((ROOT / "src").rglob("*.py")):
        relative = path.relative_to(ROOT).as_posix()
        if any(fnmatch.fnmatchcase(relative, p) for p in patterns):
            continue
        with path.open(encoding="utf-8") as source:
            lines = sum(1 for _ in source)
        if lines > MAX_LINES:
            found.append((relative, lines))
    return found


def main() -> int:
    over = oversized(exempt())
    for path, lines in over:
        print(f"{path}: {lines} lines (at most {MAX_LINES}): split it into smaller modules")
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
