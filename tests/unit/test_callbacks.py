"""`agentcron.callbacks`: what a result callback may be, and how it is called."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from agentcron.callbacks import as_callback, deliver
from agentcron.context import RunContext
from agentcron.errors import ValidationError


def ctx() -> RunContext:
    return RunContext(
        run_id=7, task="t", attempt=1, max_attempts=1, scheduled_for=None, schedule="s",
        subject=None, namespace="default", args={}, worker="w",
    )  # fmt: skip


def plain(result: Any) -> None: ...


async def with_ctx(result: Any, *, ctx: RunContext) -> None: ...


def two_required(result: Any, other: Any) -> None: ...


def no_args() -> None: ...


def test_functions_and_paths() -> None:
    found = as_callback(plain)
    assert (found.is_async, found.takes_ctx) == (False, False)
    assert found.name.endswith(":plain")
    async_one = as_callback(with_ctx)
    assert (async_one.is_async, async_one.takes_ctx) == (True, True)
    by_path = as_callback("json:dumps")
    assert by_path.name == "json:dumps"
    assert as_callback(by_path) is by_path


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("json", "is not an import path like 'myapp.hooks:notify'"),
        ("json:nope", "'json' has no attribute 'nope'"),
        ("no_such_module_q:f", "cannot import module 'no_such_module_q'"),
        ("json:__name__", "is a str, not a function"),
        (42, "expected 'module:function' or a function"),
        (two_required, "must take the result as its one positional argument"),
        (no_args, "must take the result as its one positional argument"),
    ],
)
def test_bad_callbacks(value: Any, words: str) -> None:
    with pytest.raises(ValidationError) as info:
        as_callback(value)
    assert info.value.field == "result_callback"
    assert words in info.value.message


async def test_deliver_passes_ctx_and_logs_errors(caplog: pytest.LogCaptureFixture) -> None:
    got: list[Any] = []

    async def keep(result: Any, *, ctx: RunContext) -> None:
        got.append((result, ctx.run_id))

    def boom(result: Any) -> None:
        raise RuntimeError("down")

    await deliver(as_callback(keep), {"ok": 1}, ctx())
    assert got == [({"ok": 1}, 7)]
    with caplog.at_level(logging.ERROR, logger="agentcron.worker"):
        await deliver(as_callback(boom), None, ctx())  # does not raise
    assert "run 7: result_callback" in caplog.text
    assert "RuntimeError: down" in caplog.text
