"""The Slack app: a slack-bolt ``AsyncApp`` with thin handlers over the shared command layer.

``/nkwatch SUBCOMMAND ARGS`` and ``@nkwatch SUBCOMMAND ARGS`` both become a
``bot.chat.services.Request`` and the ``Reply`` is rendered as Block Kit (``bot.slack.format``).
Slash commands and buttons are
acknowledged first (Slack wants an answer within 3 seconds) and answered afterwards through the
response URL; bolt acknowledges events itself before the mention handler runs.

Requests are verified by bolt (signature and a timestamp within 5 minutes, else 401). Slack
re-sends an event it thinks was not received (``X-Slack-Retry-Num``); events are remembered by
``event_id`` so a retry never produces a second answer. One global error handler logs first.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.chat.adapters import DbFeeds, DbNews
from bot.chat.dispatch import dispatch, handle_action, needs_chat_admin
from bot.chat.reply import Image, Reply, error_reply
from bot.chat.services import ClaimChecker, FeedDirectory, NewsReader, Request, Services
from bot.context import AppContext
from bot.digest.expand import EXPIRED, press
from bot.digest.payloads import SLACK_REPEATS_ACTION, slack_part
from bot.slack.config import SlackConfig, SlackConfigError
from bot.slack.digests import SlackDigests
from bot.slack.format import ACTION_PREFIX, render_reply
from bot.slack.sender import SlackSender, Sleep, make_client

log = logging.getLogger(__name__)

PLATFORM = "slack"
SLASH_COMMAND = "/nkwatch"
SORRY = "Sorry, something went wrong on our side. Please try again later."
# Subcommands whose answer the whole channel should see (they change the channel's digest).
_VISIBLE = {"subscribe", "unsubscribe"}

# Slack's own markup in message text: <@U123>, <#C123|name>, <!here>, <https://x|label>.
_SLACK_ENTITY = re.compile(r"<([@#!][^<>|]*|(?:https?|mailto):[^<>|]*)(?:\|([^<>]*))?>")
_LEADING_MENTION = re.compile(r"^\s*<@[A-Z0-9]+(?:\|[^<>]*)?>[\s:,]*")


def slack_to_plain(text: str) -> str:
    """Message text as the user typed it: Slack's entities back to plain text, ``&lt;`` to ``<``."""

    def entity(found: re.Match[str]) -> str:
        target, label = found.group(1), found.group(2)
        if target.startswith(("@", "#")):
            return ("@" if target[0] == "@" else "#") + (label or target[1:])
        if target.startswith("!"):
            return "@" + (label or target[1:].split("^", 1)[0])
        return target  # a link: the address itself (``addfeed https://...``)

    plain = _SLACK_ENTITY.sub(entity, text)
    return plain.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def split_command(text: str) -> tuple[str, str]:
    """``"latest 3"`` -> ``("latest", "3")``; an empty command is ``help``."""
    parts = text.strip().split(maxsplit=1)
    if not parts:
        return "help", ""
    return parts[0].lower().lstrip("/"), parts[1].strip() if len(parts) > 1 else ""


def mention_text(text: str) -> str:
    """The command after the leading ``@nkwatch`` of an ``app_mention``."""
    return _LEADING_MENTION.sub("", text, count=1)


class RecentIds:
    """Event ids answered lately (bounded, with an age limit): Slack retries within minutes."""

    def __init__(self, *, size: int = 10_000, ttl: float = 3600.0) -> None:
        self._seen: OrderedDict[str, float] = OrderedDict()
        self._size = size
        self._ttl = ttl

    def first_time(self, key: str) -> bool:
        now = time.monotonic()
        while self._seen and (
            len(self._seen) >= self._size or next(iter(self._seen.values())) < now - self._ttl
        ):
            self._seen.popitem(last=False)
        if key in self._seen:
            return False
        self._seen[key] = now
        return True


