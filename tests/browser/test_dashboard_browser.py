"""The dashboard in Chromium against a real ``agentcron serve``: live updates without reload,
buttons that call the API, errors shown (escaped), and the token form when auth is on."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from .served import Served

LIVE_OR_POLLING = re.compile(r"^(live|polling every 2s)$")
SHOWCASE = [
    ("nightly", "0 3 * * *"),
    ("weekday-digest", "every weekday at 9am"),
    ("pulse", "every 30s"),
]


def _expect() -> Any:
    from playwright.sync_api import expect

    return expect


def _open(page: Any, server: Served) -> None:
    page.goto(server.url + "/")
    page.evaluate("window.notReloaded = true")
    _expect()(page.locator("#conn")).to_have_text(LIVE_OR_POLLING)


def _still_same_page(page: Any) -> None:
    assert page.evaluate("window.notReloaded === true"), "the page was reloaded"


def _has_stream(server: Served) -> bool:
    return "/v1/events/stream" in server.api("GET", "/openapi.json").json()["paths"]


def test_live_mode_matches_the_server(page: Any, served: Served) -> None:
    """SSE when the API has the stream; else polling every 2 s."""
    _open(page, served)
    wanted = "live" if _has_stream(served) else "polling every 2s"
    _expect()(page.locator("#conn")).to_have_text(wanted)


def test_a_schedule_created_through_the_api_appears_and_pauses_from_the_page(
    page: Any, served: Served
) -> None:
    expect = _expect()
    _open(page, served)
    created = served.api(
        "POST", "/v1/schedules", json={"task": "greet", "trigger": "every 10m", "name": "digest"}
    )
    assert created.status_code == 201, created.text
    row = page.locator('#schedules tr[data-name="digest"]')
    expect(row).to_be_visible()
    expect(row).to_contain_text("every 10 minutes")
    expect(row.locator(".rel")).to_have_text(re.compile(r"^in \d+m"))
    expect(row).to_have_attribute("data-state", "enabled")

    row.get_by_role("button", name="Pause").click()
    expect(row).to_have_attribute("data-state", "paused")
    expect(page.locator("#flash")).to_have_text("paused digest")
    answer = served.api("GET", "/v1/schedules/digest").json()
    assert answer["enabled"] is False
    assert answer["next_run_at"] is None

    row.get_by_role("button", name="Resume").click()
    expect(row).to_have_attribute("data-state", "enabled")
    assert served.api("GET", "/v1/schedules/digest").json()["enabled"] is True

    row.get_by_role("button", name="Trigger now").click()
    run = page.locator("#runs tr", has_text="digest").first
    expect(run).to_have_attribute("data-status", "succeeded")
    _still_same_page(page)


def test_a_failing_run_shows_its_error_escaped_and_can_be_retried(
    page: Any, served: Served
) -> None:
    expect = _expect()
    _open(page, served)
    run = served.api("POST", "/v1/runs", json={"task": "explode"}).json()
    row = page.locator(f'#failures tr[data-run="{run["id"]}"]')
    expect(row).to_be_visible()
    message = "ValueError: the <b>model</b> refused: quota exceeded"
    expect(row.locator(".err summary")).to_have_text(message)  # shown as text, not markup
    assert row.locator(".err b").count() == 0
    expect(row.locator(".badge")).to_have_text(re.compile("^(dead|failed)$"))

    row.get_by_role("button", name="Retry").click()
    expect(page.locator("#flash")).to_have_text(f"run {run['id']} queued again")
    expect(row.locator(".badge")).to_have_text(re.compile("^(dead|failed)$"))  # failed again
    assert served.api("GET", f"/v1/runs/{run['id']}").json()["attempts"] == 2
    _still_same_page(page)


def test_with_auth_on_the_page_asks_for_a_token(page: Any, served_with_token: Served) -> None:
    expect = _expect()
    server = served_with_token
    page.goto(server.url + "/")
    form = page.locator("#login")
    expect(form).to_be_visible()
    expect(page.locator("#conn")).to_have_text("token needed")
    assert page.locator("#schedules").count() == 0  # nothing shown without a token

    page.fill("#token", "ac_not-a-real-token")
    page.click("#login button[type=submit]")
    expect(page.locator("#login-error")).to_have_text("That token was refused.")
    expect(form).to_be_visible()

    assert server.token is not None
    page.fill("#token", server.token)
    page.click("#login button[type=submit]")
    expect(form).to_be_hidden()
    expect(page.locator("#schedules")).to_be_visible()
    expect(page.locator("#conn")).to_have_text(LIVE_OR_POLLING)

    server.api("POST", "/v1/schedules", json={"task": "greet", "trigger": "every 1h", "name": "a"})
    row = page.locator('#schedules tr[data-name="a"]')
    expect(row).to_be_visible()
    row.get_by_role("button", name="Pause").click()
    expect(row).to_have_attribute("data-state", "paused")
    assert server.api("GET", "/v1/schedules/a").json()["enabled"] is False

    page.reload()  # the token is remembered
    expect(row).to_be_visible()
    expect(form).to_be_hidden()

    page.evaluate("localStorage.setItem('agentcron.token:/', 'ac_revoked')")
    page.reload()  # a 401 brings the form back
    expect(form).to_be_visible()
    expect(page.locator("#login-error")).to_have_text("That token was refused.")


def test_screenshot_of_the_main_page(page: Any, served: Served, artifacts: Path) -> None:
    """Fill the page with some of everything, then save ``artifacts/dashboard.png``."""
    expect = _expect()
    for name, trigger in SHOWCASE:
        served.api(
            "POST", "/v1/schedules", json={"task": "greet", "trigger": trigger, "name": name}
        )
    served.api("POST", "/v1/schedules/pulse/pause")
    for _ in range(2):
        served.api("POST", "/v1/runs", json={"task": "greet", "args": {"name": "ada"}})
    served.api("POST", "/v1/runs", json={"task": "greet", "delay": "1h"})
    _open(page, served)
    expect(page.locator('#schedules tr[data-name="pulse"]')).to_have_attribute(
        "data-state", "paused"
    )
    expect(page.locator("#workers tbody tr")).not_to_have_count(0)
    expect(page.locator("#runs tr[data-status=queued]")).not_to_have_count(0)
    path = artifacts / "dashboard.png"
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 10_000


def test_the_event_stream_drives_refreshes_and_resumes_from_the_last_event_id(
    page: Any, served: Served
) -> None:
    """The stream as the browser sees it (stubbed, so this holds whatever the server has), with
    the page's timers on a paused clock: an event refreshes the panels; a reconnect sends
    ``Last-Event-ID``."""
    streams: list[dict[str, str]] = []
    panels: list[int] = []

    def stream(route: Any) -> None:
        streams.append(route.request.headers)
        body = f": hello\n\nid: {40 + len(streams)}\nevent: run.succeeded\ndata: {{}}\n\n"
        route.fulfill(status=200, body=body, headers={"Content-Type": "text/event-stream"})

    page.clock.install()
    page.clock.pause_at(datetime.now(UTC) + timedelta(minutes=1))
    page.route("**/v1/events/stream", stream)
    page.on("request", lambda r: "/dashboard/panels" in r.url and panels.append(len(streams)))
    page.add_init_script(MODE_RECORDER)
    page.goto(served.url + "/")
    modes = _expect()(page.locator("html"))
    modes.to_have_attribute("data-modes", re.compile(r"\blive\b"))
    page.wait_for_load_state("networkidle")
    assert panels == [0, 1], "one refresh at start, one when the stream opened"

    with page.expect_request("**/dashboard/panels", timeout=5000):
        page.clock.run_for(1000)  # the event's refresh is due (the poll: every 2 s)
    assert panels == [0, 1, 1], "no refresh after an event"

    page.clock.run_for(2500)  # the stream ended: polling, and a reconnect 3 s after it
    modes.to_have_attribute("data-modes", re.compile(r"\blive\b.*\blive\b"))
    assert "last-event-id" not in streams[0]
    assert streams[1]["last-event-id"] == "41"


MODE_RECORDER = """
document.addEventListener("DOMContentLoaded", () => {
  const conn = document.getElementById("conn"), html = document.documentElement;
  html.dataset.modes = conn.dataset.mode;
  new MutationObserver(() => { html.dataset.modes += " " + conn.dataset.mode; })
    .observe(conn, { attributes: true, attributeFilter: ["data-mode"] });
});
"""


def test_trigger_of_a_fan_out_schedule_says_how_many_runs(page: Any, served: Served) -> None:
    expect = _expect()
    for subject in ("member:1", "member:2"):
        assert served.api("POST", "/v1/activity", json={"subject": subject}).status_code < 300
    created = served.api(
        "POST", "/v1/schedules",
        json={"task": "greet", "trigger": "manual", "name": "members",
              "for_each_subject": "member:*"},
    )  # fmt: skip
    assert created.status_code == 201, created.text
    _open(page, served)
    row = page.locator('#schedules tr[data-name="members"]')
    row.get_by_role("button", name="Trigger now").click()
    expect(page.locator("#flash")).to_have_text(
        "triggered members: 2 runs queued (one per subject)"
    )
    runs = served.api("GET", "/v1/schedules/members/runs").json()["items"]
    assert sorted(r["subject"] for r in runs) == ["member:1", "member:2"]
    _still_same_page(page)
