"""`/track` in Telegram: the chart goes out with sendPhoto, the table as the text reply."""

from __future__ import annotations

import struct

from bot.settings import Settings
from tests.conftest import Database
from tests.figures.stream import ingest
from tests.telegram.conftest import BotFactory


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


async def test_track_lists_series_and_sends_a_chart(make_bot: BotFactory, db: Database) -> None:
    ingest(db.sessions, Settings(database_url=db.url, semantic="off"))
    bot = await make_bot()
    (listing,) = await bot.ask("/track")
    assert (
        "<b>containers of munitions to Russia</b>: up to 13,000 (2024-10-10, Washington Wire)"
        " · 10,000 → up to 13,000 (+3,000)"
    ) in listing
    assert "<b>troops to Russia</b>: more than 10,000 (2024-11-05, Seoul Daily)" in listing
    assert bot.server.sent("sendPhoto") == []  # the list has no chart

    (table,) = await bot.ask("/track Containers")
    (photo,) = bot.server.sent("sendPhoto", 42)
    assert photo.params["caption"] == "containers of munitions to Russia"
    methods = [c.method for c in bot.server.calls if c.method in ("sendPhoto", "sendMessage")]
    assert methods[-2:] == ["sendPhoto", "sendMessage"]  # the picture first, then its table
    ((field, filename, data),) = bot.server.uploads
    assert (field, filename) == ("photo", "containers-of-munitions-to-russia.png")
    assert png_size(data) == (1080, 720)
    assert "containers of munitions to Russia: more than 1,000 (Oct 2023) → about 5,000" in table
    assert (
        '2024-03-08 · 3,000–4,500 · Washington Wire · <a href="https://news.example/20240308/'
        'washington">link</a>'
    ) in table
    assert table.count("• ") == 6

    (missing,) = await bot.ask("/track bananas")
    assert "No tracked figure matches “bananas”" in missing
    assert len(bot.server.sent("sendPhoto")) == 1
