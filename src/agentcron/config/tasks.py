"""The ``[[task]]`` entries: declarative agent and graph tasks, native or in the YouLab form
(see `agentcron.config.youlab`), with their endpoint resolved from settings and environment."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from agentcron.agents.llm import DEFAULT_BASE_URL, Endpoint
from agentcron.agents.specs import KINDS, TASK_FIELDS, build_task
from agentcron.config.document import Document, KeyPath, where
from agentcron.config.env import api_key_from, env
from agentcron.config.model import LLMSettings, Settings
from agentcron.config.schedules import Known
from agentcron.config.settings import text
from agentcron.config.youlab import YOULAB_FIELDS, Translation, is_youlab, translate
from agentcron.errors import ValidationError
from agentcron.tasks import default_registry

__all__ = ["Derived", "llm_endpoint", "read_tasks"]

Errors = list[tuple[str, str]]


@dataclass(frozen=True, slots=True)
class Derived:
    """A ``[[task]]`` in the YouLab form: where it is, and its native entries."""

    at: KeyPath
    label: str
    translation: Translation


def read_tasks(doc: Document, settings: Settings, known: Known) -> list[Derived]:
    """Build the ``[[task]]`` entries into ``known``; note each problem in ``doc``. Returns
    the entries written in the YouLab form (their schedules are built by the caller)."""
    entries = doc.data.get("task", [])
    if not isinstance(entries, list):
        doc.add(("task",), "task: must be a list of tables ([[task]])")
        return []
    derived: list[Derived] = []
    for index, entry in enumerate(entries):
        at: KeyPath = ("task", index)
        label = where("task", index, entry)
        if not isinstance(entry, Mapping):
            doc.add(at, f"{label}must be a table of task fields")
            continue
        translation = translate(entry) if is_youlab(entry) else None
        errors = _read_one(doc, at, label, entry, translation, settings, known)
        if translation is not None and not errors:
            derived.append(Derived(at, label, translation))
    return derived


def _read_one(
    doc: Document,
    at: KeyPath,
    label: str,
    entry: Mapping[str, Any],
    translation: Translation | None,
    settings: Settings,
    known: Known,
) -> Errors:
    native = translation.task if translation is not None else entry
    kind = native.get("kind", "agent")
    allowed = KINDS.get(kind, TASK_FIELDS) if isinstance(kind, str) else TASK_FIELDS
    doc.check_keys(entry, at, allowed | YOULAB_FIELDS, label)
    errors: Errors = list(translation.errors) if translation is not None else []
    endpoint = _endpoint(native, settings.llm, errors) if kind == "agent" else Endpoint()
    built, problems = build_task(native, endpoint=endpoint, default_model=settings.llm.model,
                                 check_tools=known.checked)  # fmt: skip
    errors += problems
    if built is not None and known.checked and built.name in default_registry:
        errors.append(("name", f"name: {built.name!r} is already a registered task"))
    if built is not None and built.name in known.declared:
        errors.append(("name", f"name: {built.name!r} is used twice"))
    for key, message in errors:
        doc.add((*at, key), f"{label}{message}")
    if errors and isinstance(native.get("name"), str):
        known.failed.add(native["name"])
    if built is not None and not errors:
        known.declared[built.name] = built
        prompt = native.get("prompt")
        if isinstance(prompt, str):
            known.prompts[built.name] = prompt
    return errors


def llm_endpoint(llm: LLMSettings) -> Endpoint:
    """The endpoint of ``[agentcron.llm]`` itself (for reading trigger phrases), resolved as an
    agent task's is; `ValidationError` (field ``llm.base_url``) for a URL that is not http(s)."""
    errors: Errors = []
    endpoint = _endpoint({}, llm, errors)
    if errors:
        raise ValidationError(errors[0][1].removeprefix("base_url: "), field="llm.base_url")
    return endpoint


def _endpoint(entry: Mapping[str, Any], llm: LLMSettings, errors: Errors) -> Endpoint:
    """Where an agent task sends requests, and its API key, from the entry, the environment
    and ``[agentcron.llm]`` (see `agentcron.config` for the order)."""
    own: dict[str, str] = {}
    for key in ("base_url", "api_key_env"):
        if key in entry:
            try:
                own[key] = text(entry[key], key)
            except ValidationError as exc:
                errors.append((key, str(exc)))
    candidates = [
        (own.get("base_url"), "base_url"),
        (env("AGENTCRON_LLM_BASE_URL"), "AGENTCRON_LLM_BASE_URL"),
        (llm.base_url, "[agentcron.llm] base_url"),
        (env("OPENAI_BASE_URL"), "OPENAI_BASE_URL"),
    ]
    base_url, source = next(((v, s) for v, s in candidates if v), (DEFAULT_BASE_URL, ""))
    if not base_url.startswith(("http://", "https://")):
        origin = f" (from {source})" if source != "base_url" else ""
        errors.append(("base_url", f"base_url: {base_url!r}{origin} is not an http(s) URL"))
    key_env = own.get("api_key_env") or llm.api_key_env or "OPENAI_API_KEY"
    return Endpoint(base_url=base_url, api_key=api_key_from(key_env), api_key_env=key_env)
