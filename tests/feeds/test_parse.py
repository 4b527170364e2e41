from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.feeds.dedup import NEAR_DUP_BITS
from bot.feeds.parse import (
    canonical_url,
    content_hash,
    hamming,
    html_to_text,
    parse_feed,
    simhash,
)
from tests.helpers.feed_server import TESTDATA

BASE = "https://feeds.example/feed.xml"


def parse(name: str, content_type: str | None = None):
    return parse_feed((TESTDATA / name).read_bytes(), content_type=content_type, base_url=BASE)


def test_rss2_entries() -> None:
    feed = parse("rss2.xml", "application/rss+xml; charset=utf-8")
    assert feed.version == "rss20"
    assert not feed.bozo
    assert [e.guid for e in feed.entries] == ["wire-0001", "wire-0002", "wire-0003"]
    first = feed.entries[0]
    assert first.url == "https://wire.example/2024/05/10/rocket-launcher?id=77"
    assert first.published == datetime(2024, 5, 10, 0, 30, tzinfo=UTC)
    assert first.author == "Staff Reporter"
    assert first.has_content
    assert "mass production" in first.text  # content:encoded beats the shorter description
    assert "<" not in first.text
    assert first.summary.startswith("North Korea test-fired a modernised 240mm multiple rocket")
    assert feed.entries[2].url == "https://wire.example/2024/05/12/munitions-factory"


def test_atom_relative_links_dates_and_html_title() -> None:
    feed = parse("atom.xml", "application/atom+xml")
    assert feed.version == "atom10"
    sohae, undated = feed.entries
    assert sohae.url == "https://feeds.example/2024/06/sohae-expansion"
    assert sohae.title == "Satellite imagery shows expansion at Sohae launch site"
    assert sohae.published == datetime(2024, 6, 1, 8, 0, tzinfo=UTC)
    assert sohae.published.tzinfo is UTC
    assert sohae.author == "Analyst One"
    assert "assembly building" in sohae.text
    assert undated.published is None
    assert undated.guid == "tag:monitor.example,2024:undated"


def test_rdf_and_rss091() -> None:
    rdf = parse("rdf.xml")
    assert rdf.version == "rss10"
    assert rdf.entries[0].title == "DPRK unveils new ICBM launcher trucks at parade"
    assert rdf.entries[0].published == datetime(2023, 7, 27, 12, 0, tzinfo=UTC)
    old = parse("rss091.xml")
    assert old.version
    assert old.version.startswith("rss09")
    assert old.entries[0].url == "http://old.example/story/1"


def test_malformed_feed_keeps_what_it_can_and_records_the_error() -> None:
    feed = parse("malformed.xml")
    assert feed.bozo
    assert feed.error
    assert "not well-formed" in feed.error
    assert feed.entries[0].title == "North Korea fires cruise missiles off west coast"
    assert feed.usable


def test_windows_1252_declared_utf8() -> None:
    feed = parse("cp1252_declared_utf8.xml", "application/rss+xml; charset=utf-8")
    entry = feed.entries[0]
    assert entry.title == "Kim’s “missile” factory – €1m"
    assert "“at full capacity”" in entry.text
    assert feed.error
    assert "windows-1252" in feed.error


def test_latin1_without_declaration() -> None:
    entry = parse("latin1_nodecl.xml").entries[0]
    assert "café señor" in entry.title
    assert "São Paulo" in entry.text


def test_utf16_with_bom() -> None:
    feed = parse("utf16_bom.xml", "text/xml")
    entry = feed.entries[0]
    assert entry.title.startswith("북한 미사일 발사")
    assert "합동참모본부" in entry.text


def test_hostile_html_is_reduced_to_its_text() -> None:
    feed = parse("hostile.xml")
    entry = feed.entries[0]
    assert entry.title == "North Korea missile test"
    assert entry.url is None  # javascript: link dropped
    assert "North Korea launched a ballistic missile on Tuesday." in entry.text
    assert "exclusive economic zone" in entry.text
    for bad in (
        "alert",
        "document.cookie",
        "display:none",
        "iframe text",
        "object text",
        "form text",
        "Click",
        "svg text",
        "noscript text",
        "secrets",
        "onerror",
        "<",
    ):
        assert bad not in entry.text, bad
        assert bad not in entry.title, bad


@pytest.mark.parametrize(
    "data",
    [b"", b"\x00\x01\x02\xff" * 100, b"<html><body>hello</body></html>", b'{"json": true}'],
)
def test_not_a_feed_is_unusable_and_does_not_raise(data: bytes) -> None:
    feed = parse_feed(data, content_type="text/html", base_url=BASE)
    assert feed.entries == ()
    assert not feed.usable


def test_html_page_fixture_is_not_a_feed() -> None:
    assert not parse("not_a_feed.html", "text/html").usable


def test_entry_without_guid_uses_its_url_and_duplicates_in_one_feed_collapse() -> None:
    xml = b"""<rss version="2.0"><channel><title>t</title>
    <item><title>A missile story</title><link>https://x.example/a?utm_source=1</link></item>
    <item><title>A missile story</title><link>https://x.example/a?utm_source=2</link></item>
    </channel></rss>"""
    feed = parse_feed(xml, content_type="application/rss+xml", base_url=BASE)
    assert len(feed.entries) == 1
    assert feed.entries[0].guid == "https://x.example/a"


