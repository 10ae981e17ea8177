"""The pure planners of per-subject firing (`agentcron.rules`: idle, quotas, fanout), no
database: what an idle / messages evaluation fires, defers and clears; the watermark; quota
decisions; which slot runs fan out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from agentcron.models import NewRun, Quota, RunStatus
from agentcron.rules.fanout import fan_out_info, fans_out, fired_before
from agentcron.rules.idle import (
    IdleWatermark,
    cooldown_s,
    earliest,
    plan_idle,
    plan_messages,
)
from agentcron.rules.quotas import over_quota, quota_reason, skipped

T0 = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


def test_plan_idle_fires_defers_and_clears() -> None:
    plan = plan_idle(
        100.0,
        10.0,
        60.0,
        [
            ("new", 80.0, None),  # idle since 90, never fired: fire
            ("answered", 80.0, (80.0, 85.0)),  # this activity was answered: clear its mark
            ("cooling", 80.0, (20.0, 50.0)),  # fired at 50, cooldown 60: defer to 110
            ("active", 95.0, None),  # not idle yet, no mark: nothing
            ("active-marked", 95.0, (20.0, 30.0)),  # not idle yet: clear its mark
            ("gone", None, (20.0, 30.0)),  # deleted subject: clear
        ],
    )
    assert plan.fire == [("new", 90.0, 80.0)]
    assert plan.defer == {"cooling": 110.0}
    assert plan.clear == ["answered", "active-marked", "gone"]


def test_plan_idle_fires_after_the_cooldown() -> None:
    plan = plan_idle(100.0, 10.0, 60.0, [("s", 80.0, (20.0, 30.0))])
    assert plan.fire == [("s", 90.0, 80.0)]
    assert not plan.defer
    assert not plan.clear


def test_plan_messages_fires_each_multiple_crossed() -> None:
    plan = plan_messages(3, [("a", 0, 50.0, 7), ("b", 6, 51.0, 8), ("c", 3, 52.0, None)])
    assert plan.fire == [("a", 50.0, 3), ("a", 50.0, 6)]
    assert plan.answered == {"a": 6, "b": 6, "c": 3}


def test_plan_messages_keeps_the_newest_multiples() -> None:
    plan = plan_messages(1, [("a", 0, 1.0, 1000)])
    assert [count for _, _, count in plan.fire] == list(range(901, 1001))
    assert plan.answered == {"a": 1000}


def test_watermark_round_trip_keeps_other_state() -> None:
    mark = IdleWatermark.load({"version": 1, "idle_activity": 5.0, "other": "x"})
    assert (mark.activity, mark.after) == (5.0, None)
    mark.advance([("a", 6.0), ("b", 7.0)], 2, 50.0)  # a full batch: stop at its last one
    assert (mark.activity, mark.after) == (7.0, "b")
    assert mark.dump() == {"version": 1, "idle_activity": 7.0, "idle_after": "b", "other": "x"}
    mark.advance([("c", 8.0)], 2, 50.0)  # the rest: up to the deadline
    assert (mark.activity, mark.after) == (50.0, None)


def test_watermark_of_nothing() -> None:
    for state in (None, [], "text"):
        mark = IdleWatermark.load(state)
        assert (mark.activity, mark.after) == (None, None)


def test_cooldown_and_earliest() -> None:
    assert cooldown_s({"idle": "30m", "cooldown": "2h"}) == 7200.0
    assert cooldown_s({"idle": "30m"}) is None
    assert earliest(None, 5.0, 3.0) == 3.0
    assert earliest(None, None) is None


def test_over_quota() -> None:
    quota = Quota(2, "day")
    assert over_quota(quota, "user:1", 1) is None
    assert over_quota(quota, "user:1", 2) == "limit: 2 per day reached for user:1"
    assert quota_reason(quota, None) == "limit: 2 per day reached"


def test_skipped_records_the_reason() -> None:
    run = skipped(NewRun(task="t", subject="u"), "limit: 1 per day reached for u")
    assert run.status is RunStatus.SKIPPED
    assert run.error == {"type": "Skipped", "message": "limit: 1 per day reached for u"}


def test_fan_out_slots() -> None:
    slot = NewRun(task="t", scheduled_for=T0, trigger_info={"kind": "cron", "schedule": "x"})
    assert fans_out(slot)
    assert not fans_out(skipped(slot, "missed"))
    assert not fans_out(NewRun(task="t"))
    assert fan_out_info(slot) == {"kind": "fan-out"}
    manual = NewRun(task="t", scheduled_for=T0, trigger_info={"kind": "manual", "missed": 2})
    assert fan_out_info(manual) == {"kind": "manual", "missed": 2}
    assert not fired_before(None, slot)
    assert fired_before(T0, slot)
    assert not fired_before(T0 - timedelta(minutes=1), slot)
