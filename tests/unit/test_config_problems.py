"""Every way a config file can be wrong is one line per problem with its place in the file
(``file:line: where: field: message``), all of them in one pass, and never a traceback."""

from __future__ import annotations

import re
import sys
import textwrap
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from agentcron import ConfigError
from agentcron.config import ENV_VARS, Config, load_config
from agentcron.tasks import default_registry

TASKS = """
import sys
import agentcron

@agentcron.task
def {p}digest(channel: str = "email") -> str:
    return channel

@agentcron.task
def {p}add(a: int, b: int, *, ctx: agentcron.RunContext) -> int:
    return a + b

@agentcron.tool
def {p}lookup(subject: str) -> str:
    return subject
"""

Write = Callable[..., Path]


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch) -> None:
    """No AGENTCRON_* from outside; sys.path and the process-wide task registry restored
    after each test, which starts without the tasks other tests registered."""
    for name in ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.setattr(default_registry, "_tasks", {})


@pytest.fixture
def names() -> dict[str, str]:
    """A fresh task module name and task-name prefix (tasks register process-wide)."""
    tag = uuid.uuid4().hex[:8]
    return {"module": f"cfgp_tasks_{tag}", "p": f"t{tag}_"}


@pytest.fixture
def write(tmp_path: Path, names: dict[str, str]) -> Write:
    """``write(text, suffix=".toml")``: the config file (``{module}`` and ``{p}`` replaced),
    next to a fresh task module."""
    (tmp_path / f"{names['module']}.py").write_text(TASKS.replace("{p}", names["p"]))

    def make(text: str, suffix: str = ".toml") -> Path:
        path = tmp_path / f"agentcron{suffix}"
        text = textwrap.dedent(text).lstrip()
        path.write_text(text.replace("{module}", names["module"]).replace("{p}", names["p"]))
        return path

    return make


def problems(path: Path) -> list[str]:
    """The problem lines of ``path``, without the ``file:`` prefix (checked)."""
    with pytest.raises(ConfigError) as info:
        load_config(path)
    for line in info.value.problems:
        assert line.startswith(f"{path}:"), line
    return [line[len(f"{path}:") :] for line in info.value.problems]


# -- missing and misspelled keys ---------------------------------------------------------------
@pytest.mark.parametrize("suffix", [".toml", ".yaml"])
def test_a_misspelled_trigger_is_one_line_with_a_suggestion(write: Write, suffix: str) -> None:
    toml = """
        [agentcron]
        tasks = ["{module}"]

        [[schedule]]
        name = "tick"
        task = "{p}digest"
        triger = "every 10s"
        """
    yaml_text = """
        agentcron:
          tasks: ["{module}"]
        schedule:
          - name: tick
            task: "{p}digest"
            triger: every 10s
        """
    path = write(toml if suffix == ".toml" else yaml_text, suffix)
    line = 7 if suffix == ".toml" else 6
    assert problems(path) == [f"{line}: schedule[1] \"tick\": triger: unknown key "
                              "(did you mean 'trigger'?)"]  # fmt: skip


def test_missing_task_or_trigger_and_a_task_that_is_not_a_name(
    write: Write, names: dict[str, str]
) -> None:
    path = write("""
        [agentcron]
        tasks = ["{module}"]

        [[schedule]]
        name = "no-trigger"
        task = "{p}digest"

        [[schedule]]
        name = "no-task"
        trigger = "every 10s"
        misfire = "never"

        [[schedule]]
        name = "listed"
        task = ["{p}digest"]
        trigger = "every 10s"
        """)  # fmt: skip
    assert problems(path) == [
        "4: schedule[1] \"no-trigger\": trigger: required (such as 'every 5m', '0 9 * * 1-5', "
        "'idle 30m' or 'manual')",
        '8: schedule[2] "no-task": task: required (the name of a registered task, or '
        "'module:function')",
        "11: schedule[2] \"no-task\": misfire: 'never' is not one of: once, skip, all",
        f"15: schedule[3] \"listed\": task: ['{names['p']}digest'] is not a valid name: "
        "1-200 characters, letters, digits and _ . : @ / -, starting with a letter or digit",
    ]


def test_every_table_names_a_misspelled_key(write: Write, names: dict[str, str]) -> None:
    path = write("""
        [agentcron]
        tasks = ["{module}"]
        timezon = "UTC"

        [agentcron.llm]
        modle = "gpt-4o-mini"

        [[task]]
        name = "grader"
        model = "m"
        sytem = "You grade."

        [[schedule]]
        task = "{p}digest"
        trigger = "every 1h"
        misfir = "skip"
        """)  # fmt: skip
    assert problems(path) == [
        "3: [agentcron]: timezon: unknown key (did you mean 'timezone'?)",
        "6: [agentcron]: llm.modle: unknown key (did you mean 'model'?)",
        "11: task[1] \"grader\": sytem: unknown key (did you mean 'system'?)",
        f"16: schedule[1] \"{names['p']}digest\": misfir: unknown key (did you mean 'misfire'?)",
    ]


