"""Helpers of the CLI tests: Typer's CliRunner in process, real subprocesses for what must
run in a fresh process, a folder per test with its own task module and config."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from agentcron.cli import app as cli_app
from agentcron.config import ENV_VARS

HERE = Path(__file__).parent
REPO = HERE.parent.parent
TASKS_SOURCE = (HERE / "_cli_tasks.py").read_text()


@dataclass
class Project:
    """A folder with a task module (fresh name) and ``agentcron.toml`` naming it."""

    root: Path
    config: Path
    db: str
    db_path: Path


@pytest.fixture(autouse=True)
def isolated(monkeypatch: pytest.MonkeyPatch) -> None:
    """No AGENTCRON_* variable from outside; task modules a test adds to sys.path go away."""
    for name in ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(sys, "path", list(sys.path))


@pytest.fixture
def project(tmp_path: Path) -> Project:
    module = f"cli_tasks_{uuid.uuid4().hex[:8]}"
    (tmp_path / f"{module}.py").write_text(TASKS_SOURCE)
    config = tmp_path / "agentcron.toml"
    config.write_text(f'[agentcron]\ntasks = ["{module}"]\n')
    db_path = tmp_path / "agentcron.db"
    return Project(tmp_path, config, f"sqlite:///{db_path}", db_path)


def cli(*args: Any, columns: int = 200) -> Result:
    return CliRunner().invoke(cli_app, [str(a) for a in args], env={"COLUMNS": str(columns)})


def ok(*args: Any) -> Result:
    result = cli(*args)
    assert result.exit_code == 0, (result.stdout, result.stderr)
    return result


def data(*args: Any) -> Any:
    return json.loads(ok(*args, "--json").stdout)


def bad(*args: Any) -> str:
    """Run a command that must fail on its input: exit 2, one line on stderr, no traceback."""
    result = cli(*args)
    assert result.exit_code == 2, (result.stdout, result.stderr)
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: "), result.stderr
    assert result.exception is None or isinstance(result.exception, SystemExit)
    return lines[0]


def dump(path: Path) -> list[str]:
    with contextlib.closing(sqlite3.connect(path)) as conn:
        return list(conn.iterdump())


def agentcron(*args: Any, cwd: Path, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "agentcron", *map(str, args)],
        cwd=cwd, env=clean_env(), capture_output=True, text=True, timeout=timeout, check=False,
    )  # fmt: skip


def clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ENV_VARS}
    return env | {"PYTHONUNBUFFERED": "1"}


def wait_until(predicate: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.05)


@pytest.fixture
def examples(tmp_path: Path) -> Path:
    """A copy of examples/ (as on a fresh clone: no out/, no db)."""
    target = tmp_path / "examples"
    shutil.copytree(
        REPO / "examples", target, ignore=shutil.ignore_patterns("out", "*.db*", "__pycache__")
    )
    return target


@contextlib.contextmanager
def serving(*args: Any, cwd: Path) -> Iterator[tuple[subprocess.Popen[bytes], Path]]:
    """``agentcron serve ARGS`` in a subprocess on a free port, run from ``cwd``: yields the
    process and its log (stdout and stderr) once it runs; then stops it with SIGTERM and
    checks that it exited 0 without a traceback."""
    log_path = cwd / f"serve-{uuid.uuid4().hex[:6]}.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "agentcron", "serve", *map(str, args),
             "--port", str(free_port())],
            cwd=cwd, env=clean_env(), stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        wait_until(lambda: "scheduler started" in log_path.read_text(), 30, "serve to start")
        yield proc, log_path
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0, log_path.read_text()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert "Traceback" not in log_path.read_text()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
