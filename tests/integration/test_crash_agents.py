"""Agent runs survive SIGKILL at any point, on SQLite and PostgreSQL, with real worker
processes and the scripted provider on loopback: killed after their third tool call (while
the fourth model call is under way), while waiting for a person's approval, and inside the
approved tool. No completed model call is sent again, every tool acts exactly once (each
effect is a line appended to a file, fsynced, by the tool), and every run finishes."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fake_llm import FakeLLM, Reply, user_text
from procs import Cluster, query, status_counts, wait_for

pytestmark = pytest.mark.timeout(300)

RUNS = 3
TOOLS = """
import asyncio, os
import agentcron

LOG = {log!r}

def _write(line):
    with open(LOG, "a") as f:
        f.write(line + "\\n")
        f.flush()
        os.fsync(f.fileno())

@agentcron.tool
def crash_effect(n: int, *, ctx: agentcron.RunContext) -> str:
    \"\"\"Do the nth thing.\"\"\"
    _write(f"effect {{ctx.subject}} {{n}}")
    return f"did {{n}}"

@agentcron.tool
async def crash_send(text: str, *, ctx: agentcron.RunContext) -> str:
    \"\"\"Send a message (slowly).\"\"\"
    _write(f"start {{ctx.subject}} send")  # a marker, not the effect
    await asyncio.sleep(3)
    _write(f"effect {{ctx.subject}} send:{{text}}")
    return "sent"
"""
CONFIG = """
[agentcron]
tasks = ["crash_tools"]
lease = "1s"

[[task]]
name = "crasher"
model = "gpt-test"
base_url = "{url}"
prompt = "Help {{subject}}."
tools = ["crash_effect", "crash_send"]
approve = ["crash_send"]
"""


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'agentcron.db'}"
        return
    from pg_support import fresh_database

    with fresh_database() as url:
        yield url


class Model:
    """Each run: three effects, then (the fourth call) a message to approve, then done. The
    fourth call hangs until ``released`` (the worker is killed meanwhile)."""

    def __init__(self, llm: FakeLLM) -> None:
        self.llm = llm
        self.released = threading.Event()
        self.asked: Counter[tuple[str, int]] = Counter()
        self._lock = threading.Lock()
        llm.respond(self.answer)

    def answer(self, body: dict[str, Any]) -> Reply:
        subject = user_text(body).removeprefix("Help ").removesuffix(".")
        k = 1 + sum(m.get("role") == "assistant" for m in body["messages"])
        with self._lock:
            self.asked[(subject, k)] += 1
        if k <= 3:
            return self.llm.tool_call(("crash_effect", {"n": k}))
        if k == 4:
            if not self.released.is_set():
                return Reply(200, self.llm.answer("too late").body, delay_s=30)
            return self.llm.tool_call(("crash_send", {"text": f"hi-{subject}"}))
        return self.llm.answer(f"done for {subject}")


def _effects(log: Path, kind: str = "effect") -> Counter[tuple[str, str]]:
    text = log.read_text() if log.exists() else ""
    return Counter(
        (parts[1], parts[2]) for parts in (line.split() for line in text.splitlines())
        if parts[0] == kind
    )  # fmt: skip


def _cli(root: Path, db_url: str, *args: str) -> str:
    cmd = [sys.executable, "-m", "agentcron", *args, "--config", str(root / "agentcron.toml"),
           "--db", db_url]  # fmt: skip
    done = subprocess.run(cmd, cwd=root, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def _approve_all(root: Path, db_url: str) -> None:
    """Each run shows the call it proposes; approve it with the CLI."""
    for run_id, shown in query(db_url, "SELECT id, waiting_for FROM runs ORDER BY id"):
        call = json.loads(shown)["call"]
        assert call["tool"] == "crash_send", call
        _cli(root, db_url, "runs", "signal", str(run_id), "approve", "--data", '{"approved": true}')


def test_agent_runs_survive_sigkill_anywhere(tmp_path: Path, db_url: str) -> None:
    log = tmp_path / "effects.txt"
    subjects = [f"user:{i}" for i in range(RUNS)]
    with FakeLLM() as llm:
        model = Model(llm)
        (tmp_path / "crash_tools.py").write_text(TOOLS.format(log=str(log)))
        (tmp_path / "agentcron.toml").write_text(CONFIG.format(url=llm.base_url))
        cluster = Cluster(root=tmp_path, db=db_url)

        try:
            # 1. after the third tool call, while the fourth model call is under way
            first = cluster.start("worker")
            cluster.wait_started(first)  # it registered the config's tasks in the database
            for subject in subjects:
                _cli(tmp_path, db_url, "runs", "enqueue", "crasher", "--subject", subject)
            wait_for(lambda: all(model.asked[(s, 4)] for s in subjects), 60, "4th model calls")
            cluster.kill(first)
            assert set(_effects(log)) == {(s, str(n)) for s in subjects for n in (1, 2, 3)}

            # 2. while waiting for approval
            model.released.set()
            second = cluster.start("worker")
            wait_for(lambda: status_counts(db_url)["waiting"] == RUNS, 60, "runs waiting")
            cluster.kill(second)
            _approve_all(tmp_path, db_url)

            # 3. inside the approved tool
            third = cluster.start("worker")
            wait_for(lambda: len(_effects(log, "start")) == RUNS, 60, "every send started")
            cluster.kill(third)

            # 4. back up: everything finishes
            cluster.start("worker")
            wait_for(lambda: status_counts(db_url)["succeeded"] == RUNS, 90, "every run done")
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n{cluster.logs()}") from None
        finally:
            cluster.stop_all()
    effects = _effects(log)
    expected = {(s, x) for s in subjects for x in ("1", "2", "3", f"send:hi-{s}")}
    assert set(effects) == expected
    assert [key for key, count in effects.items() if count != 1] == []  # exactly once each
    # each model call once, but the fourth: under way at the kill, so never completed
    asked = {(s, k): n for (s, k), n in model.asked.items()}
    assert asked == {(s, k): 2 if k == 4 else 1 for s in subjects for k in range(1, 6)}
    assert status_counts(db_url) == {"succeeded": RUNS}
