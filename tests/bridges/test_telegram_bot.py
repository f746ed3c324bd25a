"""The symptom bot inside Telegram, through the bridge (docs/telegram.md).

A Telegram user's text goes to their Parley bot conversation; the answer streams live as
drafts in a private chat (or as a message edited within Telegram's limits in a group) and
always ends as a real message whose text is the durable answer.
"""

from __future__ import annotations

import itertools

from tests.bridges.conftest import AsUser, Bridge
from tests.bridges.fake_telegram import FakeTelegram

RAVI = 5001
GROUP = -100200
QUESTION = "I have had an itchy red rash on my arm for two weeks"
EMERGENCY = "I have crushing chest pain spreading to my left arm and I am sweating"


async def started(telegram: FakeTelegram, user: int = RAVI) -> None:
    await telegram.say(user, "/start")
    await telegram.wait_for(lambda: any("Welcome" in t for t in telegram.texts(user)))


def finals(telegram: FakeTelegram, chat: int) -> list[str]:
    """The texts of the bot's final answers in `chat` (only those are sent as HTML)."""
    return [
        m.text
        for (c, _), m in sorted(telegram.messages.items())
        if c == chat and m.parse_mode == "HTML" and not m.deleted
    ]


async def final_answer(
    telegram: FakeTelegram, parley: AsUser, chat: int, user: int, count: int = 1
) -> str:
    """Wait for the `count`th final answer in `chat`; the user's latest durable answer."""
    await telegram.wait_for(lambda: len(finals(telegram, chat)) >= count, within=40)
    answers = await parley.bot_answers(user)
    return str(answers[-1]["body"])


async def test_start_binds_the_telegram_user_to_a_new_parley_user(
    telegram: FakeTelegram, bridge: Bridge, parley: AsUser
) -> None:
    await started(telegram)
    me = await parley.get(RAVI, "/users/me")
    assert me["display_name"] == "Ravi"


async def test_a_private_answer_streams_as_drafts_and_ends_as_the_durable_message(
    telegram: FakeTelegram, bridge: Bridge, parley: AsUser
) -> None:
    await started(telegram)
    await telegram.say(RAVI, QUESTION)
    body = await final_answer(telegram, parley, RAVI, RAVI)

    drafts = telegram.drafts
    assert drafts, "the answer was not streamed as drafts"
    assert all(d.params["can_stop"] is True for d in drafts)
    assert len({d.params["draft_id"] for d in drafts}) == 1
    assert all(body.startswith(str(d.params["text"])) for d in drafts)
    assert not telegram.called("editMessageText")
    assert finals(telegram, RAVI) == [body]


async def test_a_group_answer_is_one_message_edited_at_most_every_3_seconds(
    telegram: FakeTelegram, bridge: Bridge, parley: AsUser
) -> None:
    await started(telegram)
    await telegram.say(RAVI, f"/ask {QUESTION}", chat_id=GROUP)
    body = await final_answer(telegram, parley, GROUP, RAVI)

    assert telegram.texts(GROUP) == [body]
    assert not telegram.drafts
    (message,) = [m for m in telegram.messages.values() if m.chat_id == GROUP]
    assert len(message.times) >= 3, "streamed as one send and edits, then the final edit"
    gaps = [b - a for a, b in itertools.pairwise(message.times)]
    assert min(gaps) >= 3.0 - 0.05, gaps
    # Never an edit with unchanged text (the fake answers those 400 "not modified").
    assert all(c.status == 200 for c in telegram.called("editMessageText"))
    # Plain text while streaming, HTML on the final edit only.
    assert message.parse_mode == "HTML"


async def test_a_429_blocks_the_whole_chat_until_retry_after_and_the_answer_still_arrives(
    telegram: FakeTelegram, bridge: Bridge, parley: AsUser
) -> None:
    await started(telegram)
    telegram.fail("sendMessageDraft", 429, "Too Many Requests", retry_after=3)
    await telegram.say(RAVI, QUESTION)
    body = await final_answer(telegram, parley, RAVI, RAVI)

    (refused,) = [c for c in telegram.calls if c.status == 429]
    during = [
        c
        for c in telegram.calls
        if str(c.params.get("chat_id")) == str(RAVI) and refused.at < c.at < refused.at + 2.95
    ]
    assert during == [], [c.method for c in during]
    assert finals(telegram, RAVI) == [body]


