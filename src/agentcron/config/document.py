"""A config file read into data, the line of each key, and the problems found in it.

Every problem is one line, ``file:line: where: field: message``, collected in file order;
`Document.raise_problems` raises them all at once as one `ConfigError`. A file that cannot be
read or parsed at all is one problem (with the line and column of a syntax error).
"""

from __future__ import annotations

import difflib
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from agentcron.errors import ConfigError

__all__ = ["Document", "KeyPath", "close_match", "where"]

KeyPath = tuple[str | int, ...]
TOP_FIELDS = frozenset({"agentcron", "task", "schedule"})


def close_match(key: object, allowed: Iterable[str]) -> str | None:
    """The allowed key ``key`` most likely misspells, or None."""
    if not isinstance(key, str):
        return None
    found = difflib.get_close_matches(key, sorted(allowed), n=1)
    return found[0] if found else None


def where(kind: str, index: int, entry: Any, *, keys: tuple[str, ...] = ("name",)) -> str:
    """``schedule[2] "digest": `` (1-based; the entry's name when it has a readable one)."""
    name = next((entry.get(k) for k in keys if isinstance(entry, Mapping) and entry.get(k)), None)
    label = f"{kind}[{index + 1}]"
    return f'{label} "{name}": ' if isinstance(name, str) else f"{label}: "


@dataclass
class Document:
    """A parsed file: its data, the line of each key path, and the problems found so far."""

    path: Path
    data: dict[str, Any]
    lines: dict[KeyPath, int]
    found: list[tuple[int, str]] = field(default_factory=list)
    bad: set[KeyPath] = field(default_factory=set)  # the key paths that have a problem

    @property
    def problems(self) -> list[str]:
        """Every problem so far, in file order."""
        return [text for _, text in sorted(self.found, key=lambda item: item[0])]

    @classmethod
    def read(cls, path: Path) -> Document:
        """Read and parse ``path``; raises `ConfigError` when that alone fails."""
        text = _read_text(path)
        try:
            if path.suffix.lower() in (".yaml", ".yml"):
                data, lines = _parse_yaml(text, path)
            else:
                data, lines = _parse_toml(text, path)
        except RecursionError:
            raise _one(f"{path}: the file is nested too deeply to read") from None
        doc = cls(path, data, lines)
        doc.check_keys(data, (), TOP_FIELDS, "")
        return doc

    def line(self, at: KeyPath) -> int | None:
        """The line of ``at``, else of the nearest enclosing key that has one."""
        for end in range(len(at), -1, -1):
            if at[:end] in self.lines:
                return self.lines[at[:end]]
        return None

    def add(self, at: KeyPath, text: str) -> None:
        """Note a problem at ``at``; ``text`` is ``where: field: message``."""
        self.bad.add(at)
        line = self.line(at)
        place = f"{self.path}:{line}" if line else str(self.path)
        self.found.append((line or 0, f"{place}: {' '.join(text.split())}"))

    def check_keys(
        self, data: Mapping[Any, Any], at: KeyPath, allowed: Iterable[str], where: str
    ) -> dict[str, Any]:
        """Note each key of ``data`` not in ``allowed``; return ``{meant: written}`` for the
        unknown keys that misspell an allowed one (a required key is then not reported
        missing as well)."""
        allowed = frozenset(allowed)
        meant: dict[str, Any] = {}
        for key in data:
            if key in allowed:
                continue
            close = close_match(key, allowed)
            hint = f" (did you mean {close!r}?)" if close else ""
            name = key if isinstance(key, str) else repr(key)
            self.add((*at, str(key)), f"{where}{name}: unknown key{hint}")
            if close is not None and close not in data:
                meant.setdefault(close, key)
        return meant

    def raise_problems(self) -> None:
        """Raise every problem found as one `ConfigError` (nothing when there is none)."""
        if self.found:
            count = len(self.found)
            summary = f"{self.path}: {count} problem{'s' if count > 1 else ''}"
            raise ConfigError(summary, problems=self.problems)


