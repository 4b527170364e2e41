"""`/subscribe track NAME`, `/unsubscribe track NAME` and `/watches` for both chat front ends.

A chat watches a series by the same fuzzy name as `/track NAME`. The watch hangs off the chat's
subscription row (the outbox sends to subscriptions): a chat without an active subscription gets
one in mode ``watch``, which composes no digest, and loses it again with its last watch. The
alerts themselves are composed in ``bot.figures.alerts``.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.chat.reply import Block, Reply, error_reply, item, para, reply, span
from bot.chat.services import Request, Services, SubscriptionView, blocking
from bot.figures.alerts import resolve_watch
from bot.figures.query import load_series, point_date
from bot.figures.series import Series, find_series
from storage import subscriptions as subs_store
from storage import watches as watch_store
from storage.db import transaction

__all__ = ["cmd_watches", "watch_command"]

WATCH_MODE = "watch"


def _series_query(args: str) -> str:
    """The series name after the leading ``track`` word."""
    return args.strip()[len("track") :].strip()


def _latest(series: Series) -> str:
    p = series.latest
    return f"{p.shown} ({point_date(p) or 'undated'}, {p.source})"


@dataclass(frozen=True, slots=True)
class _Watched:
    name: str
    latest: str | None  # None: the series is not in the data any more


@dataclass(frozen=True, slots=True)
class _Listing:
    watched: tuple[_Watched, ...]
    active: bool  # the chat's subscription is active (else its watches are paused)


def _load(req: Request, svc: Services) -> tuple[list[Series], _Listing]:
    with svc.sessions() as session:
        found = load_series(session)
        sub = subs_store.get_subscription(session, platform=req.platform, chat_id=req.chat_id)
        if sub is None:
            return found, _Listing(watched=(), active=False)
        rows = []
        for watch in watch_store.list_watches(session, subscription_id=sub.id):
            series = resolve_watch(found, watch)
            if series is None:
                rows.append(_Watched(name=watch.series_name, latest=None))
            else:
                rows.append(_Watched(name=series.name, latest=_latest(series)))
        return found, _Listing(watched=tuple(rows), active=sub.active)


def _listing_reply(req: Request, listing: _Listing) -> Reply:
    p = req.prefix
    if not listing.watched:
        return reply(
            para("This chat watches no tracked figure."),
            para(
                f"Send {p}subscribe track NAME (e.g. {p}subscribe track containers) to get an "
                f"alert when that figure moves; {p}track lists the figures."
            ),
        )
    blocks: list[Block] = [para(span("Watched figures", bold=True))]
    for w in listing.watched:
        latest = f": latest {w.latest}" if w.latest else ": no longer in the data"
        blocks.append(item(span(w.name, bold=True), latest))
    if not listing.active:
        blocks.append(
            para(f"Paused: this chat is unsubscribed. {p}subscribe track NAME resumes them.")
        )
    blocks.append(para(f"Stop one with {p}unsubscribe track NAME."))
    return reply(*blocks)


async def _subscribe(req: Request, svc: Services, query: str) -> Reply:
    p = req.prefix
    found, listing = await blocking(lambda: _load(req, svc))
    if not query:
        return _listing_reply(req, listing)
    series = find_series(found, query)
    if series is None:
        return error_reply(f"No tracked figure matches “{query[:60]}”. Send {p}track for the list.")

    def work() -> tuple[bool, SubscriptionView | None]:
        with transaction(svc.sessions) as session:
            sub = subs_store.get_subscription(session, platform=req.platform, chat_id=req.chat_id)
            changed = None
            if sub is None or not sub.active:
                sub = subs_store.subscribe(
                    session,
                    platform=req.platform,
                    chat_id=req.chat_id,
                    mode=WATCH_MODE,
                    instant_alerts=False,
                )
                changed = SubscriptionView.of(sub)
            _, created = watch_store.add_watch(
                session,
                subscription_id=sub.id,
                series_slug=series.slug,
                series_name=series.name,
                unit=series.key.unit,
                anchor_claim_id=series.points[0].claim_id,
                seen_claim_id=max(pt.claim_id for pt in series.points),
            )
            return created, changed

    created, changed = await blocking(work)
    if changed is not None:
        svc.schedule.subscription_changed(changed)
    first = "Watching" if created else "Already watching"
    return reply(
        para(
            f"{first} ",
            span(series.name, bold=True),
            f": this chat gets an alert when it moves. Latest: {_latest(series)}.",
        ),
        para(
            f"Chart: {p}track {series.slug} · all watches: {p}watches · "
            f"stop: {p}unsubscribe track {series.slug}"
        ),
    )


async def _unsubscribe(req: Request, svc: Services, query: str) -> Reply:
    p = req.prefix
    if not query:
        return error_reply(f"Usage: unsubscribe track NAME; {p}watches lists this chat's watches.")

    def work() -> tuple[list[str], SubscriptionView | None]:
        with transaction(svc.sessions) as session:
            sub = subs_store.get_subscription(session, platform=req.platform, chat_id=req.chat_id)
            if sub is None:
                return [], None
            watches = watch_store.list_watches(session, subscription_id=sub.id)
            found = load_series(session)
            target = find_series(found, query)
            wanted = query.strip().lower()
            gone = [
                w
                for w in watches
                if (target is not None and resolve_watch(found, w) is target)
                or wanted in (w.series_slug, w.series_name.lower())
            ]
            watch_store.remove_watches(session, watch_ids=[w.id for w in gone])
            changed = None
            left = watch_store.count_watches(session, subscription_id=sub.id)
            if gone and not left and sub.mode == WATCH_MODE and sub.active:
                subs_store.deactivate(
                    session, platform=req.platform, chat_id=req.chat_id, reason="no watches left"
                )
                changed = SubscriptionView.of(sub)
            return [w.series_name for w in gone], changed

    names, changed = await blocking(work)
    if changed is not None:
        svc.schedule.subscription_changed(changed)
    if not names:
        return error_reply(
            f"This chat does not watch “{query[:60]}”. Send {p}watches for the list."
        )
    return reply(
        para("Stopped watching ", span(", ".join(names), bold=True), "."),
    )


async def watch_command(action: str, req: Request, svc: Services) -> Reply:
    """``subscribe`` / ``unsubscribe`` (with ``track NAME`` arguments) or ``list``."""
    if action == "subscribe":
        return await _subscribe(req, svc, _series_query(req.args))
    if action == "unsubscribe":
        return await _unsubscribe(req, svc, _series_query(req.args))
    _, listing = await blocking(lambda: _load(req, svc))
    return _listing_reply(req, listing)


async def cmd_watches(req: Request, svc: Services) -> Reply:
    return await watch_command("list", req, svc)
