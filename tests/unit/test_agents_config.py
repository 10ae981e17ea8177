"""``[[task]]`` in config files: built into tasks, every problem reported with its line."""

from __future__ import annotations

import sys
import textwrap
import uuid
from pathlib import Path

import pytest

from agentcron import App, ConfigError
from agentcron.agents import tool
from agentcron.agents.llm import DEFAULT_BASE_URL
from agentcron.config import ENV_VARS, Config, load_config

TOOLS_MODULE = """
import agentcron
from agentcron.agents import tool

@tool
def {p}lookup(subject: str) -> dict:
    return {{"subject": subject}}

@agentcron.task
def {p}record(subject: str, grade: str) -> None:
    pass
"""


@tool
def agtc_ping() -> str:
    """Answer pong."""
    return "pong"


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(sys, "path", list(sys.path))


def write(tmp_path: Path, text: str) -> tuple[Path, str]:
    """A config beside a fresh tools module; ``{module}`` and ``{p}`` (name prefix) in text."""
    tag = uuid.uuid4().hex[:8]
    module, prefix = f"agtc_tools_{tag}", f"t{tag}_"
    (tmp_path / f"{module}.py").write_text(TOOLS_MODULE.format(p=prefix))
    path = tmp_path / "agentcron.toml"
    path.write_text(textwrap.dedent(text).lstrip().format(module=module, p=prefix))
    return path, prefix


