"""The documentation site builds with ``mkdocs build --strict`` (any warning fails: a broken
link, a page left out of the nav, a docstring mkdocstrings cannot read, a stale docs/http.md),
its generated references are there, and no page loads anything from another host.

Skipped, loudly, without the docs extra (``pip install -e '.[docs]'``; ``dev`` includes it).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.docs

ROOT = Path(__file__).resolve().parents[2]
_ASSET = re.compile(
    r"""<(?:script|img|iframe|source)\b[^>]*\bsrc=["']([^"']+)["']"""
    r"""|<link\b[^>]*\bhref=["']([^"']+)["'][^>]*>""",
    re.IGNORECASE,
)
_CSS_URL = re.compile(r"""(?:@import\s+|url\()\s*["']?((?:https?:)?//[^"')\s]+)""")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("mkdocs", reason="DOCS SITE NOT BUILT: pip install -e '.[docs]'")
    pytest.importorskip("material", reason="DOCS SITE NOT BUILT: pip install -e '.[docs]'")
    out = tmp_path_factory.mktemp("site")
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )  # fmt: skip
    assert done.returncode == 0, f"mkdocs build --strict failed:\n{done.stdout}\n{done.stderr}"
    return out


def test_cli_reference_is_generated_from_the_cli(site: Path) -> None:
    from typer.main import get_command

    from agentcron.cli import app

    html = (site / "reference" / "cli" / "index.html").read_text()
    root = get_command(app)
    context = root.make_context("agentcron", [], resilient_parsing=True)
    names = root.list_commands(context)  # type: ignore[attr-defined]
    assert len(names) >= 10
    for name in names:
        assert f"agentcron {name}</code>" in html, name
    assert "agentcron schedules add" in html
    assert "--trigger" in html


def test_rest_reference_has_every_route_of_the_api(site: Path) -> None:
    from agentcron import App
    from agentcron.api import create_api

    html = (site / "http" / "index.html").read_text()
    spec = create_api(App("sqlite:///:memory:", maintenance=False)).openapi()
    for path, operations in spec["paths"].items():
        for method in operations:
            assert f"{method.upper()} {path}" in html, (method, path)


def test_python_reference_documents_the_public_names(site: Path) -> None:
    html = (site / "reference" / "python" / "index.html").read_text()
    for name in ("App", "enqueue", "record_activity", "RunContext", "RunStatus", "PermanentError"):
        assert name in html, name


def test_coming_from_pages_are_built(site: Path) -> None:
    for page in ("apscheduler", "rq", "celery-beat", "agent-schedulers"):
        assert (site / "coming-from" / page / "index.html").is_file(), page


def test_no_page_loads_anything_from_another_host(site: Path) -> None:
    foreign = [f"{page.relative_to(site)}: {url}" for page, url in _assets(site) if _remote(url)]
    assert foreign == []


def _assets(site: Path) -> Iterator[tuple[Path, str]]:
    for page in site.rglob("*.html"):
        for src, href in _ASSET.findall(page.read_text(errors="replace")):
            yield page, src or href
    for sheet in site.rglob("*.css"):
        for url in _CSS_URL.findall(sheet.read_text(errors="replace")):
            yield sheet, url


def _remote(url: str) -> bool:
    return url.startswith(("http://", "https://", "//"))
