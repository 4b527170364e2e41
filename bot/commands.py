"""The shared command layer: every chat command's logic, once, for Telegram and Slack.

Each command takes a platform-free :class:`Request` (platform, chat, user, admin flags, argument
text) and the app's :class:`Services`, and returns a :class:`Reply` made of plain blocks, links and
buttons. Front ends only parse their platform's update into a ``Request`` and render the ``Reply``
(Telegram HTML, Slack mrkdwn/Block Kit); nothing here knows either format.

Blocking work (SQL, the claim engine) runs in a worker thread so a chat front end's event loop
keeps answering other chats meanwhile.
"""

from __future__ import annotations

import asyncio
import logging
import re
import unicodedata
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Protocol, TypeVar
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.orm import Session, sessionmaker

from bot.claims.types import Verdict
from bot.digest.model import clip
from bot.settings import Settings
from storage import articles as articles_store
from storage import claims as claims_store
from storage import digests as digests_store
from storage import feeds as feeds_store
from storage import subscriptions as subs_store
from storage.db import transaction
from storage.models import Claim, Feed, Subscription

log = logging.getLogger(__name__)

T = TypeVar("T")

MAX_ARGS_CHARS = 300  # every command but /claim
MAX_CLAIM_CHARS = 1000  # a claim is one or two sentences; longer is a pasted article
LATEST_DEFAULT = 5
LATEST_MAX = 20
MAX_ROW_ID = 2**31 - 1  # ids are 32-bit on PostgreSQL
CLAIM_TOP = 5
RELEVANCE_MAX = 100.0
ACTION_MAX_BYTES = 64  # Telegram's callback_data limit; Slack's is larger

# A tag-shaped run: "<b>", "</a>", "<script src=...>", "<!-- -->". A bare "<" ("range < 500 km")
# is fine and simply escaped on output.
_HTML_TAG = re.compile(r"<\s*/?\s*[a-zA-Z!][^<>]*>")
_HHMM = re.compile(r"^([01]?\d|2[0-3])[:.h]([0-5]\d)$")
_ON = {"on", "yes", "true", "1", "enable", "enabled"}
_OFF = {"off", "no", "false", "0", "disable", "disabled"}


# --------------------------------------------------------------------------- reply model


@dataclass(frozen=True, slots=True)
class Span:
    """A run of text; ``url`` makes it a link, ``bold``/``code`` style it."""

    text: str
    url: str | None = None
    bold: bool = False
    code: bool = False


@dataclass(frozen=True, slots=True)
class Block:
    """One paragraph, or one list item when ``item`` is set (items render without blank lines)."""

    spans: tuple[Span, ...]
    item: bool = False

    @property
    def text(self) -> str:
        return "".join(span.text for span in self.spans)