def problems(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_config(path)
    return [p.replace(f"{path}:", "") for p in info.value.problems]


def test_agent_and_graph_tasks_are_built_and_registered(tmp_path: Path) -> None:
    (tmp_path / "agtc_graphs.py").write_text(
        "class G:\n    async def ainvoke(self, state):\n        return state\ngraph = G()\n"
    )
    path, p = write(tmp_path, """
        [agentcron]
        tasks = ["{module}"]

        [agentcron.llm]
        model = "gpt-4o-mini"
        base_url = "http://127.0.0.1:9/v1"

        [[task]]
        name = "grader"
        system = "You grade."
        prompt = "Grade {{subject}}"
        tools = ["{p}lookup", "{p}record", "agtc_ping"]
        retries = 3
        backoff = ["1s", "1m"]
        timeout = "60s"
        queue = "llm"
        priority = 5
        max_concurrency = 2

        [[task]]
        name = "triage"
        kind = "graph"
        graph = "agtc_graphs:graph"
        description = "Sort new signups."

        [[schedule]]
        task = "grader"
        trigger = "0 */6 * * *"
        for_each_subject = "user:"
        """)  # fmt: skip
    config = load_config(path)
    grader, triage = config.tasks
    assert grader.name == "grader"
    assert (grader.retry.retries, grader.queue, grader.priority) == (3, "llm", 5)
    assert grader.max_concurrency == 2
    assert grader.timeout is not None
    assert grader.timeout.total_seconds() == 60
    assert grader.retry.backoff.cap.total_seconds() == 60
    assert (grader.is_async, grader.takes_ctx) == (True, True)
    assert grader.description == f"agent: gpt-4o-mini with {p}lookup, {p}record, agtc_ping"
    assert triage.description == "Sort new signups."
    assert [b.spec.task for b in config.schedules] == ["grader"]

    app = App.from_config(config, f"sqlite:///{tmp_path / 'x.db'}")
    assert {"grader", "triage"} <= set(app.registry.names())


def test_unknown_tool_and_unknown_template_field(tmp_path: Path) -> None:
    path, p = write(tmp_path, """
        [agentcron]
        tasks = ["{module}"]

        [[task]]
        name = "grader"
        model = "m"
        prompt = "Grade {{user}}"
        tools = ["{p}lookup", "{p}lookpu"]
        """)  # fmt: skip
    assert problems(path) == [
        '7: task[1] "grader": prompt: unknown field {user}; use {args.NAME}, {subject}, '
        "{event.type} or {event.data.NAME}",
        f"8: task[1] \"grader\": tools: unknown tool '{p}lookpu': register it with "
        "@agentcron.tool or @agentcron.task in a module listed in [agentcron] tasks; "
        f"did you mean '{p}lookup'?",
    ]


def test_every_field_problem_is_reported(tmp_path: Path) -> None:
    path, _ = write(tmp_path, """
        [agentcron.llm]
        modle = "x"

        [[task]]
        kind = "agent"
        system = ""
        max_steps = 0
        temperature = 3
        retries = -1
        timeout = "soon"
        base_url = "127.0.0.1:8089"
        toolz = []

        [[task]]
        name = "bad kind"
        kind = "crew"

        [[task]]
        name = "g"
        kind = "graph"
        model = "m"
        """)  # fmt: skip
    assert problems(path) == [
        "2: [agentcron]: llm.modle: unknown key (did you mean 'model'?)",
        "4: task[1]: name: required",
        "4: task[1]: model: required (or set a default model in [agentcron.llm])",
        "6: task[1]: system: expected a non-empty string, got ''",
        "7: task[1]: max_steps: expected a whole number from 1 to 100, got 0",
        "8: task[1]: temperature: expected a number from 0 to 2, got 3",
        "9: task[1]: retries: expected a whole number from 0 to 1000, got -1",
        "10: task[1]: timeout: not a duration: 'soon' (examples: 500ms, 30s, 5m, 1h30m, PT1H30M)",
        "11: task[1]: base_url: '127.0.0.1:8089' is not an http(s) URL",
        "12: task[1]: toolz: unknown key (did you mean 'tools'?)",
        "15: task[2] \"bad kind\": name: 'bad kind' is not a valid name: 1-200 characters, "
        "letters, digits and _ . : @ / -, starting with a letter or digit",
        "16: task[2] \"bad kind\": kind: 'crew' is not one of: agent, graph",
        '18: task[3] "g": graph: required: the import path of a compiled graph, such as '
        "'mypkg.graphs:graph'",
        '21: task[3] "g": model: unknown key',
    ]


def test_graph_import_problems(tmp_path: Path) -> None:
    (tmp_path / "agtc_not_graphs.py").write_text("class Builder:\n    def compile(self): ...\n"
                                                 "builder = Builder()\n")  # fmt: skip
    path, _ = write(tmp_path, """
        [[task]]
        name = "a"
        kind = "graph"
        graph = "agtc_no_such_module:graph"

        [[task]]
        name = "b"
        kind = "graph"
        graph = "agtc_not_graphs:builder"

        [[task]]
        name = "c"
        kind = "graph"
        graph = "agtc_not_graphs"
        """)  # fmt: skip
    assert problems(path) == [
        "4: task[1] \"a\": graph: cannot import module 'agtc_no_such_module': "
        "ModuleNotFoundError: No module named 'agtc_no_such_module'",
        "9: task[2] \"b\": graph: 'agtc_not_graphs:builder' is a Builder, not a compiled graph "
        "(no invoke/ainvoke); call .compile() on the StateGraph",
        "14: task[3] \"c\": graph: 'agtc_not_graphs' is not an import path like "
        "'mypkg.graphs:graph'",
    ]


def test_name_clashes_and_schedules_of_declared_tasks(tmp_path: Path) -> None:
    path, p = write(tmp_path, """
        [agentcron]
        tasks = ["{module}"]

        [[task]]
        name = "{p}record"
        model = "m"

        [[task]]
        name = "grader"
        model = "m"

        [[task]]
        name = "grader"
        model = "m"

        [[schedule]]
        task = "grder"
        trigger = "manual"
        """)  # fmt: skip
    assert problems(path) == [
        f"5: task[1] \"{p}record\": name: '{p}record' is already a registered task",
        "13: task[3] \"grader\": name: 'grader' is used twice",
        "17: schedule[1] \"grder\": task: task 'grder' is not registered (is its module in "
        "[agentcron] tasks?); did you mean 'grader'?",
    ]


def test_endpoint_precedence_and_api_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def endpoint(text: str) -> tuple[str, str | None, str | None]:
        path = tmp_path / "agentcron.toml"
        path.write_text(textwrap.dedent(text))
        (declared,) = load_config(path).tasks
        spec = declared.fn.__closure__[0].cell_contents  # type: ignore[union-attr]
        e = spec.endpoint
        return e.base_url, e.api_key, e.api_key_env

    plain = '[[task]]\nname = "a"\nmodel = "m"\n'
    assert endpoint(plain) == (DEFAULT_BASE_URL, None, "OPENAI_API_KEY")
    monkeypatch.setenv("OPENAI_BASE_URL", "http://openai-env/v1")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-default")
    assert endpoint(plain) == ("http://openai-env/v1", "sk-default", "OPENAI_API_KEY")
    settings = '[agentcron.llm]\nbase_url = "http://settings/v1"\napi_key_env = "MY_KEY"\n'
    assert endpoint(settings + plain) == ("http://settings/v1", None, "MY_KEY")
    monkeypatch.setenv("AGENTCRON_LLM_BASE_URL", "http://agentcron-env/v1")
    monkeypatch.setenv("MY_KEY", "sk-mine")
    assert endpoint(settings + plain) == ("http://agentcron-env/v1", "sk-mine", "MY_KEY")
    own = plain + 'base_url = "http://own/v1"\napi_key_env = "OPENAI_API_KEY"\n'
    assert endpoint(settings + own) == ("http://own/v1", "sk-default", "OPENAI_API_KEY")
    assert "sk-" not in repr(load_config(tmp_path / "agentcron.toml").tasks[0].fn.__closure__)


def test_yaml_tasks(tmp_path: Path) -> None:
    path = tmp_path / "agentcron.yaml"
    path.write_text(textwrap.dedent("""
        agentcron:
          llm: {model: m}
        task:
          - name: ok
            tools: [agtc_ping]
          - name: bad
            prompt: "{nope}"
        """))  # fmt: skip
    assert problems(path) == [
        '8: task[2] "bad": prompt: unknown field {nope}; use {args.NAME}, {subject}, '
        "{event.type} or {event.data.NAME}"
    ]
    assert Config().tasks == []


def test_max_recoveries_is_a_task_option(tmp_path: Path) -> None:
    """How often a run whose worker died is queued again (default 3), per ``[[task]]``."""
    path, _ = write(tmp_path, """
        [agentcron]
        tasks = ["{module}"]

        [[task]]
        name = "careful"
        model = "m"
        prompt = "Go"
        max_recoveries = 0

        [[task]]
        name = "plain"
        model = "m"
        prompt = "Go"

        [[task]]
        name = "wrong"
        model = "m"
        prompt = "Go"
        max_recoveries = -1
    """)  # fmt: skip
    assert problems(path) == [
        '19: task[3] "wrong": max_recoveries: expected a whole number from 0 to 1000, got -1'
    ]
    path.write_text(path.read_text().rsplit("[[task]]", 1)[0])
    built = {task.name: task for task in load_config(path).tasks}
    assert built["careful"].max_recoveries == 0
    assert built["plain"].max_recoveries == 3
    assert built["careful"].to_dict()["max_recoveries"] == 0
