"""The tallied-set contract (incremental leaderboards: numbered changes applied exactly
once, rebuilds that never lose or double a change), on every broker."""

from __future__ import annotations

from broker import Broker, Tally
from tests.broker.contract import unique

SPAN, LIMIT = 2**33, 2**19


def score(points: int, rest: int) -> float:
    return float(points * SPAN + rest)


async def test_a_set_never_built_is_missing_and_takes_no_change(broker: Broker) -> None:
    key = unique("tally")
    assert await broker.tally_watermark(key) is None
    assert await broker.tally_apply(key, SPAN, LIMIT, [Tally(1, "asha", 4, 10)]) is None
    assert await broker.sorted_top(key, 0, 10) == []


async def test_changes_add_points_and_keep_the_latest_tick(broker: Broker) -> None:
    key = unique("tally")
    assert await broker.tally_replace(key, 0, SPAN, LIMIT, {})
    assert await broker.tally_watermark(key) == 0
    # rest = SPAN - 1 - tick: the later change has the smaller rest, and it is kept.
    changes = [Tally(1, "asha", 4, 500), Tally(2, "ravi", -1, 400), Tally(3, "asha", 4, 300)]
    assert await broker.tally_apply(key, SPAN, LIMIT, changes) == 0
    assert await broker.sorted_top(key, 0, 10) == [
        ("asha", score(8, 300)),
        ("ravi", score(-1, 400)),
    ]
    assert await broker.tally_watermark(key) == 3


async def test_a_change_applied_twice_counts_once_in_or_out_of_order(broker: Broker) -> None:
    key = unique("tally")
    await broker.tally_replace(key, 0, SPAN, LIMIT, {})
    assert await broker.tally_apply(key, SPAN, LIMIT, [Tally(2, "asha", 4, 9)]) == 1  # 1 missing
    assert await broker.tally_apply(key, SPAN, LIMIT, [Tally(2, "asha", 4, 9)]) == 1
    assert await broker.tally_watermark(key) == 0
    assert await broker.tally_apply(key, SPAN, LIMIT, [Tally(1, "asha", 4, 9)]) == 0
    assert await broker.tally_apply(key, SPAN, LIMIT, [Tally(1, "asha", 4, 9)]) == 0
    assert await broker.tally_watermark(key) == 2
    assert await broker.sorted_top(key, 0, 10) == [("asha", score(8, 9))]


async def test_a_rebuild_keeps_the_changes_above_it_and_drops_those_it_holds(
    broker: Broker,
) -> None:
    key = unique("tally")
    await broker.tally_replace(key, 0, SPAN, LIMIT, {})
    # Changes 2 and 3 applied; 1 (another worker's) not yet.
    await broker.tally_apply(key, SPAN, LIMIT, [Tally(2, "asha", 4, 8), Tally(3, "ravi", 4, 7)])
    # A rebuild from PostgreSQL as of change 2 (it holds 1 and 2, not 3).
    rebuilt = {"meera": int(score(-1, 9)), "asha": int(score(4, 8))}
    assert await broker.tally_replace(key, 2, SPAN, LIMIT, rebuilt)
    assert await broker.tally_watermark(key) == 3  # 3 was applied above it
    # Change 1 arrives late: the rebuild holds it already.
    assert await broker.tally_apply(key, SPAN, LIMIT, [Tally(1, "meera", -1, 9)]) == 0
    assert await broker.sorted_top(key, 0, 10) == [
        ("asha", score(4, 8)),
        ("ravi", score(4, 7)),
        ("meera", score(-1, 9)),
    ]


async def test_a_rebuild_older_than_the_set_is_refused(broker: Broker) -> None:
    key = unique("tally")
    await broker.tally_replace(key, 0, SPAN, LIMIT, {})
    await broker.tally_apply(key, SPAN, LIMIT, [Tally(1, "asha", 4, 8), Tally(2, "asha", 4, 7)])
    assert not await broker.tally_replace(key, 1, SPAN, LIMIT, {"asha": int(score(4, 8))})
    assert await broker.sorted_top(key, 0, 10) == [("asha", score(8, 7))]


async def test_a_set_lost_alone_is_missing_and_a_rebuild_restores_it(broker: Broker) -> None:
    key = unique("tally")
    await broker.tally_replace(key, 0, SPAN, LIMIT, {})
    await broker.tally_apply(key, SPAN, LIMIT, [Tally(1, "asha", 4, 8)])
    await broker.sorted_delete(key)
    assert await broker.tally_watermark(key) is None
    assert await broker.tally_apply(key, SPAN, LIMIT, [Tally(2, "asha", 4, 7)]) is None
    assert await broker.tally_replace(key, 2, SPAN, LIMIT, {"asha": int(score(8, 7))})
    assert await broker.sorted_top(key, 0, 10) == [("asha", score(8, 7))]
    assert await broker.tally_watermark(key) == 2


