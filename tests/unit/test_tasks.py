"""tasks: the decorator with and without options, ctx detection, the registry (no I/O)."""

from __future__ import annotations

import functools
from datetime import timedelta
from typing import Any

import pytest

from agentcron.context import RunContext
from agentcron.errors import InvalidDuration, PermanentError, TaskNotFound, ValidationError
from agentcron.retry import DEFAULT_PERMANENT, Backoff
from agentcron.tasks import Task, TaskRegistry, make_task


class QuotaExceeded(Exception):
    pass


def test_decorator_without_options() -> None:
    registry = TaskRegistry()

    @registry.task
    def digest(channel: str) -> str:
        """Send the digest.

        Long explanation that is not part of the description.
        """
        return channel

    assert digest("email") == "email"  # the function itself is returned
    task = registry.get("digest")
    assert task.fn is digest
    assert task.name == "digest"
    assert task.is_async is False
    assert task.takes_ctx is False
    assert task.retry.retries == 0
    assert task.retry.backoff == Backoff()
    assert task.retry.permanent == DEFAULT_PERMANENT
    assert (task.timeout, task.hard_timeout, task.max_concurrency) == (None, None, None)
    assert (task.queue, task.priority) == ("default", 0)
    assert task.description == "Send the digest."


def test_decorator_with_options() -> None:
    registry = TaskRegistry()

    @registry.task(
        name="llm.summarize",
        retries=3,
        backoff="2s",
        timeout="30s",
        max_concurrency=4,
        queue="llm",
        priority=7,
        permanent_errors=(QuotaExceeded,),
    )
    async def summarize(conversation: str) -> None:
        return None

    task = registry.get("llm.summarize")
    assert task.fn is summarize
    assert task.is_async is True
    assert task.retry.retries == 3
    assert task.retry.max_attempts == 4
    assert task.retry.backoff == Backoff(base=timedelta(seconds=2))
    assert task.retry.permanent == (*DEFAULT_PERMANENT, QuotaExceeded)
    assert task.timeout == timedelta(seconds=30)
    assert (task.max_concurrency, task.queue, task.priority) == (4, "llm", 7)
    assert task.description == ""
    assert "summarize" not in registry


@pytest.mark.parametrize(
    ("backoff", "expected"),
    [
        (None, Backoff()),
        ("5s", Backoff(base=timedelta(seconds=5))),
        (3, Backoff(base=timedelta(seconds=3))),
        (("1s", "1m"), Backoff(timedelta(seconds=1), timedelta(minutes=1))),
        (Backoff(timedelta(seconds=9)), Backoff(timedelta(seconds=9))),
    ],
)
def test_backoff_forms(backoff: Any, expected: Backoff) -> None:
    assert make_task(lambda: None, name="t", backoff=backoff).retry.backoff == expected


def test_sync_task_with_hard_timeout() -> None:
    task = make_task(lambda: None, name="crunch", hard_timeout="1m", timeout=10)
    assert task.hard_timeout == timedelta(minutes=1)
    assert task.timeout == timedelta(seconds=10)


