"""The "Show more" button under a Slack digest: real bolt, signed block_actions, response_url."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.digest.expand import EXPIRED
from storage import subscriptions as subs_store
from storage.db import transaction
from tests.helpers.slack_server import Call
from tests.helpers.stories import C, add_story
from tests.slack.conftest import SlackHarness, buttons_of, text_of

DAY = datetime(2026, 11, 20, tzinfo=UTC)
CHANNEL = "C0DIGEST1"


async def _posted_digest(slack: SlackHarness) -> Call:
    slack.clock.now = DAY + timedelta(hours=12)
    slack.api.users["U0ADMINWS"] = {"is_admin": True}
    await slack.command("subscribe daily 07:30 UTC", channel=CHANNEL, user="U0ADMINWS")
    with transaction(slack.db.sessions) as session:
        sub = subs_store.get_subscription(session, platform="slack", chat_id=CHANNEL)
        assert sub is not None
        sub.created_at = DAY + timedelta(hours=11)
        _, (first,) = add_story(
            session,
            title="Kim tours weapons factories",
            at=DAY - timedelta(days=30),
            published=datetime(2023, 8, 7, tzinfo=UTC),
            outlet="The Wall Street Journal",
            url="https://www.wsj.com/kim-factories",
            claims=[C("Kim Jong Un toured a munitions factory in Kanggye.")],
        )
        add_story(
            session,
            title="Factory output doubles",
            at=DAY + timedelta(hours=13),
            outlet="NK Pro",
            claims=[
                C("Shell output doubled this year."),
                C("Kim Jong Un toured a munitions factory <again>.", "repeated", first),
            ],
        )
    slack.clock.now = DAY + timedelta(days=1, hours=7, minutes=31)
    await slack.bot.digests.tick()
    (posted,) = slack.api.calls_to("chat.postMessage")
    return posted


async def test_show_more_redraws_the_digest_with_the_repeated_facts(slack: SlackHarness) -> None:
    posted = await _posted_digest(slack)
    collapsed = posted.blocks
    (button,) = buttons_of(posted)
    assert button["text"]["text"] == "Show more (1 repeated)"
    assert "◦" not in text_of(posted)

    shown = await slack.press(button, channel=CHANNEL)
    assert shown.args["replace_original"] is True
    text = text_of(shown)
    assert (
        "◦ Kim Jong Un toured a munitions factory &lt;again&gt;. — first reported 2023-08-07 by "
        "<https://www.wsj.com/kim-factories|The Wall Street Journal>"
    ) in text
    assert "Shell output doubled this year." in text
    (hide,) = buttons_of(shown)
    assert hide["text"]["text"] == "Hide repeated"
    assert len(shown.blocks) == len(collapsed) + 1  # one context block with the facts

    hidden = await slack.press(hide, channel=CHANNEL)
    assert hidden.blocks == collapsed


async def test_show_more_from_another_channel_shows_nothing(slack: SlackHarness) -> None:
    posted = await _posted_digest(slack)
    (button,) = buttons_of(posted)
    answer = await slack.press(button, channel="C0OTHER01")
    assert answer.args.get("replace_original") is False
    assert EXPIRED in str(answer.args.get("text"))
