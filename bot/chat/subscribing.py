"""`/subscribe`, `/unsubscribe` and `/settings`: a chat's digest, alerts and their settings.

``track NAME`` arguments hand over to ``bot.chat.watches`` (a figure's alerts hang off the same
subscription row).
"""

from __future__ import annotations

from datetime import datetime, time

from bot.chat.inputs import parse_hhmm, parse_switch, parse_timezone
from bot.chat.reply import Block, Reply, error_reply, fmt_when, item, para, reply, span
from bot.chat.services import Request, Services, SubscriptionView, blocking, next_digest_at
from bot.chat.watches import watch_command
from storage import subscriptions as subs_store
from storage.db import transaction

RELEVANCE_MAX = 100.0
_UNKNOWN_ZONE = "Unknown time zone. Use a name such as Asia/Seoul, Europe/Berlin or UTC."

_SUBSCRIBE_USAGE = (
    "Usage: subscribe [daily HH:MM [TZ] | instant], e.g. subscribe daily 07:30 Asia/Seoul"
)


async def cmd_subscribe(req: Request, svc: Services) -> Reply:
    words = req.args.split()
    if req.args.lower().split()[:1] == ["track"]:
        return await watch_command("subscribe", req, svc)
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
                    return error_reply(_UNKNOWN_ZONE)
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

    view = await blocking(work)
    svc.schedule.subscription_changed(view)
    p = req.prefix
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
        return await watch_command("unsubscribe", req, svc)

    def work() -> SubscriptionView | None:
        with transaction(svc.sessions) as session:
            if not subs_store.deactivate(
                session, platform=req.platform, chat_id=req.chat_id, reason="unsubscribed"
            ):
                return None
            sub = subs_store.get_subscription(session, platform=req.platform, chat_id=req.chat_id)
            return SubscriptionView.of(sub) if sub is not None else None

    view = await blocking(work)
    if view is None:
        return reply(para("This chat is not subscribed."))
    svc.schedule.subscription_changed(view)
    return reply(para(f"Unsubscribed. Your settings are kept if you {req.prefix}subscribe again."))


def _settings_reply(req: Request, view: SubscriptionView, now: datetime, note: str = "") -> Reply:
    p = req.prefix
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
        blocks.append(item(f"Next digest: {fmt_when(nxt, view.timezone)}"))
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
                return error_reply(_UNKNOWN_ZONE)
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

    view = await blocking(work)
    if view is None:
        return reply(para(f"This chat is not subscribed yet: send {req.prefix}subscribe first."))
    if changes:
        svc.schedule.subscription_changed(view)
    return _settings_reply(req, view, svc.clock(), note)