def fit_block(
    block: Block, *, limit: int, span: Callable[[Span], str], escape: Callable[[str], str]
) -> str:
    """A block rendered span by span; too long even alone, the markup goes and the text is
    clipped until its escaped form fits ``limit`` (each platform passes its own escaping)."""
    bullet = "• " if block.item else ""
    out = bullet + "".join(span(part) for part in block.spans)
    if len(out) <= limit:
        return out
    text = block.text
    size = len(text)
    while size > 1:
        size = max(1, min(size - 1, size * limit // max(len(out), 1)))
        out = bullet + escape(clip(text, size))
        if len(out) <= limit:
            break
    return out


@dataclass(frozen=True, slots=True)
class Button:
    """An inline button; ``action`` goes back to :func:`handle_action` when pressed."""

    label: str
    action: str


@dataclass(frozen=True, slots=True)
class Image:
    """A picture sent before the reply's text (Telegram sendPhoto, Slack file upload)."""

    data: bytes
    filename: str
    title: str


@dataclass(frozen=True, slots=True)
class Reply:
    blocks: tuple[Block, ...]
    buttons: tuple[Button, ...] = ()
    error: bool = False
    image: Image | None = None

    def plain_text(self) -> str:
        """Text without markup (logs, tests, terminal and notification fallbacks)."""
        out: list[str] = []
        for index, block in enumerate(self.blocks):
            if index:
                out.append("\n" if block.item and self.blocks[index - 1].item else "\n\n")
            out.append(("• " if block.item else "") + block.text)
        return "".join(out)


def span(text: str, *, url: str | None = None, bold: bool = False, code: bool = False) -> Span:
    return Span(text=text, url=url, bold=bold, code=code)


def para(*parts: Span | str) -> Block:
    return Block(spans=tuple(p if isinstance(p, Span) else Span(p) for p in parts))


def item(*parts: Span | str) -> Block:
    return Block(spans=tuple(p if isinstance(p, Span) else Span(p) for p in parts), item=True)


def reply(*blocks: Block, buttons: Sequence[Button] = (), image: Image | None = None) -> Reply:
    return Reply(blocks=tuple(blocks), buttons=tuple(buttons), image=image)


def error_reply(message: str) -> Reply:
    return Reply(blocks=(para(message),), error=True)


# --------------------------------------------------------------------------- requests, services


@dataclass(frozen=True, slots=True)
class Request:
    """One command as a front end received it, stripped of platform types."""

    platform: str  # "telegram" | "slack"
    chat_id: str
    user_id: str
    args: str = ""
    is_admin: bool = False  # a bot administrator (settings), may change the feed list
    is_group: bool = False  # a group, supergroup or channel rather than a private chat
    is_chat_admin: bool = False  # an administrator of this chat (groups only)
    user_name: str | None = None


@dataclass(frozen=True, slots=True)
class FeedInfo:
    id: int
    name: str
    url: str
    enabled: bool = True
    healthy: bool = True
    last_success_at: datetime | None = None
    error_count: int = 0
    last_error: str | None = None
    disabled_reason: str | None = None


@dataclass(frozen=True, slots=True)
class StoryInfo:
    article_id: int
    title: str
    url: str | None
    outlet: str | None
    published_at: datetime | None
    new: int = 0
    repeated: int = 0
    updated: int = 0


@dataclass(frozen=True, slots=True)
class ClaimInfo:
    """A stored claim with where it came from, for "show repeated claims" and match details."""

    claim_id: int
    text: str
    verdict: str
    article_title: str | None = None
    url: str | None = None
    source: str | None = None
    published_at: datetime | None = None
    earlier_source: str | None = None  # for repeats: the outlet that reported it first
    earlier_date: datetime | None = None


@dataclass(frozen=True, slots=True)
class PollInfo:
    started_at: datetime
    finished_at: datetime | None
    feeds_polled: int
    new_stories: int
    errors: int


@dataclass(frozen=True, slots=True)
class TodayInfo:
    stories: int = 0
    relevant_stories: int = 0
    claims_new: int = 0
    claims_repeated: int = 0
    claims_updated: int = 0


class FeedRejectedError(Exception):
    """The feed cannot be added; the message is shown to the user as is."""


class ClaimChecker(Protocol):
    def check(self, text: str, *, top: int = ...) -> Verdict: ...


class FeedDirectory(Protocol):
    """The feeds engineer's store and SSRF-guarded add; sync calls run in a thread."""

    def list_feeds(self) -> Sequence[FeedInfo]: ...

    async def add_feed(self, url: str, *, added_by: str) -> FeedInfo: ...

    def remove_feed(self, feed_id: int) -> FeedInfo | None: ...


class NewsReader(Protocol):
    def latest(self, *, limit: int, min_relevance: float) -> Sequence[StoryInfo]: ...

    def claims_of(self, article_ids: Sequence[int], *, verdict: str) -> Sequence[ClaimInfo]: ...

    def claims_by_id(self, claim_ids: Sequence[int]) -> Sequence[ClaimInfo]: ...

    def last_poll(self) -> PollInfo | None: ...

    def fact_sources(self, root_claim_id: int) -> int: ...

    def today(self, *, since: datetime) -> TodayInfo: ...


class ScheduleHook(Protocol):
    """Told when a chat's subscription changed, so the front end can (re)schedule its jobs."""

    def subscription_changed(self, sub: SubscriptionView) -> None: ...


class _NoSchedule:
    def subscription_changed(self, sub: SubscriptionView) -> None:
        return None


@dataclass(frozen=True, slots=True)
class SubscriptionView:
    """A detached copy of a subscription row, safe to hand across threads and front ends."""

    id: int
    platform: str
    chat_id: str
    mode: str
    digest_time: time
    timezone: str
    instant_alerts: bool
    min_relevance: float
    active: bool

    @classmethod
    def of(cls, sub: Subscription) -> SubscriptionView:
        return cls(
            id=sub.id,
            platform=sub.platform,
            chat_id=sub.chat_id,
            mode=sub.mode,
            digest_time=sub.digest_time,
            timezone=sub.timezone,
            instant_alerts=sub.instant_alerts,
            min_relevance=sub.min_relevance,
            active=sub.active,
        )

    @property
    def daily(self) -> bool:
        return self.active and self.mode == "daily"

    @property
    def instant(self) -> bool:
        return self.active and (self.mode == "instant" or self.instant_alerts)


@dataclass
class Services:
    """What commands need from the app; each front end builds one from the AppContext."""

    settings: Settings
    sessions: sessionmaker[Session]
    news: NewsReader
    feeds: FeedDirectory | None = None
    claims: ClaimChecker | None = None
    schedule: ScheduleHook = field(default_factory=_NoSchedule)
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))


async def _blocking(fn: Callable[[], T]) -> T:
    return await asyncio.to_thread(fn)


# --------------------------------------------------------------------------- input checks


def check_text(args: str, *, limit: int) -> str | None:
    """The reason ``args`` is refused, or None. Every front end applies it before a command."""
    if len(args) > limit:
        return f"That is too long ({len(args):,} characters); the limit is {limit:,}."
    for char in args:
        if char in "\n\t":
            continue
        category = unicodedata.category(char)
        if category in ("Cc", "Cs", "Co") or char in "\u2028\u2029":
            return "Your text contains control characters; please send plain text."
    if _HTML_TAG.search(args):
        return "Please send plain text, not HTML."
    return None


def parse_hhmm(value: str) -> time | None:
    found = _HHMM.match(value.strip())
    if not found:
        return None
    return time(int(found.group(1)), int(found.group(2)))


