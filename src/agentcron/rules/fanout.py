"""``for_each_subject`` fan-out: a fired slot becomes one run per matching subject."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from agentcron.models import NewRun, RunStatus

__all__ = ["fan_out_info", "fans_out", "fired_before"]


def fan_out_info(slot_run: NewRun) -> dict[str, Any]:
    """The trigger info of a slot's per-subject runs: the slot's (``missed``...), kind fan-out
    (a manual trigger's stay ``manual``)."""
    info = {k: v for k, v in (slot_run.trigger_info or {}).items() if k != "schedule"}
    info["kind"] = "manual" if info.get("kind") == "manual" else "fan-out"
    return info


def fired_before(last_run_at: datetime | None, slot_run: NewRun) -> bool:
    """A slot at or before the schedule's last fired slot (``last_run_at``) was fanned out
    already (its runs carry per-subject dedup keys, so nothing holds the slot's own key):
    fire it once only."""
    done, slot = last_run_at, slot_run.scheduled_for
    return done is not None and slot is not None and slot <= done


def fans_out(slot_run: NewRun) -> bool:
    """Whether a planned slot run is replaced by one run per subject (a queued run of a slot);
    any other (a skipped record) is inserted as planned."""
    return slot_run.status is RunStatus.QUEUED and slot_run.scheduled_for is not None
