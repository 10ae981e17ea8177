"""Getting in: the stdio server checks its token before serving; the HTTP endpoint answers 401
before the SDK sees a request without a valid token."""

from __future__ import annotations

import subprocess
import sys

import httpx
from mcp_harness import Site, child_env, http_session, ok, refused


def start_mcp(site: Site, *args: str, token: str | None = None) -> subprocess.Popen[str]:
    env = child_env(AGENTCRON_TOKEN=token) if token else child_env()
    return subprocess.Popen(
        [sys.executable, "-m", "agentcron", "mcp", "--config", str(site.config), *args],
        cwd=site.root, env=env, text=True,
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip


def test_stdio_checks_its_token_first_and_ends_with_its_input(site: Site) -> None:
    procs = {  # started together: each spends most of its time importing
        "missing": start_mcp(site),
        "unknown": start_mcp(site, "--token", "ac_" + "x" * 43),
        "elsewhere": start_mcp(site, "--namespace", "team-b", token=site.secrets["write"]),
        "fine": start_mcp(site, token=site.secrets["read"]),
    }
    done = {name: (proc, *proc.communicate("", timeout=30)) for name, proc in procs.items()}
    expected = {
        "missing": "token: an API token is required (--token or AGENTCRON_TOKEN)",
        "unknown": "token: an API token is unknown or revoked",
        "elsewhere": "this token cannot use namespace 'team-b'",
    }
    for name, (proc, out, err) in done.items():
        assert out == "", name  # stdout is the protocol's: nothing else goes there
        if name == "fine":
            assert proc.returncode == 0, err  # the end of stdin ends it
        else:
            assert proc.returncode == 2, (name, err)
            assert err.startswith("error: "), (name, err)
            assert expected[name] in err, (name, err)


def test_http_endpoint_needs_a_valid_token(served: str, site: Site) -> None:
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
    headers = {"Accept": "application/json, text/event-stream"}
    for auth in (None, "Bearer ac_" + "x" * 43, "Basic abc"):
        sent = headers | ({"Authorization": auth} if auth else {})
        answer = httpx.post(f"{served}/mcp", json=body, headers=sent, timeout=10)
        assert answer.status_code == 401, answer.text
        assert answer.json()["error"]["code"] == "unauthorized"
        assert answer.headers["www-authenticate"] == "Bearer"


async def test_http_namespace_from_the_url(served: str, site: Site) -> None:
    async with http_session(f"{served}/mcp?namespace=team-b", site.secrets["multi"]) as s:
        assert (await ok(s, "list_schedules"))["namespace"] == "team-b"
    async with http_session(f"{served}/mcp", site.secrets["multi"]) as s:
        assert (await ok(s, "list_schedules"))["namespace"] == "default"
    async with http_session(f"{served}/mcp?namespace=default", site.secrets["team_b"]) as s:
        error = await refused(s, "list_schedules")
    assert (error["code"], error["field"]) == ("forbidden", "namespace")
