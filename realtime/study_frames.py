"""Study groups' client frames (PROTOCOL.md v1.1, "Quiz sessions").

`answer` stores a member's answer to the open question of a live quiz session; the study
services (domain/study/live.py) check the rules, store it once and move the boards.
Registered with the session's frame registry on import (realtime/ws.py).
"""

from __future__ import annotations

from domain.errors import Invalid
from realtime.client_frames import AnswerFrame
from realtime.server_frames import AnsweredFrame
from realtime.ws_session import WsSession, handles


@handles(AnswerFrame)
async def answer(session: WsSession, frame: AnswerFrame) -> None:
    study = session.services.study
    if study is None:
        raise Invalid("Quiz sessions are not available on this server.")
    await study.answer(session.conn.user.id, frame.session, frame.question_id, frame.option)
    session.reply(
        AnsweredFrame(ref=frame.ref, session=frame.session, question_id=frame.question_id)
    )