def parse_timezone(value: str) -> str | None:
    """An IANA zone name as Python knows it ("Asia/Seoul"), or None when unknown."""
    name = value.strip()
    if not name or len(name) > 64 or name.startswith(("/", ".")) or ".." in name:
        return None
    if name.upper() in ("UTC", "GMT", "Z"):
        return "UTC"
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return None
    return name


def parse_switch(value: str) -> bool | None:
    lowered = value.strip().lower()
    if lowered in _ON:
        return True
    if lowered in _OFF:
        return False
    return None


def next_digest_at(sub: SubscriptionView, now: datetime) -> datetime | None:
    """When the chat's next daily digest is due (aware, in the chat's zone); None if none."""
    if not sub.daily:
        return None
    zone = ZoneInfo(sub.timezone)
    local_now = now.astimezone(zone)
    candidate = datetime.combine(local_now.date(), sub.digest_time, tzinfo=zone)
    if candidate <= local_now:
        candidate = datetime.combine(local_now.date() + timedelta(days=1), sub.digest_time, zone)
    return candidate


def _fmt_date(value: datetime | date | None) -> str:
    if value is None:
        return "undated"
    return value.strftime("%Y-%m-%d")


def _fmt_when(value: datetime, zone: str) -> str:
    return value.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M %Z")


def _plural(count: int, word: str, many: str | None = None) -> str:
    return f"{count} {word if count == 1 else (many or word + 's')}"


# --------------------------------------------------------------------------- commands

BOT_NAME = "nkwatch"


def _prefix(req: Request) -> str:
    """How a user types a command on this platform: "/latest" or "/nkwatch latest"."""
    return "/nkwatch " if req.platform == "slack" else "/"


async def cmd_start(req: Request, svc: Services) -> Reply:
    p = _prefix(req)
    return reply(
        para(
            span("nkwatch", bold=True),
            " watches news feeds on North Korea's arms industry and tells you which claims are "
            "new, which repeat earlier reports, and which update an earlier figure.",
        ),
        para(
            f"Subscribe to a daily digest with {p}subscribe (or {p}subscribe daily 07:30 "
            f"Asia/Seoul), or to instant alerts with {p}subscribe instant."
        ),
        para(
            f"Check a claim with {p}claim TEXT; see the newest stories with {p}latest. "
            f"{p}help lists every command."
        ),
    )


@dataclass(frozen=True, slots=True)
class CommandSpec:
    name: str
    usage: str
    description: str
    handler: Callable[[Request, Services], Awaitable[Reply]]
    admin_only: bool = False
    changes_subscription: bool = False
    args_limit: int = MAX_ARGS_CHARS


async def cmd_help(req: Request, svc: Services) -> Reply:
    p = _prefix(req)
    blocks = [para(span("Commands", bold=True))]
    for spec in COMMANDS.values():
        if spec.admin_only and not req.is_admin:
            continue
        blocks.append(item(span(f"{p}{spec.usage}", code=True), f" — {spec.description}"))
    blocks.append(
        para(
            f"Settings: {p}settings time 07:30, {p}settings tz Asia/Seoul, "
            f"{p}settings instant on|off, {p}settings relevance 2."
        )
    )
    return reply(*blocks)


_SUBSCRIBE_USAGE = (
    "Usage: subscribe [daily HH:MM [TZ] | instant], e.g. subscribe daily 07:30 Asia/Seoul"
)


async def cmd_subscribe(req: Request, svc: Services) -> Reply:
    words = req.args.split()
    if req.args.lower().split()[:1] == ["track"]:
        return await _series_watch("subscribe", req, svc)
    mode = "daily"
    digest_time: time | None = None
    zone: str | None = None
    if words:
        head = words[0].lower()
        rest = words[1:]
        if head == "instant":
            if rest:
                return error_reply(_SUBSCRIBE_USAGE)
            mode = "instant"
        elif head == "daily" or parse_hhmm(head) is not None:
            if head != "daily":
                rest = words
            if len(rest) > 2:
                return error_reply(_SUBSCRIBE_USAGE)
            if rest:
                digest_time = parse_hhmm(rest[0])
                if digest_time is None:
                    return error_reply(
                        f"Time must be HH:MM (24-hour), e.g. 07:30. {_SUBSCRIBE_USAGE}"
                    )
            if len(rest) == 2:
                zone = parse_timezone(rest[1])
                if zone is None:
                    return error_reply(
                        "Unknown time zone. Use a name such as Asia/Seoul, Europe/Berlin or UTC."
                    )
        else:
            return error_reply(_SUBSCRIBE_USAGE)

    def work() -> SubscriptionView:
        with transaction(svc.sessions) as session:
            sub = subs_store.subscribe(
                session,
                platform=req.platform,
                chat_id=req.chat_id,
                mode=mode,
                digest_time=digest_time,
                timezone=zone,
                instant_alerts=True if mode == "instant" else None,
            )
            return SubscriptionView.of(sub)

    view = await _blocking(work)
    svc.schedule.subscription_changed(view)
    p = _prefix(req)
    if view.mode == "instant":
        first = para("Subscribed: you will get an alert as soon as a relevant story arrives.")
    else:
        first = para(
            f"Subscribed: a daily digest at {view.digest_time:%H:%M} ({view.timezone})",
            ", plus instant alerts." if view.instant_alerts else ".",
        )
    return reply(first, para(f"Change it with {p}settings; stop with {p}unsubscribe."))


