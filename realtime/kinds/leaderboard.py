"""`leaderboard:{room_id}`: a study group's all-time board (members only).

Latest-state: each `board` is a complete snapshot with a growing `version`; a slow watcher
holds only the newest (keep_latest, one slot per event type so a personal `rank` never
displaces a `board`). Subscribing gives the current board and the watcher's own rank.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from domain.access import require_member
from domain.study.boards import room_board
from realtime.channels import (
    ChannelKind,
    Delivery,
    KindContext,
    Overflow,
    SubscribeRequest,
    register,
)
from realtime.kinds.quiz import board_catch_up


async def authorize(session: AsyncSession, user_id: int, room_id: int) -> None:
    await require_member(session, room_id, user_id)


async def on_subscribe(ctx: KindContext, request: SubscribeRequest) -> list[bytes]:
    return await board_catch_up(ctx, room_board(request.key), request.user_id)


LEADERBOARD = register(
    ChannelKind(
        name="leaderboard",
        authorize=authorize,
        delivery=Delivery.latest,
        overflow=Overflow.keep_latest,
        on_subscribe=on_subscribe,
        description="a study group's all-time leaderboard",
    )
)
