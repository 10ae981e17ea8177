"""What an agent run records, kept under the result size cap."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

__all__ = ["EXCERPT_CHARS", "RESULT_BUDGET_BYTES", "ToolCallRecord", "add_usage", "excerpt", "fit"]

RESULT_BUDGET_BYTES = 60 * 1024  # under the worker's 64 KiB cap, with room to spare
EXCERPT_CHARS = 1000


@dataclass(frozen=True, slots=True)
class ToolCallRecord:
    """One tool call as the run result shows it."""

    name: str
    arguments: Any  # the parsed arguments, or the text the model wrote when it was not JSON
    ok: bool
    output: str  # the result as JSON text, or the error message
    approval: dict[str, Any] | None = None  # a person's answer, for a tool under ``approve``

    @property
    def content(self) -> str:
        """What the model is sent: the result, or ``{"error": message}``."""
        return self.output if self.ok else json.dumps({"error": self.output}, ensure_ascii=False)

    def to_dict(self) -> dict[str, Any]:
        args = self.arguments
        if len(_dumps(args)) > EXCERPT_CHARS:
            args = excerpt(_dumps(args))
        key = "result" if self.ok else "error"
        shown = {"name": self.name, "arguments": args, "ok": self.ok, key: excerpt(self.output)}
        if self.approval is not None:
            shown["approval"] = self.approval
        return shown


def excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... ({len(text)} characters)"


def add_usage(total: dict[str, int], usage: dict[str, int]) -> None:
    for key, value in usage.items():
        total[key] = total.get(key, 0) + value


def fit(result: dict[str, Any], limit: int = RESULT_BUDGET_BYTES) -> dict[str, Any]:
    """``result`` made to fit ``limit`` bytes of JSON: drop tool calls from the end (counted
    in ``tool_calls_omitted``), then shorten ``answer``."""
    result = dict(result)
    calls = list(result.get("tool_calls", []))
    while _size(result) > limit and calls:
        calls.pop()
        result["tool_calls"] = calls
        result["tool_calls_omitted"] = result.get("tool_calls_omitted", 0) + 1
    answer = result.get("answer")
    if isinstance(answer, str):
        keep = len(answer)
        while _size(result) > limit and keep > 0:
            keep = max(0, keep - (_size(result) - limit) - 64)
            keep = min(keep, len(answer) * 9 // 10)
            result["answer"] = f"{answer[:keep]}... (truncated from {len(answer)} characters)"
    return result


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


def _size(value: Any) -> int:
    return len(_dumps(value).encode())