async def test_composite_scores_stay_exact_near_two_to_the_52(broker: Broker) -> None:
    key = unique("tally")
    top = LIMIT - 5
    await broker.tally_replace(key, 0, SPAN, LIMIT, {"asha": int(score(top, SPAN - 1))})
    await broker.tally_apply(key, SPAN, LIMIT, [Tally(1, "asha", 4, SPAN - 2)])
    assert await broker.sorted_top(key, 0, 1) == [("asha", score(top + 4, SPAN - 2))]
    await broker.tally_apply(key, SPAN, LIMIT, [Tally(2, "asha", 4, SPAN - 3)])  # clamped
    assert await broker.sorted_top(key, 0, 1) == [("asha", score(LIMIT - 1, SPAN - 3))]


async def test_counts_move_with_their_changes_once_each(broker: Broker) -> None:
    key = unique("tally")
    await broker.tally_replace(key, 0, SPAN, LIMIT, {})
    right, wrong = Tally(1, "asha", 4, 9, correct=1), Tally(2, "asha", -1, 8, wrong=1)
    await broker.tally_apply(key, SPAN, LIMIT, [right, wrong, Tally(3, "ravi", 4, 7, correct=1)])
    await broker.tally_apply(key, SPAN, LIMIT, [wrong])  # a retry counts nothing
    assert await broker.tally_counts(key, ["asha", "ravi", "meera"]) == {
        "asha": (1, 1),
        "ravi": (1, 0),
    }


async def test_a_rebuild_installs_counts_and_keeps_those_above_it(broker: Broker) -> None:
    key = unique("tally")
    await broker.tally_replace(key, 0, SPAN, LIMIT, {})
    await broker.tally_apply(key, SPAN, LIMIT, [Tally(2, "asha", 4, 8, correct=1)])
    # As of change 1 (one wrong answer of ravi's): change 2 stays applied on top.
    rebuilt = {"ravi": int(score(-1, 9))}
    assert await broker.tally_replace(key, 1, SPAN, LIMIT, rebuilt, {"ravi": (0, 1)})
    assert await broker.tally_counts(key, ["asha", "ravi"]) == {"asha": (1, 0), "ravi": (0, 1)}
    # Refused rebuilds write no counts either.
    assert not await broker.tally_replace(key, 0, SPAN, LIMIT, rebuilt, {"ravi": (5, 5)})
    assert await broker.tally_counts(key, ["ravi"]) == {"ravi": (0, 1)}


async def test_counts_of_a_deleted_set_are_missing(broker: Broker) -> None:
    key = unique("tally")
    await broker.tally_replace(key, 0, SPAN, LIMIT, {"asha": int(score(4, 8))}, {"asha": (1, 0)})
    await broker.sorted_delete(key)
    assert await broker.tally_counts(key, ["asha"]) == {}


async def test_applying_to_many_sets_at_once_treats_each_set_on_its_own(broker: Broker) -> None:
    built, missing, behind = unique("tally"), unique("tally"), unique("tally")
    await broker.tally_replace(built, 0, SPAN, LIMIT, {})
    await broker.tally_replace(behind, 0, SPAN, LIMIT, {})
    applied = await broker.tally_apply_many(
        SPAN,
        LIMIT,
        {
            built: [Tally(1, "asha", 4, 9), Tally(2, "ravi", -1, 8)],
            missing: [Tally(1, "asha", 4, 9)],
            behind: [Tally(3, "asha", 4, 9)],  # 1 and 2 not yet here
        },
    )
    assert applied == {built: 0, missing: None, behind: 1}
    assert await broker.sorted_top(built, 0, 10) == [("asha", score(4, 9)), ("ravi", score(-1, 8))]
    assert await broker.sorted_top(missing, 0, 10) == []
    assert await broker.tally_watermark(behind) == 0
    # The same changes again count once, however they are grouped.
    again = await broker.tally_apply_many(SPAN, LIMIT, {built: [Tally(2, "ravi", -1, 8)]})
    assert again == {built: 0}
    assert await broker.sorted_top(built, 0, 10) == [("asha", score(4, 9)), ("ravi", score(-1, 8))]
