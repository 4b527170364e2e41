"""A Slack Web API stand-in on loopback for tests: records every call, answers faults on demand.

Serves ``/api/<method>`` (point ``AsyncWebClient(base_url=server.api_url)`` at it), response
URLs under ``/response/<name>`` (what a slash command or button carries as ``response_url``), and
a Socket Mode WebSocket at ``/socket`` (``apps.connections.open`` hands out its address).

Faults are queued per method: ``server.fail("chat.postMessage", "channel_not_found")`` makes the
next call answer ``{"ok": false, "error": "channel_not_found"}``; ``server.rate_limit(method,
retry_after=1)`` answers HTTP 429 with a ``Retry-After`` header, as Slack does.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import WSMsgType, web

BOT_USER_ID = "UBOT0001"
BOT_ID = "BBOT0001"
TEAM_ID = "T0TEAM01"


@dataclass
class Call:
    """One recorded request: the Web API method (or ``response:<name>``) and its arguments."""

    method: str
    args: dict[str, Any]
    headers: dict[str, str]
    status: int = 200

    @property
    def blocks(self) -> list[dict[str, Any]]:
        raw = self.args.get("blocks")
        if isinstance(raw, str):
            parsed = json.loads(raw)
            return parsed if isinstance(parsed, list) else []
        return raw if isinstance(raw, list) else []


@dataclass
class Fault:
    status: int = 200
    error: str | None = None
    retry_after: int | None = None
    delay: float = 0.0  # seconds to wait before answering (for client timeouts)


@dataclass
class SlackApiServer:
    host: str = "127.0.0.1"
    port: int = 0
    calls: list[Call] = field(default_factory=list)
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    channels: dict[str, dict[str, Any]] = field(default_factory=dict)
    socket_acks: list[dict[str, Any]] = field(default_factory=list)
    uploads: dict[str, bytes] = field(default_factory=dict)  # file id -> bytes uploaded
    _faults: dict[str, deque[Fault]] = field(default_factory=dict)
    _runner: web.AppRunner | None = None
    _changed: asyncio.Condition | None = None
    _ts: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _sockets: list[web.WebSocketResponse] = field(default_factory=list)
    _socket_ready: asyncio.Event | None = None

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> SlackApiServer:
        self._changed = asyncio.Condition()
        self._socket_ready = asyncio.Event()
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._api)
        app.router.add_post("/response/{name}", self._response)
        app.router.add_post("/upload/{file_id}", self._upload)
        app.router.add_get("/socket", self._socket)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        server = site._server
        assert server is not None
        sockets = getattr(server, "sockets", None)
        assert sockets
        self.port = sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        for ws in list(self._sockets):
            with contextlib.suppress(Exception):
                await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> SlackApiServer:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def base(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def api_url(self) -> str:
        return f"{self.base}/api/"

    def response_url(self, name: str) -> str:
        return f"{self.base}/response/{name}"

    # ------------------------------------------------------------------ faults

    def fail(self, method: str, error: str, *, times: int = 1, status: int = 200) -> None:
        queue = self._faults.setdefault(method, deque())
        queue.extend(Fault(status=status, error=error) for _ in range(times))

    def rate_limit(self, method: str, *, retry_after: int = 1, times: int = 1) -> None:
        queue = self._faults.setdefault(method, deque())
        queue.extend(
            Fault(status=429, error="ratelimited", retry_after=retry_after) for _ in range(times)
        )

    def delay(self, method: str, seconds: float, *, times: int = 1) -> None:
        queue = self._faults.setdefault(method, deque())
        queue.extend(Fault(delay=seconds) for _ in range(times))

    # ------------------------------------------------------------------ queries

    def calls_to(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    def responses(self, name: str | None = None) -> list[Call]:
        prefix = "response:" + (name or "")
        return [c for c in self.calls if c.method.startswith(prefix)]

    async def wait_for(
        self, predicate: Callable[[list[Call]], bool], *, within: float = 10.0
    ) -> list[Call]:
        """Wait until ``predicate(calls)`` holds (event-driven; ``within`` only bounds a hang)."""
        assert self._changed is not None
        async with asyncio.timeout(within), self._changed:
            await self._changed.wait_for(lambda: predicate(self.calls))
        return self.calls

    async def wait_calls(self, method: str, count: int = 1, *, within: float = 10.0) -> list[Call]:
        await self.wait_for(
            lambda calls: sum(c.method == method for c in calls) >= count, within=within
        )
        return self.calls_to(method)

    async def _record(self, call: Call) -> None:
        assert self._changed is not None
        async with self._changed:
            self.calls.append(call)
            self._changed.notify_all()

    # ------------------------------------------------------------------ handlers

    @staticmethod
    async def _arguments(request: web.Request) -> dict[str, Any]:
        args: dict[str, Any] = dict(request.query)
        raw = await request.text()
        if not raw:
            return args
        if request.content_type == "application/json":
            body = json.loads(raw)
            if isinstance(body, dict):
                args.update(body)
        else:
            args.update(dict(parse_qsl(raw, keep_blank_values=True)))
        return args

    async def _api(self, request: web.Request) -> web.StreamResponse:
        method = request.match_info["method"]
        args = await self._arguments(request)
        headers = {k.lower(): v for k, v in request.headers.items()}
        queue = self._faults.get(method)
        fault = queue.popleft() if queue else None
        if fault is not None and fault.delay:
            await asyncio.sleep(fault.delay)
            fault = None
        if fault is not None:
            await self._record(Call(method, args, headers, status=fault.status))
            extra = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {}
            return web.json_response(
                {"ok": False, "error": fault.error}, status=fault.status, headers=extra
            )
        await self._record(Call(method, args, headers))
        return web.json_response(self._answer(method, args, headers))

    def _answer(self, method: str, args: dict[str, Any], headers: dict[str, str]) -> dict[str, Any]:
        auth = headers.get("authorization", "")
        if not auth.startswith("Bearer x"):
            return {"ok": False, "error": "not_authed"}
        if method == "auth.test":
            return {
                "ok": True,
                "url": "https://nkwatch-test.slack.com/",
                "team": "nkwatch test",
                "user": "nkwatch",
                "team_id": TEAM_ID,
                "user_id": BOT_USER_ID,
                "bot_id": BOT_ID,
            }
        if method in ("chat.postMessage", "chat.update", "chat.postEphemeral"):
            ts = f"1700000000.{next(self._ts):06d}"
            return {
                "ok": True,
                "channel": args.get("channel"),
                "ts": ts,
                "message": {"text": args.get("text"), "ts": ts, "bot_id": BOT_ID},
            }
        if method == "users.info":
            user = self.users.get(str(args.get("user")))
            if user is None:
                return {"ok": False, "error": "user_not_found"}
            return {"ok": True, "user": {"id": args.get("user"), **user}}
        if method == "conversations.info":
            channel = self.channels.get(str(args.get("channel")))
            if channel is None:
                return {"ok": False, "error": "channel_not_found"}
            return {"ok": True, "channel": {"id": args.get("channel"), **channel}}
        if method == "files.getUploadURLExternal":
            file_id = f"F{next(self._ts):07d}"
            return {"ok": True, "upload_url": f"{self.base}/upload/{file_id}", "file_id": file_id}
        if method == "files.completeUploadExternal":
            files = args.get("files")
            listed = json.loads(files) if isinstance(files, str) else files or []
            missing = [f["id"] for f in listed if f.get("id") not in self.uploads]
            if missing:  # as Slack: completing a file that was never uploaded fails
                return {"ok": False, "error": "file_not_found"}
            return {"ok": True, "files": [{"id": f["id"], "title": f.get("title")} for f in listed]}
        if method == "apps.connections.open":
            if not auth.startswith("Bearer xapp-"):
                return {"ok": False, "error": "invalid_auth"}
            return {"ok": True, "url": f"ws://{self.host}:{self.port}/socket"}
        return {"ok": True}

    async def _response(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        args = await self._arguments(request)
        await self._record(
            Call(f"response:{name}", args, {k.lower(): v for k, v in request.headers.items()})
        )
        return web.Response(text="ok")

    async def _upload(self, request: web.Request) -> web.StreamResponse:
        """The upload URL files.getUploadURLExternal hands out: the file's bytes, POSTed."""
        file_id = request.match_info["file_id"]
        data = await request.read()
        self.uploads[file_id] = data
        await self._record(
            Call(
                f"upload:{file_id}",
                {"size": len(data)},
                {k.lower(): v for k, v in request.headers.items()},
            )
        )
        return web.Response(text=f"OK - {len(data)}")

    # ------------------------------------------------------------------ socket mode

    async def _socket(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        self._sockets.append(ws)
        await ws.send_str(json.dumps({"type": "hello", "num_connections": 1}))
        assert self._socket_ready is not None
        self._socket_ready.set()
        try:
            async for message in ws:
                if message.type != WSMsgType.TEXT:
                    continue
                body = json.loads(message.data)
                assert self._changed is not None
                async with self._changed:
                    self.socket_acks.append(body)
                    self._changed.notify_all()
        finally:
            self._sockets.remove(ws)
        return ws

    async def wait_socket(self, *, within: float = 10.0) -> None:
        assert self._socket_ready is not None
        async with asyncio.timeout(within):
            await self._socket_ready.wait()

    async def push_envelope(self, kind: str, payload: dict[str, Any], *, retry: int = 0) -> str:
        """Send one Socket Mode envelope (``slash_commands``, ``events_api``, ``interactive``)."""
        envelope_id = f"env-{next(self._ts)}"
        envelope = {
            "envelope_id": envelope_id,
            "type": kind,
            "payload": payload,
            "accepts_response_payload": kind != "events_api",
            "retry_attempt": retry,
            "retry_reason": "timeout" if retry else "",
        }
        assert self._sockets, "no Socket Mode client connected"
        await self._sockets[-1].send_str(json.dumps(envelope))
        return envelope_id

    async def wait_ack(self, envelope_id: str, *, within: float = 10.0) -> dict[str, Any]:
        assert self._changed is not None
        async with asyncio.timeout(within), self._changed:
            await self._changed.wait_for(
                lambda: any(a.get("envelope_id") == envelope_id for a in self.socket_acks)
            )
        return next(a for a in self.socket_acks if a.get("envelope_id") == envelope_id)
