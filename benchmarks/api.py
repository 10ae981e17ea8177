"""REST API load: requests per second and latency of one ``agentcron serve`` process.

    python benchmarks/api.py [--store URL] [--client httpx|raw] [--connections 64]
                             [--duration 5] [--max 50000] [--repeat 3] [--no-auth]

Starts ``agentcron serve`` (scheduler + worker + API in one process, the no-op task registered)
on a free loopback port, creates a write token (every request carries it), seeds 200
schedules, and drives each endpoint from an async client with ``--connections`` concurrent
keep-alive connections, two ways:

- **saturation**: every connection sends its next request as soon as the last one answered,
  for ``--duration`` seconds or ``--max`` requests: the most requests per second it serves;
- **at target rate**: requests are sent on a fixed schedule at the endpoint's target rate
  (open loop; a request's latency counts from when it was due, so a stalled server is not
  hidden by the client waiting for it): p50 / p99 latency at that load.

Targets: ``POST /v1/runs`` and ``GET /v1/schedules`` >= 1,000 req/s with p99 < 50 ms;
``POST /v1/activity`` >= 2,000 req/s.

``--client httpx`` (default) is an ``httpx.AsyncClient``; ``raw`` a minimal HTTP/1.1 client on
asyncio streams. httpx spends about 1 ms of CPU per request, so on a small box it saturates
before the server does: the table shows the CPU use of both processes, and "bound: client"
when the server had CPU to spare (the load generator was the limit); ``--client raw`` then
measures the server.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import psutil
from _common import HERE, PYTHON, fresh_sqlite_url, make_tmpdir, median, percentile, table

ROOT = HERE.parent
Send = Callable[[str, str, bytes | None], Awaitable[int]]


@dataclass(frozen=True)
class Endpoint:
    label: str
    method: str
    path: str
    body: Callable[[int], Any] | None
    target_rps: float
    target_p99_ms: float | None


ENDPOINTS = [
    Endpoint("POST /v1/runs", "POST", "/v1/runs", lambda i: {"task": "noop", "args": {"i": i}},
             1000, 50),
    Endpoint("GET /v1/schedules", "GET", "/v1/schedules?limit=20", None, 1000, 50),
    Endpoint("GET /v1/runs/{id}", "GET", "/v1/runs/1", None, 1000, 50),
    Endpoint("POST /v1/activity", "POST", "/v1/activity",
             lambda i: {"subject": f"user:{i % 5000}"}, 2000, None),
]  # fmt: skip


@dataclass
class Round:
    requests: int = 0
    errors: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    seconds: float = 0.0
    client_cpu: float = 0.0  # share of one core
    server_cpu: float = 0.0

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


# -- clients -------------------------------------------------------------------------------------
class HttpxClient:
    """``connections`` httpx AsyncClients of one connection each, handed out in turn (one
    shared client with a pool of 64 spends its time in the pool, not on the wire)."""

    def __init__(self, url: str, headers: dict[str, str], connections: int) -> None:
        limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
        self.all = [httpx.AsyncClient(base_url=url, headers=headers, limits=limits, timeout=30)
                    for _ in range(connections)]  # fmt: skip
        self.clients: asyncio.Queue[httpx.AsyncClient] = asyncio.Queue()
        for client in self.all:
            self.clients.put_nowait(client)

    async def send(self, method: str, path: str, body: bytes | None) -> int:
        headers = {"content-type": "application/json"} if body is not None else None
        http = await self.clients.get()
        try:
            r = await http.request(method, path, content=body, headers=headers)
            return r.status_code
        finally:
            self.clients.put_nowait(http)

    async def close(self) -> None:
        for http in self.all:
            await http.aclose()


class RawClient:
    """HTTP/1.1 keep-alive over asyncio streams: a pool of ``connections`` sockets."""

    def __init__(self, url: str, headers: dict[str, str], connections: int) -> None:
        self.host, port = url.removeprefix("http://").split(":")
        self.port = int(port)
        self.extra = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        self.pool: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] | None = None
        self.connections = connections

    async def _pool(self) -> asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]]:
        if self.pool is None:
            self.pool = asyncio.Queue()
            for _ in range(self.connections):
                self.pool.put_nowait(await asyncio.open_connection(self.host, self.port))
        return self.pool

    async def send(self, method: str, path: str, body: bytes | None) -> int:
        pool = await self._pool()
        reader, writer = await pool.get()
        try:
            payload = body or b""
            head = (
                f"{method} {path} HTTP/1.1\r\nHost: {self.host}\r\n{self.extra}"
                f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n"
            )
            writer.write(head.encode() + payload)
            raw = await reader.readuntil(b"\r\n\r\n")
            status = int(raw[9:12])
            length = 0
            for line in raw.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            await reader.readexactly(length)
            return status
        finally:
            pool.put_nowait((reader, writer))

    async def close(self) -> None:
        while self.pool is not None and not self.pool.empty():
            self.pool.get_nowait()[1].close()


# -- load ----------------------------------------------------------------------------------------
def payload(ep: Endpoint, i: int) -> bytes | None:
    return json.dumps(ep.body(i)).encode() if ep.body is not None else None


async def saturate(send: Send, ep: Endpoint, connections: int, seconds: float, limit: int,
                   server: psutil.Process) -> Round:  # fmt: skip
    result, counter = Round(), itertools.count()
    deadline = time.perf_counter() + seconds

    async def one_connection() -> None:
        while time.perf_counter() < deadline and (i := next(counter)) < limit:
            started = time.perf_counter()
            try:
                ok = await send(ep.method, ep.path, payload(ep, i)) < 400
            except (OSError, httpx.HTTPError, asyncio.IncompleteReadError):
                ok = False
            result.latencies_ms.append((time.perf_counter() - started) * 1000)
            result.requests += 1
            result.errors += 0 if ok else 1

    with Cpu(result, server):
        await asyncio.gather(*(one_connection() for _ in range(connections)))
    return result


async def at_rate(send: Send, ep: Endpoint, rate: float, seconds: float, connections: int,
                  server: psutil.Process) -> Round:  # fmt: skip
    """Open loop: request k is due at start + k / rate; latency counts from when it was due."""
    result = Round()
    total = int(rate * seconds)
    start = time.perf_counter() + 0.05
    slots = asyncio.Semaphore(connections * 4)  # bounded in flight; waiting counts as latency

    async def one(k: int) -> None:
        due = start + k / rate
        async with slots:
            try:
                ok = await send(ep.method, ep.path, payload(ep, 10_000_000 + k)) < 400
            except (OSError, httpx.HTTPError, asyncio.IncompleteReadError):
                ok = False
        result.latencies_ms.append((time.perf_counter() - due) * 1000)
        result.requests += 1
        result.errors += 0 if ok else 1

    tasks = []
    with Cpu(result, server):
        for k in range(total):
            delay = start + k / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(k)))
        await asyncio.gather(*tasks)
    return result


class Cpu:
    """Measures wall time and the CPU share of this process and the server over a block."""

    def __init__(self, result: Round, server: psutil.Process) -> None:
        self.result, self.server = result, server

    def __enter__(self) -> None:
        self.wall, self.mine = time.perf_counter(), time.process_time()
        times = self.server.cpu_times()
        self.theirs = times.user + times.system

    def __exit__(self, *exc: object) -> None:
        wall = time.perf_counter() - self.wall
        times = self.server.cpu_times()
        self.result.seconds = wall
        self.result.client_cpu = (time.process_time() - self.mine) / wall
        self.result.server_cpu = (times.user + times.system - self.theirs) / wall


# -- the run -------------------------------------------------------------------------------------
async def measure(url: str, headers: dict[str, str], args: argparse.Namespace,
                  server: psutil.Process) -> dict[str, dict[str, list[Round]]]:  # fmt: skip
    client = (RawClient if args.client == "raw" else HttpxClient)(url, headers, args.connections)
    rounds: dict[str, dict[str, list[Round]]] = {"sat": {}, "rate": {}}
    try:
        await seed(client.send)
        for ep in ENDPOINTS:  # warm-up: connections open, code paths hot
            await saturate(client.send, ep, args.connections, 1.0, 2000, server)
        for _ in range(args.repeat):
            for ep in ENDPOINTS:  # latency at the target rate first, then the most it takes
                await drained(url, headers)
                rate = await at_rate(client.send, ep, ep.target_rps, args.duration,
                                     args.connections, server)  # fmt: skip
                await drained(url, headers)
                sat = await saturate(client.send, ep, args.connections, args.duration, args.max,
                                     server)  # fmt: skip
                rounds["sat"].setdefault(ep.label, []).append(sat)
                rounds["rate"].setdefault(ep.label, []).append(rate)
    finally:
        await client.close()
    return rounds


async def drained(url: str, headers: dict[str, str], timeout: float = 120.0) -> None:
    """Wait until the worker ran what earlier rounds queued, so a round does not pay for the
    one before."""
    deadline = time.perf_counter() + timeout
    async with httpx.AsyncClient(base_url=url, headers=headers) as http:
        while time.perf_counter() < deadline:
            stats = (await http.get("/v1/stats")).json()
            if stats["runs_by_status"].get("queued", 0) == 0:
                return
            await asyncio.sleep(0.2)


async def seed(send: Send) -> None:
    for i in range(200):
        body = {"task": "noop", "trigger": "every 1h", "name": f"bench-{i:03d}"}
        status = await send("POST", "/v1/schedules", json.dumps(body).encode())
        if status not in (201, 409):
            sys.exit(f"seeding failed: {status}")
    if (status := await send("POST", "/v1/runs", b'{"task": "noop"}')) != 202:
        sys.exit(f"seeding failed: {status}")


def report(rounds: dict[str, dict[str, list[Round]]], args: argparse.Namespace) -> str:
    rows = []
    for ep in ENDPOINTS:
        sat = _median_round(rounds["sat"][ep.label])
        rate = _median_round(rounds["rate"][ep.label])
        p50, p99 = percentile(rate.latencies_ms, 50), percentile(rate.latencies_ms, 99)
        met = sat.rps >= ep.target_rps and (ep.target_p99_ms is None or p99 < ep.target_p99_ms)
        bound = "server" if sat.server_cpu >= 0.85 else "client"
        rows.append([ep.label, sat.rps, f"{sat.server_cpu:.0%}/{sat.client_cpu:.0%}", bound,
                     f"{ep.target_rps:,.0f}/s", rate.rps, p50, p99, sat.errors + rate.errors,
                     "yes" if met else "NO"])  # fmt: skip
    title = (f"agentcron serve REST API: {args.client} client, {args.connections} connections, "
             f"{args.duration:g}s per round, median of {args.repeat}")  # fmt: skip
    headers = ["endpoint", "max req/s", "cpu srv/cli", "bound", "target", "sent req/s",
               "p50 ms", "p99 ms", "errors", "met"]  # fmt: skip
    return table(title, headers, rows)


def _median_round(runs: list[Round]) -> Round:
    mid = median([r.rps for r in runs])
    return min(runs, key=lambda r: abs(r.rps - mid))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--store", help="store URL (default: a fresh SQLite file)")
    parser.add_argument("--client", choices=["httpx", "raw"], default="httpx")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--max", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-auth", action="store_true", help="no token (the API runs open)")
    args = parser.parse_args()
    with make_tmpdir("agentcron-api-bench-") as tmp:
        rounds = run(args, tmp)
    print(report(rounds, args))


def run(args: argparse.Namespace, tmp: str) -> dict[str, dict[str, list[Round]]]:
    store = args.store or fresh_sqlite_url(tmp, "api")[0]
    config = os.path.join(tmp, "agentcron.toml")
    with open(config, "w") as f:
        f.write(f'[agentcron]\ndb = "{store}"\ntasks = ["_bench_cli_tasks"]\n')
    env = environment(config)
    headers = {}
    if not args.no_auth:
        headers["Authorization"] = f"Bearer {cli('tokens', 'create', '--scope', 'write', env=env)}"
    port = free_port()
    with open(os.path.join(tmp, "serve.log"), "w") as log:
        server = subprocess.Popen([PYTHON, "-m", "agentcron", "serve", "--port", str(port)],
                                  env=env, stdout=log, stderr=subprocess.STDOUT)  # fmt: skip
        url = f"http://127.0.0.1:{port}"
        try:
            wait_healthy(url, server)
            return asyncio.run(measure(url, headers, args, psutil.Process(server.pid)))
        finally:
            server.terminate()
            server.wait(30)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def environment(config: str) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(HERE), str(ROOT / "src"), env.get("PYTHONPATH", "")])
    env["AGENTCRON_CONFIG"] = config
    env["AGENTCRON_LOG_LEVEL"] = "WARNING"
    return env


def cli(*args: str, env: dict[str, str]) -> str:
    done = subprocess.run([PYTHON, "-m", "agentcron", *args], capture_output=True, text=True,
                          env=env, timeout=60, check=False)  # fmt: skip
    if done.returncode != 0:
        sys.exit(f"agentcron {' '.join(args)} failed: {done.stderr.strip()}")
    return done.stdout.strip()


def wait_healthy(url: str, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.poll() is not None:
            sys.exit(f"agentcron serve exited with {server.returncode}")
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    sys.exit("agentcron serve did not become healthy in 30s")


if __name__ == "__main__":
    main()
