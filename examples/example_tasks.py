"""Example tasks for ``examples/agentcron.toml``; each does something you can see.

Relative paths are relative to this folder, and output goes to ``examples/out/`` (created on
first use, ignored by git), so ``agentcron serve --config examples/agentcron.toml`` works from
the repository root of a fresh clone.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import agentcron

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"


def _path(value: str | None, default: Path) -> Path:
    if value is None:
        return default
    path = Path(value).expanduser()
    return path if path.is_absolute() else HERE / path


@agentcron.task
def write_line(
    path: str | None = None, text: str = "heartbeat", *, ctx: agentcron.RunContext
) -> dict[str, Any]:
    """Append a timestamped line to ``out/heartbeat.log`` (or ``path``)."""
    target = _path(path, OUT / "heartbeat.log")
    target.parent.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).isoformat(timespec="seconds")
    line = f"{stamp} {text} (run {ctx.run_id}, schedule {ctx.schedule or '-'})"
    with target.open("a", encoding="utf-8") as handle:
        handle.write(line + "\n")
    return {"path": str(target), "line": line}


@agentcron.task
def summarise_folder(folder: str = ".", output: str | None = None) -> dict[str, Any]:
    """Count files and bytes by extension under ``folder``; write ``out/summary.json``."""
    root = _path(folder, HERE)
    files: Counter[str] = Counter()
    size: Counter[str] = Counter()
    for item in root.rglob("*"):
        if item.is_file() and OUT not in item.parents:
            kind = item.suffix.lower() or "(none)"
            files[kind] += 1
            size[kind] += item.stat().st_size
    summary = {
        "folder": str(root),
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "files": sum(files.values()),
        "bytes": sum(size.values()),
        "by_extension": {k: {"files": files[k], "bytes": size[k]} for k in sorted(files)},
    }
    target = _path(output, OUT / "summary.json")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    return summary


@agentcron.task(retries=2, timeout="30s")
def call_url(url: str | None = None, timeout_s: float = 10.0) -> dict[str, Any]:
    """GET ``url`` and report its status and size. Without a URL it does nothing (so the
    example works offline): trigger it with ``--args '{"url": "https://example.com"}'``."""
    if url is None:
        return {"skipped": "no url given; set args.url to fetch something"}
    request = urllib.request.Request(url, headers={"User-Agent": "agentcron-example"})
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            body = response.read()
            return {"url": url, "status": response.status, "bytes": len(body)}
    except urllib.error.HTTPError as exc:
        return {"url": url, "status": exc.code, "bytes": 0}
