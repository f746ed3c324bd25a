"""A live quiz in two browsers: the question, answers, the board moving, one's own rank."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from tests.realtime.test_cluster import Cluster
from tests.study.helpers import quiz
from tests.support import Api
from tests.web.conftest import Browsers, accessible, log_in, shot


@pytest.mark.timeout(120)
async def test_the_board_moves_when_the_other_player_answers(
    site: Cluster, rest: Api, browsers: Browsers
) -> None:
    asha, ravi = await rest.user("Asha"), await rest.user("Ravi")
    room = await rest.room(asha, ravi, name="NEET biology")
    await quiz(rest, asha, room, 1, 2)
    a = await browsers.page(site.a.url)
    b = await browsers.page(site.b.url)
    await log_in(a, asha)
    await log_in(b, ravi)

    # The owner starts a session; a refused setting is explained, not swallowed.
    await a.get_by_role("tab", name="Live quiz").click()
    await a.get_by_label("Seconds per question").fill("1")
    await a.get_by_role("button", name="Start live session").click()
    await expect(a.locator(".notice")).to_contain_text("Check what you entered")
    await a.get_by_label("Seconds per question").fill("12")
    await a.get_by_role("button", name="Start live session").click()
    await expect(a.get_by_role("heading", name="Q0")).to_be_visible()
    await expect(a.get_by_role("timer")).to_contain_text("s left")

    # The member joins from the announcement in the group's chat.
    await b.get_by_role("button", name="Join live quiz").click()
    await expect(b.get_by_role("heading", name="Q0")).to_be_visible()
    session_board_a = a.get_by_role("list", name="Session leaderboard")
    await b.locator("button.option[data-option='1']").click()
    await expect(b.locator(".explanation")).to_contain_text("Answer sent")
    await expect(session_board_a.locator("li")).to_have_text(["#1 Ravi 4 pts"])
    await expect(b.locator(".my-rank")).to_have_text("Your rank: #1 · 4 points")

    await a.locator("button.option[data-option='3']").click()
    await expect(session_board_a.locator("li")).to_have_text(["#1 Ravi 4 pts", "#2 Asha -1 pts"])
    await expect(a.locator(".my-rank")).to_have_text("Your rank: #2 · -1 points")
    await expect(
        b.get_by_role("list", name="Session leaderboard").locator("li.me")
    ).to_contain_text("Ravi")
    await accessible(b)
    await shot(b, "live-quiz")

    # The reveal marks the right answer and the wrong one.
    await expect(a.locator("button.option.correct")).to_have_attribute("data-option", "1")
    await expect(a.locator("button.option.wrong")).to_have_attribute("data-option", "3")
    await expect(a.locator(".explanation")).to_contain_text("Answer: B. Not this time.")
