"""An async client for the OpenAI-compatible Chat Completions API (``POST /chat/completions``).

Needs ``httpx`` (``pip install 'agentcron[agents]'``), imported when a client is made.
What goes wrong is sorted for the retry policy: a 429, a 5xx, a refused connection or a timeout
is `ProviderUnavailable` (retried); any other 4xx, or a reply that is not Chat Completions, is
`ProviderError` (permanent).
"""

from __future__ import annotations

import errno
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import ModuleType
from typing import TYPE_CHECKING, Any

from agentcron.agents.errors import ProviderError, ProviderUnavailable
from agentcron.errors import PermanentError

if TYPE_CHECKING:
    import httpx

__all__ = [
    "DEFAULT_BASE_URL",
    "ChatClient",
    "ChatReply",
    "Endpoint",
    "ToolCall",
    "httpx_missing",
]

DEFAULT_BASE_URL = "https://api.openai.com/v1"
DEFAULT_REQUEST_TIMEOUT_S = 120.0
EXCERPT_CHARS = 500
_INSTALL = "agent tasks need httpx: pip install 'agentcron[agents]'"


def httpx_missing() -> str | None:
    """Why agent tasks cannot run here (httpx is not installed), or None."""
    try:
        _httpx()
    except PermanentError as exc:
        return str(exc)
    return None


def _httpx() -> ModuleType:
    try:
        import httpx
    except ImportError:
        raise PermanentError(_INSTALL) from None
    return httpx


@dataclass(frozen=True, slots=True)
class Endpoint:
    """Where to send requests. ``api_key_env`` names the variable the key came from (for
    messages); the key itself was read by `agentcron.config`. ``repr`` hides the key."""

    base_url: str = DEFAULT_BASE_URL
    api_key: str | None = field(default=None, repr=False)
    api_key_env: str | None = None

    @property
    def url(self) -> str:
        return self.base_url.rstrip("/") + "/chat/completions"


@dataclass(frozen=True, slots=True)
class ToolCall:
    id: str
    name: str
    arguments: str  # JSON text, as the model wrote it


@dataclass(frozen=True, slots=True)
class ChatReply:
    message: dict[str, Any]  # the assistant message, to send back in the next request
    content: str
    tool_calls: list[ToolCall]
    usage: dict[str, int]
    model: str | None
    finish_reason: str | None

    def to_dict(self) -> dict[str, Any]:
        """The reply as JSON (what a durable ``llm:N`` step stores); `from_dict` reads it."""
        return {
            "message": self.message, "content": self.content,
            "tool_calls": [[c.id, c.name, c.arguments] for c in self.tool_calls],
            "usage": self.usage, "model": self.model, "finish_reason": self.finish_reason,
        }  # fmt: skip

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ChatReply:
        calls = [ToolCall(str(i), str(name), str(args)) for i, name, args in data["tool_calls"]]
        return cls(
            message=dict(data["message"]), content=str(data["content"]), tool_calls=calls,
            usage=dict(data["usage"]), model=data["model"], finish_reason=data["finish_reason"],
        )  # fmt: skip


