"""Show repeated facts on demand: rebuild a sent digest when its button is pressed.

A chat message cannot carry a digest's repeated facts in its button (Telegram allows 64 bytes
of callback data), so the button names the outbox row and the part (``dx:12.0``); pressing it
rebuilds that digest from the database and renders the part again with the lines shown. Only
the chat the digest went to can expand it. Platform-free: the front ends render the result.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy.orm import Session, sessionmaker

from bot.digest.model import Digest, DigestLimits, PartAction, build_digest, parse_action
from bot.digest.query import load_stories_by_ids
from storage import deliveries as outbox
from storage import subscriptions as subs_store

EXPIRED = "That digest is no longer stored."


@dataclass(frozen=True, slots=True)
class PressedPart:
    """What a front end needs to redraw the pressed message."""

    action: PartAction
    digest: Digest


def load_digest(
    session: Session, *, delivery_id: int, platform: str, chat_id: str
) -> Digest | None:
    """The digest a delivery carried, rebuilt from the stored stories as they are now.

    None when the delivery is gone or went to another chat (button data comes from the client,
    so it is checked, not trusted).
    """
    delivery = outbox.get_delivery(session, delivery_id=delivery_id)
    if delivery is None:
        return None
    sub = subs_store.get_subscription_by_id(session, subscription_id=delivery.subscription_id)
    if sub is None or sub.platform != platform or sub.chat_id != chat_id:
        return None
    stories = load_stories_by_ids(session, article_ids=[int(i) for i in delivery.article_ids])
    title = "nkwatch alert" if delivery.kind == "instant" else "nkwatch digest"
    until = delivery.window_end or delivery.created_at
    return build_digest(
        stories, since=delivery.window_start, until=until, title=title, limits=DigestLimits()
    )


def pressed(session: Session, *, data: str, platform: str, chat_id: str) -> PressedPart | None:
    """The digest behind a pressed button, or None if the data or the chat does not match."""
    action = parse_action(data)
    if action is None:
        return None
    digest = load_digest(
        session, delivery_id=action.delivery_id, platform=platform, chat_id=chat_id
    )
    return PressedPart(action=action, digest=digest) if digest is not None else None


class Draw(Protocol):
    """A platform's redraw of one message of a digest (``telegram_part``, ``slack_part``)."""

    def __call__(
        self, digest: Digest, part: int, delivery_id: int, *, expanded: bool
    ) -> dict[str, Any]: ...


async def press(
    sessions: sessionmaker[Session], *, data: str, platform: str, chat_id: str, draw: Draw
) -> dict[str, Any]:
    """The pressed message redrawn by ``draw``; empty when the button is not (or no longer)
    this chat's. Loading and drawing run in a worker thread: the event loop only waits."""

    def work() -> dict[str, Any]:
        with sessions() as session:
            found = pressed(session, data=data, platform=platform, chat_id=chat_id)
        if found is None:
            return {}
        action = found.action
        return draw(found.digest, action.part, action.delivery_id, expanded=action.expand)

    return await asyncio.to_thread(work)
