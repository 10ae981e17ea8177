"""Render the CLI reference (Markdown) from the Typer app itself: every command with its usage,
arguments and options, as ``agentcron COMMAND --help`` states them.

    python scripts/gen_cli_docs.py            # print it

The docs site builds its CLI page with `render` at build time (``scripts/mkdocs_hooks.py``),
so the page can never disagree with the commands.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import Any

import typer.main

# Typer's command objects, duck-typed: older Typer builds them on click, newer Typer on a
# click of its own (``typer._click``); both have the same shape.
Command = Any
Context = Any

HEADER = """# CLI reference

Generated from the `agentcron` command itself when the site is built; `agentcron COMMAND -h`
prints the same. Every command finds its database from `--db`, `AGENTCRON_DB`, `--config
FILE`, `AGENTCRON_CONFIG`, `./agentcron.toml|yaml|yml`, then `sqlite:///agentcron.db`. Bad
input exits with code 2 and one line on stderr; nothing is stored.
"""


def render() -> str:
    """The reference of every visible command, in the order ``--help`` lists them."""
    from agentcron.cli import app

    root = typer.main.get_command(app)
    context = root.make_context("agentcron", [], resilient_parsing=True)
    lines = [HEADER]
    for command, ctx in _walk(root, context):
        lines += _command(command, ctx)
    return "\n".join(lines).rstrip() + "\n"


def _walk(command: Command, ctx: Context) -> Iterator[tuple[Command, Context]]:
    yield command, ctx
    if not _is_group(command):
        return
    for name in command.list_commands(ctx):
        sub = command.get_command(ctx, name)
        if sub is None or sub.hidden:
            continue
        yield from _walk(sub, sub.make_context(name, [], parent=ctx, resilient_parsing=True))


def _command(command: Command, ctx: Context) -> list[str]:
    usage = " ".join([ctx.command_path, *command.collect_usage_pieces(ctx)])
    lines = [f"## `{ctx.command_path}`\n", f"```\n{usage}\n```\n"]
    if command.help:
        lines.append(_paragraphs(command.help) + "\n")
    rows = [row for param in command.get_params(ctx) if (row := _row(param, ctx)) is not None]
    if rows:
        lines += ["| argument or option | description |", "|---|---|", *rows, ""]
    if _is_group(command):
        names = [n for n in command.list_commands(ctx) if not _hidden(command, ctx, n)]
        subs = ", ".join(f"[`{n}`](#{_anchor(ctx.command_path, n)})" for n in names)
        lines.append(f"Commands: {subs}\n")
    if command.epilog:
        lines.append(_paragraphs(command.epilog) + "\n")
    return lines


def _row(param: Any, ctx: Context) -> str | None:
    if param.param_type_name == "argument":
        text = getattr(param, "help", None) or ""
        required = "  [required]" if param.required else ""
        return f"| `{str(param.name).upper()}` | {_cell(text + required)} |"
    record = param.get_help_record(ctx)
    if record is None or param.name == "help":
        return None
    names, text = record
    return f"| `{names}` | {_cell(text)} |"


def _is_group(command: Command) -> bool:
    return hasattr(command, "list_commands")


def _hidden(group: Command, ctx: Context, name: str) -> bool:
    sub = group.get_command(ctx, name)
    return sub is None or sub.hidden


def _anchor(path: str, name: str) -> str:
    """MkDocs' id of the ``## `PATH NAME` `` heading."""
    return f"{path} {name}".replace(" ", "-").lower()


def _paragraphs(text: str) -> str:
    return "\n\n".join(" ".join(p.split()) for p in text.replace("\b", "").split("\n\n"))


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


if __name__ == "__main__":
    sys.stdout.write(render())
