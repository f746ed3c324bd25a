"""A fake Telegram Bot API server: the methods the bridge uses, over real HTTP.

Telegram's servers cannot run here, so this stands in for them (and only for them). It
speaks the Bot API's envelope: `{"ok": true, "result": ...}`, errors as `{"ok": false,
"error_code", "description", "parameters": {"retry_after"}}` with the HTTP status equal to
`error_code`, and takes form, multipart and JSON bodies at `/bot<token>/<method>`.

A test plays the users (`say`, `press_stop`, `press` an inline button), scripts failures
(`fail`: a 429 with `retry_after`, "message is not modified", a refused draft), holds a
method's answers back (`hold`: carried out, not yet answered) and reads
what the bot did: every call with its time, each message's current text, inline buttons
and the times of its edits, and the answers to button presses.

Updates go out by `getUpdates` (long poll) or, once the bot called `setWebhook`, as
POSTs to its URL with `X-Telegram-Bot-Api-Secret-Token`, retried until answered 2xx in
order, as Telegram does; `getUpdates` is then refused (409) until `deleteWebhook`.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.bridges.bot_api_wire import (
    BOT_ID,
    ApiError,
    buttons,
    error,
    message,
    params_of,
    visible,
)


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    at: float
    status: int = 200


@dataclass
class Sent:
    """A message the bot sent: its text now, and when it was sent and each edit."""

    chat_id: int
    message_id: int
    text: str  # what the user sees (HTML parsed, as Telegram does)
    parse_mode: str | None
    markup: str = ""  # the text as sent (with tags, for HTML)
    buttons: list[tuple[str, str]] = field(default_factory=list)  # (text, callback_data)
    times: list[float] = field(default_factory=list)
    deleted: bool = False


@dataclass
class Failure:
    method: str
    code: int
    description: str
    retry_after: int | None
    times: int


class FakeTelegram:
    def __init__(self, token: str = "42:TEST") -> None:
        self.token = token
        self.calls: list[Call] = []
        self.messages: dict[tuple[int, int], Sent] = {}
        self.drafts: list[Call] = []
        self._updates: list[dict[str, Any]] = []
        self._update_ids = itertools.count(1)
        self._message_ids = itertools.count(100)
        self._failures: list[Failure] = []
        self._holds: dict[str, asyncio.Event] = {}
        self._changed = asyncio.Condition()
        self.webhook: dict[str, Any] | None = None  # the setWebhook parameters
        self.webhook_statuses: list[int] = []  # the bridge's answer to each POST
        self._posting: asyncio.Task[None] | None = None
        self._callback_ids = itertools.count(1)
        self._server: uvicorn.Server | None = None
        self._task: asyncio.Task[None] | None = None
        self.url = ""
        self.app = Starlette(
            routes=[Route("/bot{token}/{method}", self._endpoint, methods=["GET", "POST"])]
        )

    # --- lifecycle -------------------------------------------------------------------
    async def start(self, port: int) -> None:
        config = uvicorn.Config(
            self.app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"
        )
        self._server = uvicorn.Server(config)
        self._server.capture_signals = contextlib.nullcontext  # type: ignore[method-assign,assignment]
        self._task = asyncio.create_task(self._server.serve())
        self.url = f"http://127.0.0.1:{port}"
        async with asyncio.timeout(10):
            while not self._server.started:  # noqa: ASYNC110 - uvicorn offers only a flag
                await asyncio.sleep(0.01)

    async def stop(self) -> None:
        if self._posting is not None:
            self._posting.cancel()
            await asyncio.gather(self._posting, return_exceptions=True)
        if self._server is not None and self._task is not None:
            self._server.should_exit = True
            async with self._changed:
                self._changed.notify_all()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._task, 10)

    # --- what a test does -------------------------------------------------------------
    async def say(
        self, user_id: int, text: str, *, chat_id: int | None = None, name: str = "Ravi"
    ) -> int:
        """User `user_id` writes `text` in a private chat (or in group `chat_id` < 0);
        returns the message's id."""
        chat_id = chat_id if chat_id is not None else user_id
        chat = {"id": chat_id, "type": "private" if chat_id > 0 else "group"}
        if chat_id < 0:
            chat["title"] = "Study group"
        message: dict[str, Any] = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": chat,
            "from": {"id": user_id, "is_bot": False, "first_name": name},
            "text": text,
        }
        if text.startswith("/"):
            length = len(text.split()[0])
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
        await self._push({"message": message})
        return int(message["message_id"])

    async def press(self, user_id: int, chat_id: int, message_id: int, data: str) -> str:
        """User `user_id` presses the inline button with `data` under a bot message;
        returns the callback query's id (its answer: `callback_answer`)."""
        sent = self.messages[(chat_id, message_id)]
        query_id = f"cq{next(self._callback_ids)}"
        query = {
            "id": query_id,
            "from": {"id": user_id, "is_bot": False, "first_name": f"U{user_id}"},
            "chat_instance": str(chat_id),
            "message": message(sent),
            "data": data,
        }
        await self._push({"callback_query": query})
        return query_id

    def callback_answer(self, query_id: str) -> str | None:
        """The text the bot answered a button press with (None: not answered yet)."""
        for call in self.called("answerCallbackQuery"):
            if call.params.get("callback_query_id") == query_id:
                return str(call.params.get("text"))
        return None

    async def press_stop(self, user_id: int, draft_id: int) -> None:
        """The user presses Stop under a draft (Bot API `stopped_message_generation`)."""
        await self._push(
            {
                "stopped_message_generation": {
                    "chat": {"id": user_id, "type": "private"},
                    "draft_id": draft_id,
                }
            }
        )

    def fail(
        self,
        method: str,
        code: int,
        description: str,
        *,
        retry_after: int | None = None,
        times: int = 1,
    ) -> None:
        """The next `times` calls of `method` fail like this."""
        self._failures.append(Failure(method, code, description, retry_after, times))

    def hold(self, method: str) -> asyncio.Event:
        """From now on `method` is carried out (the message exists, the users see it) but
        not answered until the returned event is set: a reply still on its way."""
        gate = self._holds[method] = asyncio.Event()
        return gate

    def texts(self, chat_id: int) -> list[str]:
        """The current text of each message the bot has in `chat_id`, oldest first."""
        return [
            m.text
            for (c, _), m in sorted(self.messages.items(), key=lambda kv: kv[0][1])
            if c == chat_id and not m.deleted
        ]

    def called(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    async def wait_for(self, check: Callable[[], Any], within: float = 30) -> Any:
        """Wait until `check()` is truthy (re-checked on every call the bot makes)."""
        async with asyncio.timeout(within):
            async with self._changed:
                while not (result := check()):
                    await self._changed.wait()
                return result

    # --- the Bot API ------------------------------------------------------------------
    async def _push(self, update: dict[str, Any]) -> None:
        async with self._changed:
            self._updates.append({"update_id": next(self._update_ids), **update})
            self._changed.notify_all()
        if self.webhook is not None and (self._posting is None or self._posting.done()):
            self._posting = asyncio.create_task(self._post_updates())

    async def _post_updates(self) -> None:
        """Deliver pending updates to the webhook in order; one is confirmed by a 2xx."""
        async with httpx.AsyncClient(timeout=10) as http:
            while self.webhook is not None and self._updates:
                update = self._updates[0]
                secret = str(self.webhook.get("secret_token") or "")
                try:
                    r = await http.post(
                        str(self.webhook["url"]),
                        json=update,
                        headers={"X-Telegram-Bot-Api-Secret-Token": secret},
                    )
                    status = r.status_code
                except httpx.HTTPError:
                    status = 0
                async with self._changed:
                    self.webhook_statuses.append(status)
                    if 200 <= status < 300 and self._updates and self._updates[0] is update:
                        self._updates.pop(0)
                    self._changed.notify_all()
                if not 200 <= status < 300:
                    await asyncio.sleep(0.2)  # Telegram retries a failed delivery later

    async def _endpoint(self, request: Request) -> JSONResponse:
        if request.path_params["token"] != self.token:
            return error(401, "Unauthorized")
        method = request.path_params["method"]
        params = await params_of(request)
        call = Call(method, params, time.monotonic())
        failure = self._take_failure(method)
        if failure is not None:
            call.status = failure.code
            await self._record(call)
            return error(failure.code, failure.description, failure.retry_after)
        handler = getattr(self, f"_m_{method.lower()}", None)
        if method.lower() != "getupdates":
            await self._record(call)
        if handler is None:
            return JSONResponse({"ok": True, "result": True})
        try:
            result = await handler(params)
        except ApiError as exc:
            call.status = exc.code
            return error(exc.code, exc.description)
        if method == "sendMessageDraft":
            self.drafts.append(call)
        if (gate := self._holds.get(method)) is not None:
            await gate.wait()
        return JSONResponse({"ok": True, "result": result})

    def _take_failure(self, method: str) -> Failure | None:
        for failure in self._failures:
            if failure.method == method and failure.times > 0:
                failure.times -= 1
                return failure
        return None

    async def _record(self, call: Call) -> None:
        async with self._changed:
            self.calls.append(call)
            self._changed.notify_all()

    async def _m_getme(self, params: dict[str, Any]) -> Any:
        return {"id": BOT_ID, "is_bot": True, "first_name": "Parley", "username": "parley_bot"}

    async def _m_setwebhook(self, params: dict[str, Any]) -> Any:
        self.webhook = dict(params)
        if self._updates and (self._posting is None or self._posting.done()):
            self._posting = asyncio.create_task(self._post_updates())
        return True

    async def _m_deletewebhook(self, params: dict[str, Any]) -> Any:
        self.webhook = None
        return True

    async def _m_answercallbackquery(self, params: dict[str, Any]) -> Any:
        return True

    async def _m_getupdates(self, params: dict[str, Any]) -> Any:
        if self.webhook is not None:
            raise ApiError(409, "Conflict: can't use getUpdates method while webhook is active")
        offset = int(params.get("offset") or 0)
        timeout = float(params.get("timeout") or 0)
        # Asking from `offset` confirms every update below it, as Telegram does.
        self._updates = [u for u in self._updates if u["update_id"] >= offset]
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                async with self._changed:
                    while not any(u["update_id"] >= offset for u in self._updates):
                        if self._server is not None and self._server.should_exit:
                            break
                        await self._changed.wait()
        return [u for u in self._updates if u["update_id"] >= offset][:100]

    async def _m_sendmessage(self, params: dict[str, Any]) -> Any:
        chat_id = int(params["chat_id"])
        text = visible(params)
        if not 1 <= len(text) <= 4096:
            raise ApiError(400, "Bad Request: message text is empty or too long")
        sent = Sent(
            chat_id,
            next(self._message_ids),
            text,
            params.get("parse_mode"),
            str(params["text"]),
            buttons(params),
        )
        sent.times.append(time.monotonic())
        async with self._changed:
            self.messages[(chat_id, sent.message_id)] = sent
            self._changed.notify_all()
        return message(sent)

    async def _m_editmessagetext(self, params: dict[str, Any]) -> Any:
        key = (int(params["chat_id"]), int(params["message_id"]))
        sent = self.messages.get(key)
        if sent is None:
            raise ApiError(400, "Bad Request: message to edit not found")
        text = visible(params)
        keyboard = buttons(params)  # an edit without reply_markup removes the buttons
        if text == sent.text and str(params["text"]) == sent.markup and keyboard == sent.buttons:
            raise ApiError(400, "Bad Request: message is not modified")
        if not 1 <= len(text) <= 4096:
            raise ApiError(400, "Bad Request: message text is empty or too long")
        async with self._changed:
            sent.text, sent.parse_mode = text, params.get("parse_mode")
            sent.markup = str(params["text"])
            sent.buttons = keyboard
            sent.times.append(time.monotonic())
            self._changed.notify_all()
        return message(sent)

    async def _m_sendmessagedraft(self, params: dict[str, Any]) -> Any:
        if int(params["chat_id"]) < 0:
            raise ApiError(400, "Bad Request: drafts can be sent to private chats only")
        if int(params["draft_id"]) == 0:
            raise ApiError(400, "Bad Request: draft_id must be non-zero")
        return True

    async def _m_deletemessage(self, params: dict[str, Any]) -> Any:
        sent = self.messages.get((int(params["chat_id"]), int(params["message_id"])))
        if sent is None:
            raise ApiError(400, "Bad Request: message to delete not found")
        sent.deleted = True
        return True
