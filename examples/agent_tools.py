"""Tools for ``examples/agent.toml``: what the progression grader may call.

``@agentcron.tool`` makes a function callable by an agent task; a function registered with
``@agentcron.task`` can be listed in ``tools`` as well (``record_grade`` is both: a task you can
enqueue, and a tool). The model sees each tool's name, the first paragraph of its docstring and
a JSON schema made from its signature. Output goes to ``examples/out/`` (ignored by git).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import agentcron

OUT = Path(__file__).resolve().parent / "out"

# Stand-in for your app's database.
PROGRESS: dict[str, dict[str, Any]] = {
    "user:1": {"name": "Ada", "course": "Python basics", "lessons_done": 9, "lessons_total": 12,
               "last_active": "2030-01-06", "quiz_scores": [72, 85, 91]},
    "user:2": {"name": "Bo", "course": "Python basics", "lessons_done": 2, "lessons_total": 12,
               "last_active": "2029-12-20", "quiz_scores": [40]},
}  # fmt: skip


@agentcron.tool
def list_learners() -> list[str]:
    """List the subjects (``user:ID``) of all learners."""
    return sorted(PROGRESS)


@agentcron.tool
def lookup_progress(subject: str) -> dict[str, Any]:
    """Look up a learner's progress: course, lessons done, last activity, quiz scores."""
    if subject not in PROGRESS:
        raise LookupError(f"no learner {subject!r}; call list_learners")
    return PROGRESS[subject]


@agentcron.tool
def send_message(subject: str, text: str) -> dict[str, Any]:
    """Send the learner a short message (here: appended to out/messages.log)."""
    return _append("messages.log", {"subject": subject, "text": text})


@agentcron.task(retries=2)
def record_grade(
    subject: str, grade: Literal["ahead", "on_track", "behind", "stalled"], reason: str
) -> dict[str, Any]:
    """Record a learner's grade with a one-sentence reason (in out/grades.jsonl)."""
    return _append("grades.jsonl", {"subject": subject, "grade": grade, "reason": reason})


def _append(name: str, record: dict[str, Any]) -> dict[str, Any]:
    OUT.mkdir(parents=True, exist_ok=True)
    record = {"at": datetime.now(UTC).isoformat(timespec="seconds"), **record}
    with (OUT / name).open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(record) + "\n")
    return {"ok": True, "file": f"out/{name}"}
