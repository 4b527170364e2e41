"""`/addfeed` and `/removefeed`: the feed list, for bot administrators only."""

from __future__ import annotations

from bot.chat.inputs import MAX_ROW_ID
from bot.chat.reply import Reply, error_reply, para, reply, span, web_link
from bot.chat.services import FeedRejectedError, Request, Services, blocking
from bot.digest.model import clip


async def cmd_addfeed(req: Request, svc: Services) -> Reply:
    url = req.args.strip()
    if not url or len(url.split()) != 1:
        return error_reply(f"Usage: {req.prefix}addfeed URL")
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
            span(feed.name, url=web_link(feed.url)),
            ". It will be polled in the next cycle.",
        )
    )


async def cmd_removefeed(req: Request, svc: Services) -> Reply:
    value = req.args.strip().lstrip("#")
    if not value.isdigit():
        return error_reply(
            f"Usage: {req.prefix}removefeed ID (the number {req.prefix}sources shows)."
        )
    if svc.feeds is None:
        return error_reply("The feed list is not available right now.")
    if len(value) > 10 or int(value) > MAX_ROW_ID:  # past the id column: SQL would overflow
        return error_reply(f"No feed #{clip(value, 24)}.")
    directory = svc.feeds
    feed = await blocking(lambda: directory.remove_feed(int(value)))
    if feed is None:
        return error_reply(f"No feed #{value}.")
    return reply(para(f"Removed feed #{feed.id} ", span(feed.name), "."))
