"""Tools for ``examples/approval.toml``: an agent looks a learner up and proposes a message;
``send_message`` is listed in the task's ``approve``, so it runs only after a person approves
it (on the dashboard, or ``agentcron runs signal RUN approve``). Messages are appended to
``examples/out/sent.jsonl`` (ignored by git).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import agentcron

OUT = Path(__file__).resolve().parent / "out"

LEARNERS: dict[str, dict[str, Any]] = {  # stand-in for your app's database
    "user:1": {"name": "Ada", "lessons_done": 9, "last_active": "yesterday"},
    "user:2": {"name": "Bo", "lessons_done": 2, "last_active": "three weeks ago"},
}


@agentcron.tool
def lookup_learner(subject: str) -> dict[str, Any]:
    """Look up a learner: name, lessons done, when they were last active."""
    if subject not in LEARNERS:
        raise LookupError(f"no learner {subject!r}")
    return LEARNERS[subject]


@agentcron.tool
def send_message(subject: str, text: str) -> dict[str, Any]:
    """Send the learner a short message (here: appended to out/sent.jsonl)."""
    OUT.mkdir(parents=True, exist_ok=True)
    record = {"at": datetime.now(UTC).isoformat(timespec="seconds"), "to": subject, "text": text}
    with (OUT / "sent.jsonl").open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(record) + "\n")
    return {"sent": True}
