"""The web client's end-to-end fixtures: Debian's Chromium, driven by Playwright, against
two real server processes on one PostgreSQL and one Redis.

Without Chromium or Playwright the tests skip and say why, except under CI=true, where a
missing browser fails them: CI must run them (.ci/run installs Chromium).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from app.settings import Environment
from tests.backing import Backing
from tests.realtime.test_cluster import Cluster, cluster_settings
from tests.servers import ServerProcess, free_port
from tests.support import Api, User

CHROMIUM = Path(os.environ.get("PARLEY_CHROMIUM", "/usr/bin/chromium"))
AXE = Path(__file__).resolve().parent / "vendor" / "axe.min.js"
# `make screenshots` sets this to docs/screenshots: each main screen is saved there.
SHOTS = os.environ.get("PARLEY_SCREENSHOTS")
if SHOTS:
    Path(SHOTS).mkdir(parents=True, exist_ok=True)
WAIT_MS = 15_000  # the longest any expectation waits for the page


def missing_browser() -> str | None:
    try:
        import playwright.async_api  # noqa: F401
    except ImportError:
        return "Playwright is not installed (the dev extra: pip install -e '.[dev]')"
    if not CHROMIUM.exists():
        return f"no Chromium at {CHROMIUM} (Debian: apt-get install chromium)"
    return None


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Any]:
    reason = missing_browser()
    if reason:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI must run the web client's browser tests, but {reason}", pytrace=False)
        pytest.skip(f"browser tests skipped: {reason}")
    from playwright.async_api import async_playwright, expect

    expect.set_options(timeout=WAIT_MS)
    async with async_playwright() as pw:
        chromium = await pw.chromium.launch(executable_path=str(CHROMIUM))
        try:
            yield chromium
        finally:
            await chromium.close()


@asynccontextmanager
async def web_cluster(
    backing: Backing, prefix: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Cluster]:
    """Two server processes, each serving the page; the browser may use either origin."""
    ports = free_port(), free_port()
    settings = cluster_settings(
        backing,
        prefix,
        tmp_path_factory.mktemp("web"),
        allowed_origins=[f"http://127.0.0.1:{p}" for p in ports],
        env=Environment.development,  # as `make run`: the page offers the demo login
        quiz_min_seconds_per_question=2,
        quiz_reveal_seconds=1.5,
        board_window_seconds=0.1,
        bot_quota=50,
        bot_offline_pace_ms=(60, 90),  # an answer streams for a few seconds: time to watch it
    )
    cluster = Cluster(settings)
    cluster.a = ServerProcess(settings, port=ports[0])
    cluster.b = ServerProcess(settings, port=ports[1])
    try:
        await cluster.start()
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="session")
async def site(
    browser: Any,
    schema: object,
    backing: Backing,
    redis_prefix: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[Cluster]:
    """One cluster for the web tests (after `browser`: no servers start for tests that skip)."""
    async with web_cluster(backing, redis_prefix, tmp_path_factory) as cluster:
        yield cluster


@pytest.fixture
async def rest(site: Cluster, db: object) -> AsyncIterator[Api]:
    """REST set-up on worker a, with an empty database."""
    async with site.apis() as (on_a, _):
        yield on_a


class Browsers:
    """Browser contexts for one test; each page's script errors fail the test."""

    def __init__(self, browser: Any) -> None:
        self.browser = browser
        self.contexts: list[Any] = []
        self.errors: list[str] = []

    async def page(self, url: str, **options: Any) -> Any:
        options.setdefault("viewport", {"width": 1100, "height": 760})
        context = await self.browser.new_context(**options)
        self.contexts.append(context)
        page = await context.new_page()
        page.on("pageerror", lambda e: self.errors.append(f"{url}: {e}"))
        await page.goto(url)
        return page

    async def close(self) -> None:
        for context in self.contexts:
            await context.close()


@pytest.fixture
async def browsers(browser: Any) -> AsyncIterator[Browsers]:
    b = Browsers(browser)
    try:
        yield b
    finally:
        await b.close()
    assert not b.errors, f"the page threw: {b.errors}"


async def log_in(page: Any, user: User) -> None:
    """Log in through the page's form and wait for the signed-in screen."""
    from playwright.async_api import expect

    await page.get_by_label("Email").first.fill(user.email)
    await page.get_by_label("Password", exact=True).fill(user.password)
    await page.get_by_role("button", name="Log in", exact=True).click()
    await expect(page.locator("body")).to_have_attribute("data-connection", "open")


async def accessible(page: Any) -> None:
    """axe-core finds no critical or serious violation on the page as it is now."""
    await page.add_script_tag(path=str(AXE))
    result = await page.evaluate("async () => (await axe.run(document)).violations")
    critical = [
        f"{v['id']}: {v['help']} ({len(v['nodes'])} nodes)"
        for v in result
        if v["impact"] in ("critical", "serious")
    ]
    assert not critical, critical


async def shot(page: Any, name: str) -> None:
    """Save a screenshot for the README when `make screenshots` asked for them."""
    if SHOTS:
        await page.screenshot(path=str(Path(SHOTS) / f"{name}.png"))
