"""``agentcron serve`` with the API (a real process), ``agentcron tokens``, the lifespan
helpers and the FastAPI example, and the token verbs on both stores."""

from __future__ import annotations

import contextlib
import importlib.util
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from agentcron import App
from agentcron.api import mount
from agentcron.auth import hash_secret
from agentcron.errors import TokenNotFound
from agentcron.models import ApiToken, Scope
from agentcron.store import Store

ROOT = Path(__file__).resolve().parents[2]
URL = re.compile(r"dashboard and API at (http://\S+)")


def agentcron(*args: str, db: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "agentcron", "--db", db, *args],
        capture_output=True, text=True, timeout=60, env=_env(),
    )  # fmt: skip


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), env.get("PYTHONPATH", "")])
    env.pop("AGENTCRON_CONFIG", None)
    return env


class Serving:
    def __init__(self, proc: subprocess.Popen[str], url: str) -> None:
        self.proc, self.url = proc, url


@contextlib.contextmanager
def serve(db: str, *args: str) -> Iterator[Serving]:
    """``agentcron serve --port 0`` until the block ends (then SIGTERM, waited for)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "agentcron", "--db", db, "serve", "--port", "0", *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env(),
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        assert proc.stdout is not None
        for line in proc.stdout:
            if (found := URL.search(line)) is not None:
                break
            assert time.monotonic() < deadline, "serve printed no URL"
        else:
            raise AssertionError(f"serve exited {proc.wait()}: {proc.stderr}")
        yield Serving(proc, found.group(1))
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)


@pytest.fixture
def db(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'serve.db'}"


def test_serve_runs_the_api_open_on_loopback_without_tokens(db: str) -> None:
    with serve(db) as serving:
        assert serving.url.startswith("http://127.0.0.1:")
        with httpx.Client(base_url=serving.url) as http:
            assert http.get("/healthz").json()["status"] == "healthy"
            assert http.get("/v1/tasks").status_code == 200
            assert "agentcron_workers_alive 1.0" in http.get("/metrics").text
    assert serving.proc.returncode == 0
    assert serving.proc.stderr is not None
    assert "the API at http://127.0.0.1" in serving.proc.stderr.read()  # says it is open


def test_serve_refuses_a_public_address_without_a_token(db: str) -> None:
    done = agentcron("serve", "--host", "0.0.0.0", "--port", "0", db=db)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(
        "error: host: refusing to serve the API on 0.0.0.0 without an API token"
    )


def test_tokens_cli_and_a_public_address_with_a_token(db: str) -> None:
    created = agentcron("tokens", "create", "--scope", "write", "--namespace", "default",
                        "--name", "ci", db=db)  # fmt: skip
    assert created.returncode == 0, created.stderr
    secret = created.stdout.strip()
    assert secret.startswith("ac_")
    assert "\n" not in secret
    listed = agentcron("tokens", "list", "--json", db=db)
    assert secret not in listed.stdout
    assert '"name": "ci"' in listed.stdout
    with serve(db, "--host", "0.0.0.0") as serving:
        url = serving.url.replace("0.0.0.0", "127.0.0.1")
        with httpx.Client(base_url=url) as http:
            assert http.get("/v1/runs").status_code == 401
            ok = http.get("/v1/runs", headers={"Authorization": f"Bearer {secret}"})
            assert ok.status_code == 200
    token_id = listed.stdout.split('"id": "')[1].split('"')[0]
    assert agentcron("tokens", "revoke", token_id, db=db).returncode == 0
    assert agentcron("tokens", "revoke", "nope", db=db).returncode == 2


def test_insecure_no_auth_allows_a_public_address(db: str) -> None:
    with serve(db, "--host", "0.0.0.0", "--insecure-no-auth") as serving:
        url = serving.url.replace("0.0.0.0", "127.0.0.1")
        assert httpx.get(f"{url}/v1/tasks").status_code == 200


def test_busy_port_is_one_line_exit_2(db: str) -> None:
    with serve(db) as serving:
        port = serving.url.rsplit(":", 1)[1]
        done = agentcron("serve", "--port", port, db=db)
        assert done.returncode == 2
        assert done.stderr.startswith("error: port: cannot listen on 127.0.0.1:")


# -- in-process: lifespan, mount, the example -----------------------------------------------------
async def test_lifespan_runs_the_app(tmp_path: Path) -> None:
    app = App(f"sqlite:///{tmp_path / 'l.db'}", maintenance=False)
    done: list[str] = []

    @app.task()
    async def note(text: str) -> None:
        done.append(text)

    web = FastAPI(lifespan=app.lifespan())  # the same as agentcron.api.lifespan(app)
    async with web.router.lifespan_context(web):
        await app.enqueue(note, {"text": "hi"})
        for _ in range(500):
            if done:
                break
            await _tick()
    assert done == ["hi"]


async def test_mount_serves_the_api_under_a_prefix(tmp_path: Path) -> None:
    app = App(f"sqlite:///{tmp_path / 'm.db'}", maintenance=False)

    @app.task()
    async def hello() -> None: ...

    web = FastAPI()

    @web.get("/own")
    async def own() -> dict[str, bool]:
        return {"ok": True}

    mount(web, app, prefix="/jobs")
    async with web.router.lifespan_context(web):
        transport = httpx.ASGITransport(app=web)
        async with httpx.AsyncClient(transport=transport, base_url="http://x") as http:
            assert (await http.get("/own")).json() == {"ok": True}
            r = await http.post("/jobs/v1/runs", json={"task": "hello"})
            assert r.status_code == 202
            assert (await http.get("/jobs/openapi.json")).status_code == 200
            assert app.scheduler is not None
            assert app.worker is not None


async def test_fastapi_example(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    spec = importlib.util.spec_from_file_location(
        "fastapi_app", ROOT / "examples" / "fastapi_app.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    web: FastAPI = module.web
    async with web.router.lifespan_context(web):
        transport = httpx.ASGITransport(app=web)
        async with httpx.AsyncClient(transport=transport, base_url="http://x") as http:
            run_id = (await http.post("/signup/42")).json()["run"]
            schedule = (await http.get("/agentcron/v1/schedules/digest")).json()
            assert schedule["trigger"] == {"cron": "0 9 * * 1-5", "timezone": "Europe/Berlin"}
            for _ in range(500):
                run = (await http.get(f"/agentcron/v1/runs/{run_id}")).json()
                if run["status"] == "succeeded":
                    break
                await _tick()
            assert run["result"] == "digest sent by welcome"


async def _tick() -> None:
    import asyncio

    await asyncio.sleep(0.01)


# -- token verbs on both stores ------------------------------------------------------------------
async def test_token_verbs(store: Store) -> None:
    now = datetime(2030, 1, 1, tzinfo=UTC)
    assert not await store.has_tokens()
    token = ApiToken("t1", "ci", Scope.WRITE, ("a", "b"), now)
    await store.add_token(token, hash_secret("ac_secret"))
    assert await store.has_tokens()
    assert await store.find_token(hash_secret("ac_secret")) == token
    assert await store.find_token(hash_secret("ac_other")) is None
    later = datetime(2030, 1, 2, tzinfo=UTC)
    await store.touch_token("t1", later)
    assert (await store.list_tokens())[0].last_used_at == later
    revoked = await store.revoke_token("t1", later)
    assert revoked.revoked_at == later
    assert not revoked.active
    again = await store.revoke_token("t1", datetime(2030, 1, 3, tzinfo=UTC))
    assert again.revoked_at == later  # the first revocation stays
    assert not await store.has_tokens()
    with pytest.raises(TokenNotFound):
        await store.revoke_token("nope", later)


def test_schedules_backfill_cli(tmp_path: Path) -> None:
    (tmp_path / "bf_tasks.py").write_text(
        "import agentcron\n\n@agentcron.task\nasync def report() -> None: ...\n"
    )
    config = tmp_path / "agentcron.toml"
    config.write_text(f'[agentcron]\ndb = "sqlite:///{tmp_path / "bf.db"}"\ntasks = ["bf_tasks"]\n')
    env = _env() | {"PYTHONPATH": os.pathsep.join([str(tmp_path), _env()["PYTHONPATH"]])}

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "agentcron", "-c", str(config), *args],
                              capture_output=True, text=True, timeout=60, env=env)  # fmt: skip

    assert cli("schedules", "add", "report", "--trigger", "0 6 * * *").returncode == 0
    window = ("--from", "2026-01-01T00:00:00Z", "--to", "2026-01-03T06:00:00Z")
    first = cli("schedules", "backfill", "report", *window, "--json")
    assert first.returncode == 0, first.stderr
    assert '"created": 3' in first.stdout
    again = cli("schedules", "backfill", "report", *window)
    assert again.stdout.strip() == "backfilled report: 3 slots, 0 runs queued, 3 already had one"
    bad = cli("schedules", "backfill", "report", "--from", "soon", "--to", "2026-01-03")
    assert bad.returncode == 2
    assert bad.stderr.startswith("error: from: ")
