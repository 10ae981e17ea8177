"""Pure event rules (no database): validation, lifecycle events, which schedules an event
fires, the trigger info of what they fire, and the defaults of lifecycle-fired runs."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from agentcron.errors import ValidationError
from agentcron.models import (
    Event,
    Misfire,
    NewEvent,
    Overlap,
    Run,
    RunStatus,
    Schedule,
    ScheduleSource,
)
from agentcron.rules.events import (
    MAX_EVENT_DATA_BYTES,
    MAX_GROUP_EVENTS,
    DefaultsPlanner,
    Emitted,
    Pending,
    chain_of,
    check_after,
    checked,
    event_filter,
    event_from_row,
    finished_event,
    fire_info,
    group_info,
    lifecycle,
    lifecycle_parts,
    matches,
    rules_of,
    run_event,
    wake,
)

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


def schedule(trigger: dict[str, Any], *, sid: str = "s1", namespace: str = "default") -> Schedule:
    return Schedule(
        id=sid, name=sid, namespace=namespace, task="t", trigger=trigger, description="",
        args={}, enabled=True, next_run_at=None, last_run_at=None, misfire=Misfire.ONCE,
        misfire_grace=None, overlap=Overlap.ALLOW, retries=None, timeout=None, priority=None,
        queue=None, jitter=None, source=ScheduleSource.API, parked=False, created_at=NOW,
        updated_at=NOW,
    )  # fmt: skip


def event(id_: int = 1, type_: str = "user.signup", subject: str | None = "user:1") -> Event:
    return Event(id_, type_, "default", subject, {"n": id_}, NOW)


# -- validation --------------------------------------------------------------------------------
def test_checked_keeps_the_data_as_compact_json() -> None:
    p = checked(NewEvent("user.signup", {"b": 1, "a": "é"}, subject="user:1"))
    assert (p.namespace, p.type, p.subject) == ("default", "user.signup", "user:1")
    assert p.data_json == '{"b":1,"a":"é"}'
    assert p.data == {"b": 1, "a": "é"}
    assert p.fires
    assert p.origin_run is None


@pytest.mark.parametrize(
    ("new", "field"),
    [
        (NewEvent("User Signup"), "type"),
        (NewEvent("user.signup", [1]), "data"),  # type: ignore[arg-type]
        (NewEvent("user.signup", {"x": float("nan")}), "data"),
        (NewEvent("user.signup", {"x": object()}), "data"),
        (NewEvent("user.signup", {"x": "a" * MAX_EVENT_DATA_BYTES}), "data"),
    ],
)
def test_checked_refuses(new: NewEvent, field: str) -> None:
    with pytest.raises(ValidationError) as info:
        checked(new)
    assert info.value.field == field


@pytest.mark.parametrize("after", [-1, True, 1.5, "3"])
def test_check_after_refuses(after: object) -> None:
    with pytest.raises(ValidationError):
        check_after(after)


def test_event_filter() -> None:
    assert event_filter(5, None, None, None, dialect="sqlite") == (["id > ?"], [5])
    where, params = event_filter(0, "ns", "run.*", 9, dialect="sqlite")
    assert where == ["id > ?", "namespace = ?", "type GLOB ?", "id <= ?"]
    assert params == [0, "ns", "run.*", 9]
    where, params = event_filter(0, None, "run.*", None, dialect="postgres")
    assert where == ["id > ?", "type LIKE ?"]
    assert params == [0, "run.%"]
    assert event_filter(0, None, "run.queued", None, dialect="postgres")[0][-1] == "type = ?"
    assert event_filter(2**70, None, "*", None, dialect="sqlite") == (["id > ?"], [2**63 - 1])


def test_event_from_row_and_pending_event() -> None:
    e = event_from_row((3, "ns", "a.b", None, '{"k":1}', NOW.timestamp()))
    assert e == Event(3, "a.b", "ns", None, {"k": 1}, NOW)
    p = Pending("ns", "a.b", None, '{"k":1}')
    assert p.event(3, NOW.timestamp()) == e
    assert p.params(1.5) == ("ns", "a.b", None, '{"k":1}', 1.5)


# -- lifecycle events --------------------------------------------------------------------------
def test_lifecycle_data() -> None:
    p = lifecycle(7, "ns", "t", "running", "s1", "user:1", 1, None)
    assert (p.type, p.origin_schedule, p.origin_run, p.fires) == ("run.started", "s1", 7, True)
    assert json.loads(p.data_json) == {
        "run_id": 7, "task": "t", "status": "running", "schedule_id": "s1", "attempts": 1,
        "error": None,
    }  # fmt: skip


def test_lifecycle_failed_is_final_and_a_retry_is_not() -> None:
    err = {"type": "Boom", "message": "no", "traceback": "..."}
    final = json.loads(lifecycle(1, "ns", "t", "failed", None, None, 2, err).data_json)
    assert final["final"] is True
    assert final["retry_at"] is None
    assert final["error"] == {"type": "Boom", "message": "no"}
    retry = lifecycle(1, "ns", "t", "queued", None, None, 1, err, finished=True, retry_at=60.0)
    assert retry.type == "run.failed"
    assert json.loads(retry.data_json)["retry_at"] == "1970-01-01T00:01:00.000Z"
    assert json.loads(retry.data_json)["final"] is False
    # handed back on shutdown: queued again, not a failure
    back = {"type": "WorkerShutdown", "message": ""}
    assert lifecycle_parts("queued", back, finished=True, retry_at=None)[0] == "run.queued"
    assert lifecycle_parts("queued", None, finished=False, retry_at=None)[0] == "run.queued"


def test_run_event_and_finished_event() -> None:
    run = Run(
        id=4, namespace="ns", task="t", queue="default", priority=0, schedule_id="s9",
        subject="user:2", status=RunStatus.SUCCEEDED, args={}, attempts=1, max_attempts=1,
        timeout=None, scheduled_for=None, queued_at=NOW, available_at=NOW, started_at=NOW,
        finished_at=NOW, result=None, error={"type": "X", "message": "m"}, worker=None,
        lease_expires_at=None, dedup_key=None, trigger_info=None,
    )  # fmt: skip
    p = run_event(run, status=RunStatus.CANCELLED, error=None, fires=False)
    assert (p.type, p.subject, p.origin_schedule, p.fires) == (
        "run.cancelled",
        "user:2",
        "s9",
        False,
    )
    assert json.loads(p.data_json)["error"] is None
    assert json.loads(run_event(run).data_json)["error"] == {"type": "X", "message": "m"}
    f = finished_event((4, "ns", "t", "s9", None, 2), "dead", None, None)
    assert f.type == "run.dead"
    assert json.loads(f.data_json)["attempts"] == 2


# -- which schedules an event fires ------------------------------------------------------------
def test_rules_of_skips_broken_schedules() -> None:
    rules = rules_of(
        [
            schedule({"kind": "event", "event": "user.*", "subjects": "user:"}),
            schedule({"kind": "event"}, sid="broken"),  # no pattern
            schedule({"kind": "event", "event": "x", "debounce": "soon"}, sid="bad"),
            schedule({"kind": "event", "event": "x", "debounce": "5m", "max_wait": "1h"}, sid="d"),
        ]
    )
    assert [r.schedule.id for r in rules] == ["s1", "d"]
    assert (rules[0].pattern, rules[0].subjects, rules[0].debounce_s) == ("user.*", "user:*", None)
    assert (rules[1].debounce_s, rules[1].max_wait_s) == (300.0, 3600.0)
    assert rules[1].due_at(10.0) == 310.0


def test_rule_matches() -> None:
    (rule,) = rules_of([schedule({"kind": "event", "event": "run.*", "subjects": "user:"})])
    fired = lifecycle(1, "default", "t", "failed", "other", "user:1", 1, None)
    assert rule.matches(fired)
    assert not rule.matches(fired._replace(namespace="elsewhere"))
    assert not rule.matches(fired._replace(origin_schedule="s1"))  # its own run's event
    assert not rule.matches(fired._replace(subject=None))
    assert not rule.matches(fired._replace(subject="team:1"))
    assert not rule.matches(fired._replace(type="user.signup"))
    (any_subject,) = rules_of([schedule({"kind": "event", "event": "run.failed"})])
    assert any_subject.matches(fired._replace(subject=None))


def test_matches_in_event_order_and_not_for_events_that_fire_nothing() -> None:
    rules = rules_of(
        [
            schedule({"kind": "event", "event": "a.*"}, sid="a"),
            schedule({"kind": "event", "event": "*"}, sid="all"),
        ]
    )
    pending = [
        Pending("default", "b.x", None, "{}"),
        Pending("default", "a.x", None, "{}"),
        Pending("default", "a.y", None, "{}", fires=False),
    ]
    assert [(i, r.schedule.id) for i, r in matches(rules, pending)] == [
        (0, "all"), (1, "a"), (1, "all"),
    ]  # fmt: skip


# -- what they fire ----------------------------------------------------------------------------
def test_fire_info_and_chain() -> None:
    info = fire_info(event(5), 0)
    assert info == {"kind": "event", "event": event(5).to_dict(), "key": "e5"}
    assert chain_of(fire_info(event(5), 3)) == 3
    assert chain_of(None) == 0
    assert chain_of({"chain": "x"}) == 0


def test_group_info_keeps_the_latest_events() -> None:
    events = [event(i) for i in range(1, MAX_GROUP_EVENTS + 11)]
    info = group_info(events, 500, 1)
    assert info["count"] == 500
    assert info["key"] == "d1"
    assert info["kind"] == "event"
    assert len(info["events"]) == MAX_GROUP_EVENTS
    assert info["events"][0]["id"] == 11
    assert info["event"]["id"] == MAX_GROUP_EVENTS + 10
    assert group_info([], 2, 9)["event"] is None  # every event purged


def test_defaults_planner() -> None:
    tasks = {"t": {"queue": "q", "priority": 3, "retries": 2, "timeout": 30.0}}
    plan = DefaultsPlanner(tasks, NOW)
    s = schedule({"kind": "event", "event": "a.b"})
    run = plan.for_subject(s, "user:1", NOW, fire_info(event(8), 1))
    assert (run.queue, run.priority, run.max_attempts) == ("q", 3, 3)
    assert run.timeout == timedelta(seconds=30)
    assert run.subject == "user:1"
    assert run.schedule_id == "s1"
    assert run.dedup_key is not None
    assert "e8" in run.dedup_key
    assert run.trigger_info is not None
    assert run.trigger_info["chain"] == 1
    bare = DefaultsPlanner({}, NOW).for_subject(s, None, NOW, {"kind": "event"})
    assert (bare.queue, bare.priority, bare.max_attempts) == ("default", 0, 1)
    with pytest.raises(NotImplementedError):
        plan(s, False)


# -- what a write changed ----------------------------------------------------------------------
def test_emitted_adds_up_and_wakes() -> None:
    out = Emitted()
    out += Emitted(wrote=True)
    out += Emitted([event(1)], debounced=True)
    assert out.wrote
    assert out.debounced
    assert [e.id for e in out.events] == [1]
    assert not out.runs
    woken: list[str] = []
    wake(woken.append, out)
    assert woken == ["events", "schedules"]
    wake(woken.append, Emitted())
    assert woken == ["events", "schedules"]
