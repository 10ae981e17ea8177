"""`ApiServer`: uvicorn serving an API in the current event loop, beside the scheduler and
workers (``agentcron serve``). It binds its socket itself, so a busy port is a clear error
rather than uvicorn's ``sys.exit``, and it leaves signal handling to the caller."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Iterator
from typing import Any

import uvicorn

from agentcron.errors import ValidationError

__all__ = ["ApiServer", "is_loopback"]

log = logging.getLogger("agentcron.api")


class _Server(uvicorn.Server):
    """Signals belong to the process's owner (`App.run`): uvicorn must not take them."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield

    def install_signal_handlers(self) -> None:  # uvicorn < 0.29
        return None


class ApiServer:
    def __init__(
        self, api: Any, host: str = "127.0.0.1", port: int = 8000, *, access_log: bool = False
    ) -> None:
        self.api = api
        self.host = host
        self.port = port
        self.access_log = access_log
        self._server: _Server | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    async def start(self) -> None:
        """Bind (raises `ValidationError` naming ``port`` or ``host`` when it cannot), then
        serve in a background task; returns once requests are accepted."""
        sock = bind(self.host, self.port)
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            self.api, log_config=None, access_log=self.access_log, lifespan="off",
            timeout_graceful_shutdown=5, ws="none",
        )  # fmt: skip
        self._server = server = _Server(config)
        self._task = asyncio.create_task(server.serve(sockets=[sock]), name="agentcron-api")
        while not server.started:
            if self._task.done():
                self._task.result()
                raise RuntimeError("the API server stopped while starting")
            await asyncio.sleep(0.01)

    async def stop(self) -> None:
        if self._server is None or self._task is None:
            return
        self._server.should_exit = True
        try:
            await self._task
        finally:
            self._server = self._task = None

    async def __aenter__(self) -> ApiServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()


def bind(host: str, port: int) -> socket.socket:
    if not 0 <= port <= 65535:
        raise ValidationError(f"{port} is not a TCP port (0-65535)", field="port")
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except (socket.gaierror, UnicodeError) as exc:
        raise ValidationError(f"cannot resolve {host!r}: {exc}", field="host") from None
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        raise ValidationError(
            f"cannot listen on {host}:{port}: {exc.strerror}", field="port"
        ) from None
    sock.setblocking(False)
    return sock


def is_loopback(host: str) -> bool:
    """Whether ``host`` is reachable only from this machine (``127.0.0.1``, ``::1``,
    ``localhost``)."""
    import ipaddress

    if host.lower() in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
