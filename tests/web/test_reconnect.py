"""A worker dies under the page: "Reconnecting…", then every message exactly once."""

from __future__ import annotations

import signal

import pytest
from playwright.async_api import expect

from tests.realtime.test_cluster import Cluster
from tests.servers import ServerProcess
from tests.support import Api
from tests.web.conftest import Browsers, log_in, shot


@pytest.mark.timeout(120)
async def test_a_killed_worker_costs_no_message_and_doubles_none(
    site: Cluster, rest: Api, browsers: Browsers
) -> None:
    asha, ravi = await rest.user("Asha"), await rest.user("Ravi")
    room = await rest.room(asha, ravi, name="Night shift")
    await rest.post(ravi, room, "before the crash")
    a = await browsers.page(site.a.url)
    b = await browsers.page(site.b.url)
    await log_in(a, asha)
    await log_in(b, ravi)
    log_a, log_b = (p.get_by_role("log", name="Messages") for p in (a, b))
    await expect(log_a).to_contain_text("before the crash")

    # kill -9: no close frame, the page sees the connection drop.
    site.a.signal(signal.SIGKILL)
    site.a.stop()
    try:
        await expect(a.get_by_role("status").filter(has_text="Reconnecting…")).to_be_visible()
        await shot(a, "reconnecting")

        # Written while offline: kept and shown as waiting, sent once the page is back.
        await a.get_by_role("textbox", name="Message").fill("typed while offline")
        await a.get_by_role("textbox", name="Message").press("Enter")
        await expect(log_a.locator("li.pending")).to_contain_text("typed while offline")
        for n in range(3):
            await b.get_by_role("textbox", name="Message").fill(f"during the outage {n}")
            await b.get_by_role("textbox", name="Message").press("Enter")
        await expect(log_b.locator("li[data-seq]", has_text="during the outage 2")).to_have_count(1)
    finally:
        # The worker comes back on its port (also for the next tests if this one failed);
        # the page resumes with `since`.
        site.a = ServerProcess(site.settings, port=site.a.port)
        site.a.start()
        await site.a.wait_ready()
    await expect(a.locator("body")).to_have_attribute("data-connection", "open", timeout=30_000)
    await expect(a.get_by_role("status").filter(has_text="Reconnecting…")).to_be_hidden()
    expected = [
        "before the crash",
        *(f"during the outage {n}" for n in range(3)),
        "typed while offline",
    ]
    for log in (log_a, log_b):
        await expect(log.locator("li.pending")).to_have_count(0)
        await expect(log.locator("li[data-seq] .body")).to_have_text(expected)
