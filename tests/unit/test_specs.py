"""specs.build_schedule: one validation path for every surface; errors name the field."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from agentcron.errors import InvalidTrigger, ValidationError
from agentcron.models import Misfire, Overlap, ScheduleSource
from agentcron.specs import MAX_ARGS_BYTES, SCHEDULE_FIELDS, build_schedule, check_args, check_name
from agentcron.triggers import CronTrigger, DateTrigger, IntervalTrigger

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def build(**kw: Any) -> Any:
    kw.setdefault("task", "digest")
    kw.setdefault("trigger", "every 5m")
    kw.setdefault("now", T0)
    return build_schedule(**kw)


def test_minimal_schedule_gets_sane_defaults() -> None:
    built = build()
    spec = built.spec
    assert spec.name == "digest"  # the task's name
    assert spec.task == "digest"
    assert spec.namespace == "default"
    assert spec.trigger == {"every": "5m"}
    assert spec.args == {}
    assert spec.enabled is True
    assert (spec.misfire, spec.overlap) == (Misfire.ONCE, Overlap.SKIP)
    assert (spec.misfire_grace, spec.retries, spec.timeout, spec.jitter) == (None,) * 4
    assert (spec.priority, spec.queue) == (None, None)  # None: the task's default
    assert spec.source is ScheduleSource.CODE
    assert spec.description == "every 5 minutes"
    assert isinstance(built.trigger, IntervalTrigger)


def test_every_field_is_read() -> None:
    built = build(
        name="weekday-digest",
        trigger="0 9 * * 1-5",
        timezone="Europe/Berlin",
        args='{"channel": "email"}',
        enabled=False,
        misfire="all",
        misfire_grace="10m",
        overlap="queue",
        retries="3",
        timeout=90,
        priority="-5",
        queue="llm",
        jitter="PT30S",
        namespace="tenant-a",
        description="the digest",
        source=ScheduleSource.CONFIG,
    )
    spec = built.spec
    assert spec.name == "weekday-digest"
    assert spec.trigger == {"cron": "0 9 * * 1-5", "timezone": "Europe/Berlin"}
    assert isinstance(built.trigger, CronTrigger)
    assert spec.args == {"channel": "email"}
    assert spec.enabled is False
    assert (spec.misfire, spec.overlap) == (Misfire.ALL, Overlap.QUEUE)
    assert spec.misfire_grace == timedelta(minutes=10)
    assert spec.retries == 3
    assert spec.timeout == timedelta(seconds=90)
    assert spec.priority == -5
    assert spec.queue == "llm"
    assert spec.jitter == timedelta(seconds=30)
    assert spec.namespace == "tenant-a"
    assert spec.description == "the digest"
    assert spec.source is ScheduleSource.CONFIG


def test_trigger_object_form_and_enums() -> None:
    spec = build(trigger={"every": "1h"}, misfire=Misfire.SKIP, overlap=Overlap.ALLOW).spec
    assert spec.trigger == {"every": "1h"}
    assert (spec.misfire, spec.overlap) == (Misfire.SKIP, Overlap.ALLOW)


def test_zero_jitter_and_zero_retries_are_allowed() -> None:
    spec = build(jitter=0, retries=0).spec
    assert spec.jitter == timedelta(0)
    assert spec.retries == 0


def test_schedule_fields_list() -> None:
    assert {"name", "task", "trigger", "timezone", "args", "namespace"} <= SCHEDULE_FIELDS


@pytest.mark.parametrize(
    ("kw", "field"),
    [
        ({"task": ""}, "task"),
        ({"task": None}, "task"),
        ({"task": "has space"}, "task"),
        ({"task": 42}, "task"),
        ({"trigger": None}, "trigger"),
        ({"trigger": ""}, "trigger"),
        ({"trigger": "whenever you like"}, "trigger"),
        ({"trigger": {"bogus": 1}}, "trigger"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"name": ""}, "name"),
        ({"name": "-starts-with-dash"}, "name"),
        ({"name": "x" * 201}, "name"),
        ({"name": ["list"]}, "name"),
        ({"namespace": "bad namespace"}, "namespace"),
        ({"args": "{not json"}, "args"),
        ({"args": "true"}, "args"),
        ({"args": {1, 2}}, "args"),
        ({"args": [object()]}, "args"),
        ({"args": 5}, "args"),
        ({"args": {"x": object()}}, "args"),
        ({"args": {"x": float("nan")}}, "args"),
        ({"args": {"big": "x" * (MAX_ARGS_BYTES + 1)}}, "args"),
        ({"enabled": "yes"}, "enabled"),
        ({"enabled": 1}, "enabled"),
        ({"misfire": "sometimes"}, "misfire"),
        ({"misfire_grace": "soon"}, "misfire_grace"),
        ({"misfire_grace": 0}, "misfire_grace"),
        ({"misfire_grace": -5}, "misfire_grace"),
        ({"overlap": "maybe"}, "overlap"),
        ({"retries": -1}, "retries"),
        ({"retries": "many"}, "retries"),
        ({"retries": 1.5}, "retries"),
        ({"retries": True}, "retries"),
        ({"timeout": "0s"}, "timeout"),
        ({"timeout": "forever"}, "timeout"),
        ({"priority": "high"}, "priority"),
        ({"priority": -1_000_001}, "priority"),
        ({"queue": "a queue"}, "queue"),
        ({"jitter": "-1s"}, "jitter"),
        ({"jitter": -1}, "jitter"),
    ],
    ids=lambda value: repr(value)[:40] if isinstance(value, dict) else str(value),
)
def test_validation_names_the_field(kw: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        build(**kw)
    assert caught.value.field == field
    assert str(caught.value).startswith(f"{field}: ")


@pytest.mark.parametrize(
    "trigger",
    ["every 0s", {"every": "0s"}, {"cron": "bad"}, {"every": "5m", "start": "garbage"}],
    ids=str,
)
def test_trigger_errors_name_the_trigger_field(trigger: Any) -> None:
    with pytest.raises(InvalidTrigger) as caught:
        build(trigger=trigger)
    assert caught.value.field is not None
    assert caught.value.field.split(".")[0] == "trigger"


@pytest.mark.parametrize("field", ["retries", "priority"])
def test_huge_numbers_are_rejected(field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        build(**{field: 10**30})
    assert caught.value.field == field


def test_at_in_the_past_is_rejected_for_a_new_schedule() -> None:
    for at in ("at 2025-12-31T23:59:00Z", {"at": "2025-06-01T00:00:00Z"}, {"at": T0.isoformat()}):
        with pytest.raises(InvalidTrigger, match="past") as caught:
            build(trigger=at)
        assert caught.value.field == "trigger"


def test_at_in_the_past_is_kept_for_an_existing_schedule() -> None:
    built = build(trigger="at 2025-12-31T23:59:00Z", new=False)
    assert isinstance(built.trigger, DateTrigger)
    assert built.trigger.at == datetime(2025, 12, 31, 23, 59, tzinfo=UTC)


def test_at_in_the_future_and_relative_in() -> None:
    assert build(trigger="at 2026-01-02T09:00:00Z").spec.trigger == {"at": "2026-01-02T09:00:00Z"}
    built = build(trigger="in 30m")
    assert isinstance(built.trigger, DateTrigger)
    assert built.trigger.at == T0 + timedelta(minutes=30)  # anchored at `now`


def test_check_args() -> None:
    assert check_args(None) == {}
    assert check_args({}) == {}
    assert check_args('{"a": [1, {"b": null}]}') == {"a": [1, {"b": None}]}
    assert check_args({"when": "x", "n": 1.5, "ok": True}) == {"when": "x", "n": 1.5, "ok": True}
    assert check_args({1: "int keys become strings"}) == {"1": "int keys become strings"}
    nearly_full = {"x": "y" * (MAX_ARGS_BYTES - 20)}
    assert check_args(nearly_full) == nearly_full
    assert check_args([1, "x", {"a": None}]) == [1, "x", {"a": None}]  # positional
    assert check_args((1, 2)) == [1, 2]
    assert check_args("[1, 2]") == [1, 2]
    assert check_args([]) == []
    with pytest.raises(ValidationError) as caught:
        check_args(5, field="body.args")
    assert caught.value.field == "body.args"


@pytest.mark.parametrize(
    ("args", "storable"),
    [
        ({"s": "a\x00b"}, False),
        ({"a\x00": 1}, False),
        ({"deep": [{"s": "\\\x00"}]}, False),  # a backslash, then a NUL
        ({"s": "\\u0000"}, True),  # a backslash, then "u0000": no NUL at all
        ({"s": "\\\\u0000"}, True),
        ({"s": "lone \ud800"}, False),
        ({"s": "pair \U0001f600"}, True),
    ],
)
def test_args_a_store_cannot_hold(args: dict[str, Any], storable: bool) -> None:
    """A NUL character (PostgreSQL cannot store one) or a lone surrogate (not UTF-8) is
    refused on every store; text that only looks like the escape of one is kept."""
    if storable:
        assert check_args(args) == args
        return
    with pytest.raises(ValidationError) as caught:
        check_args(args)
    assert caught.value.field == "args"


def test_args_are_copied() -> None:
    args = {"nested": {"list": [1]}}
    spec = build(args=args).spec
    args["nested"]["list"].append(2)
    assert spec.args == {"nested": {"list": [1]}}


@pytest.mark.parametrize("value", ["digest\n", "user.signup\n"])
def test_a_trailing_newline_is_not_part_of_a_valid_name(value: str) -> None:
    """``$`` matches before a final newline: names, kinds and event types are matched whole."""
    from agentcron.subjects import check_kind
    from agentcron.triggers import check_event_type

    with pytest.raises(ValidationError):
        check_name(value)
    with pytest.raises(ValidationError):
        check_kind(value)
    with pytest.raises(ValidationError):
        check_event_type(value)
