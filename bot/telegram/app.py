"""The Telegram bot: a python-telegram-bot v22 ``Application`` with thin handlers.

Handlers turn an update into a ``bot.chat.services.Request``, run the shared command, and render the
``Reply`` as HTML. Faults are handled once, in the global error handler: it logs first, then
deactivates a chat that blocked or removed the bot (``Forbidden``) and follows a group that became
a supergroup (``ChatMigrated``). ``BadRequest`` and ``TimedOut`` are logged and never retried
(a timed-out send may have been delivered); ``RetryAfter`` is waited out by the rate limiter.

The rest has its own module: the per-chat rate limiter (``limiter``), the digest jobs (``jobs``),
webhook or polling set-up (``updates``), the one process that polls (``leader``), the chat repairs
the error handler makes (``chats``) and the state the handlers share (``state``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from telegram import BotCommand, LinkPreviewOptions, Update
from telegram.constants import ChatMemberStatus, ChatType, ParseMode
from telegram.error import BadRequest, ChatMigrated, Forbidden, RetryAfter, TelegramError, TimedOut
from telegram.ext import (
    AIORateLimiter,
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    Defaults,
    MessageHandler,
    filters,
)

from bot.chat.about import COMMANDS
from bot.chat.adapters import DbFeeds, DbNews
from bot.chat.dispatch import dispatch, handle_action, needs_chat_admin
from bot.chat.reply import Reply, error_reply
from bot.chat.services import (
    ClaimChecker,
    FeedDirectory,
    NewsReader,
    Request,
    Services,
)
from bot.context import AppContext
from bot.errors import ConfigError
from bot.telegram.chats import deactivate_chat, migrate_subscription
from bot.telegram.digests import DIGEST_BUTTON, OutboxRunner, digest_button
from bot.telegram.format import keyboard, reply_messages
from bot.telegram.jobs import JobQueueSchedule, schedule_from_database
from bot.telegram.leader import PollingLeader
from bot.telegram.limiter import ChatRateLimiter
from bot.telegram.state import (
    INSTANT_INTERVAL_SECONDS,
    PLATFORM,
    DigestRunner,
    TelegramBotState,
    bot_state,
)
from bot.telegram.updates import WebhookConfig, start_polling, start_webhook, webhook_from_settings

log = logging.getLogger(__name__)


TOKEN_HELP = (
    "No Telegram bot token. Set NKWATCH_TELEGRAM_TOKEN (environment or .env). To get one, open "  # noqa: S105
    "Telegram, message @BotFather, send /newbot, pick a name and a username ending in 'bot', "
    "and copy the token it replies with (it looks like 123456789:AAE...)."
)


class MissingTokenError(ConfigError, RuntimeError):
    """``nkwatch run`` prints the message (``TOKEN_HELP``) and exits non-zero."""

    def __init__(self) -> None:
        super().__init__(TOKEN_HELP)


# --------------------------------------------------------------------------- handlers


def _command_name(text: str) -> str:
    head = text.split(maxsplit=1)[0] if text.strip() else ""
    return head.lstrip("/").split("@", 1)[0].lower()


def _command_args(text: str) -> str:
    parts = text.split(maxsplit=1)
    return parts[1].strip() if len(parts) > 1 else ""


async def send_reply(
    application: Application[Any, Any, Any, Any, Any, Any], chat_id: int, reply: Reply
) -> list[int]:
    """Send a reply as one or more HTML messages; buttons go under the last one.

    A reply's picture (a ``/track`` chart) goes first, as a photo captioned with its title.
    """
    messages = reply_messages(reply)
    markup = keyboard(reply)
    ids: list[int] = []
    if reply.image is not None:
        photo = await application.bot.send_photo(
            chat_id=chat_id,
            photo=reply.image.data,
            filename=reply.image.filename,
            caption=reply.image.title[:1024],
        )
        ids.append(photo.message_id)
    for index, text in enumerate(messages):
        sent = await application.bot.send_message(
            chat_id=chat_id,
            text=text,
            reply_markup=markup if index == len(messages) - 1 else None,
        )
        ids.append(sent.message_id)
    return ids


async def _is_chat_admin(
    application: Application[Any, Any, Any, Any, Any, Any], chat_id: int, user_id: int
) -> bool:
    member = await application.bot.get_chat_member(chat_id=chat_id, user_id=user_id)
    return member.status in (ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.OWNER)


def _request(update: Update, state: TelegramBotState, args: str) -> Request | None:
    chat = update.effective_chat
    user = update.effective_user
    if chat is None:
        return None
    user_id = user.id if user is not None else 0
    return Request(
        platform=PLATFORM,
        chat_id=str(chat.id),
        user_id=str(user_id),
        args=args,
        is_admin=user_id in state.admin_ids,
        is_group=chat.type != ChatType.PRIVATE,
        user_name=user.username if user is not None else None,
    )


async def on_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    if message is None or message.text is None:
        return
    mention = message.text.split(maxsplit=1)[0].partition("@")[2]
    if mention and mention.lower() != (context.bot.username or "").lower():
        return  # "/cmd@otherbot" in a group is not for us
    state = bot_state(context.application)
    name = _command_name(message.text)
    req = _request(update, state, _command_args(message.text))
    if req is None:
        return
    if needs_chat_admin(name, req) and not req.is_admin and update.effective_user is not None:
        chat_admin = await _is_chat_admin(
            context.application, int(req.chat_id), update.effective_user.id
        )
        req = Request(**{**_asdict(req), "is_chat_admin": chat_admin})
    reply = await dispatch(name, req, state.services)
    await send_reply(context.application, int(req.chat_id), reply)


def _asdict(req: Request) -> dict[str, Any]:
    return {name: getattr(req, name) for name in req.__slots__}


async def on_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Plain text in a private chat: the bot only understands commands, so say so."""
    chat = update.effective_chat
    if chat is None:
        return
    await send_reply(
        context.application,
        chat.id,
        error_reply("I only understand commands. Send /help for the list."),
    )


