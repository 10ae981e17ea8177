"""Shared helpers for the benchmark scripts: tables, medians, temp stores, subprocesses."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
PYTHON = sys.executable


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of ``values``."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def fmt(value: Any, digits: int = 2) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        if value != value:  # nan
            return "-"
        if abs(value) >= 1000:
            return f"{value:,.0f}"
        return f"{value:.{digits}f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def table(title: str, headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A plain-text table (right-aligned numbers, left-aligned text)."""
    cells = [[fmt(c) for c in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h)
              for i, h in enumerate(headers)]  # fmt: skip
    numeric = [all(_is_num(row[i]) for row in rows) if rows else False
               for i in range(len(headers))]  # fmt: skip

    def line(values: Sequence[str]) -> str:
        out = []
        for i, v in enumerate(values):
            out.append(v.rjust(widths[i]) if numeric[i] else v.ljust(widths[i]))
        return "  ".join(out).rstrip()

    sep = "  ".join("-" * w for w in widths)
    body = [line(headers), sep, *(line(r) for r in cells)]
    return "\n".join([title, "=" * len(title), *body])


def _is_num(value: Any) -> bool:
    return isinstance(value, int | float) or value is None


def fresh_sqlite_url(tmpdir: str, label: str) -> tuple[str, str]:
    """A new (not yet existing) SQLite file in ``tmpdir``; returns (url, path)."""
    path = os.path.join(tmpdir, f"{label}-{time.monotonic_ns()}.db")
    return f"sqlite:///{path}", path


def make_tmpdir(prefix: str) -> tempfile.TemporaryDirectory[str]:
    return tempfile.TemporaryDirectory(prefix=prefix)


def spawn(args: Sequence[str], env: dict[str, str] | None = None,
          log_path: str | None = None) -> subprocess.Popen[bytes]:  # fmt: skip
    """Start ``python <args>`` with benchmarks/ on the path; output goes to ``log_path``."""
    full_env = dict(os.environ)
    full_env["PYTHONPATH"] = os.pathsep.join(
        [str(HERE), *filter(None, [full_env.get("PYTHONPATH")])]
    )
    if env:
        full_env.update(env)
    out = open(log_path, "wb") if log_path else subprocess.DEVNULL  # noqa: SIM115
    return subprocess.Popen([PYTHON, *args], env=full_env, stdout=out, stderr=subprocess.STDOUT)


def stop(proc: subprocess.Popen[bytes], sig_timeout: float = 15.0) -> int | None:
    """Ask a subprocess we started to stop (SIGTERM), kill it if it does not."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(sig_timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
    return proc.returncode


def wait_for(predicate: Callable[[], bool], timeout: float, interval: float = 0.005,
             what: str = "condition") -> None:  # fmt: skip
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:g}s waiting for {what}")
        time.sleep(interval)


def tail(path: str, lines: int = 30) -> str:
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-lines:])
    except OSError:
        return ""
