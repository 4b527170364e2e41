"""`/start`, `/help` and `/status`, and the command table every front end reads.

The table lives beside ``/help`` because ``/help`` lists it; ``bot.chat.dispatch`` runs its
entries and the front ends register their names.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, time
from zoneinfo import ZoneInfo

from bot.chat.feed_admin import cmd_addfeed, cmd_removefeed
from bot.chat.inputs import MAX_ARGS_CHARS, MAX_CLAIM_CHARS
from bot.chat.news import cmd_claim, cmd_latest, cmd_sources
from bot.chat.reply import Reply, fmt_when, item, para, plural, reply, span
from bot.chat.services import (
    PollInfo,
    Request,
    Services,
    SubscriptionView,
    TodayInfo,
    blocking,
    next_digest_at,
)
from bot.chat.subscribing import cmd_settings, cmd_subscribe, cmd_unsubscribe
from bot.chat.track import cmd_track
from bot.chat.watches import cmd_watches
from storage import subscriptions as subs_store


async def cmd_start(req: Request, svc: Services) -> Reply:
    p = req.prefix
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
    p = req.prefix
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


async def cmd_status(req: Request, svc: Services) -> Reply:
    now = svc.clock()

    def work() -> tuple[PollInfo | None, TodayInfo, SubscriptionView | None]:
        with svc.sessions() as session:
            sub = subs_store.get_subscription(session, platform=req.platform, chat_id=req.chat_id)
            view = SubscriptionView.of(sub) if sub is not None else None
        zone = ZoneInfo(view.timezone if view else "UTC")
        midnight = datetime.combine(now.astimezone(zone).date(), time(0, 0), tzinfo=zone)
        return svc.news.last_poll(), svc.news.today(since=midnight), view

    poll, today, view = await blocking(work)
    zone_name = view.timezone if view else "UTC"
    blocks = [para(span("Status", bold=True))]
    if poll is None:
        blocks.append(item("Last poll: none yet"))
    else:
        blocks.append(
            item(
                f"Last poll: {fmt_when(poll.started_at, zone_name)} — "
                f"{plural(poll.feeds_polled, 'feed')}, "
                f"{plural(poll.new_stories, 'new story', 'new stories')}"
                + (f", {plural(poll.errors, 'error')}" if poll.errors else "")
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
        blocks.append(item(f"This chat is not subscribed ({req.prefix}subscribe)."))
    else:
        nxt = next_digest_at(view, now)
        if nxt is not None:
            blocks.append(item(f"Next digest: {fmt_when(nxt, view.timezone)}"))
        if view.instant:
            blocks.append(item("Instant alerts: on"))
    return reply(*blocks)


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
