"""The pure decisions of the run verbs (`agentcron.rules.runs`), without a database."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from agentcron.models import NewRun, Run, RunOutcome, RunStatus
from agentcron.rules.runs import (
    FINISHED,
    first_outcomes,
    in_input_order,
    listing_parts,
    missing_dedup_keys,
    valid_id,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _new(dedup_key: str | None = None) -> NewRun:
    return NewRun(task="t", dedup_key=dedup_key)


def _run(run_id: int, dedup_key: str | None = None) -> Run:
    return Run(id=run_id, namespace="default", task="t", queue="default", priority=0,
               schedule_id=None, subject=None, status=RunStatus.QUEUED, args={}, attempts=0,
               max_attempts=1, timeout=None, scheduled_for=None, queued_at=T0,
               available_at=T0, started_at=None, finished_at=None, result=None, error=None,
               worker=None, lease_expires_at=None, dedup_key=dedup_key,
               trigger_info=None)  # fmt: skip


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        (1, True),
        (2**63 - 1, True),
        (0, False),
        (-1, False),
        (2**63, False),
        (True, False),
        ("1", False),
        (1.0, False),
        (None, False),
    ],
)
def test_valid_id(value: object, valid: bool) -> None:
    assert valid_id(value) is valid


def test_first_outcomes_keeps_the_first_per_run_and_drops_impossible_ids() -> None:
    first = RunOutcome(1, RunStatus.SUCCEEDED, result=1)
    later = RunOutcome(1, RunStatus.FAILED)
    other = RunOutcome(2, RunStatus.QUEUED)
    bad = RunOutcome(0, RunStatus.SUCCEEDED)
    assert first_outcomes([first, bad, other, later]) == [first, other]


def test_missing_dedup_keys_are_the_keys_an_insert_skipped() -> None:
    runs = [_new("a"), _new(), _new("b"), _new("c")]
    inserted = [_run(10, "a"), _run(11), _run(12, "c")]
    assert missing_dedup_keys(runs, inserted) == ["b"]
    assert missing_dedup_keys(runs[:2], inserted[:2]) == []


def test_in_input_order_puts_the_existing_run_in_the_place_of_a_skipped_one() -> None:
    runs = [_new("a"), _new(), _new("b"), _new()]
    inserted = [_run(10, "a"), _run(11), _run(12)]
    existing = [_run(3, "b")]
    assert [r.id for r in in_input_order(runs, inserted, existing)] == [10, 11, 3, 12]


def test_in_input_order_of_one_key_twice_in_a_batch() -> None:
    """The second run with a key the first took gets the first's run."""
    runs = [_new("a"), _new("a")]
    assert [r.id for r in in_input_order(runs, [_run(10, "a")], [])] == [10, 10]


def test_listing_open_runs_reads_their_partial_index() -> None:
    assert listing_parts(RunStatus.QUEUED, None) == [("runs_claim", " AND status = 'queued'", [])]
    assert listing_parts(RunStatus.RUNNING, "t") == [("runs_lease", " AND status = 'running'", [])]


def test_listing_finished_runs_says_so_for_the_finished_indexes() -> None:
    assert listing_parts(RunStatus.DEAD, None) == [
        (None, f" AND {FINISHED} AND status = ?", ["dead"])
    ]


def test_listing_a_task_reads_finished_and_open_runs_apart() -> None:
    parts = listing_parts(None, "t")
    assert [p[0] for p in parts] == [None, "runs_claim", "runs_lease"]
    assert parts[0][1] == f" AND {FINISHED}"


def test_listing_everything_is_one_part() -> None:
    assert listing_parts(None, None) == [(None, "", [])]
