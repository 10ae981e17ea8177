"""Real agentcron processes for crash tests: a config + task module in a folder, processes
started with the CLI and killed with SIGKILL, and the invariants read straight from the db."""

from __future__ import annotations

import itertools
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

TASKS_MODULE = """
import asyncio, time
import agentcron

@agentcron.task
async def tick() -> None:
    pass

@agentcron.task(retries=3, backoff="50ms")
async def slow(ms: int = 100) -> int:
    await asyncio.sleep(ms / 1000)
    return ms

@agentcron.task(retries=3, backoff="50ms")
def slow_sync(ms: int = 100) -> int:
    time.sleep(ms / 1000)
    return ms

@agentcron.task  # retries = 0: only a recovery brings it back
async def fragile(ms: int = 100) -> int:
    await asyncio.sleep(ms / 1000)
    return ms
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(
    predicate: Callable[[], Any], timeout: float, what: str, interval: float = 0.05
) -> Any:
    """Poll ``predicate`` until it is truthy; errors (a db not created yet) count as not yet."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while True:
        try:
            value = predicate()
        except Exception as exc:  # e.g. "no such table" before the first process migrated
            value, last_error = None, exc
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what} ({last_error})")
        time.sleep(interval)


@dataclass
class Cluster:
    """A folder with ``agentcron.toml`` and ``chaos_tasks.py``, and the processes started."""

    root: Path
    db: str
    settings: dict[str, Any] = field(default_factory=dict)
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def write_config(self, schedules: Iterable[dict[str, Any]] = ()) -> Path:
        (self.root / "chaos_tasks.py").write_text(TASKS_MODULE)
        lines = ["[agentcron]", 'tasks = ["chaos_tasks"]']
        lines += [f"{k} = {json.dumps(v)}" for k, v in self.settings.items()]
        for entry in schedules:
            lines.append("\n[[schedule]]")
            lines += [f"{k} = {json.dumps(v)}" for k, v in entry.items()]
        path = self.root / "agentcron.toml"
        path.write_text("\n".join(lines) + "\n")
        return path

    def start(self, role: str, *extra: str) -> subprocess.Popen[bytes]:
        log = open(self.root / f"{role}-{len(self.procs)}.log", "wb")  # noqa: SIM115
        config = str(self.root / "agentcron.toml")
        cmd = [sys.executable, "-m", "agentcron", role, "--config", config, "--db", self.db, *extra]
        if role == "serve" and "--port" not in extra:  # each serve has its own HTTP port
            cmd += ["--port", str(free_port())]
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=self.root, env=env)
        self.procs.append(proc)
        return proc

    def wait_started(self, proc: subprocess.Popen[bytes], timeout: float = 30) -> None:
        """Wait until ``proc`` logged that its loop started (past imports and store setup)."""
        log = self.root / f"{self._role_of(proc)}-{self.procs.index(proc)}.log"
        wait_for(lambda: " started" in log.read_text(errors="replace"), timeout, f"{log.name}")

    def _role_of(self, proc: subprocess.Popen[bytes]) -> str:
        return str(proc.args[3])  # type: ignore[index]

    def kill(self, proc: subprocess.Popen[bytes]) -> None:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)

    def terminate(self, proc: subprocess.Popen[bytes], timeout: float = 60) -> int:
        proc.send_signal(signal.SIGTERM)
        return proc.wait(timeout=timeout)

    def stop_all(self, timeout: float = 60) -> list[int | None]:
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        codes = []
        for proc in self.procs:
            try:
                codes.append(proc.wait(timeout=timeout))
            except subprocess.TimeoutExpired:
                proc.kill()
                codes.append(None)
        return codes

    def logs(self) -> str:
        return "\n".join(
            p.read_text(errors="replace")[-3000:] for p in sorted(self.root.glob("*.log"))
        )


# -- reading the database ------------------------------------------------------------------------
def query(db: str, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    if db.startswith("sqlite"):
        path = db.split("sqlite:///", 1)[1]
        with sqlite3.connect(path, timeout=30) as conn:
            return conn.execute(sql, params).fetchall()
    import psycopg

    with psycopg.connect(db) as conn:
        return conn.execute(sql.replace("?", "%s"), params).fetchall()  # type: ignore[arg-type]


def status_counts(db: str) -> Counter[str]:
    return Counter(dict(query(db, "SELECT status, count(*) FROM runs GROUP BY status")))


def duplicate_slots(db: str) -> list[tuple[Any, ...]]:
    """``(schedule_id, scheduled_for)`` pairs that have more than one run (must be none)."""
    return query(
        db,
        "SELECT schedule_id, scheduled_for, count(*) FROM runs WHERE schedule_id IS NOT NULL "
        "GROUP BY schedule_id, scheduled_for HAVING count(*) > 1",
    )


def slot_gaps(db: str, every_s: float) -> tuple[dict[str, list[float]], int]:
    """Per schedule: the gaps between consecutive fired slots that are not ``every_s``;
    and the number of slots seen."""
    slots: dict[str, list[float]] = defaultdict(list)
    for schedule_id, scheduled_for in query(
        db, "SELECT schedule_id, scheduled_for FROM runs WHERE schedule_id IS NOT NULL"
    ):
        slots[schedule_id].append(scheduled_for)
    bad: dict[str, list[float]] = {}
    total = 0
    for schedule_id, values in slots.items():
        values.sort()
        total += len(values)
        gaps = [round(b - a, 3) for a, b in itertools.pairwise(values)]
        wrong = [g for g in gaps if abs(g - every_s) > 0.001]
        if wrong:
            bad[schedule_id] = wrong
    return bad, total
