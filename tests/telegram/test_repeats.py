"""The "Show repeated" button under a digest: expands the message in place and hides it again.

Real Application, real outbox and a loopback Bot API server: the digest is composed and sent with
its inline keyboard; pressing the button sends a ``callback_query`` that the bot answers with
``answerCallbackQuery`` and ``editMessageText``.
"""

from __future__ import annotations

import html
from datetime import UTC, datetime, time, timedelta

from bot.digest.expand import EXPIRED
from bot.telegram.digests import OutboxRunner
from bot.telegram.jobs import run_delivery
from storage.db import transaction
from tests.conftest import Database
from tests.helpers.stories import C, add_story, add_subscription
from tests.helpers.telegram_server import Call
from tests.telegram.conftest import BotFactory

WSJ_DAY = datetime(2023, 8, 7, 9, tzinfo=UTC)


def _world(db: Database, due: datetime) -> int:
    """A WSJ report long before, and a story in the window that repeats two of its facts."""
    with transaction(db.sessions) as session:
        sub = add_subscription(session, chat_id="42", created_at=due - timedelta(days=5))
        _, (tour, shells) = add_story(
            session,
            title="Kim tours weapons factories",
            at=due - timedelta(days=3),
            published=WSJ_DAY,
            outlet="The Wall Street Journal",
            url="https://www.wsj.com/kim-factories",
            claims=[
                C("Kim Jong Un toured a munitions factory in Kanggye."),
                C("He inspected 152mm artillery shells on the line."),
            ],
        )
        add_story(
            session,
            title="Factory output <doubles>",
            at=due - timedelta(hours=2),
            outlet="NK Pro",
            claims=[
                C("Shell output doubled this year, officials said."),
                C("Kim Jong Un toured a munitions factory.", "repeated", tour),
                C("Kim inspected artillery shells there.", "repeated", shells),
            ],
        )
        return sub.id


async def _sent_digest(make_bot: BotFactory, db: Database) -> tuple[object, Call]:
    due = datetime.combine(datetime.now(UTC).date() + timedelta(days=1), time(8), tzinfo=UTC)
    sub_id = _world(db, due)
    clock = due + timedelta(seconds=61)
    bot = await make_bot(digest_runner=OutboxRunner(db.sessions, clock=lambda: clock))
    await run_delivery(bot.app, sub_id, kind="digest")
    (sent,) = await bot.server.wait_sent(1, chat_id=42)
    return bot, sent


def _edits(bot: object) -> list[Call]:
    return bot.server.sent("editMessageText", 42)  # type: ignore[attr-defined, no-any-return]


async def test_show_repeated_expands_in_place_and_hide_collapses(
    make_bot: BotFactory, db: Database
) -> None:
    bot, sent = await _sent_digest(make_bot, db)
    server = bot.server  # type: ignore[attr-defined]
    collapsed = str(sent.params["text"])
    assert "Repeats 2 earlier claims, first reported 2023-08-07 by The Wall Street Journal" in (
        html.unescape(collapsed)
    )
    assert "◦" not in collapsed  # the facts stay behind the button
    (row,) = sent.params["reply_markup"]["inline_keyboard"]
    assert row[0]["text"] == "Show repeated (2)"
    data = row[0]["callback_data"]
    assert len(data.encode()) <= 64

    assert await server.press_button(sent) == data
    (edit,) = await server.wait_sent(1, chat_id=42, method="editMessageText")
    assert edit.params["message_id"] == sent.result["message_id"]
    text = str(edit.params["text"])
    assert text.startswith(collapsed.split("\n\n", maxsplit=1)[0])  # same message, same heading
    link = '<a href="https://www.wsj.com/kim-factories">The Wall Street Journal</a>'
    assert (
        f"◦ Kim Jong Un toured a munitions factory. — first reported 2023-08-07 by {link}" in text
    )
    assert f"◦ Kim inspected artillery shells there. — first reported 2023-08-07 by {link}" in text
    assert "Shell output doubled" in text  # the new claim is still there
    (hide,) = edit.params["reply_markup"]["inline_keyboard"][0]
    assert hide["text"] == "Hide repeated"
    assert server.sent("answerCallbackQuery")

    await server.press_button(edit)
    edits = await server.wait_sent(2, chat_id=42, method="editMessageText")
    assert edits[1].params["text"] == collapsed
    assert edits[1].params["reply_markup"] == sent.params["reply_markup"]


async def test_a_button_pressed_elsewhere_or_forged_expands_nothing(
    make_bot: BotFactory, db: Database
) -> None:
    bot, sent = await _sent_digest(make_bot, db)
    server = bot.server  # type: ignore[attr-defined]
    await server.press_button(sent, chat_id=99)  # the same data from another chat
    await server.press("dx:9999.0", chat_id=42, message_id=int(sent.result["message_id"]))
    await server.press("dx:1.7", chat_id=42, message_id=int(sent.result["message_id"]))
    answers = await server.wait_sent(3, method="answerCallbackQuery")
    assert [a.params.get("text") for a in answers] == [EXPIRED] * 3
    assert _edits(bot) == []
    assert server.sent("editMessageText") == []
