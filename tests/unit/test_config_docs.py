"""docs/config.md shows what agentcron does: its TOML and YAML examples parse, and its YouLab
example reads as the native equivalent it shows."""

from __future__ import annotations

import re
import sys
import tomllib
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from agentcron.config import ENV_VARS, load_config
from agentcron.tasks import default_registry

DOC = Path(__file__).resolve().parents[2] / "docs" / "config.md"
TOOLS = """
import agentcron

@agentcron.tool
def query_honcho(subject: str, question: str) -> str:
    return ""

@agentcron.tool
def edit_memory_block(subject: str, block: str, text: str) -> str:
    return ""
"""


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch) -> None:
    """No AGENTCRON_* from outside; sys.path and the process-wide task registry restored
    after each test, which starts without the tasks other tests registered."""
    for name in ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.setattr(default_registry, "_tasks", {})


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", DOC.read_text(), flags=re.DOTALL)


def test_every_example_parses() -> None:
    toml, yamls = blocks("toml"), blocks("yaml")
    assert len(toml) >= 5
    for text in toml:
        tomllib.loads(text)
    (first_yaml,) = yamls
    assert yaml.safe_load(first_yaml) == tomllib.loads(toml[0])


def test_the_youlab_example_reads_as_the_native_equivalent_shown(tmp_path: Path) -> None:
    youlab, native = next(
        (a, b) for a, b in zip(blocks("toml"), blocks("toml")[1:], strict=False)
        if "on_idle" in a
    )  # fmt: skip
    module = f"cfgd_tools_{uuid.uuid4().hex[:8]}"
    (tmp_path / f"{module}.py").write_text(TOOLS)
    path = tmp_path / "agentcron.toml"
    path.write_text(f'[agentcron]\ntasks = ["{module}"]\n\n[agentcron.llm]\nmodel = "m"\n\n'
                    + youlab)  # fmt: skip
    (form,) = load_config(path).native
    assert form.toml == native


@pytest.fixture
def myapp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The ``myapp`` package the first example names (removed from ``sys.modules`` after)."""
    package = tmp_path / "myapp"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "tasks.py").write_text(
        "import agentcron\n\n@agentcron.task\ndef digest(channel: str) -> str:\n"
        "    return channel\n"
    )
    (package / "jobs.py").write_text("def cleanup_inbox(folder, days=7):\n    return days\n")
    yield tmp_path
    for name in [m for m in sys.modules if m == "myapp" or m.startswith("myapp.")]:
        del sys.modules[name]


def test_the_first_example_loads_against_the_package_it_names(myapp: Path) -> None:
    path = myapp / "agentcron.toml"
    path.write_text(blocks("toml")[0])
    loaded = load_config(path)
    assert [(b.spec.task, b.spec.args) for b in loaded.schedules] == [
        ("digest", {"channel": "email"}), ("myapp.jobs:cleanup_inbox", ["inbox", 30])
    ]  # fmt: skip
    assert [t.name for t in loaded.tasks] == ["myapp.jobs:cleanup_inbox"]