@dataclass
class SlackBot:
    """The app with what its handlers share; ``digests`` is also the subscription hook."""

    app: AsyncApp
    client: AsyncWebClient
    config: SlackConfig
    services: Services
    digests: SlackDigests
    seen_events: RecentIds = field(default_factory=RecentIds)
    errors: list[BaseException] = field(default_factory=list)
    http_port: int | None = None  # the bound port in HTTP mode (0 in the settings picks one)

    # ------------------------------------------------------------------ requests

    async def is_channel_admin(self, channel_id: str, user_id: str) -> bool:
        """Slack has no per-channel admins for bots: workspace admins/owners and the creator."""
        try:
            user = (await self.client.users_info(user=user_id)).get("user") or {}
            if user.get("is_admin") or user.get("is_owner") or user.get("is_primary_owner"):
                return True
        except SlackApiError as exc:
            log.warning("slack: users.info for %s failed: %s", user_id, exc.response.get("error"))
        try:
            channel = (await self.client.conversations_info(channel=channel_id)).get("channel")
            if channel and channel.get("creator") == user_id:
                return True
        except SlackApiError as exc:
            log.warning(
                "slack: conversations.info for %s failed: %s", channel_id, exc.response.get("error")
            )
        return False

    async def request(
        self, *, name: str, channel_id: str, user_id: str, args: str, user_name: str | None
    ) -> Request:
        req = Request(
            platform=PLATFORM,
            chat_id=channel_id,
            user_id=user_id,
            args=args,
            is_admin=user_id in self.config.admin_ids,
            is_group=not channel_id.startswith("D"),  # D… is a direct message with the bot
            user_name=user_name,
        )
        if needs_chat_admin(name, req) and not req.is_admin:
            chat_admin = await self.is_channel_admin(channel_id, user_id)
            req = Request(
                platform=req.platform,
                chat_id=req.chat_id,
                user_id=req.user_id,
                args=req.args,
                is_admin=req.is_admin,
                is_group=req.is_group,
                is_chat_admin=chat_admin,
                user_name=req.user_name,
            )
        return req

    async def run_command(
        self, text: str, *, channel_id: str, user_id: str, user_name: str | None = None
    ) -> tuple[str, Reply]:
        name, args = split_command(slack_to_plain(text))
        if not channel_id:
            return name, error_reply("I cannot tell which channel this came from.")
        req = await self.request(
            name=name, channel_id=channel_id, user_id=user_id, args=args, user_name=user_name
        )
        return name, await dispatch(name, req, self.services)

    # ------------------------------------------------------------------ handlers

    async def on_slash(self, ack: Any, body: dict[str, Any], respond: Any) -> None:
        await ack()  # first: Slack shows an error if nothing comes back within 3 seconds
        try:
            name, reply = await self.run_command(
                str(body.get("text") or ""),
                channel_id=str(body.get("channel_id") or ""),
                user_id=str(body.get("user_id") or ""),
                user_name=body.get("user_name"),
            )
            text = str(body.get("text") or "").strip()
            visible = not reply.error and (name in _VISIBLE or (name == "settings" and " " in text))
            if reply.image is not None:  # a chart goes to the channel, so its table does too
                visible = await self.upload(reply.image, channel_id=str(body.get("channel_id")))
            await respond(
                **render_reply(reply),
                response_type="in_channel" if visible else "ephemeral",
                replace_original=False,
            )
        except Exception as exc:
            await self.on_error(exc, body, respond)

    async def on_mention(self, event: dict[str, Any], client: AsyncWebClient) -> None:
        channel_id = str(event.get("channel") or "")
        try:
            _, reply = await self.run_command(
                mention_text(str(event.get("text") or "")),
                channel_id=channel_id,
                user_id=str(event.get("user") or ""),
            )
        except Exception as exc:
            reply = error_reply(SORRY)
            await self._report(exc, {"type": "app_mention", "event": event}, None, tell=False)
        if reply.image is not None:
            await self.upload(reply.image, channel_id=channel_id, thread_ts=event.get("thread_ts"))
        await client.chat_postMessage(
            channel=channel_id,
            thread_ts=event.get("thread_ts"),
            unfurl_links=False,
            unfurl_media=False,
            **render_reply(reply),
        )

    async def upload(self, image: Image, *, channel_id: str, thread_ts: str | None = None) -> bool:
        """Upload a reply's picture into the channel (or thread); the text follows either way."""
        try:
            await self.client.files_upload_v2(
                channel=channel_id,
                thread_ts=thread_ts,
                file=image.data,
                filename=image.filename,
                title=image.title,
            )
        except SlackApiError as exc:
            log.warning("chart upload to %s failed: %s", channel_id, exc.response.get("error"))
            return False
        return True

    async def on_button(
        self, ack: Any, body: dict[str, Any], action: dict[str, Any], respond: Any
    ) -> None:
        await ack()
        channel = body.get("channel") or {}
        container = body.get("container") or {}
        channel_id = str(channel.get("id") or container.get("channel_id") or "")
        user_id = str((body.get("user") or {}).get("id") or "")
        try:
            req = await self.request(
                name="", channel_id=channel_id, user_id=user_id, args="", user_name=None
            )
            reply = await handle_action(str(action.get("value") or ""), req, self.services)
            await respond(**render_reply(reply), response_type="ephemeral", replace_original=False)
        except Exception as exc:
            await self.on_error(exc, body, respond)

    async def on_digest_button(
        self, ack: Any, body: dict[str, Any], action: dict[str, Any], respond: Any
    ) -> None:
        """The "Show more" / "Hide" button under a digest: the message is redrawn in place via its
        ``response_url`` (the rebuilding is in ``bot.digest``, off the event loop)."""
        await ack()
        channel = body.get("channel") or {}
        container = body.get("container") or {}
        channel_id = str(channel.get("id") or container.get("channel_id") or "")
        try:
            shown = await press(
                self.services.sessions,
                data=str(action.get("value") or ""),
                platform=PLATFORM,
                chat_id=channel_id,
                draw=slack_part,
            )
            if not shown:
                await respond(text=EXPIRED, response_type="ephemeral", replace_original=False)
                return
            await respond(**shown, replace_original=True)
        except Exception as exc:
            await self.on_error(exc, body, respond)

    async def skip_retries(
        self, body: dict[str, Any], request: Any, next: Callable[[], Awaitable[None]]
    ) -> BoltResponse | None:
        """Answer each event once: a retried ``event_id`` is acknowledged and dropped."""
        event_id = body.get("event_id") if isinstance(body, dict) else None
        if event_id and not self.seen_events.first_time(str(event_id)):
            retry = (request.headers.get("x-slack-retry-num") or ["?"])[0]
            reason = (request.headers.get("x-slack-retry-reason") or ["?"])[0]
            log.info(
                "slack: event %s re-sent (retry %s, %s): answered already, ignored",
                event_id,
                retry,
                reason,
            )
            return BoltResponse(status=200, body="", headers={"x-slack-no-retry": "1"})
        await next()
        return None

    async def on_error(self, error: Exception, body: dict[str, Any], respond: Any) -> None:
        """The one error handler (``app.error``): log first, then tell the user if possible.

        Handlers that have acknowledged already call it themselves rather than letting the error
        reach bolt: bolt then forgets the acknowledgement and answers Slack with a 404.
        """
        await self._report(error, body, respond)

    async def _report(
        self, error: Exception, body: dict[str, Any], respond: Any, *, tell: bool = True
    ) -> None:
        kind = body.get("type") or body.get("command") or "request"
        log.error("slack handler error (%s): %r", kind, error, exc_info=error)
        self.errors.append(error)
        if not tell:
            return
        try:
            message = render_reply(error_reply(SORRY))
            if respond is not None:
                await respond(**message, response_type="ephemeral", replace_original=False)
            elif isinstance(body.get("event"), dict) and body["event"].get("channel"):
                await self.client.chat_postMessage(channel=body["event"]["channel"], **message)
        except Exception:  # the error handler itself must never raise
            log.exception("slack error handler could not tell the user about %r", error)


