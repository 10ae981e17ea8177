"""The MCP tools: for each, what it does (told to the model), its JSON schema, the scope it
needs and its handler.

Nothing here knows the SDK: `Toolbox.call` takes a tool name, the arguments and a `Principal`
and returns a JSON-able result, or raises an `AgentcronError` (`agentcron.mcp.server` turns
either into a tool result). Scope is checked first, then the arguments, then the store.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from agentcron.app import App
from agentcron.auth import Principal
from agentcron.errors import (
    InvalidTimezone,
    InvalidTrigger,
    RunNotFound,
    ValidationError,
)
from agentcron.mcp.access import DEFAULT_MAX_SCHEDULES, Caller
from agentcron.mcp.args import Args
from agentcron.models import RunStatus, Schedule, ScheduleSource, Scope, iso
from agentcron.specs import check_name
from agentcron.store import FannedOut
from agentcron.subjects import check_kind, check_subject
from agentcron.triggers import next_times

__all__ = ["TOOLS", "ToolSpec", "Toolbox"]

PREVIEW_COUNT = 5
TRIGGERED_RUNS = 20  # runs of a fan-out shown to the model (the count is exact)
LISTED_SCHEDULES = 200
MAX_RUN_ID = 2**63 - 1

Handler = Callable[["Toolbox", Caller, Args], Awaitable[Any]]


@dataclass(frozen=True, slots=True)
class ToolSpec:
    name: str
    title: str
    description: str
    scope: Scope
    handler: Handler
    properties: Mapping[str, Any]
    required: tuple[str, ...] = ()
    destructive: bool = False

    @property
    def input_schema(self) -> dict[str, Any]:
        return {
            "type": "object",
            "properties": dict(self.properties),
            "required": list(self.required),
            "additionalProperties": False,
        }


class Toolbox:
    """The tools over one `App`, with the schedule quota of every token (``max_schedules``)."""

    def __init__(self, app: App, *, max_schedules: int = DEFAULT_MAX_SCHEDULES) -> None:
        if max_schedules < 0:
            raise ValidationError("must not be negative", field="max_schedules")
        self.app = app
        self.max_schedules = max_schedules
        self.tools = {tool.name: tool for tool in TOOLS}
        self.creating = asyncio.Lock()  # one quota check + insert at a time in this process

    async def call(
        self,
        name: str,
        arguments: Mapping[str, Any] | None,
        who: Principal,
        namespace: str | None = None,
    ) -> Any:
        """Run tool ``name`` as ``who`` in ``namespace`` (default: the token's only one, else
        ``default``)."""
        tool = self.tools.get(name)
        if tool is None:
            known = ", ".join(self.tools)
            raise ValidationError(f"no tool named {name!r} (tools: {known})", field="tool")
        who.require(tool.scope)
        caller = Caller.of(who, namespace, self.max_schedules)
        return await tool.handler(self, caller, Args(arguments, tool.properties))


def _shape(caller: Caller, schedule: Schedule) -> dict[str, Any]:
    return schedule.to_dict() | {"mine": caller.owns(schedule)}


# -- handlers -----------------------------------------------------------------------------------
async def _preview(box: Toolbox, caller: Caller, args: Args) -> Any:
    text = args.text("text")
    zone = args.optional_text("timezone", max_length=100) or box.app.timezone
    now = box.app.clock.now()
    try:
        reading = await box.app.read_trigger(text, timezone=zone, now=now)
    except InvalidTimezone:
        raise
    except ValidationError as exc:
        part = f"{exc.field}: " if exc.field not in (None, "trigger") else ""
        raise InvalidTrigger(part + exc.message, field="text") from None
    times = next_times(reading.trigger, now, PREVIEW_COUNT)
    return {
        "trigger": reading.trigger.to_dict(),
        "description": reading.trigger.describe(),
        "timezone": zone,
        "next": [iso(t) for t in times],
        "source": reading.source,
    }


async def _create(box: Toolbox, caller: Caller, args: Args) -> Any:
    task = check_name(args.text("task", max_length=200), "task")
    trigger = args.trigger("trigger")
    options: dict[str, Any] = {
        "name": caller.owned_name(args.optional_text("name", max_length=200) or task),
        "args": args.task_args("args"),
        "namespace": caller.namespace,
    }
    zone = args.optional_text("timezone", max_length=100)
    if zone is not None:
        options["timezone"] = zone
    trigger, read_by = await box.app.resolve_trigger(trigger, timezone=zone)
    async with box.creating:
        await caller.check_quota(box.app)
        schedule = await box.app.add_schedule(task, trigger, source=ScheduleSource.API, **options)
    return _shape(caller, schedule) | {"trigger_source": read_by}


async def _list_schedules(box: Toolbox, caller: Caller, args: Args) -> Any:
    schedules, cursor = await box.app.list_schedules(
        namespace=caller.namespace, limit=LISTED_SCHEDULES
    )
    return {
        "items": [_shape(caller, s) for s in schedules if s.source is not ScheduleSource.SYSTEM],
        "more": cursor is not None,
        "namespace": caller.namespace,
        "owned": await caller.owned_count(box.app),
        "max_owned": caller.max_schedules,
    }


async def _pause(box: Toolbox, caller: Caller, args: Args) -> Any:
    schedule = await _changeable(box, caller, args)
    return _shape(caller, await box.app.pause(schedule.id, namespace=caller.namespace))


async def _resume(box: Toolbox, caller: Caller, args: Args) -> Any:
    schedule = await _changeable(box, caller, args)
    return _shape(caller, await box.app.resume(schedule.id, namespace=caller.namespace))


async def _delete(box: Toolbox, caller: Caller, args: Args) -> Any:
    schedule = await _changeable(box, caller, args)
    await box.app.delete_schedule(schedule.id, namespace=caller.namespace)
    return {"deleted": schedule.name, "id": schedule.id}


async def _changeable(box: Toolbox, caller: Caller, args: Args) -> Schedule:
    schedule = await caller.find(box.app, args.text("name", max_length=200))
    caller.check_may_change(schedule)
    return schedule


async def _trigger(box: Toolbox, caller: Caller, args: Args) -> Any:
    schedule = await caller.find(box.app, args.text("name", max_length=200))
    done = await box.app.trigger(schedule.id, args=args.task_args("args"),
                                 namespace=caller.namespace)  # fmt: skip
    if isinstance(done, FannedOut):
        return {"schedule": schedule.name, **done.to_dict(limit=TRIGGERED_RUNS)}
    return {"schedule": schedule.name, "queued": 1, "skipped": 0, "runs": [done.to_dict()]}


async def _enqueue(box: Toolbox, caller: Caller, args: Args) -> Any:
    task = check_name(args.text("task", max_length=200), "task")
    delay = args.duration("delay")
    run = await box.app.enqueue(
        task, args.task_args("args"), delay=delay, namespace=caller.namespace
    )
    return run.to_dict()


async def _get_run(box: Toolbox, caller: Caller, args: Args) -> Any:
    run_id = args.required_whole("id", 1, MAX_RUN_ID)
    run = await box.app.get_run(run_id)
    if run.namespace != caller.namespace:
        raise RunNotFound(run_id)
    return run.to_dict()


async def _list_runs(box: Toolbox, caller: Caller, args: Args) -> Any:
    task = args.optional_text("task", max_length=200)
    runs, _ = await box.app.list_runs(
        task=check_name(task, "task") if task is not None else None,
        status=args.optional_text("status", max_length=20),
        namespace=caller.namespace,
        limit=args.whole("limit", 20, 1, 100) or 20,
    )
    return {"items": [r.to_dict() for r in runs]}


async def _signal_run(box: Toolbox, caller: Caller, args: Args) -> Any:
    run_id = args.required_whole("id", 1, MAX_RUN_ID)
    name = check_name(args.text("name", max_length=200), "name")
    if (await box.app.get_run(run_id)).namespace != caller.namespace:
        raise RunNotFound(run_id)
    return (await box.app.signal(run_id, name, args.raw("data"))).to_dict()


async def _record_activity(box: Toolbox, caller: Caller, args: Args) -> Any:
    subject = check_subject(args.text("subject", max_length=256))
    kind = check_kind(args.optional_text("kind", max_length=32) or "message")
    recorded = await box.app.record_activity(subject, kind, namespace=caller.namespace)
    return recorded.to_dict()


# -- the table ----------------------------------------------------------------------------------
_STR = {"type": "string"}
_NAME = {"type": "string", "minLength": 1, "maxLength": 200}
_TRIGGER_HELP = (
    "When it fires, as text: cron ('0 9 * * 1-5', '@daily'), 'every 5m', "
    "'at 2026-12-01T09:00:00+01:00', 'in 30m', 'idle 30m cooldown 2h' (per subject), "
    "'after 20 messages' (per subject), 'on user.signup' (per event), 'manual', or plain "
    "English ('every weekday at 9am', 'first day of every month at 8')."
)
_ZONE = {"type": "string", "description": "IANA time zone, e.g. 'Europe/Berlin' (default: "
         "the server's, usually UTC)."}  # fmt: skip
_ARGS = {
    "type": ["object", "array"],
    "description": "The task's arguments: an object of keyword arguments, or an array of "
    "positional ones.",
}
_OWN = (
    " Schedules you create are named 'mcp.<your token id>.<name>'; give either that full name "
    "or the short one."
)

TOOLS: tuple[ToolSpec, ...] = (
    ToolSpec(
        "preview_trigger", "Preview a trigger",
        "Check what a trigger means before creating a schedule: returns the normalized "
        "trigger, a description in words and its next 5 fire times (ISO 8601, UTC). Nothing "
        "is stored. Use it to confirm the schedule with the user first.",
        Scope.READ, _preview,
        {"text": {"type": "string", "minLength": 1, "maxLength": 1000,
                  "description": _TRIGGER_HELP},
         "timezone": _ZONE},
        ("text",),
    ),
    ToolSpec(
        "create_schedule", "Create a schedule",
        "Create a schedule that runs a registered task whenever its trigger fires. Preview "
        "the trigger first. The schedule is owned by your token (see list_schedules for how "
        "many you own and may own); an invalid trigger, task, time zone or args is an error "
        "naming the argument, and nothing is stored.",
        Scope.WRITE, _create,
        {"task": _NAME | {"description": "Name of a registered task."},
         "trigger": {"type": ["string", "object"], "description": _TRIGGER_HELP},
         "name": _NAME | {"description": "A name for the schedule (default: the task's), "
                          "unique in the namespace; stored as 'mcp.<token id>.<name>'."},
         "args": _ARGS, "timezone": _ZONE},
        ("task", "trigger"),
    ),
    ToolSpec(
        "list_schedules", "List schedules",
        "List the schedules of your namespace (at most 200, by name; agentcron's own "
        "maintenance schedules left out) with their next fire "
        "time; 'mine' marks those your token created. Also tells how many schedules your token "
        "owns ('owned') and may own ('max_owned').",
        Scope.READ, _list_schedules, {},
    ),
    ToolSpec(
        "pause_schedule", "Pause a schedule",
        "Stop a schedule from firing until it is resumed (it is kept)." + _OWN,
        Scope.WRITE, _pause, {"name": _NAME | {"description": "Schedule name or id."}},
        ("name",),
    ),
    ToolSpec(
        "resume_schedule", "Resume a schedule",
        "Let a paused schedule fire again, from its next fire time after now (missed times "
        "are not caught up)." + _OWN,
        Scope.WRITE, _resume, {"name": _NAME | {"description": "Schedule name or id."}},
        ("name",),
    ),
    ToolSpec(
        "delete_schedule", "Delete a schedule",
        "Delete a schedule for good (its past runs stay)." + _OWN,
        Scope.WRITE, _delete, {"name": _NAME | {"description": "Schedule name or id."}},
        ("name",), destructive=True,
    ),
    ToolSpec(
        "trigger_schedule", "Run a schedule now",
        "Queue a run of a schedule's task now, outside its trigger, with the schedule's args "
        "('args' is merged into them for this run only). A schedule with for_each_subject "
        "queues one run per matching subject. Returns how many runs were queued ('queued'; "
        "'skipped': over the schedule's limit) and the first of them; follow one with "
        "get_run." + _OWN,
        Scope.WRITE, _trigger,
        {"name": _NAME | {"description": "Schedule name or id."},
         "args": _ARGS | {"description": "Arguments for this run only: an object is merged "
                          "into the schedule's object; an array replaces them."}},
        ("name",),
    ),
    ToolSpec(
        "enqueue_run", "Run a task",
        "Queue one run of a registered task now, or after a delay. Returns the run; follow it "
        "with get_run.",
        Scope.WRITE, _enqueue,
        {"task": _NAME | {"description": "Name of a registered task."}, "args": _ARGS,
         "delay": {"type": ["string", "number"],
                   "description": "Wait this long first: '30s', '5m', '1h30m' or seconds."}},
        ("task",),
    ),
    ToolSpec(
        "get_run", "Get a run",
        "One run: its status (queued, running, waiting, succeeded, failed, dead, cancelled, "
        "skipped), attempts, times, result and error; its steps, and while waiting, what "
        "it waits for ('waiting_for').",
        Scope.READ, _get_run,
        {"id": {"type": "integer", "minimum": 1, "description": "The run id."}}, ("id",),
    ),
    ToolSpec(
        "list_runs", "List runs",
        "Recent runs of your namespace, newest first, optionally only of one status or task.",
        Scope.READ, _list_runs,
        {"status": {"type": "string", "enum": [s.value for s in RunStatus]},
         "task": _NAME | {"description": "Only runs of this task."},
         "limit": {"type": "integer", "minimum": 1, "maximum": 100, "default": 20}},
    ),
    ToolSpec(
        "signal_run", "Signal a run",
        "Send a signal to a run: a run waiting for it (its waiting_for is {'kind': 'signal', "
        "'name': ...}) takes the data and goes on at once; otherwise the signal is kept for "
        "the run's next wait of that name. A finished run takes no signals. Returns the run.",
        Scope.WRITE, _signal_run,
        {"id": {"type": "integer", "minimum": 1, "description": "The run id."},
         "name": _NAME | {"description": "The signal's name, e.g. 'approve'."},
         "data": {"description": "The signal's data: any JSON value (default: null), e.g. "
                  "{'approved': true}."}},
        ("id", "name"),
    ),
    ToolSpec(
        "record_activity", "Record activity",
        "Record that a subject (a user, a conversation: 'user:42') was active now. A 'message' "
        "counts towards 'after N messages' triggers; any activity restarts 'idle' triggers.",
        Scope.WRITE, _record_activity,
        {"subject": {"type": "string", "minLength": 1, "maxLength": 256,
                     "description": "Who was active, e.g. 'user:42'."},
         "kind": {"type": "string", "maxLength": 32, "default": "message",
                  "description": "What happened: 'message' (default), 'login', 'page.view'..."}},
        ("subject",),
    ),
)  # fmt: skip
