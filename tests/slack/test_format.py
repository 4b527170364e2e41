"""``Reply`` -> Block Kit: escaping, links, Slack's 50-block and 3,000-character limits."""

from __future__ import annotations

from bot.chat.reply import Button, error_reply, item, para, reply, span
from bot.slack.app import mention_text, slack_to_plain, split_command
from bot.slack.format import message_problems, render_reply, span_mrkdwn


def test_spans_are_escaped_and_styled() -> None:
    assert span_mrkdwn(span("a < b & c > d")) == "a &lt; b &amp; c &gt; d"
    assert span_mrkdwn(span("Verdict: ", bold=True)) == "*Verdict:* "
    assert span_mrkdwn(span("/nkwatch `x`", code=True)) == "`/nkwatch ʼxʼ`"
    assert span_mrkdwn(span("<!here>", bold=True)) == "*&lt;!here&gt;*"


def test_links_only_from_http_urls() -> None:
    assert span_mrkdwn(span("AP|x", url="https://apnews.com/a?b=1&c=<2>")) == (
        "<https://apnews.com/a?b=1&amp;c=%3C2%3E|AP/x>"
    )
    assert span_mrkdwn(span("click", url="javascript:alert(1)")) == "click"
    assert span_mrkdwn(span("seed", url="seed:000.txt")) == "seed"


def test_items_share_a_section_and_paragraphs_do_not() -> None:
    message = render_reply(reply(para("Head"), item("one"), item("two"), para("tail")))
    texts = [b["text"]["text"] for b in message["blocks"]]
    assert texts == ["Head", "• one\n• two", "tail"]
    assert message["text"] == "Head\n\n• one\n• two\n\ntail"


def test_over_long_block_is_clipped_to_3000() -> None:
    message = render_reply(reply(para("<&>" * 5000)))
    (block,) = message["blocks"]
    assert len(block["text"]["text"]) <= 3000
    assert block["text"]["text"].startswith("&lt;&amp;&gt;")
    assert message_problems(message) == []


def test_many_blocks_are_summarised_within_50() -> None:
    blocks = [para(f"paragraph {n}") for n in range(80)]
    message = render_reply(reply(*blocks, buttons=[Button("More", "rep:1,2")]))
    assert len(message["blocks"]) == 50
    assert message["blocks"][-1]["type"] == "actions"
    note = message["blocks"][-2]
    assert note["type"] == "context"
    assert "32 more not shown" in note["elements"][0]["text"]
    assert message_problems(message) == []


def test_buttons_carry_the_action() -> None:
    message = render_reply(reply(para("x"), buttons=[Button("Show " + "x" * 100, "cl:1,2,3")]))
    (actions,) = [b for b in message["blocks"] if b["type"] == "actions"]
    (button,) = actions["elements"]
    assert button["value"] == "cl:1,2,3"
    assert button["action_id"] == "nkwatch:0"
    assert len(button["text"]["text"]) <= 75


def test_error_reply_fallback_is_marked() -> None:
    message = render_reply(error_reply("No <feed>"))
    assert message["text"].startswith("⚠️ No &lt;feed&gt;")


def test_message_problems_finds_violations() -> None:
    too_many = {"blocks": [{"type": "divider"}] * 51}
    assert message_problems(too_many)
    too_long = {"blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}]}
    assert message_problems(too_long)


def test_command_text_parsing() -> None:
    assert split_command("  LATEST  3 ") == ("latest", "3")
    assert split_command("") == ("help", "")
    assert mention_text("<@U123ABC> claim Kim said") == "claim Kim said"
    assert mention_text("<@U123ABC|nkwatch>: status") == "status"
    assert slack_to_plain("addfeed <https://x.example/feed|x.example/feed>") == (
        "addfeed https://x.example/feed"
    )
    assert slack_to_plain("hi <@U1> in <#C1|arms> <!here>") == "hi @U1 in #arms @here"
    assert slack_to_plain("range &lt; 500 km &amp; more") == "range < 500 km & more"
    assert slack_to_plain("raw <b>tag</b>") == "raw <b>tag</b>"  # not Slack markup: kept