# ---------------------------------------------------------------------- building


def build_slack(
    ctx: AppContext,
    *,
    config: SlackConfig | None = None,
    claims: ClaimChecker | None = None,
    news: NewsReader | None = None,
    feeds: FeedDirectory | None = None,
    clock: Callable[[], datetime] | None = None,
    sleep: Sleep | None = None,
) -> SlackBot:
    """The bolt app with every handler registered; nothing is started or connected."""
    config = config or SlackConfig.from_settings(ctx.settings)
    if not config.bot_token:
        msg = "setting NKWATCH_SLACK_BOT_TOKEN is missing (the xoxb- bot token)"
        raise SlackConfigError(msg)
    client = make_client(
        config.bot_token,
        base_url=config.base_url,
        max_wait=config.rate_limit_max_wait,
        retries=config.rate_limit_retries,
        sleep=sleep,
    )
    sessions = ctx.sessions
    digests = SlackDigests(
        sessions=sessions, sender=SlackSender(client), interval=config.digest_interval
    )
    if sleep is not None:
        digests.sleep = sleep
    if clock is not None:
        digests.clock = clock
    services = Services(
        settings=ctx.settings,
        sessions=sessions,
        news=news if news is not None else DbNews(sessions),
        feeds=feeds if feeds is not None else DbFeeds(sessions, ctx.settings),
        claims=claims,
        schedule=digests,
    )
    if clock is not None:
        services.clock = clock
    app = AsyncApp(
        name="nkwatch",
        client=client,
        signing_secret=config.signing_secret or "",
        logger=logging.getLogger("bot.slack.bolt"),
    )
    bot = SlackBot(app=app, client=client, config=config, services=services, digests=digests)
    app.use(bot.skip_retries)
    app.command(SLASH_COMMAND)(bot.on_slash)
    app.event("app_mention")(bot.on_mention)
    app.action(re.compile("^" + re.escape(ACTION_PREFIX)))(bot.on_button)
    app.action(SLACK_REPEATS_ACTION)(bot.on_digest_button)
    app.error(bot.on_error)
    return bot


