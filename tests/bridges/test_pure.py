"""The bridge's pure parts: splitting at Telegram's 4,096 characters, draft ids, the
delivered watermark."""

from __future__ import annotations

from bridges.telegram.answers import MAX_TEXT, draft_id_of, formatted, split_text
from bridges.telegram.sessions import Watermark


def test_long_text_is_split_into_pieces_telegram_accepts_and_that_join_back() -> None:
    text = ("word " * 3000) + "\n" + "x" * 9000
    pieces = split_text(text)
    assert all(1 <= len(p) <= MAX_TEXT for p in pieces)
    assert "".join(pieces) == text
    assert pieces[0].endswith(" "), "cut at a space when there is one"
    assert split_text("short") == ["short"]


def test_draft_ids_are_non_zero_and_stable_per_stream() -> None:
    assert draft_id_of("s-7f3a9c01d2e4") == 0x7F3A9C01D2E4
    assert draft_id_of("s-000000000000") != 0
    assert draft_id_of("weird") == draft_id_of("weird") != 0


def test_final_formatting_changes_no_visible_text() -> None:
    html = formatted("See a Dermatologist <soon> & rest", "Dermatologist")
    assert html == "See a <b>Dermatologist</b> &lt;soon&gt; &amp; rest"


def test_the_watermark_moves_only_past_messages_all_delivered() -> None:
    mark = Watermark(4)
    for seq in (5, 6, 7):
        mark.begin(seq)
    assert mark.end(7) == 4, "6 and 5 are still on their way"
    assert mark.end(5) == 5
    assert mark.end(6) == 7
