"""What a story repeats, shown: one short line per repeated fact in every render; valid Markdown;
a standalone HTML page; first report and source counts read from the root claim."""

from __future__ import annotations

import itertools
import re
from datetime import UTC, datetime, timedelta

import pytest
from markdown_it import MarkdownIt
from markdown_it.token import Token

from bot.digest.model import Digest, DigestLimits, StoryRecord, build_digest
from bot.digest.page import render_page
from bot.digest.query import load_stories
from bot.digest.render import md_escape, render_markdown, render_text, telegram_parts
from storage.db import transaction
from tests.conftest import Database
from tests.digest.conftest import WSJ, claim
from tests.helpers.stories import C, add_story

UNTIL = datetime(2026, 11, 20, 8, tzinfo=UTC)
SINCE = UNTIL - timedelta(days=1)


@pytest.fixture
def digest(stories: list[StoryRecord]) -> Digest:
    return build_digest(stories, since=SINCE, until=UNTIL)


def test_each_repeated_fact_is_a_line_with_its_first_report(digest: Digest) -> None:
    story = next(s for g in digest.groups for s in g.stories if s.title == "Repeats only")
    assert story.repeated is not None
    assert [line.plain() for line in story.repeated.lines] == [
        "Kim toured a munitions factory. — first reported 2023-08-07 by The Wall Street Journal",
        "Kim inspected shells. — first reported 2023-08-07 by The Wall Street Journal",
    ]
    assert story.repeated.sources == 3  # wsj, ap, echo: distinct outlets over both facts


def test_repeat_lines_are_capped_and_shortened() -> None:
    long = "Kim toured " + "a very long line of factories " * 20
    story = StoryRecord(
        article_id=1,
        title="Many repeats",
        url=None,
        outlet="X",
        published=None,
        seen_at=UNTIL,
        claims=tuple(
            claim(i, "repeated", f"{long} {i}", matched=WSJ, first_reported=WSJ) for i in range(5)
        ),
    )
    limits = DigestLimits(max_repeat_lines=3, max_repeat_chars=60)
    built = build_digest([story], since=SINCE, until=UNTIL, limits=limits)
    summary = built.groups[0].stories[0].repeated
    assert summary is not None
    assert len(summary.lines) == 3
    assert summary.hidden_lines == 2
    assert all(len(line.text) <= 60 and line.text.endswith("…") for line in summary.lines)
    assert "    (+2 more)" in render_text(built).splitlines()


def test_text_render_indents_the_lines_under_the_story(digest: Digest) -> None:
    lines = render_text(digest).splitlines()
    at = lines.index(
        "  Repeats 2 earlier claims, first reported 2023-08-07 by The Wall Street Journal; "
        "seen in 3 sources"
    )
    assert lines[at + 1] == (
        "    - Kim toured a munitions factory. — first reported 2023-08-07 by "
        "The Wall Street Journal <https://www.wsj.com/kim>"
    )
    assert lines[at + 2].startswith("    - Kim inspected shells.")


def test_telegram_lines_appear_only_in_the_expanded_part(digest: Digest) -> None:
    (collapsed,) = telegram_parts(digest)
    (expanded,) = telegram_parts(digest, expanded=0)
    assert collapsed.repeats == expanded.repeats == 3
    assert "◦" not in collapsed.text
    assert expanded.text.count("◦ ") == 3
    assert '<a href="https://www.wsj.com/kim">The Wall Street Journal</a>' in expanded.text


def _tokens(markdown: str) -> list[Token]:
    return MarkdownIt("commonmark").parse(markdown)