# ---------------------------------------------------------------------- running


async def start_http(
    bot: SlackBot, *, host: str | None = None, port: int | None = None, path: str | None = None
) -> tuple[web.AppRunner, int]:
    """Serve bolt's HTTP endpoint (commands, events and interactivity on one path) with aiohttp."""
    if not bot.config.signing_secret:
        msg = "setting NKWATCH_SLACK_SIGNING_SECRET is missing (HTTP mode verifies requests)"
        raise SlackConfigError(msg)
    route = path or bot.config.http_path

    async def handle(request: web.Request) -> web.Response:
        # bolt int()s the timestamp unchecked: a non-numeric one would be a 500, not a refusal
        stamp = request.headers.get("X-Slack-Request-Timestamp", "")
        if not (stamp.isascii() and stamp.isdigit() and len(stamp) <= 12):
            return web.Response(status=401, text="invalid request")
        bolt_request = await to_bolt_request(request)
        bolt_response = await bot.app.async_dispatch(bolt_request)
        return await to_aiohttp_response(bolt_response)

    async def health(_: web.Request) -> web.Response:
        return web.Response(text="ok")

    web_app = web.Application(client_max_size=1024 * 1024)
    web_app.router.add_post(route, handle)
    web_app.router.add_get("/healthz", health)
    runner = web.AppRunner(web_app, access_log=None)
    await runner.setup()
    site = web.TCPSite(
        runner,
        host if host is not None else bot.config.http_host,
        port if port is not None else bot.config.http_port,
    )
    await site.start()
    server = site._server
    sockets = getattr(server, "sockets", None) or []
    bound = int(sockets[0].getsockname()[1]) if sockets else int(port or bot.config.http_port)
    log.info("slack: HTTP mode listening on port %d, path %s", bound, route)
    return runner, bound


async def start_socket_mode(bot: SlackBot) -> AsyncSocketModeHandler:
    if not bot.config.app_token:
        msg = "setting NKWATCH_SLACK_APP_TOKEN is missing (Socket Mode needs xapp-)"
        raise SlackConfigError(msg)
    handler = AsyncSocketModeHandler(bot.app, bot.config.app_token, web_client=bot.client)
    await handler.connect_async()  # type: ignore[no-untyped-call]
    log.info("slack: Socket Mode connected")
    return handler


def slack_configured(ctx: AppContext) -> bool:
    """Whether ``nkwatch run`` should start Slack beside Telegram."""
    return SlackConfig.from_settings(ctx.settings).configured


async def run_slack(
    ctx: AppContext,
    *,
    stop: asyncio.Event | None = None,
    claims: ClaimChecker | None = None,
    config: SlackConfig | None = None,
    on_ready: Callable[[SlackBot], Awaitable[None]] | None = None,
) -> None:
    """``nkwatch run``'s Slack part: runs until ``stop`` is set or the task is cancelled.

    Socket Mode when ``NKWATCH_SLACK_APP_TOKEN`` is set, else HTTP mode on the configured port.
    Without ``claims`` the claim engine is built here.
    """
    config = config or SlackConfig.from_settings(ctx.settings)
    mode = config.resolved_mode()
    if claims is None:
        from bot.claims.engine import ClaimEngine  # noqa: PLC0415 - heavy, only when running

        claims = await asyncio.to_thread(ClaimEngine.from_settings, ctx.settings, ctx.sessions)
    bot = build_slack(ctx, config=config, claims=claims)
    identity = await bot.client.auth_test()  # a bad token fails here, at start, not per request
    log.info("slack: signed in as %s in %s", identity.get("user"), identity.get("team"))
    stop = stop or asyncio.Event()
    done = asyncio.Event()
    digest_task = asyncio.create_task(bot.digests.run(done), name="slack-digests")
    runner: web.AppRunner | None = None
    handler: AsyncSocketModeHandler | None = None
    try:
        if mode == "socket":
            handler = await start_socket_mode(bot)
        else:
            runner, bot.http_port = await start_http(bot)
        if on_ready is not None:
            await on_ready(bot)
        await stop.wait()
    finally:
        done.set()
        with contextlib.suppress(Exception):
            await digest_task
        if handler is not None:
            with contextlib.suppress(Exception):
                await handler.close_async()  # type: ignore[no-untyped-call]
        if runner is not None:
            with contextlib.suppress(Exception):
                await runner.cleanup()
