"""``--help`` written plainly: every command of the CLI is a `Command`.

Typer shows a type placeholder next to every argument (``TASK <str>``) and braces around
required ones in the usage line (``{TASK}``); here arguments read as click writes them,
``TASK`` (required) and ``[FILE]`` (optional), and options show their metavar (every option
of the CLI sets one). The help text itself is plain (``rich_markup_mode=None`` on every Typer
app), so that ``[[task]]`` or ``[FILE]`` in a help text is shown as written. An option
without a metavar shows its name (``--count COUNT``) rather than its type.
"""

from __future__ import annotations

import re
from typing import Any

from typer.core import TyperCommand

__all__ = ["Command"]

_REQUIRED = "  [required]"  # left out: the usage line says which arguments are required
_TYPE = re.compile(r" <[^<>]*>$")  # Typer's type placeholder: "--count <int range>"


class Command(TyperCommand):
    """A command whose help lists arguments and options without type placeholders."""

    # ``ctx`` and ``formatter`` are typed loosely: Typer brings its own copy of click, whose
    # classes differ from click's (and from one Typer version to the next).
    def collect_usage_pieces(self, ctx: Any) -> list[str]:
        pieces = [self.options_metavar] if self.options_metavar else []
        for param in self.get_params(ctx):
            if param.param_type_name == "argument":
                label = _label(param)
                pieces.append(label if param.required else f"[{label}]")
        return pieces

    def format_options(self, ctx: Any, formatter: Any) -> None:
        arguments: list[tuple[str, str]] = []
        options: list[tuple[str, str]] = []
        for param in self.get_params(ctx):
            record = param.get_help_record(ctx)
            if record is None:
                continue
            if param.param_type_name == "argument":
                text = record[1].removesuffix(_REQUIRED).removeprefix(_REQUIRED.strip())
                arguments.append((_label(param), text))
            else:  # an option without a metavar of its own is named after itself
                names = _TYPE.sub(" " + _label(param), record[0])
                options.append((names, record[1]))
        for title, rows in (("Arguments", arguments), ("Options", options)):
            if rows:
                with formatter.section(title):
                    formatter.write_dl(rows)


def _label(param: Any) -> str:
    return param.metavar or (param.name or "").upper()
