"""The sorted-set contract (the live cache of leaderboards), on every broker."""

from __future__ import annotations

import asyncio

from broker import Broker
from tests.broker.contract import unique


async def test_members_come_back_highest_score_first_with_their_scores(broker: Broker) -> None:
    key = unique("board")
    await broker.sorted_add(key, {"asha": 36.0, "ravi": 40.0, "meera": 12.0})
    assert await broker.sorted_top(key, 0, 10) == [("ravi", 40.0), ("asha", 36.0), ("meera", 12.0)]


async def test_a_page_of_the_ranking_starts_at_its_offset(broker: Broker) -> None:
    key = unique("board")
    await broker.sorted_add(key, {f"m{i}": float(i) for i in range(10)})
    assert [m for m, _ in await broker.sorted_top(key, 3, 2)] == ["m6", "m5"]
    assert await broker.sorted_top(key, 0, 0) == []
    assert await broker.sorted_top(key, 20, 5) == []


async def test_members_with_any_text_and_a_whole_large_set_come_back_intact(
    broker: Broker,
) -> None:
    key = unique("board")
    odd = {"line\nbreak": 3.0, "tab\tand space ": 2.0, "": 1.0}
    await broker.sorted_add(key, odd | {str(i): float(2**52 + i) for i in range(1000)})
    got = await broker.sorted_top(key, 0, 2000)
    assert got[:3] == [(str(i), float(2**52 + i)) for i in (999, 998, 997)]
    assert got[-3:] == [("line\nbreak", 3.0), ("tab\tand space ", 2.0), ("", 1.0)]
    assert len(got) == 1003


async def test_adding_a_member_again_replaces_its_score(broker: Broker) -> None:
    key = unique("board")
    await broker.sorted_add(key, {"asha": 4.0})
    await broker.sorted_add(key, {"asha": 8.0})
    assert await broker.sorted_top(key, 0, 10) == [("asha", 8.0)]
    assert await broker.sorted_count(key) == 1


async def test_a_members_rank_is_zero_based_from_the_top_with_its_score(broker: Broker) -> None:
    key = unique("board")
    await broker.sorted_add(key, {"asha": 36.0, "ravi": 40.0})
    assert await broker.sorted_rank(key, "ravi") == (0, 40.0)
    assert await broker.sorted_rank(key, "asha") == (1, 36.0)
    assert await broker.sorted_rank(key, "nobody") is None


async def test_composite_scores_are_exact_up_to_two_to_the_53(broker: Broker) -> None:
    # A leaderboard packs (points, who got there first) into one float; it must not round.
    key = unique("board")
    high = float(2**53 - 1)
    await broker.sorted_add(key, {"first": high, "second": high - 1})
    assert await broker.sorted_top(key, 0, 2) == [("first", high), ("second", high - 1)]


async def test_equal_scores_are_ordered_by_member_descending(broker: Broker) -> None:
    key = unique("board")
    await broker.sorted_add(key, {"a": 1.0, "c": 1.0, "b": 1.0})
    assert [m for m, _ in await broker.sorted_top(key, 0, 3)] == ["c", "b", "a"]


async def test_replacing_a_set_drops_members_not_in_the_new_one(broker: Broker) -> None:
    key = unique("board")
    await broker.sorted_add(key, {"stale": 100.0, "asha": 1.0})
    await broker.sorted_replace(key, {"asha": 5.0, "ravi": 3.0})
    assert await broker.sorted_top(key, 0, 10) == [("asha", 5.0), ("ravi", 3.0)]


async def test_readers_never_see_a_replacement_half_done(broker: Broker) -> None:
    key = unique("board")
    old = {f"old{i}": float(i) for i in range(200)}
    new = {f"new{i}": float(i) for i in range(200)}
    await broker.sorted_replace(key, old)
    seen: list[int] = []

    async def read_while_replacing() -> None:
        for _ in range(20):
            seen.append(await broker.sorted_count(key))
            await asyncio.sleep(0)

    await asyncio.gather(read_while_replacing(), broker.sorted_replace(key, new))
    assert set(seen) == {200}
    assert await broker.sorted_rank(key, "new199") == (0, 199.0)


async def test_a_lost_set_is_known_to_be_missing(broker: Broker) -> None:
    key = unique("board")
    assert await broker.sorted_exists(key) is False
    await broker.sorted_add(key, {"asha": 1.0})
    assert await broker.sorted_exists(key) is True
    await broker.sorted_delete(key)
    assert await broker.sorted_exists(key) is False
    assert await broker.sorted_count(key) == 0