async def test_the_stop_button_under_a_draft_cancels_the_answer_in_parley(
    telegram: FakeTelegram, bridge: Bridge, parley: AsUser
) -> None:
    await started(telegram)
    await telegram.say(RAVI, QUESTION)
    first = await telegram.wait_for(lambda: telegram.drafts[:1])
    await telegram.press_stop(RAVI, int(first[0].params["draft_id"]))

    body = await final_answer(telegram, parley, RAVI, RAVI)
    answer = (await parley.bot_answers(RAVI))[-1]
    assert answer["triage"]["status"] == "cancelled"
    assert "You stopped this answer here." in body
    assert finals(telegram, RAVI) == [body]


async def test_stop_command_cancels_the_answer_too(
    telegram: FakeTelegram, bridge: Bridge, parley: AsUser
) -> None:
    await started(telegram)
    await telegram.say(RAVI, QUESTION)
    await telegram.wait_for(lambda: telegram.drafts)
    await telegram.say(RAVI, "/stop")
    await final_answer(telegram, parley, RAVI, RAVI)
    assert (await parley.bot_answers(RAVI))[-1]["triage"]["status"] == "cancelled"


async def test_an_emergency_reply_is_sent_at_once_as_its_own_message(
    telegram: FakeTelegram, bridge: Bridge, parley: AsUser
) -> None:
    await started(telegram)
    await telegram.say(RAVI, EMERGENCY)
    body = await final_answer(telegram, parley, RAVI, RAVI)
    answer = (await parley.bot_answers(RAVI))[-1]
    assert answer["triage"]["urgency"] == "emergency"
    assert not telegram.drafts, "an emergency is never streamed"
    assert finals(telegram, RAVI) == [body]


async def test_an_emergency_during_a_group_answer_gets_its_own_message(
    telegram: FakeTelegram, bridge: Bridge, parley: AsUser
) -> None:
    await started(telegram)
    await telegram.say(RAVI, f"/ask {QUESTION}", chat_id=GROUP)
    await telegram.wait_for(lambda: telegram.texts(GROUP))
    await telegram.say(RAVI, f"/ask {EMERGENCY}", chat_id=GROUP)

    await telegram.wait_for(lambda: len(finals(telegram, GROUP)) == 2, within=40)
    answers = await parley.bot_answers(RAVI)
    cancelled, emergency = sorted(answers, key=lambda m: m["triage"]["urgency"] == "emergency")
    assert cancelled["triage"]["status"] == "cancelled"
    assert sorted(telegram.texts(GROUP)) == sorted([cancelled["body"], emergency["body"]])


async def test_a_bridge_restarted_mid_answer_finishes_the_same_message(
    telegram: FakeTelegram, bridge: Bridge, parley: AsUser
) -> None:
    await started(telegram)
    await telegram.say(RAVI, f"/ask {QUESTION}", chat_id=GROUP)
    await telegram.wait_for(lambda: telegram.texts(GROUP))
    await bridge.restart()

    body = await final_answer(telegram, parley, GROUP, RAVI)
    assert telegram.texts(GROUP) == [body], "one message, neither lost nor doubled"


async def test_a_refused_draft_falls_back_to_editing_one_message(
    telegram: FakeTelegram, bridge: Bridge, parley: AsUser
) -> None:
    await started(telegram)
    telegram.fail("sendMessageDraft", 400, "Bad Request: drafts are not available", times=100)
    await telegram.say(RAVI, QUESTION)
    body = await final_answer(telegram, parley, RAVI, RAVI)
    _welcome, answer = telegram.texts(RAVI)
    assert answer == body
    assert len(telegram.called("sendMessageDraft")) == 1, "a refused draft is not retried"
    edits = next(m for m in telegram.messages.values() if m.text == body).times
    gaps = [b - a for a, b in itertools.pairwise(edits)]
    assert gaps and min(gaps) >= 1.5 - 0.05, gaps


async def test_message_is_not_modified_counts_as_delivered(
    telegram: FakeTelegram, bridge: Bridge, parley: AsUser
) -> None:
    await started(telegram)
    telegram.fail("editMessageText", 400, "Bad Request: message is not modified", times=1)
    await telegram.say(RAVI, f"/ask {QUESTION}", chat_id=GROUP)
    body = await final_answer(telegram, parley, GROUP, RAVI)
    assert telegram.texts(GROUP) == [body]
    assert next(c.status for c in telegram.called("editMessageText")) == 400