def _one(problem: str) -> ConfigError:
    return ConfigError(problem, problems=[problem])


def _read_text(path: Path) -> str:
    try:
        return path.read_text("utf-8")
    except IsADirectoryError:
        reason = "is a folder, not a file"
    except FileNotFoundError:
        reason = "no such file"
    except PermissionError:
        reason = "permission denied"
    except UnicodeDecodeError as exc:
        reason = f"not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at offset {exc.start})"
    except OSError as exc:
        reason = exc.strerror or str(exc)
    raise _one(f"{path}: cannot read the config file: {reason}")


# -- TOML, with the line of each key -----------------------------------------------------------
_TOML_AT = re.compile(r"\s*\(at line (\d+), column (\d+)\)\s*$")
_TOML_HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?")
_TOML_KEY = re.compile(r"""^\s*["']?([A-Za-z0-9_-]+)["']?\s*[=.]""")


def _parse_toml(text: str, path: Path) -> tuple[dict[str, Any], dict[KeyPath, int]]:
    try:
        data = tomllib.loads(text)
    except (tomllib.TOMLDecodeError, ValueError) as exc:
        message = str(exc)
        match = _TOML_AT.search(message)
        place = f"{match[1]}:{match[2]}" if match else "?"
        if match is None and message.endswith("(at end of document)"):
            place, message = str(max(1, len(text.splitlines()))), message[:-20]
        reason = _TOML_AT.sub("", message).strip()
        raise _one(f"{path}:{place}: invalid TOML: {reason}") from None
    return data, _toml_lines(text)


def _toml_lines(text: str) -> dict[KeyPath, int]:
    """Line of each table header and key, found by scanning (tomllib keeps no positions)."""
    lines: dict[KeyPath, int] = {}
    table: KeyPath = ()
    arrays: dict[str, int] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        header = _TOML_HEADER.match(line)
        if header:
            parts = tuple(p.strip().strip("\"'") for p in header[2].split("."))
            name = ".".join(parts)
            if header[1] == "[[":
                arrays[name] = arrays.get(name, 0) + 1
                lines.setdefault(parts, number)
                table = (*parts, arrays[name] - 1)
            elif parts[0] in arrays and len(parts) > 1:  # [schedule.args] of the last entry
                table = (parts[0], arrays[parts[0]] - 1, *parts[1:])
            else:
                table = parts
            lines.setdefault(table, number)
            continue
        key = _TOML_KEY.match(line)
        if key:
            lines.setdefault((*table, key[1]), number)
    return lines


# -- YAML, with the line of each key -----------------------------------------------------------
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when PyYAML has it


def _parse_yaml(text: str, path: Path) -> tuple[dict[str, Any], dict[KeyPath, int]]:
    loader = _YAML_LOADER(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        place = f"{mark.line + 1}:{mark.column + 1}" if mark else "?"
        reason = exc.problem or exc.context or "syntax error"
        raise _one(f"{path}:{place}: invalid YAML: {reason}") from None
    except (yaml.YAMLError, ValueError, TypeError, OverflowError) as exc:
        raise _one(f"{path}: invalid YAML: {exc}") from None
    finally:
        loader.dispose()
    if data is None or node is None:
        return {}, {}
    if not isinstance(data, dict):
        raise _one(f"{path}:1: the file must hold a mapping of keys (agentcron, task, schedule)")
    lines: dict[KeyPath, int] = {}
    _yaml_lines(node, (), lines)
    return _string_keys(data), lines


def _string_keys(value: Any) -> Any:
    """Keys as text, as in TOML and JSON (YAML reads ``0:`` or ``true:`` as other types)."""
    if isinstance(value, dict):
        return {str(k): _string_keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_string_keys(v) for v in value]
    return value


def _yaml_lines(node: yaml.Node, at: KeyPath, out: dict[KeyPath, int]) -> None:
    out.setdefault(at, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            here = (*at, str(key.value))
            out.setdefault(here, key.start_mark.line + 1)
            _yaml_lines(value, here, out)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _yaml_lines(item, (*at, index), out)