async def cmd_unsubscribe(req: Request, svc: Services) -> Reply:
    if req.args.lower().split()[:1] == ["track"]:
        return await _series_watch("unsubscribe", req, svc)

    def work() -> SubscriptionView | None:
        with transaction(svc.sessions) as session:
            if not subs_store.deactivate(
                session, platform=req.platform, chat_id=req.chat_id, reason="unsubscribed"
            ):
                return None
            sub = subs_store.get_subscription(session, platform=req.platform, chat_id=req.chat_id)
            return SubscriptionView.of(sub) if sub is not None else None

    view = await _blocking(work)
    if view is None:
        return reply(para("This chat is not subscribed."))
    svc.schedule.subscription_changed(view)
    return reply(
        para(f"Unsubscribed. Your settings are kept if you {_prefix(req)}subscribe again.")
    )


def _settings_reply(req: Request, view: SubscriptionView, now: datetime, note: str = "") -> Reply:
    p = _prefix(req)
    blocks: list[Block] = []
    if note:
        blocks.append(para(note))
    state = "active" if view.active else "inactive (unsubscribed)"
    blocks += [
        para(span("Settings", bold=True), f" — subscription {state}"),
        item(f"Mode: {view.mode}"),
        item(f"Digest time: {view.digest_time:%H:%M}"),
        item(f"Time zone: {view.timezone}"),
        item(f"Instant alerts: {'on' if view.instant_alerts or view.mode == 'instant' else 'off'}"),
        item(f"Minimum relevance: {view.min_relevance:g}"),
    ]
    nxt = next_digest_at(view, now)
    if nxt is not None:
        blocks.append(item(f"Next digest: {_fmt_when(nxt, view.timezone)}"))
    blocks.append(
        para(
            f"Change with {p}settings time 07:30, {p}settings tz Asia/Seoul, "
            f"{p}settings instant on|off, {p}settings relevance 2."
        )
    )
    return reply(*blocks)


_SETTINGS_USAGE = (
    "Usage: settings [time HH:MM | tz ZONE | instant on|off | relevance N], "
    "e.g. settings time 07:30"
)


async def cmd_settings(req: Request, svc: Services) -> Reply:
    words = req.args.split()
    changes: dict[str, object] = {}
    note = ""
    if words:
        if len(words) != 2:
            return error_reply(_SETTINGS_USAGE)
        key, value = words[0].lower(), words[1]
        if key in ("time", "digest", "at"):
            parsed_time = parse_hhmm(value)
            if parsed_time is None:
                return error_reply("Time must be HH:MM (24-hour), e.g. 07:30.")
            changes["digest_time"] = parsed_time
            note = f"Digest time set to {parsed_time:%H:%M}."
        elif key in ("tz", "timezone", "zone"):
            zone = parse_timezone(value)
            if zone is None:
                return error_reply(
                    "Unknown time zone. Use a name such as Asia/Seoul, Europe/Berlin or UTC."
                )
            changes["timezone"] = zone
            note = f"Time zone set to {zone}."
        elif key in ("instant", "alerts"):
            switch = parse_switch(value)
            if switch is None:
                return error_reply("Say instant on or instant off.")
            changes["instant_alerts"] = switch
            note = f"Instant alerts {'on' if switch else 'off'}."
        elif key in ("relevance", "min", "minimum"):
            try:
                threshold = float(value)
            except ValueError:
                threshold = float("nan")
            if not (0.0 <= threshold <= RELEVANCE_MAX):
                return error_reply(f"Relevance must be a number from 0 to {RELEVANCE_MAX:g}.")
            changes["min_relevance"] = threshold
            note = f"Minimum relevance set to {threshold:g}."
        else:
            return error_reply(_SETTINGS_USAGE)

    def work() -> SubscriptionView | None:
        with transaction(svc.sessions) as session:
            if changes:
                sub = subs_store.update_settings(
                    session,
                    platform=req.platform,
                    chat_id=req.chat_id,
                    **changes,  # type: ignore[arg-type]
                )
            else:
                sub = subs_store.get_subscription(
                    session, platform=req.platform, chat_id=req.chat_id
                )
            return SubscriptionView.of(sub) if sub is not None else None

    view = await _blocking(work)
    if view is None:
        return reply(para(f"This chat is not subscribed yet: send {_prefix(req)}subscribe first."))
    if changes:
        svc.schedule.subscription_changed(view)
    return _settings_reply(req, view, svc.clock(), note)


def _encode_ids(prefix: str, ids: Sequence[int]) -> str:
    """``prefix:1,2,3`` with as many ids as fit in a button's callback data."""
    out = prefix + ":"
    for index, value in enumerate(ids):
        piece = ("," if index else "") + str(value)
        if len((out + piece).encode()) > ACTION_MAX_BYTES:
            break
        out += piece
    return out


