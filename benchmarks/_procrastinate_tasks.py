"""The Procrastinate side of ``throughput.py --store postgresql://...``: its standard setup.

One ``procrastinate.App`` with a ``PsycopgConnector`` on ``$PROCRASTINATE_BENCH_DB`` (a
libpq conninfo / URL; the database has its own schema, applied by the benchmark), and a
no-op async task. Worker processes are Procrastinate's own CLI::

    python -m procrastinate --app _procrastinate_tasks.app worker --concurrency 32

The producer (the benchmark process) uses `make_app` with a pool as large as agentcron's
(``max_size=10``), so both get the same number of connections for concurrent enqueues; the
worker processes keep the connector's default pool (psycopg_pool's default, 4 connections),
as a Procrastinate user gets it.
"""

from __future__ import annotations

import os
from typing import Any

from procrastinate import App, PsycopgConnector

ENV_DB = "PROCRASTINATE_BENCH_DB"
TASK = "noop"


def make_app(conninfo: str, **pool: Any) -> App:
    """An App on ``conninfo`` with the no-op task; ``pool``: psycopg_pool arguments."""
    new = App(connector=PsycopgConnector(conninfo=conninfo, **pool))

    @new.task(name=TASK)
    async def noop(**kwargs: Any) -> None:
        """Does nothing: the benchmark measures Procrastinate, not the task."""

    return new


# What ``procrastinate --app _procrastinate_tasks.app worker`` loads.
app = make_app(os.environ.get(ENV_DB, ""))
