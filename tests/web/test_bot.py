"""The symptom checker in the browser: a streaming answer, Stop, resume, emergencies."""

from __future__ import annotations

from typing import Any

from playwright.async_api import expect

from tests.realtime.test_cluster import Cluster
from tests.support import Api
from tests.web.conftest import Browsers, accessible, log_in, shot

SYMPTOMS = "I have had an itchy red rash on my arms for two weeks"
EMERGENCY = "I have crushing chest pain spreading to my left arm and I am sweating"


async def ask(page: Any, text: str) -> None:
    box = page.get_by_role("textbox", name="Your symptoms")
    await box.fill(text)
    await box.press("Enter")


async def answer_longer_than(page: Any, chars: int) -> int:
    """Wait until the answer in flight holds more than `chars` characters; return its length."""
    handle = await page.wait_for_function(
        """n => { const el = document.querySelector('.streaming[aria-busy=true] .answer');
                  return el && el.textContent.length > n && el.textContent.length; }""",
        arg=chars,
    )
    length: int = await handle.json_value()
    return length


async def test_an_answer_streams_in_stops_and_resumes_after_a_reload(
    site: Cluster, rest: Api, browsers: Browsers
) -> None:
    asha = await rest.user("Asha")
    page = await browsers.page(site.a.url)
    await log_in(page, asha)
    await page.get_by_role("button", name="New symptom check").click()
    await expect(page.locator(".disclaimer")).to_contain_text("not a diagnosis")

    # The answer grows while it streams, then Stop ends it with what was said so far.
    await ask(page, SYMPTOMS)
    first = await answer_longer_than(page, 0)
    await answer_longer_than(page, first)
    await page.get_by_role("button", name="Stop").click()
    log = page.get_by_role("log", name="Messages")
    stopped = log.locator("li.from-bot")
    await expect(stopped).to_contain_text("You stopped this answer here.")
    await expect(stopped.locator(".triage .specialty")).to_contain_text("Dermatologist")
    await expect(page.locator(".streaming")).to_have_count(0)

    # A reload in the middle of an answer picks it up where it is, then it completes.
    await ask(page, "The rash is on my legs as well now")
    await answer_longer_than(page, 20)
    await accessible(page)
    await shot(page, "symptom-check")
    await page.reload()
    await expect(page.locator("body")).to_have_attribute("data-connection", "open")
    resumed = await answer_longer_than(page, 0)
    await answer_longer_than(page, resumed)
    await expect(log.locator("li.from-bot")).to_have_count(2, timeout=30_000)
    await expect(log.locator("li.from-bot").last).to_contain_text("not a diagnosis")
    await expect(log.locator("li.from-bot").last).not_to_contain_text("You stopped this answer")


async def test_an_emergency_is_shown_first_and_prominently(
    site: Cluster, rest: Api, browsers: Browsers
) -> None:
    asha = await rest.user("Asha")
    page = await browsers.page(site.b.url)
    await log_in(page, asha)
    await page.get_by_role("button", name="New symptom check").click()
    await ask(page, EMERGENCY)
    banner = page.locator(".emergency-pin")
    await expect(banner).to_be_visible()
    await expect(banner).to_contain_text("Emergency")
    reply = page.get_by_role("log", name="Messages").locator("li.from-bot")
    # The verdict comes before the text in the message itself.
    await expect(reply.locator(":scope > .triage.emergency + .body")).to_have_count(1)
    await expect(reply.locator(".triage")).to_contain_text("Emergency")
    await accessible(page)
    await shot(page, "emergency")
