"""MkDocs hooks (``hooks:`` in mkdocs.yml): the reference pages made from the code at build time.

- ``reference/cli.md``: rendered from the Typer app (``scripts/gen_cli_docs.py``); no file
  in the repository, so it cannot go stale.
- ``http.md``: rendered from the API's OpenAPI document (``scripts/gen_http_docs.py``). The
  committed ``docs/http.md`` (read on GitHub too) must be the same text: when it is not, a
  warning names the command that rewrites it, and ``mkdocs build --strict`` fails.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Any

from mkdocs.structure.files import File, Files

sys.path.insert(0, str(Path(__file__).resolve().parent))

import gen_cli_docs
import gen_http_docs

log = logging.getLogger("mkdocs.hooks.agentcron")


def on_files(files: Files, config: Any) -> Files:
    files.append(File.generated(config, "reference/cli.md", content=gen_cli_docs.render()))
    http = gen_http_docs.render(gen_http_docs.schema())
    committed = files.get_file_from_path("http.md")
    if committed is not None:
        if Path(committed.abs_src_path or "").read_text() != http:
            log.warning(
                "docs/http.md differs from the API's OpenAPI document: "
                "run `python scripts/gen_http_docs.py` and commit docs/http.md"
            )
        files.remove(committed)
    files.append(File.generated(config, "http.md", content=http))
    return files
