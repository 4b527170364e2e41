"""Does a URL answer with a feed? One check for every way a feed is added (CLI and chat).

Fetched once as the poller would (same limits, same SSRF guard) and parsed off the loop, so an
admin who pastes a page, a 404 or a dead host hears it at once instead of at the next poll.
"""

from __future__ import annotations

from bot.errors import UserError
from bot.feeds.fetch import FetchLimits, fetch, make_client
from bot.feeds.offload import parse_off_loop
from bot.settings import Settings


class NotAFeedError(UserError):
    """The URL did not answer with a feed; the message says why and is fit to show the admin."""


async def check_answers_with_feed(settings: Settings, url: str) -> None:
    """Fetch ``url`` once and raise ``NotAFeedError`` unless it parses as a feed."""
    async with make_client(settings) as client:
        result = await fetch(client, url, limits=FetchLimits.from_settings(settings))
    if result.kind != "ok":
        raise NotAFeedError(f"{url} does not answer with a feed: {result.error or result.kind}")
    parsed = await parse_off_loop(
        result.body, content_type=result.content_type, base_url=result.url, max_entries=1
    )
    if not parsed.usable:
        raise NotAFeedError(f"{url} does not answer with a feed: {parsed.error or 'no entries'}")
