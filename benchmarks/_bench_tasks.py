"""The agentcron side of the benchmarks: the no-op task and how to start agentcron processes.

`process_command` gives the command line of a worker / server subprocess: the real CLI
(``python -m agentcron worker|serve --config <generated toml>``, the config importing
``_bench_cli_tasks``) when this agentcron has it, else this module's own fallback entry::

    python benchmarks/_bench_tasks.py worker --store URL [--concurrency 32]
    python benchmarks/_bench_tasks.py serve  --store URL [--concurrency 32]

``worker`` runs a worker only (``App.run(scheduler=False)``), ``serve`` scheduler + worker
(``App.run()``); both run until SIGTERM / SIGINT and then stop gracefully.
"""

from __future__ import annotations

import argparse
import importlib.util
import logging
import os
import socket
import sys
from pathlib import Path
from typing import Any

import agentcron

TASK = "noop"


async def noop(**kwargs: Any) -> None:
    """Does nothing: the benchmarks measure agentcron, not the task."""


def make_app(store: str, *, concurrency: int = 32, **options: Any) -> agentcron.App:
    app = agentcron.App(store, concurrency=concurrency, **options)
    app.task(name=TASK)(noop)
    return app


def has_cli() -> bool:
    """True when ``python -m agentcron worker`` / ``serve`` exist."""
    try:
        if importlib.util.find_spec("agentcron.__main__") is None:
            return False
        from agentcron.cli import run as cli_run
    except ImportError:
        return False
    return hasattr(cli_run, "worker") and hasattr(cli_run, "serve")


def process_command(mode: str, store: str, concurrency: int, workdir: str,
                    runner: str = "auto") -> list[str]:  # fmt: skip
    """Arguments after ``python`` for an agentcron ``worker`` or ``serve`` (scheduler + worker)
    process on ``store``; ``runner``: ``cli``, ``script`` or ``auto`` (cli when available)."""
    if runner == "auto":
        runner = "cli" if has_cli() else "script"
    if runner == "script":
        return [str(Path(__file__).resolve()), mode, "--store", store,
                "--concurrency", str(concurrency)]  # fmt: skip
    config = os.path.join(workdir, f"agentcron-bench-{mode}-{concurrency}.toml")
    with open(config, "w") as f:
        f.write(f'[agentcron]\ntasks = ["_bench_cli_tasks"]\nconcurrency = {concurrency}\n')
    cmd = ["-m", "agentcron", mode, "--config", config, "--db", store, "--log-level", "WARNING"]
    if mode == "serve":  # its HTTP API on a free port, not the default 8000
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            cmd += ["--port", str(sock.getsockname()[1])]
    return cmd


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("mode", choices=["worker", "scheduler", "serve"])
    parser.add_argument("--store", required=True)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--log-level", default="WARNING")
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level, stream=sys.stderr)
    app = make_app(args.store, concurrency=args.concurrency)
    app.run_sync(scheduler=args.mode != "worker", worker=args.mode != "scheduler")
    return 0


if __name__ == "__main__":
    sys.exit(main())
