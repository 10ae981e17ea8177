"""The MCP tools through the SDK's own client, each test over stdio and over streamable HTTP
(``connect``), against one SQLite store that the tests also read directly."""

from __future__ import annotations

import uuid

from mcp import ClientSession
from mcp_harness import Connect, Site, ok, refused

from agentcron import App

TOOLS = {
    "preview_trigger", "create_schedule", "list_schedules", "pause_schedule",
    "resume_schedule", "delete_schedule", "trigger_schedule", "enqueue_run", "get_run",
    "list_runs", "record_activity", "signal_run",
}  # fmt: skip


def unique(stem: str) -> str:
    return f"{stem}-{uuid.uuid4().hex[:6]}"


async def test_preview_create_list_pause_resume_delete(connect: Connect, site: Site) -> None:
    name = unique("digest")
    full = site.prefix("write") + name
    async with connect("write") as s:
        preview = await ok(
            s, "preview_trigger", text="every weekday at 9am", timezone="Europe/Berlin"
        )
        assert preview["trigger"] == {"cron": "0 9 * * 1-5", "timezone": "Europe/Berlin"}
        assert preview["description"].startswith("At 09:00 on Monday through Friday")
        assert len(preview["next"]) == 5
        assert preview["next"][0][11:16] in ("07:00", "08:00")  # 9:00 Berlin, in UTC

        made = await ok(
            s, "create_schedule", task="digest", trigger=preview["trigger"], name=name,
            args={"channel": "sms"},
        )  # fmt: skip
        assert (made["name"], made["mine"], made["enabled"]) == (full, True, True)
        stored = (await site.stored())[full]
        assert stored.source.value == "api"
        assert stored.trigger == preview["trigger"]
        assert (stored.task, stored.args, stored.namespace) == (
            "digest",
            {"channel": "sms"},
            "default",
        )

        listing = await ok(s, "list_schedules")
        item = next(i for i in listing["items"] if i["name"] == full)
        assert item["mine"]
        assert item["next_run_at"] == made["next_run_at"]
        assert listing["max_owned"] == 20
        assert listing["owned"] >= 1
        assert not any(i["name"].startswith("agentcron-") for i in listing["items"])

        paused = await ok(s, "pause_schedule", name=name)  # the short name finds its own
        assert (paused["enabled"], paused["next_run_at"]) == (False, None)
        assert not (await site.stored())[full].enabled
        resumed = await ok(s, "resume_schedule", name=full)  # so does the full one
        assert resumed["enabled"]
        assert resumed["next_run_at"] is not None

        assert await ok(s, "delete_schedule", name=name) == {"deleted": full, "id": made["id"]}
        assert full not in await site.stored()
        gone = await refused(s, "pause_schedule", name=name)
    assert (gone["code"], gone["field"]) == ("schedule_not_found", "name")


async def test_tools_and_what_a_read_token_may_do(connect: Connect, site: Site) -> None:
    before = await site.stored()
    async with connect("read") as s:
        tools = {tool.name: tool for tool in (await s.list_tools()).tools}
        assert set(tools) == TOOLS
        assert all(tool.description and len(tool.description) > 40 for tool in tools.values())
        create = tools["create_schedule"].input_schema
        assert create["required"] == ["task", "trigger"]
        assert set(create["properties"]) == {"task", "trigger", "name", "args", "timezone"}
        assert create["additionalProperties"] is False
        annotations = tools["list_runs"].annotations
        assert annotations is not None
        assert annotations.read_only_hint
        annotations = tools["delete_schedule"].annotations
        assert annotations is not None
        assert annotations.destructive_hint

        for tool, args in [
            ("create_schedule", {"task": "digest", "trigger": "every 5m", "name": "r"}),
            ("enqueue_run", {"task": "digest"}),
            ("record_activity", {"subject": "user:1"}),
            ("delete_schedule", {"name": "anything"}),
            ("trigger_schedule", {"name": "anything"}),
        ]:
            error = await refused(s, tool, **args)
            assert error["code"] == "forbidden", error
            assert "scope 'read'" in error["message"]
            assert "'write' is needed" in error["message"]
        assert (await ok(s, "list_schedules"))["namespace"] == "default"
        assert (await ok(s, "preview_trigger", text="@daily"))["trigger"]["cron"] == "0 0 * * *"
    assert (await site.stored()).keys() == before.keys()


