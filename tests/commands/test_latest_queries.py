"""/latest asks the database a fixed number of questions, however many stories it lists."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import event

from bot.chat.dispatch import dispatch
from bot.chat.services import Services
from storage.db import transaction
from tests.commands.conftest import req
from tests.conftest import Database
from tests.helpers.stories import C, add_story


@contextmanager
def counted(db: Database) -> Iterator[list[str]]:
    statements: list[str] = []

    def seen(*args: Any) -> None:
        statements.append(str(args[2]))

    event.listen(db.engine, "before_cursor_execute", seen)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", seen)


async def test_latest_queries_do_not_grow_with_the_stories_listed(
    services: Services, db: Database
) -> None:
    at = datetime(2026, 11, 19, 9, tzinfo=UTC)
    with transaction(db.sessions) as session:
        for n in range(8):
            add_story(
                session,
                title=f"Story {n}",
                claims=[C(f"Claim {n} one."), C(f"Claim {n} two.", "updated")],
                at=at - timedelta(hours=n),
            )
    with counted(db) as two:
        few = (await dispatch("latest", req("2"), services)).plain_text()
    with counted(db) as eight:
        many = (await dispatch("latest", req("8"), services)).plain_text()
    assert "Latest 2 relevant stories" in few
    assert "Latest 8 relevant stories" in many
    assert many.count("1 new, 0 repeated, 1 updated") == 8
    assert len(eight) == len(two)
