"""A real ``agentcron serve`` process (scheduler + worker + API + dashboard) on a SQLite file
and a free loopback port, with a task module that has a task that succeeds and one that fails."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

TASKS = """
import agentcron

@agentcron.task
def greet(name: str = "world") -> str:
    return f"hello {name}"

@agentcron.task(retries=0)
def explode() -> None:
    raise ValueError("the <b>model</b> refused: quota exceeded")
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Served:
    root: Path
    token: str | None = None
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None
    tasks: str = TASKS  # the task module's text
    config: str = ""  # more of the config file, after [agentcron]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def db(self) -> str:
        return f"sqlite:///{self.root / 'agentcron.db'}"

    def cli(self, *args: str) -> str:
        """Run ``agentcron ARGS --db ...`` and return its stdout."""
        done = subprocess.run(
            [sys.executable, "-m", "agentcron", *args, "--db", self.db],
            cwd=self.root, capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        return done.stdout

    def create_token(self, scope: str = "write") -> str:
        self.token = self.cli("tokens", "create", "--scope", scope).strip().splitlines()[0]
        return self.token

    def start(self) -> None:
        (self.root / "dash_tasks.py").write_text(self.tasks)
        config = self.root / "agentcron.toml"
        config.write_text('[agentcron]\ntasks = ["dash_tasks"]\n' + self.config)
        log = (self.root / "serve.log").open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "agentcron", "serve", "--config", str(config), "--db",
             self.db, "--port", str(self.port)],
            cwd=self.root, stdout=log, stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )  # fmt: skip
        deadline = time.monotonic() + 30
        while not self._answers():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"agentcron serve did not start:\n{self.log()}")
            time.sleep(0.05)

    def _answers(self) -> bool:
        try:
            return httpx.get(self.url + "/healthz", timeout=1).status_code in (200, 503)
        except httpx.TransportError:
            return False

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=5)

    def log(self) -> str:
        path = self.root / "serve.log"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""

    def api(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        return httpx.request(method, self.url + path, headers=headers, timeout=10, **kwargs)
