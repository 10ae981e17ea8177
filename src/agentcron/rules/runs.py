"""Pure decisions of the run verbs (`agentcron.store.core.runs`): which outcomes a finish
writes, which partial indexes a listing reads, what an enqueue returns in place of a run
whose dedup key was taken. No I/O: rows and values in, a plan out."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from agentcron.models import NewRun, Run, RunOutcome, RunStatus

__all__ = [
    "FINISHED",
    "OPEN",
    "first_outcomes",
    "in_input_order",
    "listing_parts",
    "missing_dedup_keys",
    "valid_id",
]

# The condition of the partial indexes runs_status and runs_task (schema 4): finished runs.
FINISHED = "status NOT IN ('queued', 'running')"
# The open runs those indexes leave out, each read through its own partial index (the
# status written out, so that a prepared plan can use it): (index, condition).
OPEN = {
    RunStatus.QUEUED: ("runs_claim", " AND status = 'queued'"),
    RunStatus.RUNNING: ("runs_lease", " AND status = 'running'"),
}


def valid_id(run_id: object) -> bool:
    """Run ids are positive 64-bit integers; anything else cannot exist."""
    return isinstance(run_id, int) and not isinstance(run_id, bool) and 0 < run_id < 2**63


def first_outcomes(outcomes: Sequence[RunOutcome]) -> list[RunOutcome]:
    """The outcomes a finish writes: one per run (its first), of runs that can exist."""
    firsts: dict[int, RunOutcome] = {}
    for outcome in outcomes:
        if valid_id(outcome.run_id):
            firsts.setdefault(outcome.run_id, outcome)
    return [o for o in outcomes if firsts.get(o.run_id) is o]


def missing_dedup_keys(runs: Sequence[NewRun], inserted: Sequence[Run]) -> list[str]:
    """The dedup keys of ``runs`` that an insert skipped (taken by an existing run)."""
    if len(inserted) == len(runs):
        return []
    written = {r.dedup_key for r in inserted if r.dedup_key}
    return [r.dedup_key for r in runs if r.dedup_key and r.dedup_key not in written]


def in_input_order(
    runs: Sequence[NewRun], inserted: Sequence[Run], existing: Iterable[Run]
) -> list[Run]:
    """An enqueue's result in input order: the runs inserted, and for a run whose dedup key
    was taken, the ``existing`` run that holds it."""
    if len(inserted) == len(runs):
        return list(inserted)
    by_key = {r.dedup_key: r for r in (*inserted, *existing) if r.dedup_key}
    plain = iter(r for r in inserted if not r.dedup_key)
    return [by_key[r.dedup_key] if r.dedup_key else next(plain) for r in runs]


def listing_parts(
    status: RunStatus | None, task: str | None
) -> list[tuple[str | None, str, list[Any]]]:
    """How `list_runs` reads: one ``(index, condition, params)`` per part, whose rows are
    merged newest first. runs_status and runs_task hold finished runs only (schema 4): a
    query that may use them says so in their own words, and open runs are read through
    runs_claim / runs_lease (the backlog, not a walk through all history)."""
    if status in OPEN:
        index, condition = OPEN[status]
        return [(index, condition, [])]
    if status is not None:
        return [(None, f" AND {FINISHED} AND status = ?", [status.value])]
    if task is not None:
        return [(None, f" AND {FINISHED}", []), *((i, c, []) for i, c in OPEN.values())]
    return [(None, "", [])]
