"""The Bot API's wire format for the fake server (fake_telegram.py): parameters from any
body Telegram accepts, its error envelope, the message object, what a user sees."""

from __future__ import annotations

import contextlib
import html
import json
import re
import time
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse

if TYPE_CHECKING:
    from tests.bridges.fake_telegram import Sent

BOT_ID = 999_000


class ApiError(Exception):
    def __init__(self, code: int, description: str) -> None:
        self.code = code
        self.description = description


def error(code: int, description: str, retry_after: int | None = None) -> JSONResponse:
    body: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
    if retry_after is not None:
        body["parameters"] = {"retry_after": retry_after}
        body["description"] = f"Too Many Requests: retry after {retry_after}"
    return JSONResponse(body, status_code=code)


def message(sent: Sent) -> dict[str, Any]:
    return {
        "message_id": sent.message_id,
        "date": int(time.time()),
        "chat": {"id": sent.chat_id, "type": "private" if sent.chat_id > 0 else "group"},
        "from": {"id": BOT_ID, "is_bot": True, "first_name": "Parley"},
        "text": sent.text,
    }


async def params_of(request: Request) -> dict[str, Any]:
    """A method's parameters from a JSON, urlencoded or multipart body (or the query).
    Form values that are JSON (objects, arrays, booleans) are decoded, as Telegram does."""
    params: dict[str, Any] = dict(request.query_params)
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("application/json"):
        params.update(await request.json())
    elif content_type.startswith(("multipart/form-data", "application/x-www-form-urlencoded")):
        form = await request.form()
        for key, value in form.items():
            if isinstance(value, str):
                params[key] = decoded(value)
    return params


def buttons(params: dict[str, Any]) -> list[tuple[str, str]]:
    """An inline keyboard's buttons, row by row; callback data over 64 bytes is refused."""
    markup = params.get("reply_markup") or {}
    if isinstance(markup, str):
        markup = json.loads(markup)
    out: list[tuple[str, str]] = []
    for row in markup.get("inline_keyboard", []):
        for button in row:
            data = str(button.get("callback_data", ""))
            if len(data.encode()) > 64:
                raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
            out.append((str(button["text"]), data))
    return out


def visible(params: dict[str, Any]) -> str:
    """The text a user sees: HTML tags removed and entities decoded for parse_mode HTML."""
    text = str(params["text"])
    if params.get("parse_mode") == "HTML":
        return html.unescape(re.sub(r"<[^>]+>", "", text))
    return text


def decoded(value: str) -> Any:
    if value[:1] in ("{", "[") or value in ("true", "false"):
        with contextlib.suppress(ValueError):
            return json.loads(value)
    return value