# -- args and prompts that cannot work --------------------------------------------------------
def test_args_must_fit_the_task_signature(write: Write, names: dict[str, str]) -> None:
    path = write("""
        [agentcron]
        tasks = ["{module}"]

        [[schedule]]
        name = "typo"
        task = "{p}digest"
        trigger = "manual"
        args = { chanel = "sms" }

        [[schedule]]
        name = "too-many"
        task = "{p}add"
        trigger = "manual"
        args = [1, 2, 3]

        [[schedule]]
        name = "too-few"
        task = "{p}add"
        trigger = "manual"
        args = [1]

        [[schedule]]
        name = "ctx"
        task = "{p}add"
        trigger = "manual"
        args = { a = 1, b = 2, ctx = 3 }

        [[schedule]]
        name = "positional"
        task = "{p}add"
        trigger = "manual"
        args = [1, 2]

        [[schedule]]
        name = "keywords"
        task = "{p}add"
        trigger = "manual"
        args = { b = 2, a = 1 }
        """)  # fmt: skip
    p = names["p"]
    assert problems(path) == [
        f"8: schedule[1] \"typo\": args: do not fit {p}digest(channel='email'): got an "
        "unexpected keyword argument 'chanel' (did you mean 'channel'?)",
        f'14: schedule[2] "too-many": args: do not fit {p}add(a, b): too many positional arguments',
        f'20: schedule[3] "too-few": args: do not fit {p}add(a, b): missing a required '
        "argument: 'b'",
        f"26: schedule[4] \"ctx\": args: 'ctx' is passed by agentcron, not in args ({p}add(a, b))",
    ]


PROMPTED = """
    [agentcron]
    tasks = ["{module}"]

    [agentcron.llm]
    model = "gpt-4o-mini"

    [[task]]
    name = "grader"
    prompt = "Grade {subject} on {args.topic} after {event.type}"
    tools = ["{p}lookup"]

    [[schedule]]
    task = "grader"
    {schedule}
    """


@pytest.mark.parametrize(
    ("schedule", "missing"),
    [
        ('trigger = "every 1h"', ["{subject}", "{args.topic}", "{event.type}"]),
        ('trigger = "every 1h"\nfor_each_subject = "user:"\nargs = { topic = "x" }',
         ["{event.type}"]),
        ('trigger = "idle 30m"', ["{args.topic}", "{event.type}"]),
        ('trigger = "on lesson.done for user:*"\nargs = { topic = "x" }', []),
        ('trigger = "on lesson.done"\nargs = { topic = "x" }', []),  # subject: maybe
        ('trigger = "manual"\nargs = { topic = "x" }', ["{subject}", "{event.type}"]),
    ],
)  # fmt: skip
def test_prompt_placeholders_a_schedule_cannot_fill(
    write: Write, schedule: str, missing: list[str]
) -> None:
    path = write(textwrap.dedent(PROMPTED).replace("{schedule}", schedule))
    if not missing:
        assert [b.spec.task for b in load_config(path).schedules] == ["grader"]
        return
    found = problems(path)
    assert [re.search(r"uses (\{[^}]+\})", line)[1] for line in found] == missing  # type: ignore[index]
    assert all(line.startswith('13: schedule[1] "grader": task: the prompt of ') for line in found)
    if "{subject}" in missing:
        assert found[0].endswith("have no subject (add for_each_subject to run once per subject)")


# -- files that cannot be read ------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("folder", None, "cannot read the config file: is a folder, not a file"),
        ("missing.toml", "", "cannot read the config file: no such file"),
        ("latin1.toml", b"x = '\xe9'\n", "cannot read the config file: not UTF-8 text (byte 0xe9 "
                                          "at offset 5)"),
        ("eof.toml", "[agentcron]\ntasks = [", "2: invalid TOML: Invalid value"),
        ("list.yaml", "- a\n- b\n", "1: the file must hold a mapping of keys (agentcron, task, "
                                     "schedule)"),
        ("nested.toml", "a = " + "[" * 5000 + "]" * 5000, "the file is nested too deeply to read"),
    ],
)  # fmt: skip
def test_files_that_cannot_be_read_are_one_line(
    tmp_path: Path, name: str, content: str | bytes | None, expected: str
) -> None:
    path = tmp_path / name
    if content is None:
        path.mkdir()
    elif isinstance(content, bytes):
        path.write_bytes(content)
    elif name != "missing.toml":
        path.write_text(content)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert info.value.problems == [f"{path}: {expected}".replace(f"{path}: 2:", f"{path}:2:")
                                   .replace(f"{path}: 1:", f"{path}:1:")]  # fmt: skip


def test_an_empty_file_is_a_valid_config(tmp_path: Path) -> None:
    for name in ("agentcron.toml", "agentcron.yaml"):
        (tmp_path / name).write_text("")
        assert load_config(tmp_path / name) == Config(path=tmp_path / name)


def test_modules_that_fail_to_import_are_named(tmp_path: Path) -> None:
    tag = uuid.uuid4().hex[:8]
    (tmp_path / f"cfgp_syntax_{tag}.py").write_text("def broken(:\n")
    (tmp_path / f"cfgp_exits_{tag}.py").write_text("import sys\nsys.exit(3)\n")
    (tmp_path / f"cfgp_jobs_{tag}.py").write_text("")
    path = tmp_path / "agentcron.toml"
    path.write_text(f'[agentcron]\ntasks = ["cfgp_syntax_{tag}", "cfgp_exits_{tag}", '
                    f'"cfgp_jbos_{tag}"]\n')  # fmt: skip
    lines = problems(path)
    assert lines[0].startswith(f"2: [agentcron]: tasks: cannot import module 'cfgp_syntax_{tag}'"
                               ": SyntaxError: invalid syntax (")  # fmt: skip
    assert lines[1:] == [
        f"2: [agentcron]: tasks: cannot import module 'cfgp_exits_{tag}': RuntimeError: the "
        "module called sys.exit(3) when imported",
        f"2: [agentcron]: tasks: cannot import module 'cfgp_jbos_{tag}' (did you mean "
        f"'cfgp_jobs_{tag}'?): ModuleNotFoundError: No module named 'cfgp_jbos_{tag}'",
    ]