def test_markdown_is_valid_and_readable(digest: Digest) -> None:
    md = render_markdown(digest)
    tokens = _tokens(md)
    levels = [int(t.tag[1]) for t in tokens if t.type == "heading_open"]
    assert levels[0] == 1
    assert levels.count(1) == 1
    assert all(b - a <= 1 for a, b in itertools.pairwise(levels)), levels
    # Dates, hyphens and full stops are written plainly, not escaped.
    assert "2023-08-07" in md
    assert "2026-11-20 08:00" in md
    assert not re.search(r"\\[-.]", md)
    # The repeated facts are a list nested under the story's repeat line.
    nested = [t for t in tokens if t.type == "bullet_list_open" and t.level > 0]
    assert nested
    rendered = MarkdownIt("commonmark").render(md)
    assert "Kim toured a munitions factory. — first reported 2023-08-07 by " in rendered
    assert '<a href="https://www.wsj.com/kim">The Wall Street Journal</a>' in rendered
    # Hostile feed text stays text: no raw HTML, no emphasis or code it did not ask for.
    assert not [t for t in tokens if t.type in ("html_inline", "html_block")]
    for child in (c for t in tokens if t.children for c in t.children):
        assert child.type != "code_inline"
        assert child.type != "html_inline"
    assert "Factory output doubled to 200 &lt;launchers&gt; &amp; *more*." in rendered
    assert "Second report [of] the visit_" in rendered


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("- list?", "- list?"),
        ("# heading?", "# heading?"),
        ("1. numbered?", "1. numbered?"),
        ("> quote?", "> quote?"),
        ("a *b* _c_ `d` <e> [f](g) &amp; |h| ~i~", "a *b* _c_ `d` <e> [f](g) &amp; |h| ~i~"),
        ("Title #", "Title #"),
    ],
)
def test_md_escape_keeps_markup_as_text(raw: str, shown: str) -> None:
    for source in (f"## {md_escape(raw)}", f"- x {md_escape(raw)}", md_escape(raw)):
        html = MarkdownIt("commonmark").render(source)
        visible = re.sub(r"<[^>]+>", "", html).strip()
        expected = shown.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        assert visible.endswith(expected), (source, visible)


def test_standalone_page(digest: Digest) -> None:
    page = render_page(digest)
    assert page.startswith('<!doctype html>\n<html lang="en">')
    assert '<meta charset="utf-8">' in page
    assert "<title>nkwatch digest — 2026-11-20 08:00 UTC" in page
    assert "<style>" in page
    assert "<script" not in page
    assert "&lt;b&gt;bold&lt;/b&gt; &amp; more" in page  # feed text escaped
    assert "javascript:" not in page
    assert page.count("<h1>") == 1
    assert "Kim inspected shells. — first reported 2023-08-07 by" in page


def test_first_report_is_the_root_and_sources_are_distinct_outlets(db: Database) -> None:
    """first -> middle -> fresh: the digest names the first report; outlets count once."""
    now = datetime(2026, 11, 19, 9, tzinfo=UTC)
    with transaction(db.sessions) as session:
        _, (first,) = add_story(
            session,
            title="First",
            claims=[C("Shells were shipped.")],
            at=now - timedelta(days=90),
            outlet="Yonhap",
        )
        _, (middle,) = add_story(
            session,
            title="Middle",
            claims=[C("Shells went out.", "repeated", first)],
            at=now - timedelta(days=60),
            outlet="NK News",
        )
        add_story(  # the same outlet again: still one source
            session,
            title="Middle again",
            claims=[C("Shells left port.", "repeated", first)],
            at=now - timedelta(days=50),
            outlet="NK News",
        )
        add_story(
            session,
            title="Fresh",
            claims=[C("Shells were sent.", "repeated", middle)],
            at=now,
            outlet="38 North",
        )
    with db.sessions() as session:
        (story,) = load_stories(session, since=now - timedelta(hours=1), until=now)
    (record,) = story.claims
    assert record.first_reported is not None
    assert record.first_reported.outlet == "Yonhap"
    assert record.matched is not None
    assert record.matched.outlet == "NK News"
    assert record.seen_in == {"outlet:yonhap", "outlet:nk news", "outlet:38 north"}
    built = build_digest([story], since=None, until=now)
    summary = built.groups[0].stories[0].repeated
    assert summary is not None
    assert summary.sentence().endswith("by Yonhap; seen in 3 sources")


def test_expanded_telegram_message_stays_within_the_limit() -> None:
    """Shown facts that would overflow a message are cut to fewer per story, with a count."""
    long = "Kim toured a factory and said many things about artillery shells and rockets"
    stories = [
        StoryRecord(
            article_id=n,
            title=f"Story {n}",
            url=None,
            outlet="X",
            published=UNTIL,
            seen_at=UNTIL,
            claims=tuple(
                claim(n * 100 + i, "repeated", f"{long} {i}.", matched=WSJ, first_reported=WSJ)
                for i in range(10)
            ),
        )
        for n in range(1, 9)
    ]
    built = build_digest(stories, since=SINCE, until=UNTIL)
    limit = 2000
    collapsed = telegram_parts(built, limit=limit)
    for index, part in enumerate(collapsed):
        shown = telegram_parts(built, limit=limit, expanded=index)[index]
        assert len(shown.text) <= limit
        assert shown.text.startswith(part.text.split("\n\n", maxsplit=1)[0])
        assert "◦ " in shown.text
        assert "(+" in shown.text  # not every fact fits: the rest are counted
