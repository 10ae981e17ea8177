"""Code a config names: ``task = "module:function"`` in a schedule (an undecorated function,
imported because the config names it), and a package in ``tasks`` (every submodule)."""

from __future__ import annotations

import sys
import textwrap
import uuid
from pathlib import Path

import pytest

from agentcron import App, ConfigError
from agentcron.config import ENV_VARS, load_config
from agentcron.tasks import default_registry

JOBS = """
import agentcron

def cleanup_inbox(folder, days=7):
    "Delete old mail."
    return f"{folder}:{days}"

async def summarize(*, subject=None, ctx: agentcron.RunContext):
    return ctx.task

class Jobs:
    @staticmethod
    def nightly(limit: int = 10) -> int:
        return limit

LIMIT = 5

@agentcron.task(name="mail:send")
def send() -> None: ...
"""


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch) -> None:
    """No AGENTCRON_* from outside; sys.path and the process-wide task registry restored
    after each test, which starts without the tasks other tests registered."""
    for name in ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.setattr(default_registry, "_tasks", {})


@pytest.fixture
def jobs(tmp_path: Path) -> str:
    """A fresh module of plain functions next to the config; its name."""
    module = f"cfgc_jobs_{uuid.uuid4().hex[:8]}"
    (tmp_path / f"{module}.py").write_text(JOBS)
    return module


def config(tmp_path: Path, text: str, jobs: str) -> Path:
    path = tmp_path / "agentcron.toml"
    path.write_text(textwrap.dedent(text).lstrip().replace("{jobs}", jobs))
    return path


def problems(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_config(path)
    return [line.replace(f"{path}:", "") for line in info.value.problems]


# -- module:function ---------------------------------------------------------------------------
def test_a_function_path_is_imported_and_registered_under_that_name(
    tmp_path: Path, jobs: str
) -> None:
    path = config(tmp_path, """
        [[schedule]]
        name = "positional"
        task = "{jobs}:cleanup_inbox"
        trigger = "every 1h"
        args = ["inbox", 30]

        [[schedule]]
        name = "keywords"
        task = "{jobs}:cleanup_inbox"
        trigger = "every 1d"
        args = { folder = "spam" }

        [[schedule]]
        task = "{jobs}:Jobs.nightly"
        trigger = "@daily"

        [[schedule]]
        task = "{jobs}:summarize"
        trigger = "manual"
        args = { subject = "user:1" }
        """, jobs)  # fmt: skip
    loaded = load_config(path)
    names = [f"{jobs}:cleanup_inbox", f"{jobs}:Jobs.nightly", f"{jobs}:summarize"]
    assert [t.name for t in loaded.tasks] == names
    cleanup, nightly, summarize = loaded.tasks
    assert cleanup.fn(*loaded.schedules[0].spec.args) == "inbox:30"
    assert (cleanup.retry.retries, cleanup.queue, cleanup.priority, cleanup.timeout) == (
        0, "default", 0, None
    )  # fmt: skip
    assert cleanup.description == "Delete old mail."
    assert nightly.fn() == 10
    assert (summarize.is_async, summarize.takes_ctx) == (True, True)
    assert [b.spec.args for b in loaded.schedules] == [
        ["inbox", 30], {"folder": "spam"}, {}, {"subject": "user:1"}
    ]  # fmt: skip
    assert loaded.schedules[2].spec.name == f"{jobs}:Jobs.nightly"  # the name defaults to it
    assert not any(name in default_registry for name in names)  # only the config's app has it
    app = App.from_config(loaded, f"sqlite:///{tmp_path / 'x.db'}")
    assert set(names) <= set(app.registry.names())


def test_function_path_problems(tmp_path: Path, jobs: str) -> None:
    path = config(tmp_path, """
        [[schedule]]
        task = "{jobs}:cleanup_inbx"
        trigger = "every 1h"

        [[schedule]]
        task = "{jobs}:LIMIT"
        trigger = "every 1h"

        [[schedule]]
        task = "{jobs}:Jobs"
        trigger = "every 1h"

        [[schedule]]
        task = "cfgc_no_such_module:run"
        trigger = "every 1h"

        [[schedule]]
        name = "misfit"
        task = "{jobs}:cleanup_inbox"
        trigger = "every 1h"
        args = { folder = "x", dayz = 3 }
        """, jobs)  # fmt: skip
    assert problems(path) == [
        f"2: schedule[1] \"{jobs}:cleanup_inbx\": task: '{jobs}:cleanup_inbx': module "
        f"'{jobs}' has no function 'cleanup_inbx' (did you mean 'cleanup_inbox'?)",
        f"6: schedule[2] \"{jobs}:LIMIT\": task: '{jobs}:LIMIT' is an int, not a function",
        f"10: schedule[3] \"{jobs}:Jobs\": task: '{jobs}:Jobs' is a class, not a function",
        '14: schedule[4] "cfgc_no_such_module:run": task: cannot import module '
        "'cfgc_no_such_module': ModuleNotFoundError: No module named 'cfgc_no_such_module'",
        f'21: schedule[5] "misfit": args: do not fit {jobs}:cleanup_inbox(folder, days=7): got '
        "an unexpected keyword argument 'dayz' (did you mean 'days'?)",
    ]


def test_a_registered_name_with_a_colon_is_not_imported(tmp_path: Path, jobs: str) -> None:
    path = config(tmp_path, """
        [agentcron]
        tasks = ["{jobs}"]

        [[schedule]]
        task = "mail:send"
        trigger = "every 1h"
        """, jobs)  # fmt: skip
    loaded = load_config(path)
    assert loaded.tasks == []  # "mail:send" is the registered task, not module "mail"
    assert [b.spec.task for b in loaded.schedules] == ["mail:send"]


# -- packages in [agentcron] tasks -------------------------------------------------------------
def make_package(root: Path, files: dict[str, str]) -> str:
    name = f"cfgc_pkg_{uuid.uuid4().hex[:8]}"
    for relative, text in files.items():
        target = root / name / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text.replace("{pkg}", name))
    return name


