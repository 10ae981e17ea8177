"""Write docs/http.md, the HTTP reference, from the API's own OpenAPI document.

    python scripts/gen_http_docs.py            # rewrite docs/http.md
    python scripts/gen_http_docs.py --check    # exit 1 when docs/http.md is out of date
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from agentcron import App
from agentcron.api import create_api

OUT = Path(__file__).resolve().parent.parent / "docs" / "http.md"
HEADER = """# HTTP reference

Generated from `/openapi.json` by `scripts/gen_http_docs.py`; do not edit by hand. Every
request needs `Authorization: Bearer <token>` once a token exists (see `agentcron tokens`),
except `/healthz`. Times are ISO 8601 UTC; lists are `{"items": [...], "next_cursor": ...}`
(pass `cursor=` for the next page); errors are `{"error": {"code", "message", "field"}}` with
400/401/403/404/409/422.
"""


def render(spec: dict[str, Any]) -> str:
    lines = [HEADER]
    for path, operations in sorted(spec["paths"].items()):
        for method, op in operations.items():
            lines.append(f"## `{method.upper()} {path}`\n")
            lines.append((op.get("summary") or "") + "\n")
            if op.get("description"):
                lines.append(op["description"].strip() + "\n")
            params = op.get("parameters", [])
            if params:
                lines.append("| parameter | in | required | description |\n|---|---|---|---|")
                for p in params:
                    desc = (p.get("description") or "").replace("\n", " ")
                    lines.append(f"| `{p['name']}` | {p['in']} | {p.get('required', False)} | {desc} |")
                lines.append("")
            body = op.get("requestBody", {}).get("content", {}).get("application/json")
            if body:
                lines.append(f"Body: `{_ref(body.get('schema', {}))}`\n")
            codes = ", ".join(sorted(op.get("responses", {})))
            lines.append(f"Responses: {codes}\n")
    schemas = spec.get("components", {}).get("schemas", {})
    if schemas:
        lines.append("## Schemas\n")
        for name, schema in sorted(schemas.items()):
            lines.append(f"### `{name}`\n\n```json\n{json.dumps(_fields(schema), indent=2)}\n```\n")
    return "\n".join(lines)


def _ref(schema: dict[str, Any]) -> str:
    return str(schema.get("$ref", schema.get("type", "object"))).rsplit("/", 1)[-1]


def _fields(schema: dict[str, Any]) -> dict[str, str]:
    props = schema.get("properties", {})
    return {k: _ref(v) if "$ref" in v else str(v.get("type", "any")) for k, v in props.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    text = render(create_api(App("sqlite:///:memory:", maintenance=False)).openapi())
    if args.check:
        return 0 if OUT.exists() and OUT.read_text() == text else 1
    OUT.write_text(text)
    print(f"wrote {OUT} ({len(text.splitlines())} lines)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
