"""Times outside the store come from the app's clock: token times, the retention cutoff, the
age of stored events, relative triggers in a config file."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from agentcron import App, RunStatus
from agentcron.clock import ManualClock
from agentcron.config import load_config
from agentcron.maintenance import RETENTION_TASK

pytestmark = pytest.mark.timeout(60)


async def test_token_times_are_the_apps(db_url: str, clock: ManualClock) -> None:
    app = App(db_url, clock=clock, maintenance=False)
    async with app:
        token, _ = await app.create_token(scope="read", namespaces=["default"])
        assert token.created_at == clock.now()
        clock.advance(90)
        revoked = await app.revoke_token(token.id)
        assert revoked.revoked_at == clock.now()
        assert [t.created_at for t in await app.list_tokens()] == [token.created_at]


async def test_retention_counts_days_on_the_apps_clock(db_url: str, clock: ManualClock) -> None:
    """The clock is years ahead of the wall clock: a run finished at its "now" is young to
    the wall clock, and old to the app once the app's clock is 31 days on."""
    app = App(db_url, clock=clock)

    @app.task
    async def work() -> None: ...

    async with app:
        done = await app.enqueue(work)
        await asyncio.wait_for(app.run(burst=True, scheduler=False, announce=False), 20)
        assert (await app.get_run(done.id)).status is RunStatus.SUCCEEDED
        retention = app.registry.get(RETENTION_TASK).fn
        assert (await retention(days=30))["deleted"] == 0
        clock.advance(timedelta(days=31).total_seconds())
        assert (await retention(days=30))["deleted"] == 1


async def test_a_subscription_measures_event_age_on_the_apps_clock(
    db_url: str, clock: ManualClock
) -> None:
    app = App(db_url, clock=clock, maintenance=False)
    async with app, app.subscribe(after=0) as events:
        assert events.clock is app.clock


def test_relative_config_triggers_count_from_the_given_now(tmp_path: Path) -> None:
    path = tmp_path / "agentcron.toml"
    path.write_text(
        '[[schedule]]\nname = "soon"\ntask = "json:dumps"\ntrigger = "in 30m"\nargs = { obj = 1 }\n'
    )
    now = datetime(2031, 5, 4, 10, 0, tzinfo=UTC)
    (built,) = load_config(path, now=now).schedules
    assert built.trigger.next_after(now - timedelta(seconds=1)) == now + timedelta(minutes=30)
