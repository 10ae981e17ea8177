"""Errors of agent tasks. They hang in the tree of `agentcron.errors`:

```
TaskError
├── ProviderUnavailable    the LLM provider cannot answer now (429, 5xx, down, timeout): retried
└── PermanentError
    ├── ProviderError      the provider rejected the request (other 4xx, a reply that is
    │                      not Chat Completions): not retried
    ├── PromptError        the prompt template names something the run does not have
    ├── AgentStepLimit     the model still asked for tools after ``max_steps`` calls
    └── GraphError         a LangGraph graph returned something without messages
```
"""

from __future__ import annotations

from agentcron.errors import PermanentError, TaskError

__all__ = [
    "AgentStepLimit",
    "GraphError",
    "PromptError",
    "ProviderError",
    "ProviderUnavailable",
]


class ProviderUnavailable(TaskError):
    """The LLM provider cannot answer now; the run is retried per its policy."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class ProviderError(PermanentError):
    """The LLM provider rejected the request; retrying will not help."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class PromptError(PermanentError):
    """The prompt template cannot be filled from this run."""


class AgentStepLimit(PermanentError):
    """The agent used all its steps without a final answer."""


class GraphError(PermanentError):
    """The graph did not return a state with messages."""
