from __future__ import annotations

import html
import json
import re
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from typing import Any

import pytest

from bot.digest.model import Digest, DigestLimits, StoryRecord, build_digest
from bot.digest.payloads import mrkdwn_escape, platform_messages, render_slack
from bot.digest.render import (
    SLACK_MAX_BLOCKS,
    SLACK_TEXT_LIMIT,
    TELEGRAM_LIMIT,
    pack,
    render,
    render_markdown,
    render_telegram,
    render_text,
    safe_url,
)
from tests.digest.conftest import claim

UNTIL = datetime(2026, 11, 20, 8, tzinfo=UTC)
SINCE = UNTIL - timedelta(days=1)


# ---- turning each format back into the text a reader sees


class _Balanced(HTMLParser):
    """Checks that an HTML fragment opens and closes its tags in order."""

    ALLOWED = frozenset({"b", "i", "a", "code", "pre", "u", "s"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.text: list[str] = []
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        assert tag in self.ALLOWED, tag
        self.stack.append(tag)
        self.hrefs += [v or "" for k, v in attrs if k == "href"]

    def handle_endtag(self, tag: str) -> None:
        assert self.stack, f"</{tag}> closes nothing"
        assert self.stack[-1] == tag, (self.stack, tag)
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def html_visible(message: str) -> tuple[str, list[str]]:
    parser = _Balanced()
    parser.feed(message)
    parser.close()
    assert parser.stack == [], f"unclosed tags {parser.stack}"
    return "".join(parser.text), parser.hrefs


def slack_visible(messages: list[dict[str, Any]]) -> str:
    texts: list[str] = []
    for message in messages:
        for block in message["blocks"]:
            if "text" in block:
                texts.append(block["text"]["text"])
            for element in block.get("elements", []):
                texts.append(element["text"])
    joined = "\n".join(texts)
    assert "<" not in re.sub(r"<[^<>|]+\|[^<>]*>", "", joined), "unescaped < in mrkdwn"
    joined = re.sub(r"<([^<>|]+)\|([^<>]*)>", r"\2", joined)
    return joined.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def md_visible(text: str) -> str:
    text = re.sub(r"\]\(<[^>]*>\)", "]", text)  # drop link targets
    text = re.sub(r"(?<!\\)[\[\]]", "", text)
    return re.sub(r"\\(.)", r"\1", text)


def facts(digest: Digest) -> list[str]:
    """What every format must show: claim texts, figure changes, repeat lines, titles, counts."""
    out = []
    for group in digest.groups:
        if group.show_header:
            out.append(group.title)
        for story in group.stories:
            out.append(story.title)
            out += [n.text for n in story.new]
            for u in story.updated:
                out.append(u.text)
                out += [f"{c.old} → {c.new}" for c in u.changes]
                if u.earlier:
                    out.append(u.earlier.name)
            if story.repeated:
                out.append(story.repeated.line())
    return out


@pytest.fixture
def digest(stories: list[StoryRecord]) -> Digest:
    return build_digest(stories, since=SINCE, until=UNTIL)


def test_same_facts_in_every_format(digest: Digest) -> None:
    views = {
        "text": render_text(digest),
        "md": md_visible(render_markdown(digest)),
        "html": "\n".join(html_visible(m)[0] for m in render_telegram(digest)),
        "slack": slack_visible(render_slack(digest)),
    }
    wanted = facts(digest)
    assert "Factory output doubled to 200 <launchers> & *more*." in wanted
    assert (
        "Repeats 2 earlier claims, first reported 2023-08-07 by The Wall Street Journal; "
        "seen in 3 sources"
    ) in wanted
    for name, view in views.items():
        flat = " ".join(view.split())
        missing = [f for f in wanted if " ".join(f.split()) not in flat]
        assert not missing, (name, missing)
        assert "2 stories" not in flat
        assert "3 stories: 2 new claims, 1 updated, 3 repeated" in flat


def test_hostile_strings_are_escaped(digest: Digest) -> None:
    (message,) = render_telegram(digest)
    assert "<launchers>" not in message
    assert "&lt;launchers&gt;" in message
    assert "<b>bold</b> &" not in message
    _, hrefs = html_visible(message)
    assert all(h.startswith("https://") for h in hrefs)
    assert "https://example.org/range?a=1&b=<2>" in hrefs  # escaped in the source, intact here
    md = render_markdown(digest)
    assert "](<javascript" not in md
    assert "\\*more\\*" in md
    assert "\\<launchers\\>" in md
    slack = json.dumps(render_slack(digest))
    assert "javascript:" not in slack
    assert "&lt;launchers&gt; &amp; *more*" in slack


def test_unsafe_urls_never_become_links() -> None:
    assert safe_url("javascript:alert(1)") is None
    assert safe_url("seed:000.txt") is None
    assert safe_url("https://a.example/\nx") is None
    assert safe_url("http:///nohost") is None
    assert safe_url("https://a.example/x?y=1") == "https://a.example/x?y=1"


def _big_digest(n: int, text_len: int = 300) -> Digest:
    stories = [
        StoryRecord(
            article_id=i,
            title=f"Story {i} <&>",
            url=f"https://e.example/{i}",
            outlet="Outlet & Co",
            published=None,
            seen_at=UNTIL,
            claims=tuple(
                claim(i * 10 + j, "new", f"{i}.{j} " + "<b>x</b> & " * (text_len // 11))
                for j in range(5)
            ),
        )
        for i in range(n)
    ]
    return build_digest(
        stories,
        since=SINCE,
        until=UNTIL,
        limits=DigestLimits(max_stories=n, max_claim_lines=10 * n),
    )


def test_telegram_splits_on_paragraphs_within_limit() -> None:
    digest = _big_digest(30)
    messages = render_telegram(digest)
    assert len(messages) > 1
    seen = []
    for message in messages:
        assert len(message) <= TELEGRAM_LIMIT
        text, _ = html_visible(message)  # every message balanced on its own
        seen.append(text)
    joined = "\n".join(seen)
    for i in range(30):
        assert f"Story {i} <&>" in joined
        for j in range(5):
            assert f"{i}.{j} <b>x</b>" in joined


def test_telegram_one_huge_claim_is_shortened_not_broken() -> None:
    story = StoryRecord(
        article_id=1,
        title="t" * 5000,
        url="https://e.example/1",
        outlet=None,
        published=None,
        seen_at=UNTIL,
        claims=(claim(1, "new", "&" * 9000),),
    )
    digest = build_digest(
        [story], since=SINCE, until=UNTIL, limits=DigestLimits(max_claim_chars=20000)
    )
    messages = render_telegram(digest)
    for message in messages:
        assert len(message) <= TELEGRAM_LIMIT
        html_visible(message)


def test_slack_respects_block_and_text_limits() -> None:
    digest = _big_digest(40, text_len=900)
    messages = render_slack(digest)
    assert len(messages) > 1
    for message in messages:
        assert len(message["blocks"]) <= SLACK_MAX_BLOCKS
        assert message["blocks"][0]["type"] == "header"
        assert len(message["blocks"][0]["text"]["text"]) <= 150
        for block in message["blocks"]:
            if "text" in block:
                assert len(block["text"]["text"]) <= SLACK_TEXT_LIMIT
            assert len(block.get("elements", [])) <= 10
            for element in block.get("elements", []):
                assert len(element["text"]) <= SLACK_TEXT_LIMIT
    visible = slack_visible(messages)
    for i in range(40):
        assert f"Story {i} <&>" in visible


def test_empty_digest_renders_one_line() -> None:
    digest = build_digest([], since=SINCE, until=UNTIL)
    line = "Nothing new since 2026-11-19 08:00 UTC."
    assert render_text(digest) == line
    assert render_telegram(digest) == [html.escape(line)]
    assert md_visible(render_markdown(digest)).strip() == line
    assert slack_visible(render_slack(digest)) == line


def test_mrkdwn_escape_and_pack() -> None:
    assert mrkdwn_escape("a & <b> >") == "a &amp; &lt;b&gt; &gt;"
    assert pack(["aa", "bb", "cc"], 6) == ["aa\n\nbb", "cc"]
    with pytest.raises(ValueError, match="exceeds"):
        pack(["x" * 10], 5)


def test_platform_payloads_and_preview_formats(digest: Digest) -> None:
    tg = platform_messages(digest, "telegram")
    assert all(m["parse_mode"] == "HTML" for m in tg)
    assert [m["text"] for m in tg] == render_telegram(digest)
    slack = platform_messages(digest, "slack")
    assert [{k: v for k, v in m.items() if k != "repeats"} for m in slack] == render_slack(digest)
    assert sum(m["repeats"] for m in slack) == sum(m["repeats"] for m in tg) == 3
    assert json.loads(render(digest, "slack-json")) == render_slack(digest)
    assert render(digest, "text") == render_text(digest)
    assert render(digest, "md") == render_markdown(digest)
    assert "<b>" in render(digest, "telegram-html")
    assert render(digest, "html").startswith("<!doctype html>")
