"""Study groups inside Telegram (docs/telegram.md): a group chat bound to a Parley group by
its owner, messages relayed both ways without echo, the live quiz answered with inline
buttons, the leaderboard kept current by paced edits. A real `uvicorn --workers 2`
Parley, the real bridge, the fake Bot API."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from client import MessageEvent, ParleyClient, StaticToken, Subscription
from tests.bridges.conftest import AsUser, Bridge
from tests.bridges.fake_telegram import FakeTelegram, Sent
from tests.servers import ServerProcess
from tests.study.helpers import question

OWNER, ASHA, STRANGER = 7001, 7002, 7009
OLGA_IN_PARLEY = OWNER  # OWNER's Parley user is named Olga
CHAT = -100777
MEENA = "meena@example.com"  # a web user in the same Parley group
pytestmark = pytest.mark.timeout(240)  # two cold workers on a shared machine


async def study_group(telegram: FakeTelegram, parley: AsUser) -> dict[str, Any]:
    """OWNER's Parley study group, with ASHA a member; both started in Telegram."""
    for user, name in ((OWNER, "Olga"), (ASHA, "Asha")):
        await telegram.say(user, "/start", name=name)
        await telegram.wait_for(lambda: any("Welcome" in t for t in telegram.texts(user)))  # noqa: B023
    room: dict[str, Any] = await parley.call(
        OWNER, "POST", "/rooms", {"name": "Biology crew"}, expect=201
    )
    await parley.call(ASHA, "POST", "/rooms/join", {"invite_code": room["invite_code"]})
    return room


async def bound(telegram: FakeTelegram, parley: AsUser) -> dict[str, Any]:
    room = await study_group(telegram, parley)
    await telegram.say(OWNER, f"/bind {room['id']}", chat_id=CHAT)
    await telegram.wait_for(lambda: any("now bound to Biology crew" in t for t in texts(telegram)))
    return room


def texts(telegram: FakeTelegram) -> list[str]:
    return telegram.texts(CHAT)


def bot_messages(telegram: FakeTelegram, starting: str) -> list[Sent]:
    return [
        m
        for (c, _), m in sorted(telegram.messages.items())
        if c == CHAT and m.text.startswith(starting)
    ]


async def next_message(sub: Subscription, within: float = 30) -> MessageEvent:
    async with asyncio.timeout(within):
        async for event in sub:
            if isinstance(event, MessageEvent):
                return event
    raise AssertionError("the subscription ended")


