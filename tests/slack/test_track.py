"""`/nkwatch track` in Slack: the chart is uploaded with the files API into the channel or the
mention's thread (files.getUploadURLExternal, the upload, files.completeUploadExternal)."""

from __future__ import annotations

import json

from bot.settings import Settings
from tests.figures.stream import ingest
from tests.slack.conftest import SlackHarness, text_of
from tests.telegram.test_track import png_size


def _stream(slack: SlackHarness) -> None:
    ingest(slack.db.sessions, Settings(database_url=slack.db.url, semantic="off"))


async def test_slash_track_uploads_the_chart_to_the_channel(slack: SlackHarness) -> None:
    _stream(slack)
    listing = await slack.command("track")
    assert "containers of munitions to Russia" in text_of(listing)
    assert slack.api.calls_to("files.getUploadURLExternal") == []

    answer = await slack.command("track shells")  # no series of rounds: a clear refusal
    assert "No tracked figure matches" in text_of(answer)

    answer = await slack.command("track containers")
    (asked,) = slack.api.calls_to("files.getUploadURLExternal")
    assert asked.args["filename"] == "containers-of-munitions-to-russia.png"
    (done,) = slack.api.calls_to("files.completeUploadExternal")
    assert done.args["channel_id"] == "C0CHAN01"
    (listed,) = json.loads(done.args["files"])
    assert listed["title"] == "containers of munitions to Russia"
    assert png_size(slack.api.uploads[listed["id"]]) == (1080, 720)
    assert answer.args["response_type"] == "in_channel"
    text = text_of(answer)
    assert "2023-10-14 · more than 1,000 · Washington Wire · <https://news.example/" in text


async def test_mention_track_uploads_into_the_thread(slack: SlackHarness) -> None:
    _stream(slack)
    posted = await slack.mention("<@UBOT0001> track troops", thread_ts="1700000000.000050")
    (done,) = slack.api.calls_to("files.completeUploadExternal")
    assert done.args["thread_ts"] == "1700000000.000050"
    assert posted.args["thread_ts"] == "1700000000.000050"
    assert "troops to Russia: about 3,000 (Oct 2024) → more than 10,000 (Nov 2024)" in text_of(
        posted
    )


async def test_a_failed_upload_still_answers_with_the_table(slack: SlackHarness) -> None:
    _stream(slack)
    slack.api.fail("files.getUploadURLExternal", "not_in_channel")
    answer = await slack.command("track containers")
    assert slack.api.calls_to("files.completeUploadExternal") == []
    assert answer.args["response_type"] == "ephemeral"  # only the asker sees a chart-less table
    assert "Seoul Daily" in text_of(answer)
