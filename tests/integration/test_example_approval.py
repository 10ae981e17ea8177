"""The approval example as a user runs it: ``examples/approval.toml`` with a real worker
process and the scripted provider on loopback. The agent proposes ``send_message``; the run
waits; the worker is killed (SIGKILL) while it waits; a person approves from the CLI; a new
worker finishes the run, and the message is sent once."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from fake_llm import FakeLLM, Reply
from procs import status_counts, wait_for

pytestmark = pytest.mark.timeout(120)

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def example(tmp_path: Path) -> Path:
    target = tmp_path / "examples"
    ignore = shutil.ignore_patterns("out", "*.db*", "__pycache__")
    shutil.copytree(REPO / "examples", target, ignore=ignore)
    return target


@pytest.fixture
def llm() -> Iterator[FakeLLM]:
    with FakeLLM() as fake:

        def answer(body: dict[str, Any]) -> Reply:
            done = sum(m.get("role") == "assistant" for m in body["messages"])
            if done == 0:
                return fake.tool_call(("lookup_learner", {"subject": "user:2"}))
            if done == 1:
                return fake.tool_call(("send_message", {"subject": "user:2", "text": "Hi Bo!"}))
            return fake.answer("Sent Bo a message.")

        fake.respond(answer)
        yield fake


@dataclass
class Example:
    """The examples folder, its config, and the worker processes started on it."""

    root: Path
    env: dict[str, str]
    started: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def db(self) -> str:
        return f"sqlite:///{self.root / 'approval.db'}"

    def cli(self, *args: str) -> str:
        cmd = [sys.executable, "-m", "agentcron", *args, "--config", "approval.toml"]
        done = subprocess.run(cmd, cwd=self.root, env=self.env, capture_output=True, text=True,
                              timeout=60)  # fmt: skip
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    def worker(self) -> subprocess.Popen[bytes]:
        log = (self.root / f"worker-{len(self.started)}.log").open("wb")
        cmd = [sys.executable, "-m", "agentcron", "worker", "--config", "approval.toml"]
        self.started.append(subprocess.Popen(cmd, cwd=self.root, env=self.env, stdout=log,
                                             stderr=subprocess.STDOUT))  # fmt: skip
        return self.started[-1]

    def logs(self) -> str:
        return "\n".join(p.read_text(errors="replace")[-3000:] for p in self.root.glob("*.log"))

    def kill_all(self) -> None:
        for proc in self.started:
            if proc.poll() is None:
                proc.kill()


def test_the_approval_example_survives_a_kill_while_it_waits(example: Path, llm: FakeLLM) -> None:
    env = {**os.environ, "AGENTCRON_LLM_BASE_URL": llm.base_url, "PYTHONUNBUFFERED": "1"}
    env.pop("AGENTCRON_DB", None)
    ex = Example(example, env)
    first = ex.worker()
    try:
        wait_for(lambda: " started" in (example / "worker-0.log").read_text(), 30, "worker")
        run = json.loads(ex.cli("runs", "enqueue", "check-in", "--subject", "user:2", "--json"))
        wait_for(lambda: status_counts(ex.db)["waiting"] == 1, 30, "the run to wait")
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        shown = json.loads(ex.cli("runs", "show", str(run["id"]), "--json"))
        assert shown["waiting_for"]["call"] == {
            "tool": "send_message", "args": {"subject": "user:2", "text": "Hi Bo!"},
        }  # fmt: skip
        table = ex.cli("runs", "show", str(run["id"]))
        assert "proposed call" in table
        assert 'send_message {"subject": "user:2", "text": "Hi Bo!"}' in table
        ex.cli("runs", "signal", str(run["id"]), "approve", "--data", '{"approved": true}')
        second = ex.worker()
        wait_for(lambda: status_counts(ex.db)["succeeded"] == 1, 30, "the run to finish")
        second.send_signal(signal.SIGTERM)
        second.wait(30)
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{ex.logs()}") from None
    finally:
        ex.kill_all()
    sent = (example / "out" / "sent.jsonl").read_text().splitlines()
    assert [json.loads(line)["text"] for line in sent] == ["Hi Bo!"]
    assert len(llm.requests) == 3  # nothing asked twice, though a worker died in between
    done = json.loads(ex.cli("runs", "show", str(run["id"]), "--json"))
    assert done["result"]["answer"] == "Sent Bo a message."