def _task(name: str) -> str:
    return f"import agentcron\n\n@agentcron.task(name='{name}')\ndef run() -> None: ...\n"


def test_a_package_imports_every_submodule(tmp_path: Path) -> None:
    tag = uuid.uuid4().hex[:8]
    package = make_package(tmp_path, {
        "__init__.py": "",
        "mail.py": _task(f"{tag}.mail"),
        "billing/__init__.py": "",
        "billing/invoices.py": _task(f"{tag}.invoices"),
        "billing/deep/__init__.py": _task(f"{tag}.deep"),
        "__main__.py": "raise SystemExit('__main__ must not be imported')\n",
    })  # fmt: skip
    path = tmp_path / "agentcron.toml"
    path.write_text(f'[agentcron]\ntasks = ["{package}"]\n\n[[schedule]]\ntask = "{tag}.deep"\n'
                    'trigger = "every 1h"\n')  # fmt: skip
    loaded = load_config(path)
    assert {f"{tag}.mail", f"{tag}.invoices", f"{tag}.deep"} <= set(default_registry.names())
    assert [b.spec.task for b in loaded.schedules] == [f"{tag}.deep"]
    assert f"{package}.__main__" not in sys.modules


def test_a_submodule_that_fails_to_import_is_one_problem_naming_it(tmp_path: Path) -> None:
    tag = uuid.uuid4().hex[:8]
    package = make_package(tmp_path, {
        "__init__.py": "",
        "good.py": _task(f"{tag}.good"),
        "jobs/__init__.py": "",
        "jobs/broken.py": "import cfgc_missing_dependency\n",
        "syntax.py": "def f(:\n",
    })  # fmt: skip
    path = tmp_path / "agentcron.toml"
    path.write_text(f'[agentcron]\ntasks = ["{package}"]\n')
    found = problems(path)
    assert found[0] == (
        f"2: [agentcron]: tasks: cannot import module '{package}.jobs.broken' (in package "
        f"'{package}'): ModuleNotFoundError: No module named 'cfgc_missing_dependency'"
    )
    assert found[1].startswith(
        f"2: [agentcron]: tasks: cannot import module '{package}.syntax' (in package "
        f"'{package}'): SyntaxError: "
    )
    assert len(found) == 2
    assert f"{tag}.good" in default_registry  # the others were imported all the same
