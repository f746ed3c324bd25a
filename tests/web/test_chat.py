"""Study-group chat in two browsers, one on each worker."""

from __future__ import annotations

from playwright.async_api import expect

from app.security import passwords
from domain.seed import seed_database
from tests.broker.contract import eventually
from tests.realtime.test_cluster import Cluster
from tests.support import Api
from tests.web.conftest import Browsers, accessible, log_in, shot


async def test_signing_up_shows_the_app_and_refusals_are_explained(
    site: Cluster, rest: Api, browsers: Browsers
) -> None:
    page = await browsers.page(site.a.url)
    await accessible(page)
    await shot(page, "login")
    # Keyboard only: type, Tab to the next field, Enter submits.
    await page.get_by_label("Display name").focus()
    for text in ("Meera", "meera@example.com", "long enough pw"):
        await page.keyboard.type(text)
        await page.keyboard.press("Tab")
    await expect(page.get_by_role("button", name="Create account")).to_be_focused()
    await page.keyboard.press("Enter")
    await expect(page.locator("body")).to_have_attribute("data-connection", "open")
    await expect(page.locator(".who")).to_have_text("Meera")
    # An unknown invite code is refused with the server's reason, not silently.
    await page.get_by_label("Invite code").fill("no-such-code")
    await page.get_by_role("button", name="Join", exact=True).click()
    await expect(page.locator(".notice")).to_contain_text("Not found")
    # An access token the server no longer accepts is renewed with the refresh token, and
    # the request goes through: the person notices nothing.
    await page.evaluate("window.parley.api.access = 'no-longer-valid'")
    await page.get_by_label("New group").fill("Renewed")
    await page.get_by_role("button", name="Create").click()
    await expect(page.get_by_role("heading", name="Renewed")).to_be_visible()
    await expect(page.locator("body")).to_have_attribute("data-connection", "open")
    await page.get_by_role("button", name="Log out").click()
    await expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    # The tab forgot its tokens (and the server revoked them): a reload stays logged out.
    await page.reload()
    await expect(page.get_by_role("heading", name="Log in")).to_be_visible()


async def test_the_demo_account_is_one_click_away_on_a_development_server(
    site: Cluster, rest: Api, browsers: Browsers
) -> None:
    assert site.settings.database_url
    await seed_database(site.settings.database_url, passwords(site.settings), only_if_empty=True)
    page = await browsers.page(site.a.url)
    await page.get_by_role("button", name="Try the demo account").click()
    await expect(page.locator("body")).to_have_attribute("data-connection", "open")
    await expect(page.locator(".invite code")).to_have_text("neet-demo-2027")
    # The group's views are a tablist: arrow keys move between them.
    await page.get_by_role("tab", name="Chat").focus()
    await page.keyboard.press("ArrowRight")
    await expect(page.get_by_role("tab", name="Live quiz")).to_be_focused()
    await expect(page.get_by_role("tab", name="Live quiz")).to_have_attribute(
        "aria-selected", "true"
    )
    await expect(page.get_by_role("button", name="Start live session")).to_be_enabled()
    await accessible(page)
    await shot(page, "demo-group")


async def test_two_people_chat_across_workers(site: Cluster, rest: Api, browsers: Browsers) -> None:
    asha, ravi = await rest.user("Asha"), await rest.user("Ravi")
    room = await rest.room(asha, ravi, name="Biology crew")
    for n in range(60):  # more than one page of history
        await rest.post(ravi, room, f"earlier {n}")
    a = await browsers.page(site.a.url)
    b = await browsers.page(site.b.url)
    await log_in(a, asha)
    await log_in(b, ravi)
    assert await a.evaluate("document.body.dataset.node") != await b.evaluate(
        "document.body.dataset.node"
    )

    # History: the latest page, then scrolling back through REST.
    log_a = a.get_by_role("log", name="Messages")
    await expect(log_a.locator("li[data-seq]")).to_have_count(50)
    await a.get_by_role("button", name="Load earlier messages").click()
    await expect(log_a.locator("li[data-seq]")).to_have_count(60)
    await expect(log_a.locator("li[data-seq]").first).to_contain_text("earlier 0")

    # Presence and typing.
    await expect(a.get_by_role("list", name="Online now")).to_contain_text("Ravi")
    await expect(a.locator(".online-count")).to_have_text("2")  # the server's `count`
    await b.get_by_role("textbox", name="Message").press_sequentially("hi")
    await expect(a.locator(".typing")).to_have_text("Ravi is typing…")

    # Each sees the other's message, once.
    await b.get_by_role("textbox", name="Message").fill("hello from Ravi")
    await b.get_by_role("textbox", name="Message").press("Enter")
    await a.get_by_role("textbox", name="Message").fill("hello from Asha")
    await a.get_by_role("button", name="Send").click()
    for page in (a, b):
        log = page.get_by_role("log", name="Messages")
        for text in ("hello from Ravi", "hello from Asha"):
            await expect(log.locator("li[data-seq]", has_text=text)).to_have_count(1)
    await accessible(a)
    await shot(a, "chat")

    # Phone-sized and dark: still labelled, the composer still on screen.
    await a.set_viewport_size({"width": 390, "height": 844})
    await a.emulate_media(color_scheme="dark")
    await expect(a.get_by_role("textbox", name="Message")).to_be_in_viewport()
    await accessible(a)
    await shot(a, "chat-phone-dark")


async def test_unread_counts_follow_read_positions(
    site: Cluster, rest: Api, browsers: Browsers
) -> None:
    asha, ravi = await rest.user("Asha"), await rest.user("Ravi")
    first = await rest.room(asha, ravi, name="A first group")
    second = await rest.room(asha, ravi, name="Physics")
    await rest.post(ravi, second, "unread before login")
    a = await browsers.page(site.a.url)
    await log_in(a, asha)
    physics = a.get_by_role("button", name="Physics")
    await expect(physics.locator(".badge")).to_have_text("1")
    await rest.post(ravi, second, "unread while away")
    await rest.post(ravi, first, "seen at once")
    await expect(physics.locator(".badge")).to_have_text("2")
    await physics.click()
    await expect(a.get_by_role("log", name="Messages")).to_contain_text("unread while away")
    await expect(physics.locator(".badge")).to_have_count(0)

    # The read position is stored (PostgreSQL has it), so a reload shows no unread count.
    async def stored() -> bool:
        r = await rest.http.get(f"/api/v1/rooms/{second}", headers=asha.headers)
        return bool(r.json()["last_read_seq"] == 2)

    await eventually(stored)
    await a.get_by_role("button", name="A first group").click()
    await a.reload()
    await expect(a.locator("body")).to_have_attribute("data-connection", "open")
    await expect(a.get_by_role("button", name="Physics").locator(".badge")).to_have_count(0)