def _decode_ids(payload: str) -> list[int] | None:
    try:
        ids = [int(x) for x in payload.split(",") if x]
    except ValueError:
        return None
    return ids or None


async def _chat_min_relevance(req: Request, svc: Services) -> float:
    def work() -> float:
        with svc.sessions() as session:
            sub = subs_store.get_subscription(session, platform=req.platform, chat_id=req.chat_id)
            return sub.min_relevance if sub is not None and sub.active else 0.0

    return await _blocking(work)


async def cmd_latest(req: Request, svc: Services) -> Reply:
    words = req.args.split()
    limit = LATEST_DEFAULT
    if words:
        if len(words) > 1 or not words[0].isdigit() or not 1 <= int(words[0]) <= LATEST_MAX:
            return error_reply(f"Usage: latest [N], where N is 1 to {LATEST_MAX}.")
        limit = int(words[0])
    min_relevance = await _chat_min_relevance(req, svc)
    stories = await _blocking(lambda: svc.news.latest(limit=limit, min_relevance=min_relevance))
    if not stories:
        return reply(para("No relevant stories yet. The feeds are polled regularly; try later."))
    blocks = [
        para(
            span(f"Latest {_plural(len(stories), 'relevant story', 'relevant stories')}", bold=True)
        )
    ]
    for story in stories:
        meta = " · ".join(x for x in (story.outlet, _fmt_date(story.published_at)) if x)
        counts = f"{story.new} new, {story.repeated} repeated, {story.updated} updated"
        blocks.append(
            item(span(story.title or "(untitled)", url=story.url), f" — {meta} — {counts}")
        )
    buttons: list[Button] = []
    with_repeats = [s.article_id for s in stories if s.repeated]
    if with_repeats:
        buttons.append(Button("Show repeated claims", _encode_ids("rep", with_repeats)))
    with_updates = [s.article_id for s in stories if s.updated]
    if with_updates:
        buttons.append(Button("Show updated claims", _encode_ids("upd", with_updates)))
    return reply(*blocks, buttons=buttons)


def _source_line(info: ClaimInfo) -> list[Span | str]:
    parts: list[Span | str] = []
    source = info.source or info.article_title or "unknown source"
    parts.append(span(source, url=_http(info.url)))
    parts.append(f", {_fmt_date(info.published_at)}")
    return parts


_STATUS_WORD = {
    "new": "NEW — no earlier report matches this claim.",
    "repeated": "REPEATED — this was reported before.",
    "updated": "UPDATED — an earlier report gave a different figure.",
}


async def cmd_claim(req: Request, svc: Services) -> Reply:
    text = " ".join(req.args.split())
    if not text:
        return error_reply(
            f"Usage: {_prefix(req)}claim TEXT, e.g. claim North Korea shipped "
            "artillery shells to Russia."
        )
    if len(text) < 8 or len(text.split()) < 3:
        return error_reply("Please give a whole claim (a sentence of at least three words).")
    if svc.claims is None:
        return error_reply("The claim checker is not available right now; try again later.")
    checker = svc.claims
    verdict = await _blocking(lambda: checker.check(text, top=CLAIM_TOP))
    blocks = [para(span("Verdict: ", bold=True), _STATUS_WORD.get(verdict.status, verdict.status))]
    buttons: list[Button] = []
    if verdict.matches:
        best = verdict.matches[0].candidate
        blocks.append(para(span("Matched claim: ", bold=True), f"“{best.text}”"))
        blocks.append(
            para(
                span("Source: ", bold=True),
                span(best.source or best.article_title or "unknown", url=_http(best.url)),
                f", {_fmt_date(best.published)}",
                f" (match score {verdict.matches[0].score:.2f})",
            )
        )
        if verdict.status != "new":
            root = best.root_claim_id or best.claim_id
            count = await _blocking(lambda: svc.news.fact_sources(root))
            if root != best.claim_id:
                for first in await _blocking(lambda: svc.news.claims_by_id([root])):
                    blocks.append(para(span("First reported: ", bold=True), *_source_line(first)))
            blocks.append(para(f"Reported by {_plural(max(count, 1), 'source')} so far."))
        ids = [m.candidate.claim_id for m in verdict.matches]
        label = "Show similar claims" if verdict.status == "new" else "Show all matches"
        buttons.append(Button(label, _encode_ids("cl", ids)))
    for change in verdict.changed:
        blocks.append(
            item(span("Changed ", bold=True), f"{change.what}: {change.old} → {change.new}")
        )
    if verdict.explanation:
        blocks.append(para(verdict.explanation))
    return reply(*blocks, buttons=buttons)


def _http(url: str | None) -> str | None:
    """Only web links become links; seed provenance ("seed:file.txt") stays plain text."""
    if url and url.lower().startswith(("http://", "https://")):
        return url
    return None


