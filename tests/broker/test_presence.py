"""The presence contract, on every broker: first and last connections, expiry, sweeping."""

from __future__ import annotations

import asyncio

from broker import Broker, PresenceEntry
from tests.broker.contract import ASHA_LAPTOP, ASHA_PHONE, RAVI, eventually, unique

# --- presence --------------------------------------------------------------------------------


def members(entries: list[PresenceEntry]) -> list[str]:
    return sorted(e.member() for e in entries)


async def test_presence_add_is_first_only_for_the_users_first_connection(broker: Broker) -> None:
    channel = unique("room:20")
    assert await broker.presence_add(channel, ASHA_PHONE, 30) is True
    assert await broker.presence_add(channel, ASHA_LAPTOP, 30) is False
    assert await broker.presence_add(channel, RAVI, 30) is True
    # Re-adding (refreshing) an entry while another of the user's is live is not "first".
    assert await broker.presence_add(channel, ASHA_PHONE, 30) is False
    assert members(await broker.presence_list(channel)) == members([ASHA_PHONE, ASHA_LAPTOP, RAVI])


async def test_presence_list_parses_entries_back_exactly(broker: Broker) -> None:
    channel = unique("room:21")
    odd = PresenceEntry(user_id=9, name="Zoë | the | pipe", node="node-z", conn_id="c9")
    await broker.presence_add(channel, odd, 30)
    assert await broker.presence_list(channel) == [odd]
    assert await broker.presence_list(unique("room:empty")) == []


async def test_presence_remove_is_last_only_for_the_users_last_connection(
    broker: Broker,
) -> None:
    channel = unique("room:22")
    for entry in (ASHA_PHONE, ASHA_LAPTOP, RAVI):
        await broker.presence_add(channel, entry, 30)
    assert await broker.presence_remove(channel, ASHA_PHONE) is False
    assert members(await broker.presence_list(channel)) == members([ASHA_LAPTOP, RAVI])
    assert await broker.presence_remove(channel, ASHA_LAPTOP) is True
    assert await broker.presence_remove(channel, ASHA_LAPTOP) is False  # not there any more
    assert await broker.presence_list(channel) == [RAVI]
    assert await broker.presence_remove(channel, RAVI) is True
    assert await broker.presence_list(channel) == []


async def test_presence_refresh_extends_the_expiry(broker: Broker) -> None:
    channel = unique("room:23")
    await broker.presence_add(channel, ASHA_PHONE, 0.3)
    await broker.presence_add(channel, RAVI, 0.3)  # added later: expires no earlier
    await broker.presence_refresh([(channel, ASHA_PHONE)], 60)

    async def ravi_expired() -> bool:
        return RAVI not in await broker.presence_list(channel)

    await eventually(ravi_expired)
    assert await broker.presence_list(channel) == [ASHA_PHONE]


async def test_presence_refresh_of_nothing_is_a_no_op(broker: Broker) -> None:
    await broker.presence_refresh([], 30)


async def test_presence_refresh_does_not_resurrect_a_removed_entry(broker: Broker) -> None:
    channel = unique("room:24")
    await broker.presence_add(channel, ASHA_PHONE, 30)
    await broker.presence_remove(channel, ASHA_PHONE)
    await broker.presence_refresh([(channel, ASHA_PHONE)], 30)
    assert await broker.presence_list(channel) == []


async def test_an_expired_entry_is_swept_exactly_once(broker: Broker) -> None:
    channel = unique("room:25")
    await broker.presence_add(channel, ASHA_PHONE, 0.2)
    await broker.presence_add(channel, RAVI, 60)

    async def asha_expired() -> bool:
        return ASHA_PHONE not in await broker.presence_list(channel)

    await eventually(asha_expired)
    assert await broker.presence_list(channel) == [RAVI]
    sweeps = await asyncio.gather(*(broker.presence_sweep(channel) for _ in range(3)))
    assert sorted(len(s) for s in sweeps) == [0, 0, 1]
    assert [entry for s in sweeps for entry in s] == [ASHA_PHONE]
    assert await broker.presence_sweep(channel) == []
    assert await broker.presence_list(channel) == [RAVI]


async def test_an_expired_entry_of_a_user_still_online_elsewhere_is_not_gone(
    broker: Broker,
) -> None:
    channel = unique("room:26")
    await broker.presence_add(channel, ASHA_PHONE, 0.2)
    await broker.presence_add(channel, ASHA_LAPTOP, 60)

    async def phone_expired() -> bool:
        return ASHA_PHONE not in await broker.presence_list(channel)

    await eventually(phone_expired)
    assert await broker.presence_sweep(channel) == []
    assert await broker.presence_list(channel) == [ASHA_LAPTOP]
    # The expired entry was dropped by the sweep: the laptop is now Asha's last entry.
    assert await broker.presence_remove(channel, ASHA_PHONE) is False
    assert await broker.presence_remove(channel, ASHA_LAPTOP) is True


