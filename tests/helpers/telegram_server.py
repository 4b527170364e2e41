"""A Bot API test server on loopback for driving the real python-telegram-bot Application.

Point the bot at it with ``base_url=server.base_url`` (``http://127.0.0.1:PORT/bot``; the library
appends the token). Tests enqueue updates that ``getUpdates`` hands out, read every recorded call,
and arm faults on demand: 429 with ``retry_after``, 403, 400, a chat migration, or a slow answer
that the client gives up on (the message is still "delivered", as on the real server).

``getUpdates`` behaves like Telegram's where several processes matter: an update is forgotten
once a call's ``offset`` passes it (a new poller does not get it again), and a second
``getUpdates`` while one is in flight ends the earlier one with ``409 Conflict: terminated by
other getUpdates request`` (counted in ``conflicts``), so two pollers on one token show up.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

BOT_ID = 7000001
BOT_USERNAME = "nkwatch_test_bot"

_JSON_FIELDS = {
    "chat_id",
    "message_id",
    "user_id",
    "offset",
    "limit",
    "timeout",
    "allowed_updates",
    "reply_markup",
    "link_preview_options",
    "commands",
    "scope",
    "show_alert",
    "disable_notification",
    "reply_parameters",
    "entities",
    "drop_pending_updates",
    "photo",
}


class _NotModifiedError(Exception):
    """An edit that would leave the message as it is (Telegram answers 400)."""


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    at: float = field(default_factory=time.monotonic)
    result: Any = None  # what the server answered (a sent message carries its message_id)


@dataclass
class Fault:
    """One armed failure: answers the next matching call instead of the normal handler."""

    method: str
    kind: str  # "429" | "403" | "400" | "migrate" | "slow"
    chat_id: int | None = None
    retry_after: int = 1
    new_chat_id: int | None = None
    delay: float = 0.0
    description: str | None = None
    times: int = 1


@dataclass
class _Poll:
    """A ``getUpdates`` call in flight."""

    request: web.Request
    terminated: bool = False

    @property
    def connected(self) -> bool:
        """A poller that hung up (stopped, or its process died) is not polling any more."""
        transport = self.request.transport
        return transport is not None and not transport.is_closing()


class TelegramTestServer:
    def __init__(self, token: str = "123456:TEST-TOKEN") -> None:
        self.token = token
        self.calls: list[Call] = []
        self.updates: list[dict[str, Any]] = []
        self.faults: list[Fault] = []
        self.chat_admins: dict[int, set[int]] = {}
        self._update_ids = itertools.count(1)
        self._message_ids = itertools.count(100)
        self._changed = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self.port = 0
        self.conflicts: list[Call] = []  # getUpdates calls ended by a concurrent getUpdates
        self.uploads: list[tuple[str, str, bytes]] = []  # (field, file name, bytes) sent as files
        self._confirmed = 0  # updates below this id were confirmed by an offset: forgotten
        self._polls: list[_Poll] = []  # getUpdates calls in flight
        self.shown: dict[tuple[int, int], str] = {}  # (chat, message id) -> text as it stands
        self._markups: dict[tuple[int, int], Any] = {}

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        self._runner = web.AppRunner(app, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert server is not None
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/bot"

    # ------------------------------------------------------------------ test controls

    def fail(self, method: str, kind: str, **kwargs: Any) -> Fault:
        fault = Fault(method=method, kind=kind, **kwargs)
        self.faults.append(fault)
        return fault

    def set_admins(self, chat_id: int, user_ids: set[int]) -> None:
        self.chat_admins[chat_id] = set(user_ids)

    async def push(self, update: dict[str, Any]) -> dict[str, Any]:
        update = {"update_id": next(self._update_ids), **update}
        async with self._changed:
            self.updates.append(update)
            self._changed.notify_all()
        return update

    async def send_command(
        self,
        text: str,
        *,
        chat_id: int = 42,
        user_id: int = 42,
        chat_type: str = "private",
        **extra: Any,
    ) -> dict[str, Any]:
        """Enqueue a message as a user would type it; a leading "/word" becomes a bot_command."""
        message = self.message(text, chat_id=chat_id, user_id=user_id, chat_type=chat_type)
        message.update(extra)
        return await self.push({"message": message})

    async def press(
        self,
        data: str,
        *,
        chat_id: int = 42,
        user_id: int = 42,
        chat_type: str = "private",
        message_id: int = 1,
        text: str | None = None,
    ) -> dict[str, Any]:
        """Enqueue a ``callback_query``: a user pressed a button with ``data`` under a message
        (``text`` defaults to what the server last sent or edited as that message)."""
        shown = self.shown.get((chat_id, message_id), "earlier reply")
        return await self.push(
            {
                "callback_query": {
                    "id": f"cb{next(self._update_ids)}",
                    "from": self.user(user_id),
                    "chat_instance": str(chat_id),
                    "data": data,
                    "message": {
                        "message_id": message_id,
                        "date": int(time.time()),
                        "chat": self.chat(chat_id, chat_type),
                        "from": {"id": BOT_ID, "is_bot": True, "first_name": "nkwatch"},
                        "text": text if text is not None else shown,
                    },
                }
            }
        )

    async def press_button(
        self, call: Call, *, row: int = 0, chat_id: int | None = None, user_id: int = 42
    ) -> str:
        """Press the button a recorded ``sendMessage``/``editMessageText`` put under its
        message (as if from ``chat_id``, by default the message's own chat); returns the data."""
        markup = call.params.get("reply_markup") or {}
        data = str(markup["inline_keyboard"][row][0]["callback_data"])
        message_id = int(call.result["message_id"])
        own_chat = int(call.params["chat_id"])
        await self.press(
            data,
            chat_id=own_chat if chat_id is None else chat_id,
            user_id=user_id,
            message_id=message_id,
        )
        return data

    @staticmethod
    def user(user_id: int) -> dict[str, Any]:
        return {"id": user_id, "is_bot": False, "first_name": f"User{user_id}"}

    @staticmethod
    def chat(chat_id: int, chat_type: str) -> dict[str, Any]:
        chat: dict[str, Any] = {"id": chat_id, "type": chat_type}
        if chat_type != "private":
            chat["title"] = f"Group {chat_id}"
        return chat

    def message(
        self, text: str, *, chat_id: int, user_id: int, chat_type: str = "private"
    ) -> dict[str, Any]:
        message: dict[str, Any] = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": self.chat(chat_id, chat_type),
            "from": self.user(user_id),
            "text": text,
        }
        if text.startswith("/"):
            command = text.split(maxsplit=1)[0]
            message["entities"] = [
                {
                    "type": "bot_command",
                    "offset": 0,
                    "length": len(command.encode("utf-16-le")) // 2,
                }
            ]
        return message

    def sent(self, method: str = "sendMessage", chat_id: int | None = None) -> list[Call]:
        return [
            c
            for c in self.calls
            if c.method == method and (chat_id is None or c.params.get("chat_id") == chat_id)
        ]

    def texts(self, chat_id: int | None = None) -> list[str]:
        return [str(c.params.get("text", "")) for c in self.sent("sendMessage", chat_id)]

    async def wait_for(
        self,
        predicate: Callable[[list[Call]], bool],
        *,
        within: float = 10.0,
    ) -> list[Call]:
        """Wait until ``predicate(calls)`` holds; ``within`` only guards against a hang."""
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(lambda: predicate(self.calls)), within)
        return self.calls

    async def wait_sent(
        self,
        count: int,
        *,
        chat_id: int | None = None,
        method: str = "sendMessage",
        within: float = 10.0,
    ) -> list[Call]:
        await self.wait_for(lambda _: len(self.sent(method, chat_id)) >= count, within=within)
        return self.sent(method, chat_id)

    async def wait_consumed(self, *, within: float = 10.0) -> None:
        """Wait until the bot has fetched every enqueued update (its offset passed them)."""
        last = self.updates[-1]["update_id"] if self.updates else 0

        def done(_: list[Call]) -> bool:
            return any(
                c.method == "getUpdates" and int(c.params.get("offset") or 0) > last
                for c in self.calls
            )

        await self.wait_for(done, within=within)

    # ------------------------------------------------------------------ HTTP

    async def _params(self, request: web.Request) -> dict[str, Any]:
        raw: dict[str, Any] = {}
        if request.content_type == "application/json":
            with contextlib.suppress(ValueError):
                raw = dict(await request.json())
            return raw
        if request.can_read_body:
            form = await request.post()
            raw = {k: v for k, v in form.items() if isinstance(v, str)}
            for key, value in form.items():
                if isinstance(value, web.FileField):  # sendPhoto and other uploads
                    data = value.file.read()
                    raw[key] = json.dumps({"filename": value.filename, "size": len(data)})
                    self.uploads.append((key, value.filename, data))
        params: dict[str, Any] = dict(request.query)
        for key, value in raw.items():
            if key in _JSON_FIELDS:
                try:
                    params[key] = json.loads(value)
                except ValueError:
                    params[key] = value
            else:
                params[key] = value
        return params

    async def _record(self, call: Call) -> None:
        async with self._changed:
            self.calls.append(call)
            self._changed.notify_all()

    def _take_fault(self, method: str, params: dict[str, Any]) -> Fault | None:
        for fault in self.faults:
            if fault.method != method:
                continue
            if fault.chat_id is not None and params.get("chat_id") != fault.chat_id:
                continue
            fault.times -= 1
            if fault.times <= 0:
                self.faults.remove(fault)
            return fault
        return None

    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        if request.match_info["token"] != self.token:
            return web.json_response(
                {"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401
            )
        params = await self._params(request)
        fault = self._take_fault(method, params)
        call = Call(method=method, params=params)
        await self._record(call)
        if fault is not None and fault.kind != "slow":
            return self._fault_response(fault)
        if fault is not None:
            await asyncio.sleep(fault.delay)
        if method == "getUpdates":
            return await self._get_updates(request, call)
        handler = getattr(self, f"_m_{method}", None)
        if handler is None:
            return web.json_response(
                {"ok": False, "error_code": 404, "description": "Not Found: method not found"},
                status=404,
            )
        try:
            result = await handler(params)
        except _NotModifiedError:
            body = {
                "ok": False,
                "error_code": 400,
                "description": "Bad Request: message is not modified: specified new message "
                "content and reply markup are exactly the same as a current content and reply "
                "markup of the message",
            }
            return web.json_response(body, status=400)
        call.result = result
        return web.json_response({"ok": True, "result": result})

    @staticmethod
    def _fault_response(fault: Fault) -> web.Response:
        if fault.kind == "429":
            body = {
                "ok": False,
                "error_code": 429,
                "description": f"Too Many Requests: retry after {fault.retry_after}",
                "parameters": {"retry_after": fault.retry_after},
            }
            return web.json_response(body, status=429)
        if fault.kind == "403":
            body = {
                "ok": False,
                "error_code": 403,
                "description": fault.description or "Forbidden: bot was blocked by the user",
            }
            return web.json_response(body, status=403)
        if fault.kind == "migrate":
            body = {
                "ok": False,
                "error_code": 400,
                "description": "Bad Request: group chat was upgraded to a supergroup chat",
                "parameters": {"migrate_to_chat_id": fault.new_chat_id},
            }
            return web.json_response(body, status=400)
        body = {
            "ok": False,
            "error_code": 400,
            "description": fault.description or "Bad Request: message text is empty",
        }
        return web.json_response(body, status=400)

    # ------------------------------------------------------------------ methods

    async def _m_getMe(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": BOT_ID,
            "is_bot": True,
            "first_name": "nkwatch",
            "username": BOT_USERNAME,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    async def _get_updates(self, request: web.Request, call: Call) -> web.Response:
        params = call.params
        offset = int(params.get("offset") or 0)
        self._confirmed = max(self._confirmed, offset)
        # Long polling, capped short so shutdown never waits on it.
        wait = min(float(params.get("timeout") or 0), 0.5)
        poll = _Poll(request=request)
        async with self._changed:
            for other in self._polls:
                if other.connected:
                    other.terminated = True
            self._polls.append(poll)
            self._changed.notify_all()

        def pending() -> list[dict[str, Any]]:
            first = max(offset, self._confirmed)
            return [u for u in self.updates if u["update_id"] >= first]

        try:
            if not pending() and wait > 0:
                async with self._changed:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(
                            self._changed.wait_for(lambda: bool(pending()) or poll.terminated),
                            wait,
                        )
        finally:
            self._polls.remove(poll)
        if poll.terminated:
            self.conflicts.append(call)
            body = {
                "ok": False,
                "error_code": 409,
                "description": "Conflict: terminated by other getUpdates request; make sure "
                "that only one bot instance is running",
            }
            return web.json_response(body, status=409)
        return web.json_response({"ok": True, "result": pending()})

    async def _ok(self, params: dict[str, Any]) -> bool:
        return True

    _m_deleteWebhook = _ok
    _m_setWebhook = _ok
    _m_setMyCommands = _ok
    _m_answerCallbackQuery = _ok
    _m_close = _ok
    _m_logOut = _ok
    _m_setChatMenuButton = _ok
    _m_deleteMyCommands = _ok

    async def _m_getMyCommands(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        for call in reversed(self.calls):
            if call.method == "setMyCommands":
                return list(call.params.get("commands") or [])
        return []

    def _sent_message(self, params: dict[str, Any], message_id: int) -> dict[str, Any]:
        chat_id = params.get("chat_id")
        chat_type = "private" if isinstance(chat_id, int) and chat_id > 0 else "supergroup"
        return {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": self.chat(chat_id if isinstance(chat_id, int) else 0, chat_type),
            "from": {"id": BOT_ID, "is_bot": True, "first_name": "nkwatch"},
            "text": str(params.get("text", "")),
        }

    def _show(self, params: dict[str, Any], message_id: int) -> dict[str, Any]:
        chat_id = params.get("chat_id")
        if isinstance(chat_id, int):
            self.shown[(chat_id, message_id)] = str(params.get("text", ""))
            self._markups[(chat_id, message_id)] = params.get("reply_markup")
        return self._sent_message(params, message_id)

    async def _m_sendMessage(self, params: dict[str, Any]) -> dict[str, Any]:
        return self._show(params, next(self._message_ids))

    async def _m_sendPhoto(self, params: dict[str, Any]) -> dict[str, Any]:
        message = self._sent_message(params, next(self._message_ids))
        del message["text"]
        upload = params.get("photo") if isinstance(params.get("photo"), dict) else {}
        size = int(upload.get("size", 0))
        message["photo"] = [
            {"file_id": f"photo{message['message_id']}", "file_unique_id": "u", "width": 1080,
             "height": 720, "file_size": size}
        ]  # fmt: skip
        message["caption"] = str(params.get("caption", ""))
        return message

    async def _m_editMessageText(self, params: dict[str, Any]) -> dict[str, Any]:
        """Edits the stored message like Telegram: the same text again is a 400."""
        message_id = int(params.get("message_id") or 0)
        chat_id = params.get("chat_id")
        key = (chat_id, message_id) if isinstance(chat_id, int) else None
        markup = params.get("reply_markup")
        if key in self.shown and (self.shown[key], self._markups.get(key)) == (
            params.get("text"),
            markup,
        ):
            raise _NotModifiedError
        if key is not None:
            self._markups[key] = markup
        return self._show(params, message_id)

    async def _m_editMessageReplyMarkup(self, params: dict[str, Any]) -> dict[str, Any]:
        return self._sent_message(params, int(params.get("message_id") or 0))

    def _member(self, chat_id: int, user_id: int) -> dict[str, Any]:
        status = "administrator" if user_id in self.chat_admins.get(chat_id, set()) else "member"
        member: dict[str, Any] = {"status": status, "user": self.user(user_id)}
        if status == "administrator":
            member.update(
                {
                    "can_be_edited": False,
                    "is_anonymous": False,
                    "can_manage_chat": True,
                    "can_delete_messages": True,
                    "can_manage_video_chats": True,
                    "can_restrict_members": True,
                    "can_promote_members": False,
                    "can_change_info": True,
                    "can_invite_users": True,
                    "can_post_stories": False,
                    "can_edit_stories": False,
                    "can_delete_stories": False,
                }
            )
        return member

    async def _m_getChatMember(self, params: dict[str, Any]) -> dict[str, Any]:
        return self._member(int(params["chat_id"]), int(params["user_id"]))

    async def _m_getChatAdministrators(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        chat_id = int(params["chat_id"])
        return [self._member(chat_id, uid) for uid in sorted(self.chat_admins.get(chat_id, set()))]