async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    if query is None:
        return
    await query.answer()  # acknowledge first: the client stops its spinner
    state = bot_state(context.application)
    req = _request(update, state, "")
    if req is None:
        return
    reply = await handle_action(query.data or "", req, state.services)
    await send_reply(context.application, int(req.chat_id), reply)


async def on_migrate(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A group became a supergroup: the subscription follows it to the new chat id."""
    message = update.effective_message
    if message is None:
        return
    if message.migrate_to_chat_id is not None:
        old, new = message.chat_id, message.migrate_to_chat_id
    elif message.migrate_from_chat_id is not None:
        old, new = message.migrate_from_chat_id, message.chat_id
    else:
        return
    await migrate_subscription(context.application, old, new)


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The one error handler: log first, then repair what the error says about the chat."""
    error = context.error
    update_id = update.update_id if isinstance(update, Update) else None
    log.error("telegram handler error (update %s): %r", update_id, error, exc_info=error)
    state = bot_state(context.application)
    if error is not None:
        state.errors.append(error)
    chat = update.effective_chat if isinstance(update, Update) else None
    try:
        if isinstance(error, Forbidden) and chat is not None:
            await deactivate_chat(context.application, chat.id, f"forbidden: {error.message}")
        elif isinstance(error, ChatMigrated) and chat is not None:
            await migrate_subscription(context.application, chat.id, error.new_chat_id)
        elif isinstance(error, (BadRequest, TimedOut, RetryAfter)):
            return  # logged; never retried blindly
        elif not isinstance(error, TelegramError) and chat is not None:
            await send_reply(
                context.application,
                chat.id,
                error_reply("Sorry, something went wrong on our side. Please try again later."),
            )
    except Exception:  # the error handler itself must never raise
        log.exception("error handler could not recover from %r", error)


# --------------------------------------------------------------------------- building


def bot_commands() -> list[BotCommand]:
    """The menu BotFather shows (admin-only commands are left out of the public menu)."""
    return [
        BotCommand(spec.name, spec.description[:256])
        for spec in COMMANDS.values()
        if not spec.admin_only
    ]


def build_application(
    ctx: AppContext,
    *,
    claims: ClaimChecker | None = None,
    news: NewsReader | None = None,
    feeds: FeedDirectory | None = None,
    digest_runner: DigestRunner | None = None,
    rate_limiter: AIORateLimiter | None = None,
    instant_interval: float = INSTANT_INTERVAL_SECONDS,
    connect_timeout: float = 10.0,
    read_timeout: float = 15.0,
    clock: Callable[[], datetime] | None = None,
) -> Application[Any, Any, Any, Any, Any, Any]:
    """The Telegram Application with every handler; raises ``MissingTokenError`` without a token.

    ``claims``/``news``/``feeds``/``digest_runner`` default to the real database-backed pieces
    (``claims`` only when given: the engine is built once by the caller and shared).
    """
    settings = ctx.settings
    if settings.telegram_token is None or not settings.telegram_token.get_secret_value():
        raise MissingTokenError
    builder = (
        Application.builder()
        .token(settings.telegram_token.get_secret_value())
        .defaults(
            Defaults(
                parse_mode=ParseMode.HTML,
                link_preview_options=LinkPreviewOptions(is_disabled=True),
            )
        )
        .rate_limiter(rate_limiter if rate_limiter is not None else ChatRateLimiter())
        .concurrent_updates(8)
        .connect_timeout(connect_timeout)
        .read_timeout(read_timeout)
        .write_timeout(read_timeout)
        .get_updates_read_timeout(read_timeout + 30)
    )
    if settings.telegram_base_url:
        base = settings.telegram_base_url.rstrip("/")
        builder = builder.base_url(base).base_file_url(base.removesuffix("/bot") + "/file/bot")
    application = builder.build()

    sessions = ctx.sessions
    services = Services(
        settings=settings,
        sessions=sessions,
        news=news if news is not None else DbNews(sessions),
        feeds=feeds if feeds is not None else DbFeeds(sessions, settings),
        claims=claims,
        schedule=JobQueueSchedule(application),
    )
    if clock is not None:
        services.clock = clock
    application.bot_data["nkwatch"] = TelegramBotState(
        services=services,
        sessions=sessions,
        admin_ids=frozenset(settings.telegram_admin_ids),
        digest_runner=digest_runner,
        instant_interval=instant_interval,
    )

    command_names = list(COMMANDS)
    application.add_handler(CommandHandler(command_names, on_command))
    application.add_handler(MessageHandler(filters.StatusUpdate.MIGRATE, on_migrate))
    application.add_handler(MessageHandler(filters.COMMAND, on_command))  # unknown commands
    application.add_handler(
        MessageHandler(filters.TEXT & ~filters.COMMAND & filters.ChatType.PRIVATE, on_text)
    )
    application.add_handler(CallbackQueryHandler(digest_button(sessions), pattern=DIGEST_BUTTON))
    application.add_handler(CallbackQueryHandler(on_button))
    application.add_error_handler(on_error)
    return application


async def prepare(application: Application[Any, Any, Any, Any, Any, Any]) -> int:
    """At start: publish the command menu and rebuild every digest job from the database."""
    await application.bot.set_my_commands(bot_commands())
    count = await schedule_from_database(application)
    log.info("telegram: %d daily digests scheduled from the database", count)
    return count


async def start_application(
    application: Application[Any, Any, Any, Any, Any, Any],
    *,
    webhook: WebhookConfig | None = None,
    poll_interval: float = 0.0,
    poll: bool = True,
) -> None:
    """Start handlers and jobs, then the webhook, or long polling unless ``poll`` is False
    (``nkwatch run`` leaves polling to ``PollingLeader``)."""
    await application.initialize()
    await prepare(application)
    await application.start()
    if webhook is not None:
        await start_webhook(application, webhook)
    elif poll:
        await start_polling(application, poll_interval=poll_interval)


async def stop_application(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    updater = application.updater
    if updater is not None and updater.running:
        await updater.stop()
    if application.running:
        await application.stop()
    await application.shutdown()


async def run_telegram(
    ctx: AppContext,
    *,
    stop: asyncio.Event | None = None,
    claims: ClaimChecker | None = None,
    digest_runner: DigestRunner | None = None,
    on_ready: Callable[[Application[Any, Any, Any, Any, Any, Any]], Awaitable[None]] | None = None,
) -> None:
    """``nkwatch run``'s Telegram part: runs until ``stop`` is set or the task is cancelled.

    Without ``claims`` the claim engine is built here (index load, optional semantic model);
    without ``digest_runner`` digests go through the shared outbox (``OutboxRunner``).
    """
    if ctx.settings.telegram_token is None:
        raise MissingTokenError
    if claims is None:
        from bot.claims.engine import ClaimEngine  # noqa: PLC0415 - heavy, only when running

        claims = await asyncio.to_thread(ClaimEngine.from_settings, ctx.settings, ctx.sessions)
    if digest_runner is None:
        digest_runner = OutboxRunner(ctx.sessions)
    settings = ctx.settings
    application = build_application(
        ctx,
        claims=claims,
        digest_runner=digest_runner,
        instant_interval=settings.telegram_digest_interval_seconds,
    )
    webhook = webhook_from_settings(ctx)
    # Webhook mode suits any number of processes behind a load balancer; long polling is one
    # process's job at a time (see ``PollingLeader``).
    await start_application(application, webhook=webhook, poll=False)
    leader: PollingLeader | None = None
    leading: asyncio.Task[None] | None = None
    if webhook is None:
        leader = PollingLeader(
            application, ctx.sessions, lease_seconds=settings.telegram_polling_lease_seconds
        )
        leading = asyncio.create_task(leader.run(), name="telegram-updates-lease")
    log.info("telegram bot @%s running", application.bot.username)
    try:
        if on_ready is not None:
            await on_ready(application)
        await (stop or asyncio.Event()).wait()
    finally:
        if leader is not None and leading is not None:
            leader.stop()
            with contextlib.suppress(Exception):
                await leading
        with contextlib.suppress(Exception):
            await stop_application(application)