async def cmd_sources(req: Request, svc: Services) -> Reply:
    if svc.feeds is None:
        return error_reply("The feed list is not available right now.")
    directory = svc.feeds
    feeds = await _blocking(directory.list_feeds)
    if not feeds:
        return reply(para("No feeds configured."))
    blocks = [para(span(f"{_plural(len(feeds), 'feed')}", bold=True))]
    for feed in feeds:
        if not feed.enabled:
            health = f"disabled ({feed.disabled_reason or 'by an admin'})"
        elif feed.healthy:
            health = f"ok, last success {_fmt_date(feed.last_success_at)}"
        else:
            error = (feed.last_error or "error")[:120]
            health = f"failing ({_plural(feed.error_count, 'error')}: {error})"
        blocks.append(
            item(span(f"#{feed.id} "), span(feed.name, url=_http(feed.url)), f" — {health}")
        )
    return reply(*blocks)


async def cmd_status(req: Request, svc: Services) -> Reply:
    now = svc.clock()

    def work() -> tuple[PollInfo | None, TodayInfo, SubscriptionView | None]:
        with svc.sessions() as session:
            sub = subs_store.get_subscription(session, platform=req.platform, chat_id=req.chat_id)
            view = SubscriptionView.of(sub) if sub is not None else None
        zone = ZoneInfo(view.timezone if view else "UTC")
        midnight = datetime.combine(now.astimezone(zone).date(), time(0, 0), tzinfo=zone)
        return svc.news.last_poll(), svc.news.today(since=midnight), view

    poll, today, view = await _blocking(work)
    zone_name = view.timezone if view else "UTC"
    blocks = [para(span("Status", bold=True))]
    if poll is None:
        blocks.append(item("Last poll: none yet"))
    else:
        blocks.append(
            item(
                f"Last poll: {_fmt_when(poll.started_at, zone_name)} — "
                f"{_plural(poll.feeds_polled, 'feed')}, "
                f"{_plural(poll.new_stories, 'new story', 'new stories')}"
                + (f", {_plural(poll.errors, 'error')}" if poll.errors else "")
            )
        )
    blocks.append(
        item(
            f"Today ({zone_name}): {today.stories} stories, {today.relevant_stories} relevant; "
            f"claims {today.claims_new} new, {today.claims_repeated} repeated, "
            f"{today.claims_updated} updated"
        )
    )
    if view is None or not view.active:
        blocks.append(item(f"This chat is not subscribed ({_prefix(req)}subscribe)."))
    else:
        nxt = next_digest_at(view, now)
        if nxt is not None:
            blocks.append(item(f"Next digest: {_fmt_when(nxt, view.timezone)}"))
        if view.instant:
            blocks.append(item("Instant alerts: on"))
    return reply(*blocks)


async def cmd_addfeed(req: Request, svc: Services) -> Reply:
    url = req.args.strip()
    if not url or len(url.split()) != 1:
        return error_reply(f"Usage: {_prefix(req)}addfeed URL")
    if not url.lower().startswith(("http://", "https://")):
        return error_reply("The feed address must start with http:// or https://.")
    if svc.feeds is None:
        return error_reply("The feed list is not available right now.")
    try:
        feed = await svc.feeds.add_feed(url, added_by=f"{req.platform}:{req.user_id}")
    except FeedRejectedError as exc:
        return error_reply(f"Feed not added: {exc}")
    return reply(
        para(
            "Added feed ",
            span(f"#{feed.id}"),
            " ",
            span(feed.name, url=_http(feed.url)),
            ". It will be polled in the next cycle.",
        )
    )


async def cmd_removefeed(req: Request, svc: Services) -> Reply:
    value = req.args.strip().lstrip("#")
    if not value.isdigit():
        return error_reply(
            f"Usage: {_prefix(req)}removefeed ID (the number {_prefix(req)}sources shows)."
        )
    if svc.feeds is None:
        return error_reply("The feed list is not available right now.")
    if len(value) > 10 or int(value) > MAX_ROW_ID:  # past the id column: SQL would overflow
        return error_reply(f"No feed #{clip(value, 24)}.")
    directory = svc.feeds
    feed = await _blocking(lambda: directory.remove_feed(int(value)))
    if feed is None:
        return error_reply(f"No feed #{value}.")
    return reply(para(f"Removed feed #{feed.id} ", span(feed.name), "."))


async def cmd_track(req: Request, svc: Services) -> Reply:
    from bot.figures.chat import track  # noqa: PLC0415 - it builds on this module

    return await track(req, svc)


async def _series_watch(action: str, req: Request, svc: Services) -> Reply:
    from bot.figures.watch import watch_command  # noqa: PLC0415 - it builds on this module

    return await watch_command(action, req, svc)


async def cmd_watches(req: Request, svc: Services) -> Reply:
    return await _series_watch("list", req, svc)


