"""`quiz:{session_id}`: a live quiz session of a study group (members only).

Carries `question`, `reveal` and `ended` (plain: never filtered, never dropped), the
session's `board` snapshots (versioned) and personal `rank` events. Overflow is `close`:
a watcher too slow for the question flow is closed with 4008 rather than silently missing
a question, and on resubscribing `on_subscribe` gives it the current state at once (the
open question or the reveal, or `ended`; the current board; its own rank).
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from domain.events import encode
from domain.study import boards
from domain.study import sessions as quiz_sessions
from domain.study.boards import Board, session_board
from domain.study.events import RankEvent
from realtime.channels import (
    ChannelKind,
    Delivery,
    KindContext,
    Overflow,
    SubscribeRequest,
    register,
)


async def authorize(session: AsyncSession, user_id: int, session_id: int) -> None:
    await quiz_sessions.get_session(session, session_id, user_id)


async def board_catch_up(ctx: KindContext, board: Board, user_id: int) -> list[bytes]:
    """The current board (at the last published version) and the caller's own rank."""
    async with ctx.sessions() as session:
        version = await boards.current_version(session, board)
        snapshot = await boards.snapshot(session, ctx.broker, board, version)
    out = [encode(snapshot, ctx.broker.node)]
    mine = await ctx.broker.sorted_rank(board.key, str(user_id))
    if mine is not None:
        rank = RankEvent(
            channel=board.channel, version=version, rank=mine[0] + 1, score=boards.score_of(mine[1])
        )
        out.append(encode(rank, ctx.broker.node, to=user_id))
    return out


async def on_subscribe(ctx: KindContext, request: SubscribeRequest) -> list[bytes]:
    async with ctx.sessions() as session:
        events = await quiz_sessions.current_events(session, request.key)
    out = [encode(e, ctx.broker.node) for e in events]
    return out + await board_catch_up(ctx, session_board(request.key), request.user_id)


QUIZ = register(
    ChannelKind(
        name="quiz",
        authorize=authorize,
        delivery=Delivery.latest,
        overflow=Overflow.close,
        on_subscribe=on_subscribe,
        description="a live quiz session: questions, reveals, the session's board",
    )
)
