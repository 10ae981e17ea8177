"""A missing service is said in the default output: pytest run as a user runs it (no extra
flags) lists each skipped test with its reason, on one line, and names the switch that makes
it a failure. The services are pointed at a closed port, so this holds on any machine."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])  # closed again when the socket is


def _pytest(*args: str, **env: str) -> str:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("AGENTCRON_REQUIRE_")}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False,
        env={**clean, **env},
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done.stdout


def test_missing_services_are_named_in_the_summary() -> None:
    pg, redis = _closed_port(), _closed_port()
    out = _pytest(
        "tests/store/test_contract_schedules.py", "tests/integration/test_redis_bridge.py",
        "-q", "-k", "postgres or redis or bridge",
        AGENTCRON_TEST_PG=f"postgresql://postgres@127.0.0.1:{pg}/test",
        AGENTCRON_TEST_REDIS=f"redis://127.0.0.1:{redis}/0",
    )  # fmt: skip
    skipped = [line for line in out.splitlines() if line.startswith("SKIPPED")]
    postgres = [line for line in skipped if "POSTGRESQL TESTS NOT RUN" in line]
    assert postgres, out
    for line in postgres:
        assert f"PostgreSQL at postgresql://postgres@127.0.0.1:{pg}/test cannot be reached" in line
        assert line.endswith("(AGENTCRON_REQUIRE_POSTGRES=1 makes this a failure)"), line
    assert any(f"REDIS BRIDGE TESTS NOT RUN: Redis at redis://127.0.0.1:{redis}/0" in line
               for line in skipped), out  # fmt: skip
    assert re.search(r"\d+ skipped", out)
