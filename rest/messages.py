"""/api/v1/rooms/{id}/messages: history by seq, and sending (fans out like a WS `send`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from domain import chat, rooms
from domain.bot.events import BotMessageEvent
from domain.events import MessageEvent, UserRef
from edge.errors import error_responses
from edge.params import IdPath, SeqAfter, SeqBefore
from edge.services import ServicesDep
from rest.deps import Admitted, AuthFirstRoute, CurrentUser, SessionDep
from rest.schemas.rooms import BotMessageOut, MessageIn, MessageOut, MessagePage

router = APIRouter(
    prefix="/rooms/{room_id:int}/messages", tags=["messages"], route_class=AuthFirstRoute
)


def message_out(event: MessageEvent) -> MessageOut:
    if isinstance(event, BotMessageEvent):
        return BotMessageOut(
            id=event.id,
            seq=event.seq,
            author=event.author,
            body=event.body,
            client_id=None,
            created_at=event.created_at,
            reply_to=event.reply_to,
            triage=event.triage,
            usage=event.usage,
            doctors=event.doctors,
        )
    return MessageOut(
        id=event.id,
        seq=event.seq,
        author=event.author,
        body=event.body,
        client_id=event.client_id,
        created_at=event.created_at,
    )


@router.get("", response_model=MessagePage, responses=error_responses(401, 403, 404, 422))
async def history(
    room_id: IdPath,
    user: CurrentUser,
    session: SessionDep,
    before: SeqBefore = None,
    after: SeqAfter = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> MessagePage:
    page = await rooms.read_history(
        session, room_id, user.id, before=before, after=after, limit=limit
    )
    return MessagePage(
        items=[message_out(chat.message_event(m, m.author)) for m in page.messages],
        head=page.head,
        has_more=page.has_more,
    )


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=MessageOut,
    # Admission control (docs/decisions/0026): 503 + Retry-After at once when overloaded.
    dependencies=[Admitted],
    responses={
        200: {"model": MessageOut, "description": "A retry: the message stored the first time."},
        **error_responses(400, 401, 403, 404, 409, 413),
    },
)
async def send(
    room_id: IdPath,
    body: MessageIn,
    user: CurrentUser,
    services: ServicesDep,
    response: Response,
) -> MessageOut:
    # Through the bot service: a bot conversation's message also starts the bot's answer.
    posted = await services.bot.post_message(
        UserRef(id=user.id, name=user.display_name),
        room_id,
        body.client_id,
        body.body,
        max_chars=services.settings.message_max_chars,
    )
    if not posted.created:
        response.status_code = status.HTTP_200_OK
    return message_out(posted.event)
