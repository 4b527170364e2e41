"""The Telegram bot: a python-telegram-bot v22 ``Application`` with thin handlers.

Handlers turn an update into a ``bot.commands.Request``, run the shared command, and render the
``Reply`` as HTML. Faults are handled once, in the global error handler: it logs first, then
deactivates a chat that blocked or removed the bot (``Forbidden``) and follows a group that became
a supergroup (``ChatMigrated``). ``BadRequest`` and ``TimedOut`` are logged and never retried
(a timed-out send may have been delivered); ``RetryAfter`` is waited out by the rate limiter.

Digests: one daily job per subscribed chat at its local time, and one repeating job for instant
alerts, all rebuilt from the database at start and updated whenever a chat changes its settings.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from aiolimiter import AsyncLimiter
from sqlalchemy.orm import Session, sessionmaker
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
    Job,
    JobQueue,
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
    SubscriptionView,
)
from bot.context import AppContext
from bot.delivery import default_owner
from bot.pacing import PACED
from bot.telegram.digests import DIGEST_BUTTON, OutboxRunner, digest_button
from bot.telegram.format import keyboard, reply_messages
from bot.telegram.sender import TelegramSender
from storage import leases as lease_store
from storage import subscriptions as subs_store
from storage.db import transaction

log = logging.getLogger(__name__)

PLATFORM = "telegram"
INSTANT_INTERVAL_SECONDS = 60.0
MAX_RETRY_AFTER_RETRIES = 3
JOB_DELAY = timedelta(seconds=60)  # > the outbox's settle time (30 s)

TOKEN_HELP = (
    "No Telegram bot token. Set NKWATCH_TELEGRAM_TOKEN (environment or .env). To get one, open "  # noqa: S105
    "Telegram, message @BotFather, send /newbot, pick a name and a username ending in 'bot', "
    "and copy the token it replies with (it looks like 123456789:AAE...)."
)


class MissingTokenError(RuntimeError):
    """``nkwatch run`` prints the message (``TOKEN_HELP``) and exits non-zero."""

    def __init__(self) -> None:
        super().__init__(TOKEN_HELP)


class DigestRunner(Protocol):
    """Compose, record and send one subscription's digest (kind "digest") or alert ("instant")."""

    async def __call__(
        self, subscription_id: int, *, kind: str, sender: TelegramSender
    ) -> None: ...