async def test_trigger_schedule_reports_how_many_runs_it_queued(
    connect: Connect, site: Site
) -> None:
    fan, plain = unique("fan"), unique("plain")
    subjects = [f"{fan}:{i}" for i in range(3)]
    app = App(site.db, maintenance=False)

    @app.task(name="digest")
    def digest(channel: str = "email") -> str:
        return channel

    async with app:
        for subject in subjects:
            await app.record_activity(subject)
        await app.add_schedule("digest", "manual", name=fan, for_each_subject=f"{fan}:*")
        await app.add_schedule("digest", "manual", name=plain, args={"channel": "fax"})
    async with connect("write") as s:
        out = await ok(s, "trigger_schedule", name=fan, args={"channel": "sms"})
        assert (out["schedule"], out["queued"], out["skipped"]) == (fan, 3, 0)
        assert sorted(r["subject"] for r in out["runs"]) == subjects
        assert {r["args"]["channel"] for r in out["runs"]} == {"sms"}
        one = await ok(s, "trigger_schedule", name=plain)
        assert (one["queued"], one["skipped"], len(one["runs"])) == (1, 0, 1)
        assert (one["runs"][0]["subject"], one["runs"][0]["args"]) == (None, {"channel": "fax"})
        error = await refused(s, "trigger_schedule", name=plain, args=[1, 2])  # too many
        assert error["field"] == "args"
        error = await refused(s, "trigger_schedule", name=plain, args="channel=sms")
        assert error["field"] == "args"
        error = await refused(s, "trigger_schedule", name=unique("ghost"))
        assert (error["code"], error["field"]) == ("schedule_not_found", "name")


async def test_namespaces_and_owners(connect: Connect, site: Site) -> None:
    """Another namespace's schedules and runs do not exist; in one namespace, a write token
    changes only the schedules it made, an admin token any."""
    async with connect("isolation") as owner:
        made = await ok(
            owner, "create_schedule", task="digest", trigger="@hourly", name=unique("o")
        )
        run = await ok(owner, "enqueue_run", task="nudge", delay="1h")
    async with connect("team_b") as b:
        listing = await ok(b, "list_schedules")
        assert listing["namespace"] == "team-b"
        assert made["name"] not in {i["name"] for i in listing["items"]}
        for tool in ("pause_schedule", "resume_schedule", "delete_schedule"):
            for key in (made["name"], made["id"]):
                error = await refused(b, tool, name=key)
                assert error["code"] == "schedule_not_found", error
        error = await refused(b, "get_run", id=run["id"])
        assert (error["code"], error["field"]) == ("run_not_found", "id")
        assert run["id"] not in {r["id"] for r in (await ok(b, "list_runs"))["items"]}
        own = await ok(b, "create_schedule", task="digest", trigger="@daily", name=unique("b"))
        assert own["namespace"] == "team-b"
        await ok(b, "delete_schedule", name=own["name"])
    assert (await site.stored())[made["name"]].enabled
    async with connect("write") as other:
        assert made["name"] in {i["name"] for i in (await ok(other, "list_schedules"))["items"]}
        error = await refused(other, "delete_schedule", name=made["name"])
        assert error["code"] == "forbidden"
        assert "not made by this token" in error["message"]
    async with connect("admin") as admin:
        paused = await ok(admin, "pause_schedule", name=made["name"])
        assert not paused["enabled"]
        assert not paused["mine"]
        await ok(admin, "delete_schedule", name=made["name"])
    assert made["name"] not in await site.stored()