COMMANDS: dict[str, CommandSpec] = {
    spec.name: spec
    for spec in (
        CommandSpec("start", "start", "what this bot does", cmd_start),
        CommandSpec("help", "help", "list the commands", cmd_help),
        CommandSpec(
            "subscribe",
            "subscribe [daily HH:MM [TZ] | instant | track SERIES]",
            "get a daily digest, instant alerts, or alerts when a figure moves",
            cmd_subscribe,
            changes_subscription=True,
        ),
        CommandSpec(
            "unsubscribe",
            "unsubscribe [track SERIES]",
            "stop digests and alerts, or one figure's alerts",
            cmd_unsubscribe,
            changes_subscription=True,
        ),
        CommandSpec(
            "settings",
            "settings [time HH:MM | tz ZONE | instant on|off | relevance N]",
            "show or change digest time, time zone, alerts, relevance",
            cmd_settings,
            changes_subscription=True,
        ),
        CommandSpec("latest", "latest [N]", "newest relevant stories", cmd_latest),
        CommandSpec(
            "claim",
            "claim TEXT",
            "is this claim new, repeated or updated?",
            cmd_claim,
            args_limit=MAX_CLAIM_CHARS,
        ),
        CommandSpec(
            "track", "track [SERIES]", "how a tracked figure moved, with a chart", cmd_track
        ),
        CommandSpec("watches", "watches", "the figures this chat gets alerts for", cmd_watches),
        CommandSpec("sources", "sources", "feeds and their health", cmd_sources),
        CommandSpec("status", "status", "last poll, today's counts, next digest", cmd_status),
        CommandSpec("addfeed", "addfeed URL", "add a feed (admins)", cmd_addfeed, admin_only=True),
        CommandSpec(
            "removefeed",
            "removefeed ID",
            "remove a feed (admins)",
            cmd_removefeed,
            admin_only=True,
        ),
    )
}


def needs_chat_admin(name: str, req: Request) -> bool:
    """Whether this command, in this chat, may only be run by a chat administrator.

    In a group, changing the group's own subscription is for its administrators; reading the
    settings is for everyone. Front ends ask the platform only when this says so.
    """
    spec = COMMANDS.get(name)
    if spec is None or not spec.changes_subscription or not req.is_group:
        return False
    return not (name == "settings" and not req.args.strip())


async def dispatch(name: str, req: Request, svc: Services) -> Reply:
    """Run one command after the checks every platform shares (unknown, rights, bad input)."""
    key = name.lower().lstrip("/")
    spec = COMMANDS.get(key)
    if spec is None:
        shown = key[:32] if check_text(key, limit=64) is None else "that"
        return error_reply(f"Unknown command {shown!s}. Send {_prefix(req)}help for the list.")
    problem = check_text(req.args, limit=spec.args_limit)
    if problem is not None:
        return error_reply(problem)
    if spec.admin_only and not req.is_admin:
        return error_reply("Only bot administrators can change the feed list.")
    if needs_chat_admin(key, req) and not (req.is_admin or req.is_chat_admin):
        return error_reply("Only this chat's administrators can change its subscription.")
    return await spec.handler(req, svc)


# --------------------------------------------------------------------------- button actions


async def handle_action(action: str, req: Request, svc: Services) -> Reply:
    """A pressed button. Actions come back from the platform, so they are parsed defensively."""
    kind, _, payload = action.partition(":")
    ids = _decode_ids(payload)
    if ids is None or len(action.encode()) > 256:
        return error_reply("That button has expired; please run the command again.")
    if kind in ("rep", "upd"):
        verdict = "repeated" if kind == "rep" else "updated"
        claims = await _blocking(lambda: svc.news.claims_of(ids, verdict=verdict))
        if not claims:
            return reply(para(f"No {verdict} claims in those stories."))
        blocks = [para(span(f"{verdict.capitalize()} claims", bold=True))]
        for info in claims:
            parts: list[Span | str] = [f"“{info.text}” — "]
            parts += _source_line(info)
            if info.earlier_source or info.earlier_date:
                parts.append(
                    f"; first reported {_fmt_date(info.earlier_date)}"
                    + (f" by {info.earlier_source}" if info.earlier_source else "")
                )
            blocks.append(item(*parts))
        return reply(*blocks)
    if kind == "cl":
        claims = await _blocking(lambda: svc.news.claims_by_id(ids))
        if not claims:
            return reply(para("Those claims are no longer stored."))
        blocks = [para(span("Similar stored claims", bold=True))]
        for info in claims:
            blocks.append(item(f"“{info.text}” — ", *_source_line(info)))
        return reply(*blocks)
    return error_reply("That button has expired; please run the command again.")


# --------------------------------------------------------------------------- database adapters