class ChatClient:
    """``async with ChatClient(endpoint) as client: reply = await client.complete(...)``."""

    def __init__(self, endpoint: Endpoint, *, timeout_s: float = DEFAULT_REQUEST_TIMEOUT_S) -> None:
        self.endpoint = endpoint
        self.timeout_s = timeout_s
        lib = _httpx()
        headers = {"Content-Type": "application/json", "User-Agent": "agentcron"}
        if endpoint.api_key:
            headers["Authorization"] = f"Bearer {endpoint.api_key}"
        self._client: httpx.AsyncClient = lib.AsyncClient(
            headers=headers, timeout=lib.Timeout(timeout_s, connect=min(timeout_s, 10.0))
        )

    async def __aenter__(self) -> ChatClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._client.aclose()

    async def complete(
        self,
        model: str,
        messages: Sequence[Mapping[str, Any]],
        tools: Sequence[Mapping[str, Any]] = (),
        *,
        temperature: float | None = None,
        tool_choice: str | Mapping[str, Any] = "auto",
    ) -> ChatReply:
        """One Chat Completions request; raises `ProviderUnavailable` or `ProviderError`.
        ``tool_choice``: ``"auto"``, or ``{"type": "function", "function": {"name": ...}}``
        to make the model call that tool."""
        body: dict[str, Any] = {"model": model, "messages": list(messages)}
        if tools:
            body["tools"] = list(tools)
            body["tool_choice"] = tool_choice
        if temperature is not None:
            body["temperature"] = temperature
        response = await self._post(body)
        if response.status_code != 200:
            raise self._status_error(response)
        return _parse_reply(response, self.endpoint)

    async def _post(self, body: dict[str, Any]) -> httpx.Response:
        lib = _httpx()
        where = self.endpoint.base_url
        try:
            return await self._client.post(self.endpoint.url, json=body)
        except lib.TimeoutException as exc:
            raise ProviderUnavailable(
                f"LLM provider at {where} did not answer within {self.timeout_s:g}s "
                f"({type(exc).__name__})"
            ) from None
        except lib.ConnectError as exc:
            raise ProviderUnavailable(
                f"cannot reach LLM provider at {where}: {_connect_reason(exc)}"
            ) from None
        except lib.TransportError as exc:
            raise ProviderUnavailable(
                f"LLM provider at {where} failed: {type(exc).__name__}: {exc or 'no detail'}"
            ) from None

    def _status_error(self, response: httpx.Response) -> Exception:
        status = response.status_code
        text = (
            f"LLM provider at {self.endpoint.base_url} answered {status} "
            f"{response.reason_phrase}: {_excerpt(response)}"
        )
        if status == 429 or status >= 500:
            return ProviderUnavailable(text, status=status)
        if status in (401, 403):
            text += self._key_hint()
        return ProviderError(text, status=status)

    def _key_hint(self) -> str:
        name = self.endpoint.api_key_env
        if self.endpoint.api_key:
            return f" (the API key from {name} was sent)" if name else ""
        return f" (no API key was sent: {name} is not set)" if name else " (no API key was sent)"


def _connect_reason(exc: Exception) -> str:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, OSError) and seen.errno == errno.ECONNREFUSED:
            return "connection refused"
        if isinstance(seen, OSError) and seen.strerror:
            return seen.strerror.lower()
        seen = seen.__cause__ or seen.__context__
    text = str(exc)
    if "connection attempts failed" in text or "refused" in text.lower():
        return "connection refused"
    return text or type(exc).__name__


def _excerpt(response: httpx.Response) -> str:
    text = response.text
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if isinstance(data, dict) and isinstance(data.get("error"), dict):
        message = data["error"].get("message")
        if isinstance(message, str) and message:
            text = message
    text = " ".join(text.split()) or "(empty body)"
    return text if len(text) <= EXCERPT_CHARS else text[:EXCERPT_CHARS] + "..."


def _parse_reply(response: httpx.Response, endpoint: Endpoint) -> ChatReply:
    try:
        data = response.json()
        choice = data["choices"][0]
        message = choice["message"]
        calls = [_tool_call(c) for c in message.get("tool_calls") or ()]
        content = message.get("content") or ""
        if not isinstance(content, str):
            content = json.dumps(content, ensure_ascii=False)
    except (ValueError, KeyError, IndexError, TypeError, AttributeError):
        raise ProviderError(
            f"LLM provider at {endpoint.base_url} sent a reply that is not a chat completion: "
            f"{_excerpt(response)}"
        ) from None
    echoed: dict[str, Any] = {"role": "assistant", "content": message.get("content")}
    if calls:
        echoed["tool_calls"] = message["tool_calls"]
    return ChatReply(
        message=echoed,
        content=content,
        tool_calls=calls,
        usage=_usage(data.get("usage")),
        model=data.get("model") if isinstance(data.get("model"), str) else None,
        finish_reason=choice.get("finish_reason"),
    )


def _tool_call(raw: Mapping[str, Any]) -> ToolCall:
    function = raw["function"]
    arguments = function.get("arguments")
    if not isinstance(arguments, str):
        arguments = json.dumps(arguments if arguments is not None else {})
    return ToolCall(id=str(raw.get("id") or ""), name=str(function["name"]), arguments=arguments)


def _usage(raw: Any) -> dict[str, int]:
    if not isinstance(raw, Mapping):
        return {}
    keys = ("prompt_tokens", "completion_tokens", "total_tokens")
    return {k: raw[k] for k in keys if isinstance(raw.get(k), int)}
