"""A scripted LLM provider on loopback that speaks the real Chat Completions protocol.

``FakeLLM`` serves ``POST /v1/chat/completions`` from a thread (`http.server`), so it answers
whatever the event loop of the test is doing. Replies are scripted in order; every request
(JSON body and headers) is recorded. When the script runs out, a responder set with
``respond(fn)`` answers from the request itself (a function call that depends on what was
asked: ``functions({"every weekday morning": {...}})``), else ``fallback`` (a 500 unless
set). ``close()`` frees the port, so the next request is refused (provider down).

    with FakeLLM() as llm:
        llm.script(llm.tool_call("lookup", {"id": 1}), llm.answer("done"))
        ... llm.base_url ...      # "http://127.0.0.1:PORT/v1"
        llm.requests[0]["messages"]
"""

from __future__ import annotations

import contextlib
import itertools
import json
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["FakeLLM", "Reply", "user_text"]


@dataclass
class Reply:
    status: int = 200
    body: Any = None  # dict -> JSON; str -> sent as is
    delay_s: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)


class FakeLLM:
    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.paths: list[str] = []
        self.fallback = Reply(500, {"error": {"message": "fake LLM: no scripted reply left"}})
        self._script: deque[Reply] = deque()
        self._responder: Callable[[dict[str, Any]], Reply | None] | None = None
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._server.block_on_close = False  # type: ignore[attr-defined]
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        self._closed = False

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def __enter__(self) -> FakeLLM:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._server.shutdown()
            self._server.server_close()

    # -- the script ----------------------------------------------------------------------------
    def script(self, *replies: Reply) -> None:
        with self._lock:
            self._script.extend(replies)

    def respond(self, answer: Callable[[dict[str, Any]], Reply | None]) -> None:
        """Answer each request (after the script) with ``answer(request body)``; None: the
        fallback answers."""
        self._responder = answer

    def functions(self, answers: Mapping[str, Any], *, name: str | None = None) -> None:
        """Answer function calls: the last user message, lower case, looked up in
        ``answers`` gives the arguments of a call to the request's first tool (or ``name``);
        a str is sent as the arguments' JSON text as is. A message not in ``answers`` gets
        a text reply (no call)."""

        def answer(body: dict[str, Any]) -> Reply:
            asked = user_text(body).lower()
            if asked not in answers:
                return self.answer(f"fake LLM: no function answer for {asked!r}")
            tools = body.get("tools") or [{"function": {"name": name or "none"}}]
            return self.tool_call((name or tools[0]["function"]["name"], answers[asked]))

        self.respond(answer)

    def always(self, reply: Reply) -> None:
        """Answer every request (after the script) with ``reply``."""
        self.fallback = reply

    def tool_call(self, *calls: tuple[str, Any], content: str | None = None) -> Reply:
        """A reply asking for tools: ``(name, arguments)`` pairs (a dict is sent as JSON text,
        a str as is, so bad JSON can be scripted)."""
        tool_calls = [
            {"id": f"call_{next(self._ids)}", "type": "function",
             "function": {"name": name, "arguments": args if isinstance(args, str)
                          else json.dumps(args)}}
            for name, args in calls
        ]  # fmt: skip
        message = {"role": "assistant", "content": content, "tool_calls": tool_calls}
        return Reply(200, self._completion(message, "tool_calls"))

    def answer(self, text: str, *, delay_s: float = 0.0) -> Reply:
        message = {"role": "assistant", "content": text}
        return Reply(200, self._completion(message, "stop"), delay_s=delay_s)

    @staticmethod
    def error(status: int, message: str = "scripted error", **headers: str) -> Reply:
        body = {"error": {"message": message, "type": "fake", "code": status}}
        return Reply(status, body, headers=headers)

    @staticmethod
    def _completion(message: dict[str, Any], finish: str) -> dict[str, Any]:
        # filled in per request (usage depends on the request), see _respond
        return {"object": "chat.completion", "model": "fake-model-001",
                "choices": [{"index": 0, "message": message, "finish_reason": finish}]}  # fmt: skip

    # -- serving -------------------------------------------------------------------------------
    def _next(self, body: dict[str, Any]) -> Reply:
        with self._lock:
            if self._script:
                return self._script.popleft()
            responder = self._responder
        reply = responder(body) if responder is not None else None
        return reply if reply is not None else self.fallback

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                try:
                    body = json.loads(raw)
                except ValueError:
                    self._send(Reply(400, {"error": {"message": "body is not JSON"}}))
                    return
                with fake._lock:
                    fake.requests.append(body)
                    fake.headers.append({k.lower(): v for k, v in self.headers.items()})
                    fake.paths.append(self.path)
                if self.path != "/v1/chat/completions":
                    self._send(Reply(404, {"error": {"message": f"no route {self.path}"}}))
                    return
                reply = fake._next(body)
                if reply.delay_s:
                    time.sleep(reply.delay_s)
                self._send(_with_usage(reply, body))

            def _send(self, reply: Reply) -> None:
                data = reply.body if isinstance(reply.body, str) else json.dumps(reply.body)
                payload = data.encode()
                self.send_response(reply.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                for key, value in reply.headers.items():
                    self.send_header(key, value)
                self.end_headers()
                with contextlib.suppress(OSError):  # the client gave up (timeout test)
                    self.wfile.write(payload)

        return Handler


def user_text(body: dict[str, Any]) -> str:
    """The content of the last user message of a request ("" if none)."""
    users = [m for m in body.get("messages", []) if m.get("role") == "user"]
    content = users[-1].get("content") if users else ""
    return content if isinstance(content, str) else json.dumps(content)


def _with_usage(reply: Reply, request: dict[str, Any]) -> Reply:
    """A 200 completion gets usage: 10 prompt tokens per message sent, 5 completion tokens."""
    if reply.status != 200 or not isinstance(reply.body, dict) or "choices" not in reply.body:
        return reply
    prompt = 10 * len(request.get("messages", []))
    usage = {"prompt_tokens": prompt, "completion_tokens": 5, "total_tokens": prompt + 5}
    body = {**reply.body, "id": f"chatcmpl-{time.monotonic_ns()}", "usage": usage}
    return Reply(reply.status, body, reply.delay_s, reply.headers)