class DbNews:
    """``NewsReader`` over the shared database (every statement lives in ``storage``)."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def latest(self, *, limit: int, min_relevance: float) -> Sequence[StoryInfo]:
        with self._sessions() as session:
            # Over-fetch so a chat's relevance floor still leaves ``limit`` stories.
            fetched = articles_store.list_latest_relevant(session, limit=limit * 4)
            out: list[StoryInfo] = []
            for article in fetched:
                if article.relevance < min_relevance:
                    continue
                counts = claims_store.verdict_counts(session, article_id=article.id)
                out.append(
                    StoryInfo(
                        article_id=article.id,
                        title=article.title,
                        url=claims_store.article_url(article),
                        outlet=article.outlet,
                        published_at=article.published_at or article.fetched_at,
                        new=counts.get("new", 0),
                        repeated=counts.get("repeated", 0),
                        updated=counts.get("updated", 0),
                    )
                )
                if len(out) == limit:
                    break
            return out

    def claims_of(self, article_ids: Sequence[int], *, verdict: str) -> Sequence[ClaimInfo]:
        with self._sessions() as session:
            picked = [
                claim
                for article_id in article_ids
                for claim in claims_store.list_article_claims(session, article_id=article_id)
                if claim.verdict == verdict
            ]

            # "First reported" is the fact's root claim (its earliest report), as in the digest.
            def first_of(claim: Claim) -> int | None:
                return claim.root_claim_id or claim.matched_claim_id

            earlier_ids = [i for c in picked if (i := first_of(c)) is not None]
            prov = claims_store.claim_provenance(session, claim_ids=[c.id for c in picked])
            earlier = claims_store.claim_provenance(session, claim_ids=earlier_ids)
            out: list[ClaimInfo] = []
            for claim in picked:
                own = prov.get(claim.id)
                first = first_of(claim)
                before = earlier.get(first) if first is not None else None
                out.append(
                    ClaimInfo(
                        claim_id=claim.id,
                        text=claim.text,
                        verdict=claim.verdict,
                        article_title=own.article_title if own else None,
                        url=own.url if own else None,
                        source=own.source if own else None,
                        published_at=own.published if own else None,
                        earlier_source=before.source if before else None,
                        earlier_date=before.published if before else None,
                    )
                )
            return out

    def claims_by_id(self, claim_ids: Sequence[int]) -> Sequence[ClaimInfo]:
        with self._sessions() as session:
            prov = claims_store.claim_provenance(session, claim_ids=list(claim_ids))
        return [
            ClaimInfo(
                claim_id=p.claim_id,
                text=p.text,
                verdict=p.verdict,
                article_title=p.article_title,
                url=p.url,
                source=p.source,
                published_at=p.published,
            )
            for claim_id in claim_ids
            if (p := prov.get(claim_id)) is not None
        ]

    def fact_sources(self, root_claim_id: int) -> int:
        with self._sessions() as session:
            return claims_store.fact_source_count(session, root_claim_id=root_claim_id)

    def last_poll(self) -> PollInfo | None:
        with self._sessions() as session:
            run = feeds_store.latest_poll_run(session)
            if run is None:
                return None
            return PollInfo(
                started_at=run.started_at,
                finished_at=run.finished_at,
                feeds_polled=run.feeds_polled,
                new_stories=run.new_stories,
                errors=run.errors,
            )

    def today(self, *, since: datetime) -> TodayInfo:
        with self._sessions() as session:
            stories = digests_store.stories_in_window(session, since=since, until=datetime.now(UTC))
            verdicts = [c.verdict for a in stories for c in a.claims]
        return TodayInfo(
            stories=len(stories),
            relevant_stories=len(stories),
            claims_new=verdicts.count("new"),
            claims_repeated=verdicts.count("repeated"),
            claims_updated=verdicts.count("updated"),
        )


class DbFeeds:
    """``FeedDirectory`` over ``storage.feeds``; additions pass the feeds' SSRF guard first."""

    def __init__(self, sessions: sessionmaker[Session], settings: Settings) -> None:
        self._sessions = sessions
        self._settings = settings

    @staticmethod
    def _info(feed: Feed) -> FeedInfo:
        return FeedInfo(
            id=feed.id,
            name=feed.name,
            url=feed.url,
            enabled=feed.enabled,
            healthy=feed.enabled and feed.error_count == 0,
            last_success_at=feed.last_success_at,
            error_count=feed.error_count,
            last_error=feed.last_error,
            disabled_reason=feed.disabled_reason,
        )

    def list_feeds(self) -> Sequence[FeedInfo]:
        with self._sessions() as session:
            return [self._info(feed) for feed in feeds_store.list_feeds(session)]

    async def add_feed(self, url: str, *, added_by: str) -> FeedInfo:
        from bot.feeds.check import NotAFeedError, check_answers_with_feed  # noqa: PLC0415
        from bot.feeds.fetch import UnsafeURLError, check_public_url  # noqa: PLC0415
        from bot.feeds.parse import canonical_url  # noqa: PLC0415

        try:
            url = canonical_url(url)
        except ValueError as exc:
            raise FeedRejectedError("that is not a valid address") from exc
        if not self._settings.allow_private_feeds:
            try:
                await check_public_url(url)
            except UnsafeURLError as exc:
                raise FeedRejectedError(str(exc)) from exc
        try:  # the check `nkwatch feeds add` makes: a page or a 404 is refused now, not later
            await check_answers_with_feed(self._settings, url)
        except NotAFeedError as exc:
            raise FeedRejectedError(str(exc)) from exc
        host = urlsplit(url).hostname or url

        def work() -> FeedInfo:
            with transaction(self._sessions) as session:
                existing = feeds_store.get_feed_by_url(session, url=url)
                if existing is not None:
                    raise FeedRejectedError(f"already in the list as #{existing.id}")
                feed = feeds_store.add_feed(
                    session,
                    url=url,
                    name=host,
                    poll_interval_seconds=self._settings.poll_interval_seconds,
                    added_by=added_by,
                )
                return self._info(feed)

        return await _blocking(work)

    def remove_feed(self, feed_id: int) -> FeedInfo | None:
        with transaction(self._sessions) as session:
            feed = feeds_store.get_feed(session, feed_id=feed_id)
            if feed is None:
                return None
            info = self._info(feed)
            feeds_store.remove_feed(session, feed_id=feed_id)
            return info
