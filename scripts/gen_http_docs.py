"""Write docs/http.md, the HTTP reference, from the API's own OpenAPI document.

    python scripts/gen_http_docs.py            # rewrite docs/http.md
    python scripts/gen_http_docs.py --check    # exit 1 when docs/http.md is out of date

The docs site renders the same text at build time (``scripts/mkdocs_hooks.py``) and fails a
strict build when the committed docs/http.md differs from it.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parent.parent / "docs" / "http.md"
HEADER = """# HTTP reference

Generated from `/openapi.json` by `scripts/gen_http_docs.py`; do not edit by hand. A running
`agentcron serve` shows the same API at `/docs` (Swagger UI, served by agentcron itself).

Every request needs `Authorization: Bearer <token>` once a token exists (see `agentcron
tokens`), except `/healthz`. Times are ISO 8601 UTC; lists are `{"items": [...],
"next_cursor": ...}` (pass `cursor=` for the next page); errors are `{"error": {"code",
"message", "field"}}` with 400/401/403/404/409/413/422/503, each described once under
[Errors](#errors).
"""
_COMMON = {"400", "401", "403", "404", "409", "413", "422", "503"}


def schema() -> dict[str, Any]:
    """The OpenAPI document of an API with no tasks registered."""
    from agentcron import App
    from agentcron.api import create_api

    spec: dict[str, Any] = create_api(App("sqlite:///:memory:", maintenance=False)).openapi()
    return spec


def render(spec: dict[str, Any]) -> str:
    lines = [HEADER]
    for tag, operations in _by_tag(spec):
        lines.append(f"## {tag.capitalize()}\n")
        for path, method, op in operations:
            lines += _operation(path, method, op)
    lines += _errors(spec)
    schemas = spec.get("components", {}).get("schemas", {})
    if schemas:
        lines.append("## Schemas\n")
        for name, body in sorted(schemas.items()):
            lines += _schema(name, body)
    return "\n".join(lines).rstrip() + "\n"


def _by_tag(spec: dict[str, Any]) -> list[tuple[str, list[tuple[str, str, dict[str, Any]]]]]:
    """Operations grouped by their first tag, groups and operations in the API's order."""
    groups: dict[str, list[tuple[str, str, dict[str, Any]]]] = {}
    for path, operations in spec["paths"].items():
        for method, op in operations.items():
            tag = (op.get("tags") or ["other"])[0]
            groups.setdefault(tag, []).append((path, method, op))
    return list(groups.items())


def _operation(path: str, method: str, op: dict[str, Any]) -> list[str]:
    lines = [f"### `{method.upper()} {path}`\n", (op.get("summary") or "") + ".\n"]
    if op.get("description"):
        lines.append(_rst(op["description"]).strip() + "\n")
    params = op.get("parameters", [])
    if params:
        lines += ["| parameter | in | type | required | description |", "|---|---|---|---|---|"]
        for p in params:
            kind = _type(p.get("schema", {}))
            desc = _cell(p.get("description") or p.get("schema", {}).get("description") or "")
            required = "yes" if p.get("required") else ""
            lines.append(f"| `{p['name']}` | {p['in']} | {kind} | {required} | {desc} |")
        lines.append("")
    body = op.get("requestBody", {}).get("content", {}).get("application/json")
    if body:
        lines.append(f"Body: {_type(body.get('schema', {}))}\n")
    lines.append("Responses:\n")
    for code, answer in op.get("responses", {}).items():
        if code in _COMMON and code not in _success(op):
            continue
        content: dict[str, Any] = answer.get("content", {})
        shape = next(iter(content.values())).get("schema") if content else None
        what = f" {_type(shape)}" if shape else ""
        lines.append(f"- `{code}`{what} — {_cell(answer.get('description', ''))}")
    errors = sorted(code for code in op.get("responses", {}) if code in _COMMON)
    errors = [code for code in errors if code not in _success(op)]
    if errors:
        lines.append(f"- [errors](#errors): {', '.join(errors)}")
    lines.append("")
    return lines


def _success(op: dict[str, Any]) -> set[str]:
    return {code for code in op.get("responses", {}) if code.startswith("2")}


def _errors(spec: dict[str, Any]) -> list[str]:
    seen: dict[str, str] = {}
    for operations in spec["paths"].values():
        for op in operations.values():
            for code, answer in op.get("responses", {}).items():
                if code in _COMMON and not code.startswith("2"):
                    seen.setdefault(code, answer.get("description", ""))
    lines = ["## Errors\n", "Every error answers [`ErrorBody`](#errorbody).\n",
             "| status | when |", "|---|---|"]  # fmt: skip
    lines += [f"| {code} | {_cell(text)} |" for code, text in sorted(seen.items())]
    return [*lines, ""]


def _schema(name: str, body: dict[str, Any]) -> list[str]:
    lines = [f"### `{name}`\n"]
    if body.get("description"):
        lines.append(_rst(body["description"]).strip() + "\n")
    if "enum" in body:
        lines.append("One of: " + ", ".join(f"`{v}`" for v in body["enum"]) + "\n")
        return lines
    props = body.get("properties", {})
    if not props:
        return [*lines, f"Type: {_type(body)}\n"]
    required = set(body.get("required", []))
    lines += ["| field | type | required | description |", "|---|---|---|---|"]
    for field, prop in props.items():
        mark = "yes" if field in required else ""
        text = _cell(_rst(prop.get("description", "")))
        lines.append(f"| `{field}` | {_type(prop)} | {mark} | {text} |")
    return [*lines, ""]


def _type(schema: dict[str, Any] | None) -> str:
    """A short, linked type: ``ScheduleOut``, ``string | null``, ``array of RunOut``."""
    if not schema:
        return "any"
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return f"[`{name}`](#{name.lower()})"
    for key in ("anyOf", "oneOf", "allOf"):
        if key in schema:
            return " \\| ".join(_unique(_type(s) for s in schema[key]))
    return _plain_type(schema)


def _plain_type(schema: dict[str, Any]) -> str:
    """An array, an enum, a constant, or a JSON type."""
    kind = schema.get("type")
    if kind == "array":
        return f"array of {_type(schema.get('items'))}"
    if "enum" in schema:
        return " \\| ".join(f"`{v}`" for v in schema["enum"])
    if "const" in schema:
        return f"`{schema['const']}`"
    return f"`{kind}`" if kind else "any"


def _unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))


def _rst(text: str) -> str:
    """reStructuredText's double backticks (docstrings) as Markdown code."""
    return text.replace("``", "`")


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    text = render(schema())
    if args.check:
        return 0 if OUT.exists() and OUT.read_text() == text else 1
    OUT.write_text(text)
    print(f"wrote {OUT} ({len(text.splitlines())} lines)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
