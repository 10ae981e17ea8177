"""Importing the code a config names: the ``[agentcron] tasks`` modules (a package with all
its submodules) and the functions a schedule names as ``module:function``.

Only a config file, written by the operator, leads here; the REST API and MCP name
registered tasks only and never import anything.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import pkgutil
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

from agentcron.config.document import Document, close_match
from agentcron.config.model import Settings
from agentcron.errors import ValidationError

__all__ = ["import_function", "import_modules", "import_tree", "on_path"]


def on_path(doc: Document) -> None:
    """Put the config file's folder first on ``sys.path`` (its modules are found first)."""
    folder = str(doc.path.resolve().parent)
    if folder not in sys.path:
        sys.path.insert(0, folder)


def import_modules(doc: Document, settings: Settings) -> bool:
    """Import each module of ``settings.tasks`` (a package: every submodule too); note each
    module that fails in ``doc``. False when one failed."""
    on_path(doc)
    ok = True
    for name in settings.tasks:
        for module, reason in import_tree(name):
            ok = False
            inside = f" (in package {name!r})" if module != name else _hint(name, doc.path)
            text = f"cannot import module {module!r}{inside}: {reason}"
            doc.add(("agentcron", "tasks"), f"[agentcron]: tasks: {text}")
    return ok


def import_tree(name: str) -> list[tuple[str, str]]:
    """Import module ``name``; when it is a package, every submodule below it too (except
    ``__main__``). Returns ``(module, reason)`` for each module that failed."""
    try:
        module = _import(name)
    except Exception as exc:  # any error raised while importing the user's module
        return [(name, _reason(exc))]
    failed: list[tuple[str, str]] = []
    for info in pkgutil.iter_modules(getattr(module, "__path__", None) or [], name + "."):
        if not info.name.endswith(".__main__"):
            failed += import_tree(info.name)
    return failed


def import_function(path: str) -> Callable[..., Any]:
    """The function ``path`` names (``"myapp.jobs:cleanup_inbox"``; after the colon, a dotted
    path such as ``Jobs.cleanup`` is allowed). Raises `ValidationError` (field ``task``)."""
    module_name, _, attribute = path.partition(":")
    if not module_name or not attribute:
        raise ValidationError(f"{path!r} is not 'module:function'", field="task")
    try:
        found: Any = _import(module_name)
    except Exception as exc:  # any error raised while importing the user's module
        raise ValidationError(
            f"cannot import module {module_name!r}: {_reason(exc)}", field="task"
        ) from None
    for part in attribute.split("."):
        if not hasattr(found, part):
            raise ValidationError(_missing(found, part, path), field="task")
        found = getattr(found, part)
    if inspect.isclass(found) or not callable(found):
        kind = "class" if inspect.isclass(found) else type(found).__name__
        kind = f"an {kind}" if kind[0] in "aeiou" else f"a {kind}"
        raise ValidationError(f"{path!r} is {kind}, not a function", field="task")
    function: Callable[..., Any] = found
    return function


def _import(name: str) -> ModuleType:
    try:
        return importlib.import_module(name)
    except SystemExit as exc:  # a module that calls sys.exit() when imported
        raise RuntimeError(f"the module called sys.exit({exc.code!r}) when imported") from None


def _reason(exc: BaseException) -> str:
    return " ".join(f"{type(exc).__name__}: {exc}".split())


def _missing(container: Any, part: str, path: str) -> str:
    names = [n for n in dir(container) if not n.startswith("_")]
    close = close_match(part, [n for n in names if callable(getattr(container, n, None))])
    owner = getattr(container, "__name__", type(container).__name__)
    what = "module" if isinstance(container, ModuleType) else "class"
    hint = f" (did you mean {close!r}?)" if close else ""
    return f"{path!r}: {what} {owner!r} has no function {part!r}{hint}"


def _hint(name: str, config: Path) -> str:
    """`` (did you mean 'x'?)`` when ``name`` is not found and a module next to the config
    file has a close name."""
    try:
        if "." in name or importlib.util.find_spec(name) is not None:
            return ""
    except (ImportError, ValueError):
        return ""
    nearby = [m.name for m in pkgutil.iter_modules([str(config.resolve().parent)])]
    close = close_match(name, nearby)
    return f" (did you mean {close!r}?)" if close else ""