async def test_an_expired_entry_does_not_count_as_the_users_connection(broker: Broker) -> None:
    channel = unique("room:27")
    await broker.presence_add(channel, ASHA_PHONE, 0.2)

    async def phone_expired() -> bool:
        return ASHA_PHONE not in await broker.presence_list(channel)

    await eventually(phone_expired)
    # Asha is offline although her phone's entry was never swept: the laptop is "first".
    assert await broker.presence_add(channel, ASHA_LAPTOP, 60) is True


# --- presence at scale (0027): bounded work per subscribe -------------------------------------


def crowd(size: int, *, first_id: int = 1000) -> list[PresenceEntry]:
    return [
        PresenceEntry(user_id=first_id + i, name=f"U{i}", node="node-c", conn_id=f"k{i}")
        for i in range(size)
    ]


async def test_presence_page_lists_the_lowest_ids_first_and_counts_users(broker: Broker) -> None:
    channel = unique("room:30")
    for entry in (RAVI, ASHA_PHONE, ASHA_LAPTOP):
        await broker.presence_add(channel, entry, 30)
    page = await broker.presence_page(channel, 10)
    assert page.users == [(7, "Asha"), (8, "Ravi")]  # a user once, however many entries
    assert page.total == 2
    first = await broker.presence_page(channel, 1)
    assert (first.users, first.total) == ([(7, "Asha")], 2)
    assert (await broker.presence_page(unique("room:empty"), 10)).users == []
    assert (await broker.presence_page(unique("room:empty"), 10)).total == 0


async def test_presence_page_of_a_crowd_is_capped_while_first_and_last_stay_exact(
    broker: Broker,
) -> None:
    channel = unique("room:31")
    people = crowd(3000)
    for entry in people:
        assert await broker.presence_add(channel, entry, 30) is True
    # Asha's first and last connections are told apart in a channel of 3,000 users.
    assert await broker.presence_add(channel, ASHA_PHONE, 30) is True
    assert await broker.presence_add(channel, ASHA_LAPTOP, 30) is False
    page = await broker.presence_page(channel, 100)
    assert page.total == 3001
    assert page.users == [(7, "Asha")] + [(e.user_id, e.name) for e in people[:99]]
    assert await broker.presence_remove(channel, ASHA_PHONE) is False
    assert await broker.presence_remove(channel, ASHA_LAPTOP) is True
    for entry in people[:50]:
        assert await broker.presence_remove(channel, entry) is True
    page = await broker.presence_page(channel, 100)
    assert page.total == 2950
    assert page.users == [(e.user_id, e.name) for e in people[50:150]]


async def test_presence_page_skips_users_whose_entries_expired_and_sweeping_drops_them(
    broker: Broker,
) -> None:
    channel = unique("room:32")
    await broker.presence_add(channel, ASHA_PHONE, 0.2)
    await broker.presence_add(channel, RAVI, 60)

    async def asha_expired() -> bool:
        return not await broker.presence_online(channel, ASHA_PHONE.user_id)

    await eventually(asha_expired)
    page = await broker.presence_page(channel, 10)
    assert page.users == [(8, "Ravi")]  # listed only while live, before any sweep
    assert page.total == 2  # still announced: her `leave` comes with the sweep
    assert await broker.presence_sweep(channel) == [ASHA_PHONE]
    page = await broker.presence_page(channel, 10)
    assert (page.users, page.total) == ([(8, "Ravi")], 1)


async def test_presence_online_tells_whether_a_user_has_a_live_entry(broker: Broker) -> None:
    channel = unique("room:33")
    assert await broker.presence_online(channel, 7) is False
    await broker.presence_add(channel, ASHA_PHONE, 30)
    await broker.presence_add(channel, ASHA_LAPTOP, 30)
    assert await broker.presence_online(channel, 7) is True
    assert await broker.presence_online(channel, 8) is False
    await broker.presence_remove(channel, ASHA_PHONE)
    assert await broker.presence_online(channel, 7) is True
    await broker.presence_remove(channel, ASHA_LAPTOP)
    assert await broker.presence_online(channel, 7) is False


async def test_each_gone_user_is_swept_once_even_with_several_expired_entries(
    broker: Broker,
) -> None:
    channel = unique("room:34")
    await broker.presence_add(channel, ASHA_PHONE, 0.2)
    await broker.presence_add(channel, ASHA_LAPTOP, 0.2)

    async def asha_expired() -> bool:
        return not await broker.presence_online(channel, 7)

    await eventually(asha_expired)
    gone = await broker.presence_sweep(channel)
    assert [e.user_id for e in gone] == [7]  # one `leave` for Asha, not one per entry
    assert (await broker.presence_page(channel, 10)).total == 0