def test_hard_timeout_on_async_task_is_rejected() -> None:
    async def fetch() -> None:
        return None

    with pytest.raises(ValidationError) as caught:
        make_task(fetch, hard_timeout="10s")
    assert caught.value.field == "hard_timeout"
    registry = TaskRegistry()
    with pytest.raises(ValidationError):
        registry.task(hard_timeout=5)(fetch)
    assert len(registry) == 0  # nothing registered


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"retries": -1}, "retries"),
        ({"max_concurrency": 0}, "max_concurrency"),
        ({"timeout": "soon"}, "timeout"),
        ({"hard_timeout": "later"}, "hard_timeout"),
        ({"backoff": "fast"}, "backoff"),
        ({"backoff": ("1s", "never")}, "backoff"),
    ],
)
def test_bad_options_name_the_field(options: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        make_task(lambda: None, name="t", **options)
    assert caught.value.field == field


def test_bad_duration_option_is_an_invalid_duration() -> None:
    with pytest.raises(InvalidDuration):
        make_task(lambda: None, name="t", timeout="soon")


# -- ctx detection ---------------------------------------------------------------------------


def with_ctx(x: int, *, ctx: RunContext) -> None: ...


async def async_with_ctx(*, ctx: RunContext) -> None: ...


def positional_ctx(ctx: RunContext) -> None: ...


def ctx_with_default(*, ctx: RunContext | None = None) -> None: ...


def other_keyword(*, context: RunContext) -> None: ...


def var_keywords(**kwargs: Any) -> None: ...


@pytest.mark.parametrize(
    ("fn", "takes_ctx"),
    [
        (with_ctx, True),
        (async_with_ctx, True),
        (ctx_with_default, True),
        (positional_ctx, False),  # a positional "ctx" would collide with args
        (other_keyword, False),
        (var_keywords, False),
        (print, False),  # a builtin without a signature
        (functools.partial(with_ctx, 1), True),
    ],
    ids=lambda v: getattr(v, "__name__", type(v).__name__) if callable(v) else str(v),
)
def test_ctx_detection(fn: Any, takes_ctx: bool) -> None:
    assert make_task(fn, name="t").takes_ctx is takes_ctx


def test_async_detection_through_partial() -> None:
    async def job(x: int) -> None: ...

    assert make_task(functools.partial(job, 1), name="t").is_async is True


# -- the registry ----------------------------------------------------------------------------


def test_get_unknown_task_raises() -> None:
    registry = TaskRegistry()
    with pytest.raises(TaskNotFound) as caught:
        registry.get("missing")
    assert caught.value.name == "missing"
    assert "missing" in str(caught.value)


def test_registry_container_protocol() -> None:
    registry = TaskRegistry()
    b = registry.add(make_task(lambda: None, name="b"))
    a = registry.add(make_task(lambda: None, name="a"))
    assert "a" in registry
    assert "zzz" not in registry
    assert len(registry) == 2
    assert list(registry) == [b, a]  # registration order
    assert registry.names() == ["a", "b"]  # sorted


def test_registering_a_name_again_replaces_it() -> None:
    registry = TaskRegistry()
    registry.add(make_task(lambda: 1, name="t"))
    newer = registry.add(make_task(lambda: 2, name="t", queue="q"))
    assert registry.get("t") is newer
    assert len(registry) == 1


def test_merge_adds_missing_tasks_and_keeps_its_own() -> None:
    mine, theirs = TaskRegistry(), TaskRegistry()
    own = mine.add(make_task(lambda: None, name="shared", queue="mine"))
    theirs.add(make_task(lambda: None, name="shared", queue="theirs"))
    extra = theirs.add(make_task(lambda: None, name="extra"))
    mine.merge(theirs)
    assert mine.get("shared") is own
    assert mine.get("extra") is extra
    assert mine.names() == ["extra", "shared"]
    assert theirs.names() == ["extra", "shared"]  # the other registry is left as it was


def test_task_to_dict() -> None:
    task = make_task(lambda: None, name="t", retries=2, timeout="1m", queue="q", priority=3,
                     max_recoveries=5)  # fmt: skip
    assert task.to_dict() == {
        "name": "t",
        "queue": "q",
        "priority": 3,
        "retries": 2,
        "max_recoveries": 5,
        "timeout": 60.0,
        "hard_timeout": None,
        "max_concurrency": None,
        "async": False,
        "description": "",
    }


def test_permanent_errors_reach_the_retry_policy() -> None:
    task = make_task(lambda: None, name="t", retries=5, permanent_errors=(QuotaExceeded,))
    assert task.retry.decide(QuotaExceeded(), 1) is None
    assert task.retry.decide(PermanentError(), 1) is None
    assert task.retry.decide(RuntimeError(), 1) is not None


def test_task_is_frozen() -> None:
    task = make_task(lambda: None, name="t")
    assert isinstance(task, Task)
    with pytest.raises(AttributeError):
        task.name = "other"  # type: ignore[misc]


def test_module_level_decorator_registers_in_the_default_registry() -> None:
    from agentcron import tasks

    assert tasks.task.__self__ is tasks.default_registry  # type: ignore[attr-defined]


@pytest.mark.parametrize("name", ["has space", "-dash-first", "ünïcode"])
def test_task_names_are_checked_like_schedule_task_names(name: str) -> None:
    with pytest.raises(ValidationError) as caught:
        make_task(lambda: None, name=name)
    assert caught.value.field == "name"


def test_registered_names_can_be_scheduled() -> None:
    from datetime import UTC, datetime

    from agentcron.specs import build_schedule

    task = make_task(lambda: None, name="llm.summarize-v2")
    built = build_schedule(task=task.name, trigger="manual", now=datetime(2026, 1, 1, tzinfo=UTC))
    assert built.spec.task == "llm.summarize-v2"


def test_max_recoveries_defaults_to_3_and_is_bounded() -> None:
    assert make_task(lambda: None, name="t").max_recoveries == 3
    assert make_task(lambda: None, name="t", max_recoveries=0).max_recoveries == 0
    for bad in (-1, 1001, True, "3"):
        with pytest.raises(ValidationError) as info:
            make_task(lambda: None, name="t", max_recoveries=bad)
        assert info.value.field == "max_recoveries"
