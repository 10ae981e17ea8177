"""The tools in process (no transport): quotas over a token's namespaces, owned names, the
error shape, and the endpoint that `create_api` mounts."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from agentcron import App
from agentcron.api import create_api
from agentcron.auth import Principal
from agentcron.errors import Forbidden, InvalidTrigger, ValidationError
from agentcron.mcp.access import ScheduleQuotaExceeded
from agentcron.mcp.http import McpEndpoint
from agentcron.mcp.server import error_payload
from agentcron.mcp.tools import Toolbox
from agentcron.models import Scope

MANUAL = {"task": "job", "trigger": "manual"}


@pytest.fixture
async def app(tmp_path: Path) -> AsyncIterator[App]:
    app = App(f"sqlite:///{tmp_path / 'tools.db'}", maintenance=False)

    @app.task()
    def job() -> None:
        return None

    async with app:
        yield app


async def test_the_quota_counts_every_namespace_of_the_token(app: App) -> None:
    box = Toolbox(app, max_schedules=2)
    who = Principal(Scope.WRITE, ("a", "b"), "tok1")
    assert (await box.call("create_schedule", MANUAL, who, "a"))["name"] == "mcp.tok1.job"
    await box.call("create_schedule", MANUAL, who, "b")
    with pytest.raises(ScheduleQuotaExceeded, match="owns 2 schedules, its limit"):
        await box.call("create_schedule", MANUAL | {"name": "more"}, who, "a")
    other = Principal(Scope.WRITE, ("a",), "tok2")  # its own quota, its own names
    assert (await box.call("create_schedule", MANUAL, other))["name"] == "mcp.tok2.job"
    listing = await box.call("list_schedules", {}, who, "a")
    assert (listing["owned"], listing["max_owned"]) == (2, 2)
    assert [i["mine"] for i in listing["items"]] == [True, False]
    with pytest.raises(ScheduleQuotaExceeded):
        await Toolbox(app, max_schedules=0).call("create_schedule", MANUAL, other)


async def test_names_and_arguments_are_checked(app: App) -> None:
    box = Toolbox(app)
    who = Principal(Scope.ADMIN, ("*",), None)  # the open API: owner "open"
    assert (await box.call("create_schedule", MANUAL, who))["name"] == "mcp.open.job"
    with pytest.raises(ValidationError, match="at most 191 characters") as long:
        await box.call("create_schedule", MANUAL | {"name": "n" * 195}, who)
    assert long.value.field == "name"
    with pytest.raises(ValidationError) as unknown:
        await box.call("list_runs", {"limit": 5, "sort": "asc"}, who)
    assert unknown.value.field == "sort"
    with pytest.raises(ValidationError) as limit:
        await box.call("list_runs", {"limit": 0}, who)
    assert limit.value.field == "limit"
    with pytest.raises(ValidationError, match="no tool named 'drop_tables'"):
        await box.call("drop_tables", {}, who)
    with pytest.raises(Forbidden, match="cannot use namespace 'b'"):
        await box.call("list_schedules", {}, Principal(Scope.READ, ("a",), "t"), "b")


def test_errors_are_the_rest_shape_with_the_field_in_the_message() -> None:
    assert error_payload(InvalidTrigger("could not read 'x'")) == {
        "error": {
            "code": "invalid_trigger",
            "message": "trigger: could not read 'x'",
            "field": "trigger",
        }
    }
    assert error_payload(ScheduleQuotaExceeded(3))["error"]["code"] == "schedule_quota_exceeded"


async def test_create_api_mounts_the_endpoint(app: App) -> None:
    api = create_api(app)
    assert isinstance(api.state.mcp, McpEndpoint)
    assert "/mcp" in {getattr(route, "path", None) for route in api.routes}
    await api.state.mcp.aclose()  # never started: nothing to stop


async def test_the_namespace_quota_applies_to_mcp_too(app: App) -> None:
    """One error class for both quotas: a token's (MCP) and a namespace's (`App`)."""
    app.max_schedules = 1
    box = Toolbox(app, max_schedules=5)
    who = Principal(Scope.WRITE, ("a",), "tok1")
    await box.call("create_schedule", MANUAL, who, "a")
    with pytest.raises(ScheduleQuotaExceeded, match="namespace 'a' already holds 1 schedules"):
        await box.call("create_schedule", MANUAL | {"name": "more"}, who, "a")
