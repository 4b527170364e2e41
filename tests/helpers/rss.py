"""RSS 2.0 documents for tests: items listed newest first, as real feeds list them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime
from xml.sax.saxutils import escape


@dataclass(frozen=True)
class Item:
    key: str
    title: str
    published: datetime
    text: str
    outlet: str = "Test Wire"


def rss(items: list[Item], *, base: str = "https://news.example") -> str:
    """A feed whose items carry the full story in ``content:encoded``, newest first."""
    ordered = sorted(items, key=lambda i: i.published, reverse=True)
    body = "".join(
        f"<item><title>{escape(i.title)}</title><link>{base}/{i.key}</link>"
        f"<guid>{base}/{i.key}</guid><pubDate>{format_datetime(i.published)}</pubDate>"
        f"<author>{escape(i.outlet)}</author>"
        f"<content:encoded>{escape(''.join(f'<p>{p}</p>' for p in i.text.split(chr(10))))}"
        "</content:encoded></item>"
        for i in ordered
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        '<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/">'
        f"<channel><title>test</title><link>{base}</link><description>t</description>{body}"
        "</channel></rss>"
    )