def test_overlong_fields_are_truncated() -> None:
    title = "North Korea " * 500
    xml = f"""<rss version="2.0"><channel><item><title>{title}</title>
    <link>https://x.example/long</link><description>{"word " * 100000}</description>
    </item></channel></rss>""".encode()
    entry = parse_feed(xml, content_type="application/rss+xml", base_url=BASE).entries[0]
    assert len(entry.title) <= 1000
    assert len(entry.summary) <= 5000


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (
            "HTTPS://News.Example.COM/a/b?utm_source=x&id=3&fbclid=9#frag",
            "https://news.example.com/a/b?id=3",
        ),
        ("http://example.com:80/x?gclid=1&utm_medium=rss", "http://example.com/x"),
        ("https://example.com:8443/x?b=2&a=1", "https://example.com:8443/x?b=2&a=1"),
        ("https://example.com", "https://example.com/"),
        ("https://example.com/p?mc_cid=1&MC_EID=2&ref=home", "https://example.com/p?ref=home"),
    ],
)
def test_canonical_url(raw: str, expected: str) -> None:
    assert canonical_url(raw) == expected


def test_html_to_text_keeps_paragraphs_and_entities() -> None:
    text = html_to_text("<p>One &amp; two</p><p>Three<br>four</p><div>five &#8217;six&#8217;</div>")
    assert text.split("\n") == ["One & two", "", "Three", "four", "", "five ’six’"] or (
        "One & two" in text and "Three" in text and "five ’six’" in text
    )
    assert html_to_text("plain text  with   spaces") == "plain text with spaces"
    assert html_to_text("") == ""


def test_content_hash_ignores_dates_and_markup_but_not_words() -> None:
    a = content_hash("Kim visits factory", "<p>Kim visited a missile factory.</p>")
    b = content_hash("Kim  visits factory", "Kim visited a missile factory")
    c = content_hash("Kim visits factory", "Kim visited an artillery factory.")
    assert a == content_hash("Kim visits factory", "<p>Kim visited a missile factory.</p>")
    assert b == content_hash("kim visits factory", "Kim visited a missile factory.")
    assert a != c


def test_syndicated_copies_have_near_simhashes_and_unrelated_texts_do_not() -> None:
    a = parse("syndicated_a.xml").entries[0]
    b = parse("syndicated_b.xml").entries[0]
    short = parse("atom.xml").entries[1]
    assert a.simhash is not None
    assert b.simhash is not None
    assert hamming(a.simhash, b.simhash) <= NEAR_DUP_BITS
    seed = (
        TESTDATA.parent.parent.parent / "bot" / "corpus" / "000_ac99243f575947ee.txt"
    ).read_text()
    assert hamming(a.simhash, simhash(seed) or 0) > NEAR_DUP_BITS
    assert short.simhash is None  # too short to fingerprint


def test_published_date_in_the_far_future_or_garbage_does_not_raise() -> None:
    xml = b"""<rss version="2.0"><channel><item><title>Missile story</title>
    <link>https://x.example/d</link><pubDate>not a date at all</pubDate></item>
    <item><title>Other missile story</title><link>https://x.example/e</link>
    <pubDate>Fri, 31 Dec 9999 23:59:59 GMT</pubDate></item></channel></rss>"""
    entries = parse_feed(xml, content_type="application/rss+xml", base_url=BASE).entries
    assert entries[0].published is None
    assert entries[1].published is None or entries[1].published.year == 9999


def test_an_items_own_source_names_its_outlet() -> None:
    """Aggregator feeds carry stories from many outlets; <source> (RSS) names each one."""
    rss = (
        b'<?xml version="1.0"?><rss version="2.0"><channel><title>agg</title>'
        b"<item><title>One</title><link>https://a.example/1</link>"
        b'<source url="https://wire.example/rss">Wire &amp; Co</source>'
        b"<description>text</description></item>"
        b"<item><title>Two</title><link>https://a.example/2</link>"
        b"<description>text</description></item></channel></rss>"
    )
    atom = (
        b'<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>agg</title>'
        b"<entry><title>Three</title><link href='https://a.example/3'/><id>3</id>"
        b"<source><title>Daily Example</title></source><summary>text</summary></entry></feed>"
    )
    entries = parse_feed(rss, content_type=None, base_url="https://a.example/").entries
    assert [e.source for e in entries] == ["Wire & Co", None]
    (entry,) = parse_feed(atom, content_type=None, base_url="https://a.example/").entries
    assert entry.source == "Daily Example"


@pytest.mark.parametrize(
    ("text", "codec"),
    [
        ("북한이 러시아에 포탄을 수출했다고 정부 관계자가 밝혔다", "euc-kr"),
        ("北朝鮮がロシアに砲弾を輸出したと政府関係者が述べた", "shift_jis"),
        ("Café résumé: naïve text — North Korea", "cp1252"),
    ],
)
@pytest.mark.parametrize("content_type", [None, "application/rss+xml; charset=utf-8"])
def test_feed_declared_utf8_but_not_is_read_in_its_real_charset(
    text: str, codec: str, content_type: str | None
) -> None:
    body = (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>T</title>'
        f"<item><title>{text}</title><link>https://x.example/a</link>"
        f"<description>{text} {text}</description></item></channel></rss>"
    ).encode(codec)
    parsed = parse_feed(body, content_type=content_type, base_url="https://x.example/")
    (entry,) = parsed.entries
    assert entry.title == text  # not mojibake
