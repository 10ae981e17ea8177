"""The pure decisions of durable waits (`agentcron.rules.durable`), without a database."""

from __future__ import annotations

from agentcron.rules.durable import StepEnd, event_cursor, matching_event, timed_out_wait

NOW = 1_000_000.0


def test_a_sleep_whose_time_came_is_done_and_other_waits_time_out() -> None:
    assert timed_out_wait({"kind": "sleep", "step": "sleep:1"}) == StepEnd("succeeded")
    signal = timed_out_wait({"kind": "signal", "name": "approve", "step": "signal:approve:1"})
    assert signal.status == "failed"
    assert signal.error == {
        "type": "WaitTimeout", "message": "no signal 'approve' came before the wait's timeout",
    }  # fmt: skip
    event = timed_out_wait({"kind": "event", "pattern": "user.*", "step": "event:user.*:1"})
    assert event.error is not None
    assert "event 'user.*'" in event.error["message"]


def test_the_first_event_of_the_pattern_and_subject_is_taken() -> None:
    events = [
        (1, "user.reply", "u:2", {}, NOW),
        (2, "order.placed", "u:1", {}, NOW),
        (3, "user.reply", "u:1", {"n": 3}, NOW),
        (4, "user.left", "u:1", {}, NOW),
    ]
    assert matching_event({"pattern": "user.*", "subject": "u:1"}, events) == events[2]
    assert matching_event({"pattern": "user.*", "subject": None}, events) == events[0]
    assert matching_event({"pattern": "billing.*", "subject": None}, events) is None


def test_the_cursor_moves_over_settled_events_only() -> None:
    events = [(5, "a.b", None, {}, NOW - 60), (6, "a.b", None, {}, NOW - 20),
              (7, "a.b", None, {}, NOW - 1), (8, "a.b", None, {}, NOW - 30)]  # fmt: skip
    assert event_cursor(4, events, NOW, 10) == 6  # 7 is recent: 8 may hide a smaller id
    assert event_cursor(4, [], NOW, 10) == 4
    assert event_cursor(4, events[2:3], NOW, 10) == 4
