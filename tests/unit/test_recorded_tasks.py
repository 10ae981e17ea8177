"""Tasks another process recorded in the store are answered in this version's shape."""

from __future__ import annotations

from datetime import timedelta

from agentcron._known import recorded_task
from agentcron.tasks import make_task


def test_a_task_recorded_by_this_version_reads_back_as_it_was_written() -> None:
    def digest(channel: str = "email") -> None:
        """The digest."""

    task = make_task(digest, retries=2, timeout=timedelta(seconds=30), queue="mail",
                     priority=5, max_concurrency=3, hard_timeout=timedelta(minutes=1))  # fmt: skip
    assert recorded_task(task.name, dict(task.to_dict())) == task.to_dict()


def test_keys_an_older_version_did_not_record_take_the_defaults() -> None:
    shape = recorded_task("old", {"queue": "mail", "retries": 1})
    assert shape == {
        "name": "old",
        "queue": "mail",
        "priority": 0,
        "retries": 1,
        "max_recoveries": 3,
        "timeout": None,
        "hard_timeout": None,
        "max_concurrency": None,
        "async": True,
        "description": "",
    }