async def test_the_schedule_quota_of_a_token(connect: Connect, site: Site) -> None:
    prefix = site.prefix("quota")
    async with connect("quota", "--max-schedules", "2") as s:  # stdio: 2; serve: the default 20
        listing = await ok(s, "list_schedules")
        limit, owned = listing["max_owned"], listing["owned"]
        assert limit in (2, 20)
        assert owned == 0
        for i in range(limit):
            await ok(s, "create_schedule", task="nudge", trigger="manual", name=f"q{i}")
        error = await refused(s, "create_schedule", task="nudge", trigger="manual", name="extra")
        assert error["code"] == "schedule_quota_exceeded"
        assert f"owns {limit} schedules, its limit" in error["message"]
        mine = [n for n in await site.stored() if n.startswith(prefix)]
        assert len(mine) == limit
        assert prefix + "extra" not in mine
        await ok(s, "delete_schedule", name="q0")  # room again
        await ok(s, "create_schedule", task="nudge", trigger="manual", name="extra")
        for name in [f"q{i}" for i in range(1, limit)] + ["extra"]:
            await ok(s, "delete_schedule", name=name)


async def test_bad_input_names_the_field_and_stores_nothing(connect: Connect, site: Site) -> None:
    before = await site.stored()
    cases = [
        ({"trigger": "every blue moon"}, "invalid_trigger", "trigger"),
        ({"trigger": "0 9 * * 1-5", "timezone": "Mars/Olympus"}, "invalid_timezone", "timezone"),
        ({"trigger": "@daily", "task": "no-such-task"}, "task_not_found", "task"),
        ({"trigger": "@daily", "args": [1, 2]}, "validation_error", "args"),  # too many
        ({"trigger": "@daily", "args": {"chanel": "x"}}, "validation_error", "args"),
        ({"trigger": "@daily", "args": "channel=x"}, "validation_error", "args"),
        ({"trigger": "@daily", "name": "bad name!"}, "validation_error", "name"),
        ({"trigger": "@daily", "colour": "red"}, "validation_error", "colour"),
        ({"trigger": {"every": "soon"}}, "invalid_trigger", "trigger"),
    ]
    async with connect("invalid") as s:
        for given, code, field in cases:
            error = await refused(s, "create_schedule", **({"task": "digest"} | given))
            assert (error["code"], error["field"]) == (code, field), error
            if code != "task_not_found":
                assert error["message"].startswith(f"{field}: "), error
        error = await refused(s, "create_schedule", task="digest")
        assert (error["field"], error["message"]) == ("trigger", "trigger: is required")
        error = await refused(s, "preview_trigger", text="every blue moon")
        assert (error["field"], error["code"]) == ("text", "invalid_trigger")
        assert "could not read 'every blue moon'" in error["message"]
        await runs_and_activity(s)
    assert (await site.stored()).keys() == before.keys()


async def runs_and_activity(s: ClientSession) -> None:
    """enqueue_run, get_run, list_runs and record_activity, with bad input to each."""
    run = await ok(s, "enqueue_run", task="digest", args={"channel": "x"}, delay="1h")
    assert (run["status"], run["args"], run["namespace"]) == ("queued", {"channel": "x"}, "default")
    positional = await ok(s, "enqueue_run", task="digest", args=["sms"], delay="1h")
    assert positional["args"] == ["sms"]
    assert run["available_at"] > run["queued_at"]
    assert (await ok(s, "get_run", id=run["id"]))["id"] == run["id"]
    listed = await ok(s, "list_runs", task="digest", status="queued", limit=100)
    assert run["id"] in {r["id"] for r in listed["items"]}
    assert (await refused(s, "list_runs", status="bogus"))["field"] == "status"
    assert (await refused(s, "enqueue_run", task="digest", delay="soon"))["field"] == "delay"
    assert (await refused(s, "enqueue_run", task="nope"))["code"] == "task_not_found"
    assert (await refused(s, "get_run", id=10**12))["code"] == "run_not_found"
    subject = await ok(s, "record_activity", subject="user:42")
    assert subject["subject"] == "user:42"
    assert subject["message_count"] >= 1
    error = await refused(s, "record_activity", subject="user:42", kind="NOT A KIND")
    assert error["field"] == "kind"