class ChatRateLimiter(AIORateLimiter):
    """``AIORateLimiter`` (30/s overall, 20/min per group) plus 1 message per second per chat.

    The stock limiter has no per-chat limit for private chats; Telegram asks for about one
    message per second per chat, so sends to one chat are spaced here too. A ``RetryAfter`` is
    waited out and retried up to ``max_retries`` times (a 429 means nothing was delivered).
    An outbox send took its slot before it was marked in flight (``bot.pacing``): it goes through.
    """

    def __init__(
        self, *, per_chat_rate: float = 1.0, per_chat_period: float = 1.0, **kwargs: Any
    ) -> None:
        kwargs.setdefault("overall_max_rate", 30)
        kwargs.setdefault("overall_time_period", 1)
        kwargs.setdefault("group_max_rate", 20)
        kwargs.setdefault("group_time_period", 60)
        kwargs.setdefault("max_retries", MAX_RETRY_AFTER_RETRIES)
        super().__init__(**kwargs)
        self._per_chat_rate = per_chat_rate
        self._per_chat_period = per_chat_period
        self._chat_limiters: dict[str, AsyncLimiter] = {}

    def _chat_limiter(self, chat_id: object) -> AsyncLimiter:
        key = str(chat_id)
        if len(self._chat_limiters) > 4096:
            for other, limiter in list(self._chat_limiters.items()):
                if other != key and limiter.has_capacity(limiter.max_rate):
                    del self._chat_limiters[other]
        if key not in self._chat_limiters:
            self._chat_limiters[key] = AsyncLimiter(self._per_chat_rate, self._per_chat_period)
        return self._chat_limiters[key]

    async def process_request(  # noqa: PLR0917 - the base class signature
        self,
        callback: Callable[..., Any],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> Any:
        if PACED.get():  # an outbox send that already holds its slot (bot.pacing): no 2nd wait
            PACED.set(False)
            return await callback(*args, **kwargs)
        chat_id = data.get("chat_id")
        if (
            chat_id is not None
            and self._per_chat_rate
            and endpoint.startswith(("send", "edit", "copy", "forward"))
        ):
            async with self._chat_limiter(chat_id):
                return await super().process_request(
                    callback, args, kwargs, endpoint, data, rate_limit_args
                )
        return await super().process_request(
            callback, args, kwargs, endpoint, data, rate_limit_args
        )


@dataclass
class TelegramBotState:
    """Everything the handlers need, kept in ``application.bot_data``."""

    services: Services
    sessions: sessionmaker[Session]
    admin_ids: frozenset[int]
    digest_runner: DigestRunner | None = None
    instant_interval: float = INSTANT_INTERVAL_SECONDS
    sender: TelegramSender | None = None
    errors: list[BaseException] = field(default_factory=list)


def _state(application: Application[Any, Any, Any, Any, Any, Any]) -> TelegramBotState:
    state = application.bot_data["nkwatch"]
    assert isinstance(state, TelegramBotState)
    return state


# --------------------------------------------------------------------------- scheduling


def digest_job_name(subscription_id: int) -> str:
    return f"digest:{subscription_id}"


class JobQueueSchedule:
    """``ScheduleHook`` over PTB's JobQueue: a daily job per chat at its local digest time."""

    def __init__(self, application: Application[Any, Any, Any, Any, Any, Any]) -> None:
        self._app = application

    @property
    def _jobs(self) -> JobQueue[Any]:
        queue = self._app.job_queue
        if queue is None:  # pragma: no cover - the job-queue extra is a dependency
            msg = "python-telegram-bot was installed without the job-queue extra"
            raise RuntimeError(msg)
        return queue

    def subscription_changed(self, sub: SubscriptionView) -> None:
        if sub.platform != PLATFORM:
            return
        for job in self._jobs.get_jobs_by_name(digest_job_name(sub.id)):
            job.schedule_removal()
        if sub.daily:
            # Fire a little after the digest time: the outbox only composes a window once
            # claims stored just before its end have settled (``bot.delivery`` settle time).
            shifted = datetime.combine(date(2000, 1, 1), sub.digest_time) + JOB_DELAY
            at = shifted.time().replace(tzinfo=ZoneInfo(sub.timezone))
            self._jobs.run_daily(
                _digest_job,
                time=at,
                name=digest_job_name(sub.id),
                data=sub.id,
                job_kwargs={"misfire_grace_time": 3600, "coalesce": True},
            )
            log.info(
                "digest for telegram chat %s scheduled daily at %s %s",
                sub.chat_id,
                sub.digest_time,
                sub.timezone,
            )

    def rebuild(self, subs: list[SubscriptionView]) -> int:
        """Replace every digest job with the ones the database asks for."""
        for job in self._jobs.jobs():
            if job.name and job.name.startswith("digest:"):
                job.schedule_removal()
        for sub in subs:
            self.subscription_changed(sub)
        return sum(1 for s in subs if s.daily)

    def digest_job(self, subscription_id: int) -> Job[Any] | None:
        jobs = self._jobs.get_jobs_by_name(digest_job_name(subscription_id))
        return jobs[0] if jobs else None


async def _digest_job(context: ContextTypes.DEFAULT_TYPE) -> None:
    job = context.job
    assert job is not None
    subscription_id = int(str(job.data))
    await run_delivery(context.application, subscription_id, kind="digest")


async def _instant_job(context: ContextTypes.DEFAULT_TYPE) -> None:
    state = _state(context.application)

    def instant_ids() -> list[int]:
        with state.sessions() as session:
            return [s.id for s in subs_store.list_instant(session, platform=PLATFORM)]

    for subscription_id in await asyncio.to_thread(instant_ids):
        try:
            await run_delivery(context.application, subscription_id, kind="instant")
        except Exception:  # one chat's failure must not starve the others
            log.exception("instant alert for subscription %s failed", subscription_id)


async def run_delivery(
    application: Application[Any, Any, Any, Any, Any, Any], subscription_id: int, *, kind: str
) -> None:
    state = _state(application)
    if state.digest_runner is None:
        log.warning("no digest runner wired; %s for subscription %s skipped", kind, subscription_id)
        return
    sender = state.sender or TelegramSender(application.bot)
    await state.digest_runner(subscription_id, kind=kind, sender=sender)


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
    state = _state(context.application)
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
    state = _state(context.application)
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


async def migrate_subscription(
    application: Application[Any, Any, Any, Any, Any, Any], old: int | str, new: int | str
) -> None:
    state = _state(application)

    def work() -> SubscriptionView | None:
        with transaction(state.sessions) as session:
            sub = subs_store.migrate_chat(
                session, platform=PLATFORM, old_chat_id=str(old), new_chat_id=str(new)
            )
            return SubscriptionView.of(sub) if sub is not None else None

    view = await asyncio.to_thread(work)
    if view is not None:
        log.info("telegram chat %s migrated to %s; subscription %s follows", old, new, view.id)
        state.services.schedule.subscription_changed(view)


async def deactivate_chat(
    application: Application[Any, Any, Any, Any, Any, Any], chat_id: int | str, reason: str
) -> None:
    state = _state(application)

    def work() -> SubscriptionView | None:
        with transaction(state.sessions) as session:
            if not subs_store.deactivate(
                session, platform=PLATFORM, chat_id=str(chat_id), reason=reason
            ):
                return None
            sub = subs_store.get_subscription(session, platform=PLATFORM, chat_id=str(chat_id))
            return SubscriptionView.of(sub) if sub is not None else None

    view = await asyncio.to_thread(work)
    if view is not None:
        log.warning("telegram chat %s deactivated: %s", chat_id, reason)
        state.services.schedule.subscription_changed(view)


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The one error handler: log first, then repair what the error says about the chat."""
    error = context.error
    update_id = update.update_id if isinstance(update, Update) else None
    log.error("telegram handler error (update %s): %r", update_id, error, exc_info=error)
    state = _state(context.application)
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
    state = _state(application)
    await application.bot.set_my_commands(bot_commands())

    def load() -> list[SubscriptionView]:
        with state.sessions() as session:
            return [
                SubscriptionView.of(s) for s in subs_store.list_active(session, platform=PLATFORM)
            ]

    subs = await asyncio.to_thread(load)
    schedule = state.services.schedule
    assert isinstance(schedule, JobQueueSchedule)
    count = schedule.rebuild(subs)
    queue = application.job_queue
    if queue is not None and state.digest_runner is not None:
        for job in queue.get_jobs_by_name("instant-alerts"):
            job.schedule_removal()
        queue.run_repeating(
            _instant_job,
            interval=state.instant_interval,
            first=state.instant_interval,
            name="instant-alerts",
            job_kwargs={"coalesce": True, "max_instances": 1},
        )
    log.info("telegram: %d daily digests scheduled from the database", count)
    return count


@dataclass(frozen=True, slots=True)
class WebhookConfig:
    """Webhook mode instead of long polling (needs a public HTTPS URL pointing at listen:port)."""

    url: str
    listen: str = "0.0.0.0"  # noqa: S104 - a webhook must be reachable
    port: int = 8443
    url_path: str = "telegram"
    secret_token: str | None = None


def webhook_from_settings(ctx: AppContext) -> WebhookConfig | None:
    settings = ctx.settings
    url = getattr(settings, "telegram_webhook_url", None)
    if not url:
        return None
    secret = getattr(settings, "telegram_webhook_secret", None)
    return WebhookConfig(
        url=str(url),
        listen=str(getattr(settings, "telegram_webhook_listen", "0.0.0.0")),  # noqa: S104
        port=int(getattr(settings, "telegram_webhook_port", 8443)),
        secret_token=secret.get_secret_value() if secret is not None else None,
    )


ALLOWED_UPDATES = ["message", "callback_query", "my_chat_member"]


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
    updater = application.updater
    assert updater is not None
    if webhook is not None:
        await updater.start_webhook(
            listen=webhook.listen,
            port=webhook.port,
            url_path=webhook.url_path,
            webhook_url=webhook.url,
            secret_token=webhook.secret_token,
            allowed_updates=ALLOWED_UPDATES,
        )
    elif poll:
        await start_polling(application, poll_interval=poll_interval)


async def start_polling(
    application: Application[Any, Any, Any, Any, Any, Any], *, poll_interval: float = 0.0
) -> None:
    updater = application.updater
    assert updater is not None
    await updater.start_polling(
        poll_interval=poll_interval,
        timeout=10,
        drop_pending_updates=False,
        allowed_updates=ALLOWED_UPDATES,
    )


UPDATES_LEASE = "telegram-updates"


class PollingLeader:
    """Long polling by one process at a time: the holder of the ``telegram-updates`` lease.

    Telegram answers ``409 Conflict`` to a second process polling the same token, so each
    ``nkwatch run`` process keeps its handlers, jobs and outbox running and only the lease holder
    runs ``getUpdates``. Every third of the lease the holder renews it and the others try to take
    it, so a dead holder is replaced within about ``lease_seconds * 4/3``; a stopping holder
    releases it at once. A holder that cannot renew in time stops polling a third of a lease
    before the lease may run out, so (with clocks in sync) two processes do not poll together.
    """

    def __init__(
        self,
        application: Application[Any, Any, Any, Any, Any, Any],
        sessions: sessionmaker[Session],
        *,
        lease_seconds: float,
        owner: str | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._app = application
        self._sessions = sessions
        self._lease = timedelta(seconds=lease_seconds)
        self._period = lease_seconds / 3  # between renewals, and between tries to take over
        self.owner = owner or default_owner()
        self._clock = clock
        self._stopping = asyncio.Event()
        self._safe_until = 0.0  # monotonic time until which our last renewal certainly holds

    @property
    def polling(self) -> bool:
        updater = self._app.updater
        return updater is not None and updater.running

    def stop(self) -> None:
        self._stopping.set()

    async def run(self) -> None:
        """Hold or wait for the lease until ``stop()``; then stop polling and release it."""
        try:
            while not self._stopping.is_set():
                await self.step()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), self._period)
        finally:
            await self._give_up()

    async def step(self) -> None:
        """Renew (holder) or try to acquire (others), and start or stop polling to match."""
        asked_at = time.monotonic()
        polling = self.polling
        # A holder waits for the database only while its last renewal certainly holds.
        limit = max(self._safe_until - asked_at, 0.0) if polling else self._period
        held: bool | None = None  # unknown: the database did not answer
        try:
            held = await asyncio.wait_for(
                asyncio.to_thread(self._renew if polling else self._acquire), limit
            )
        except TimeoutError:
            log.warning("telegram: the updates lease could not be checked in %.1fs", limit)
        except Exception:
            log.exception("telegram: the updates lease could not be checked")
        if held is None:
            if self.polling and time.monotonic() >= self._safe_until:
                await self._stop_polling("the updates lease could not be renewed in time")
            return
        if held:
            # A margin of a third: the renewal may have landed late in its round trip.
            self._safe_until = asked_at + self._lease.total_seconds() * 2 / 3
            if not self.polling:
                try:
                    await start_polling(self._app)
                except Exception:
                    log.exception("telegram: polling could not start; retrying")
                    return
                log.info("telegram: this process polls for updates (%s)", self.owner)
        elif self.polling:
            await self._stop_polling("another process holds the updates lease")

    def _acquire(self) -> bool:
        now = self._clock()
        with transaction(self._sessions) as session:
            return lease_store.acquire(
                session, name=UPDATES_LEASE, owner=self.owner, now=now, until=now + self._lease
            )

    def _renew(self) -> bool:
        with transaction(self._sessions) as session:
            return lease_store.renew(
                session, name=UPDATES_LEASE, owner=self.owner, until=self._clock() + self._lease
            )

    async def _stop_polling(self, why: str) -> None:
        updater = self._app.updater
        if updater is not None and updater.running:
            await updater.stop()
            log.warning("telegram: stopped polling for updates: %s", why)

    async def _give_up(self) -> None:
        with contextlib.suppress(Exception):
            await self._stop_polling("shutting down")

        def release() -> bool:
            with transaction(self._sessions) as session:
                return lease_store.release(session, name=UPDATES_LEASE, owner=self.owner)

        try:
            if await asyncio.to_thread(release):
                log.info("telegram: updates lease released")
        except Exception:  # it runs out on its own
            log.exception("telegram: the updates lease could not be released")


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


def next_run(job: Job[Any]) -> datetime | None:
    when = job.next_t
    return when.astimezone(UTC) if when is not None else None


async def fire_now(job: Job[Any]) -> None:
    """Make a scheduled job fire through the scheduler now (tests, ``nkwatch`` admin tools)."""
    job.job.modify(next_run_time=datetime.now(UTC) + timedelta(milliseconds=10))