async def test_a_bound_group_relays_both_ways_without_echo(
    telegram: FakeTelegram,
    cluster_bridge: Bridge,
    cluster_parley: AsUser,
    two_workers: ServerProcess,
) -> None:
    room = await bound(telegram, cluster_parley)
    async with httpx.AsyncClient(base_url=two_workers.url, timeout=15) as http:
        r = await http.post(
            "/api/v1/auth/register",
            json={
                "email": "meena@example.com",
                "password": "correct horse",
                "display_name": "Meena",
            },
        )
        assert r.status_code == 201, r.text
        t = await http.post(
            "/api/v1/auth/token",
            data={"username": "meena@example.com", "password": "correct horse"},
        )
        token = t.json()["access_token"]
        r = await http.post(
            "/api/v1/rooms/join",
            json={"invite_code": room["invite_code"]},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert r.status_code == 200, r.text

    async with ParleyClient(two_workers.ws_url, StaticToken(token)) as web:
        sub = await web.subscribe(f"room:{room['id']}")

        # Someone never linked: told how to be heard, and nothing reaches Parley.
        await telegram.say(STRANGER, "hello?", chat_id=CHAT, name="Zed")
        await telegram.wait_for(lambda: "not relayed to Parley" in texts(telegram)[-1])

        await telegram.say(ASHA, "Who has the notes on mitosis?", chat_id=CHAT)
        got = await next_message(sub)  # the first message in the room: not the stranger's
        assert got.body == "Who has the notes on mitosis?"
        assert got.author.name == "Asha"  # ASHA's own Parley user
        assert got.client_id is not None and got.client_id.startswith("tg-")

        await web.send(f"room:{room['id']}", "I do, page 12")
        await telegram.wait_for(lambda: texts(telegram)[-1] == "Meena: I do, page 12")

    # Relayed in seq order: had the Telegram message been echoed back, it would be here
    # before Meena's (author in bold, HTML).
    assert texts(telegram)[-2:] == [
        "Your messages are not relayed to Parley yet: send me /start (or /link CODE) in a "
        "private chat, then /join with the group's invite code.",
        "Meena: I do, page 12",
    ]
    (relayed,) = bot_messages(telegram, "Meena")
    assert relayed.markup == "<b>Meena</b>: I do, page 12"


async def test_only_an_owner_or_admin_can_bind_a_chat(
    telegram: FakeTelegram, cluster_bridge: Bridge, cluster_parley: AsUser
) -> None:
    room = await study_group(telegram, cluster_parley)
    await telegram.say(ASHA, f"/bind {room['id']}", chat_id=CHAT)
    await telegram.wait_for(lambda: texts(telegram))
    assert texts(telegram) == ["Only the group's owner or an admin can bind it to this chat."]

    await telegram.say(STRANGER, f"/bind {room['id']}", chat_id=CHAT)
    await telegram.wait_for(lambda: len(texts(telegram)) == 2)
    assert "not relayed to Parley yet" in texts(telegram)[-1]  # not linked: nothing to check

    await telegram.say(ASHA, "/quiz", chat_id=CHAT)
    await telegram.wait_for(lambda: "not bound" in texts(telegram)[-1])
    await telegram.say(ASHA, "chatter in an unbound chat", chat_id=CHAT)
    await telegram.say(OWNER, f"/bind {room['invite_code']}", chat_id=CHAT)  # by invite code
    await telegram.wait_for(lambda: "now bound to Biology crew" in texts(telegram)[-1])
    assert len(texts(telegram)) == 4, "unbound chatter is not answered"


async def test_quiz_answered_by_inline_button_once_and_the_board_kept_current(
    telegram: FakeTelegram, cluster_bridge: Bridge, cluster_parley: AsUser
) -> None:
    parley = cluster_parley
    room = await bound(telegram, parley)
    await telegram.say(OWNER, "/leaderboard", chat_id=CHAT)
    await telegram.wait_for(lambda: bot_messages(telegram, "Leaderboard"))
    (board,) = bot_messages(telegram, "Leaderboard")
    assert board.text == "Leaderboard\nNo scores yet."

    body = {"title": "Cells", "subject": "biology", "questions": [question("Mitosis?", 2)]}
    quiz = await parley.call(OWNER, "POST", f"/rooms/{room['id']}/quizzes", body, expect=201)
    session = await parley.call(
        OWNER, "POST", f"/quizzes/{quiz['id']}/sessions", {"seconds_per_question": 20}, 201
    )
    await parley.call(OWNER, "POST", f"/sessions/{session['id']}/start")

    await telegram.say(ASHA, "/quiz", chat_id=CHAT)
    await telegram.wait_for(lambda: bot_messages(telegram, "Question 1 of 1"))
    (asked,) = bot_messages(telegram, "Question 1 of 1")
    assert "Mitosis?" in asked.text
    assert [text for text, _ in asked.buttons] == ["A) A", "B) B", "C) C", "D) D"]
    assert all(len(data.encode()) < 64 for _, data in asked.buttons)

    first = await telegram.press(ASHA, CHAT, asked.message_id, asked.buttons[2][1])
    assert await telegram.wait_for(lambda: telegram.callback_answer(first)) == "Answer recorded."
    again = await telegram.press(ASHA, CHAT, asked.message_id, asked.buttons[1][1])
    assert (
        await telegram.wait_for(lambda: telegram.callback_answer(again))
        == "You have already answered this question."
    )
    stranger = await telegram.press(STRANGER, CHAT, asked.message_id, asked.buttons[2][1])
    assert "/start" in await telegram.wait_for(lambda: telegram.callback_answer(stranger))

    # The question closes: its buttons go, the answer is shown, the reveal is posted.
    await telegram.wait_for(lambda: bot_messages(telegram, "Question 1: the answer is C) C"), 40)
    assert asked.buttons == [] and asked.text.endswith("Answer: C) C")
    await telegram.wait_for(lambda: "The quiz is over" in texts(telegram)[-1], 20)

    # Scored once (+4), and the board message shows it.
    standings = await parley.get(ASHA, f"/sessions/{session['id']}/leaderboard")
    assert [(e["user"]["name"], e["score"], e["correct"]) for e in standings["items"]] == [
        ("Asha", 4, 1)
    ]
    await telegram.wait_for(lambda: board.text != "Leaderboard\nNo scores yet.", 20)
    assert board.text == "Leaderboard\n1. Asha: 4 (1 right, 0 wrong)"

    # Another score moves the board; edits stay >= 3 s apart, none with unchanged text.
    await parley.call(
        OWNER,
        "POST",
        f"/quizzes/{quiz['id']}/attempts",
        {"answers": [{"question_id": quiz["questions"][0]["id"], "selected_index": 2}]},
        expect=201,
    )
    await telegram.wait_for(lambda: "2. " in board.text, 30)
    edited = board.times[1:]  # [0] is when it was posted
    gaps = [b - a for a, b in itertools.pairwise(edited)]
    assert gaps and all(g >= 2.9 for g in gaps), gaps
    edits = [
        c
        for c in telegram.called("editMessageText")
        if int(c.params["message_id"]) == board.message_id
    ]
    assert len(edits) == len(board.times) - 1, "an edit with unchanged text was sent"


async def test_a_binding_and_what_was_relayed_survive_a_bridge_restart(
    telegram: FakeTelegram,
    cluster_bridge: Bridge,
    cluster_parley: AsUser,
    two_workers: ServerProcess,
) -> None:
    parley = cluster_parley
    room = await bound(telegram, parley)
    path = f"/rooms/{room['id']}/messages"
    await parley.call(OLGA_IN_PARLEY, "POST", path, {"body": "before"}, expect=201)
    await telegram.wait_for(lambda: texts(telegram)[-1] == "Olga: before")

    await cluster_bridge.stop()
    for body in ("while down 1", "while down 2"):
        await parley.call(OLGA_IN_PARLEY, "POST", path, {"body": body}, expect=201)
    await cluster_bridge.start()
    await telegram.wait_for(lambda: texts(telegram)[-1] == "Olga: while down 2")

    await cluster_bridge.restart()
    token = StaticToken(await parley.token(OWNER))
    async with ParleyClient(two_workers.ws_url, token) as olga:
        sub = await olga.subscribe(f"room:{room['id']}")
        await telegram.say(ASHA, "back again", chat_id=CHAT)
        assert (await next_message(sub)).body == "back again"
    await parley.call(OLGA_IN_PARLEY, "POST", path, {"body": "after"}, expect=201)
    await telegram.wait_for(lambda: texts(telegram)[-1] == "Olga: after")
    assert texts(telegram)[1:] == [
        "Olga: before",
        "Olga: while down 1",
        "Olga: while down 2",
        "Olga: after",
    ], "each relayed once, in order, and the Telegram message not echoed"
    page = await parley.get(ASHA, f"{path}?limit=10")
    assert [m["body"] for m in page["items"]].count("back again") == 1


class _Seen(logging.Handler):
    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text
        self.event = asyncio.Event()

    def emit(self, record: logging.LogRecord) -> None:
        if self.text in record.getMessage():
            self.event.set()


@contextlib.contextmanager
def logged(logger: str, text: str) -> Iterator[asyncio.Event]:
    """An event set once `logger` logs a message containing `text`."""
    seen = _Seen(text)
    target = logging.getLogger(logger)
    level = target.level
    target.setLevel(logging.DEBUG)
    target.addHandler(seen)
    try:
        yield seen.event
    finally:
        target.removeHandler(seen)
        target.setLevel(level)


async def test_a_stop_while_telegram_is_answering_a_post_records_it_and_never_reposts_it(
    telegram: FakeTelegram, bridge: Bridge, parley: AsUser
) -> None:
    """A stop (SIGTERM, a restart) that comes after Telegram took a relayed message but
    before its answer reached the bridge waits for the answer and records the post: the
    restarted bridge does not post it a second time."""
    room = await bound(telegram, parley)
    path = f"/rooms/{room['id']}/messages"
    reply = telegram.hold("sendMessage")
    await parley.call(OLGA_IN_PARLEY, "POST", path, {"body": "in flight"}, expect=201)
    await telegram.wait_for(lambda: texts(telegram)[-1] == "Olga: in flight")

    with logged("parley.telegram", "waiting for posts in flight") as waiting:
        stopping = asyncio.create_task(bridge.stop())
        async with asyncio.timeout(30):
            await waiting.wait()  # the stop has begun, the post still unanswered
    reply.set()
    await stopping

    await bridge.start()
    await parley.call(OLGA_IN_PARLEY, "POST", path, {"body": "after"}, expect=201)
    await telegram.wait_for(lambda: texts(telegram)[-1] == "Olga: after")
    assert texts(telegram)[-2:] == ["Olga: in flight", "Olga: after"], "posted once"


async def test_an_owner_unbinds_a_chat_and_nothing_is_relayed_after_it(
    telegram: FakeTelegram, bridge: Bridge, parley: AsUser
) -> None:
    room = await bound(telegram, parley)
    path = f"/rooms/{room['id']}/messages"
    await parley.call(OLGA_IN_PARLEY, "POST", path, {"body": "bound"}, expect=201)
    await telegram.wait_for(lambda: texts(telegram)[-1] == "Olga: bound")

    await telegram.say(ASHA, "/unbind", chat_id=CHAT)  # a member, not an admin
    await telegram.wait_for(lambda: "Only the group's owner" in texts(telegram)[-1])
    await telegram.say(OWNER, "/unbind", chat_id=CHAT)
    await telegram.wait_for(lambda: "no longer bound to Biology crew" in texts(telegram)[-1])

    # The reader was closed before that reply: a later Parley message has nowhere to go,
    # and Telegram text is not relayed (an unbound chat's chatter is not for the bot).
    await parley.call(OLGA_IN_PARLEY, "POST", path, {"body": "after"}, expect=201)
    await telegram.say(ASHA, "anyone here?", chat_id=CHAT)
    await telegram.say(ASHA, "/quiz", chat_id=CHAT)
    await telegram.wait_for(lambda: "not bound" in texts(telegram)[-1])
    assert "Olga: after" not in texts(telegram)
    messages = await parley.call(OLGA_IN_PARLEY, "GET", path)
    assert [m["body"] for m in messages["items"]] == ["bound", "after"]

    await bridge.restart()  # the binding stays gone
    await telegram.say(ASHA, "/quiz", chat_id=CHAT)
    await telegram.wait_for(lambda: len([t for t in texts(telegram) if "not bound" in t]) == 2)
