"""A script like the README's Quickstart shows life: `App.run_sync` logs one start line and
the tasks' ``ctx.logger`` reaches stderr, unless the script configured logging itself (which
is then left alone). Each case is a real Python process: logging is per process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

QUICKSTART = """
import asyncio, logging, sys
from agentcron import App, RunContext

{setup}
app = App("sqlite:///agentcron.db")

@app.task(retries=3)
async def digest(channel: str, *, ctx: RunContext) -> dict:
    ctx.logger.info("sending the digest by %s (run %d)", channel, ctx.run_id)
    ctx.logger.debug("a detail nobody asked for")
    return {{"sent": channel}}

@app.task
def nudge() -> None: ...

app.schedule("digest", "every weekday at 9am", name="weekday-digest", args={{"channel": "x"}})
app.schedule("nudge", "manual")

async def queue_one() -> None:
    async with app:
        await app.enqueue("digest", {{"channel": "email"}})

asyncio.run(queue_one())
app.run_sync(burst=True)
print("done")
"""


def run_script(folder: Path, setup: str = "") -> subprocess.CompletedProcess[str]:
    script = folder / "quickstart.py"
    script.write_text(QUICKSTART.format(setup=setup))
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGENTCRON_")}
    done = subprocess.run(
        [sys.executable, str(script)], cwd=folder, env=env, capture_output=True, text=True,
        timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout == "done\n"
    return done


def test_without_logging_setup_the_start_line_and_task_logs_reach_stderr(tmp_path: Path) -> None:
    lines = run_script(tmp_path).stderr.splitlines()
    start = [line for line in lines if " agentcron: db " in line]
    assert len(start) == 1, lines
    assert start[0].endswith(
        f" INFO    agentcron: db sqlite:///{tmp_path / 'agentcron.db'}; "
        "2 tasks (digest, nudge); 2 schedules"
    ), start
    told = [line for line in lines if "agentcron.task.digest: sending the digest by email" in line]
    assert len(told) == 1, lines
    assert " INFO " in told[0]
    assert not any("a detail nobody asked for" in line for line in lines)
    assert not any("Traceback" in line for line in lines)


def test_a_configured_logging_setup_is_left_alone(tmp_path: Path) -> None:
    quiet = run_script(tmp_path, 'logging.basicConfig(level=logging.WARNING, format="%(message)s")')
    assert quiet.stderr == ""  # nothing at INFO, nothing added by agentcron

    (tmp_path / "mine").mkdir()
    mine = run_script(
        tmp_path / "mine",
        'logging.basicConfig(level=logging.DEBUG, format="MINE %(name)s %(message)s")',
    )
    lines = mine.stderr.splitlines()
    assert all(line.startswith("MINE ") for line in lines), lines  # only the script's format
    assert sum(" agentcron db sqlite:///" in line for line in lines) == 1, lines
    assert any(line == "MINE agentcron.task.digest a detail nobody asked for" for line in lines)


@pytest.mark.parametrize("level", ["WARNING", "DEBUG"])
def test_a_level_set_on_the_agentcron_logger_is_kept(tmp_path: Path, level: str) -> None:
    lines = run_script(
        tmp_path, f'logging.getLogger("agentcron").setLevel(logging.{level})'
    ).stderr.splitlines()
    detail = any("a detail nobody asked for" in line for line in lines)
    start = any(" agentcron: db " in line for line in lines)
    assert (detail, start) == ((False, False) if level == "WARNING" else (True, True)), lines
