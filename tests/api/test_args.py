"""Task args over REST: an array (positional) or an object (keyword), echoed as given, checked
against the task's signature; and a ``module:function`` path is never imported from a
request (only a config file written by the operator may name code to import)."""

from __future__ import annotations

import sys
from typing import Any

import httpx
import pytest

from agentcron import App


async def test_runs_and_schedules_take_args_as_an_array_or_an_object(
    client: httpx.AsyncClient, ac: App
) -> None:
    positional = await client.post("/v1/runs", json={"task": "hello", "args": ["ada"]})
    assert positional.status_code == 202, positional.text
    assert positional.json()["args"] == ["ada"]
    keyword = await client.post("/v1/runs", json={"task": "hello", "args": {"name": "bob"}})
    assert keyword.json()["args"] == {"name": "bob"}
    schedule = await client.post(
        "/v1/schedules", json={"task": "hello", "trigger": "manual", "args": ["cy"]}
    )
    assert schedule.status_code == 201, schedule.text
    assert schedule.json()["args"] == ["cy"]
    triggered = await client.post("/v1/schedules/hello/trigger")
    assert triggered.json()["args"] == ["cy"]
    listed = (await client.get("/v1/runs")).json()["items"]
    assert sorted(map(str, (r["args"] for r in listed))) == ["['ada']", "['cy']", "{'name': 'bob'}"]

    await ac.run(burst=True)
    results = {r["id"]: r["result"] for r in (await client.get("/v1/runs")).json()["items"]}
    assert results[positional.json()["id"]] == "hello ada"
    assert results[triggered.json()["id"]] == "hello cy"


@pytest.mark.parametrize(
    ("path", "body", "message"),
    [
        ("/v1/runs", {"task": "hello", "args": ["a", "b"]},
         "do not fit hello(name='world'): too many positional arguments"),
        ("/v1/runs", {"task": "hello", "args": {"nmae": "x"}},
         "do not fit hello(name='world'): got an unexpected keyword argument 'nmae' "
         "(did you mean 'name'?)"),
        ("/v1/schedules", {"task": "boom", "trigger": "manual", "args": [1]},
         "do not fit boom(): too many positional arguments"),
        ("/v1/runs", {"task": "hello", "args": "name=x"}, None),
    ],
)  # fmt: skip
async def test_args_that_do_not_fit_are_422_and_store_nothing(
    client: httpx.AsyncClient, path: str, body: dict[str, Any], message: str | None
) -> None:
    r = await client.post(path, json=body)
    assert r.status_code == 422, r.text
    error = r.json()["error"]
    assert error["field"] == "args"
    if message is not None:
        assert error["message"] == message
    assert (await client.get("/v1/runs")).json()["items"] == []
    assert (await client.get("/v1/schedules")).json()["items"] == []


async def test_a_function_path_in_a_request_is_never_imported(
    client: httpx.AsyncClient, ac: App
) -> None:
    module = "agentcron_test_never_imported_module"
    for path, body in [
        ("/v1/schedules", {"task": "os:system", "trigger": "manual", "args": ["true"]}),
        ("/v1/runs", {"task": "os:system", "args": ["true"]}),
        ("/v1/schedules", {"task": f"{module}:run", "trigger": "manual"}),
        ("/v1/runs", {"task": f"{module}:run"}),
    ]:
        r = await client.post(path, json=body)
        assert r.status_code == 422, r.text
        assert r.json()["error"]["code"] == "task_not_found"
    assert module not in sys.modules
    assert "os:system" not in ac.registry
    assert (await client.get("/v1/schedules")).json()["items"] == []
