"""Pure feed parsing: bytes in, clean entries out. No I/O, so it is tested on fixtures alone.

feedparser is only ever handed a byte stream (never a URL or a path) so it cannot fetch or open
anything. Its HTML sanitizer and relative-URI resolver are turned off: nkwatch keeps no markup at
all, every HTML fragment goes through ``html_to_text`` which drops scripts, styles and frames
and keeps only text, so the sanitizer would only cost time.
"""

from __future__ import annotations

import calendar
import dataclasses
import hashlib
import io
import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property, lru_cache
from typing import Any
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

import feedparser
import lxml.html
import numpy as np
from lxml import etree

# Elements whose text is never story text.
_DROP_TAGS = (
    "script",
    "style",
    "iframe",
    "frame",
    "frameset",
    "object",
    "embed",
    "noscript",
    "template",
    "svg",
    "math",
    "form",
    "button",
    "select",
    "textarea",
    "head",
    "title",
    "meta",
    "link",
)
_BLOCK_TAGS = frozenset(
    [
        "p",
        "div",
        "br",
        "li",
        "ul",
        "ol",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "blockquote",
        "tr",
        "table",
        "section",
        "article",
        "header",
        "footer",
        "figure",
        "figcaption",
        "pre",
        "hr",
        "dd",
        "dt",
    ]
)
_TRACKING_PARAMS = frozenset(
    {
        "fbclid",
        "gclid",
        "dclid",
        "gbraid",
        "wbraid",
        "msclkid",
        "mc_cid",
        "mc_eid",
        "igshid",
        "yclid",
        "_ga",
        "_gl",
        "ref_src",
        "cmpid",
        "ocid",
        "ncid",
        "sr_share",
        "at_medium",
        "at_campaign",
    }
)
_TRACKING_PREFIXES = ("utm_", "pk_", "mtm_", "hsa_", "oly_")
_DEFAULT_PORTS = {"http": 80, "https": 443}
_WS = re.compile(r"[ \t\r\f\v\u00a0\u200b]+")
_NL = re.compile(r"\n\s*\n+")
# C0/C1 controls (but tab and newline), zero-width and bidi-override characters, BOM.
_CONTROL = re.compile(
    "[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]"
)
_WORD = re.compile(r"\w+", re.UNICODE)
_MAX_TEXT = 200_000
TEASER_CHARS = 600


@dataclass(frozen=True)
class ParsedEntry:
    """One feed entry. Text, hashes and fingerprint are computed on first use: in a steady
    state most entries are already known by GUID and never need them."""

    guid: str | None
    url: str | None
    title: str
    author: str | None
    published: datetime | None
    summary_html: str = ""
    content_html: tuple[str, ...] = ()
    full_text: str | None = None  # the story page's text, when fetched (fetch_full_text)
    source: str | None = None  # the outlet an aggregator names for the item (<source>)

    @cached_property
    def summary(self) -> str:
        return html_to_text(self.summary_html)[:5000]

    @cached_property
    def _content_text(self) -> str:
        return "\n\n".join(t for t in (html_to_text(c) for c in self.content_html) if t)

    @cached_property
    def feed_text(self) -> str:
        """The longer of the feed's content and summary, as clean text."""
        content = self._content_text
        summary = html_to_text(self.summary_html)
        return (content if len(content) >= len(summary) else summary)[:_MAX_TEXT]

    @property
    def text(self) -> str:
        return self.full_text[:_MAX_TEXT] if self.full_text else self.feed_text

    @property
    def has_content(self) -> bool:
        """The feed (or the story page) carried the full story, not only a summary."""
        return bool(self.full_text) or bool(self._content_text)

    @cached_property
    def content_hash(self) -> str:
        # From the feed's own text, so it is the same whether or not the page was fetched.
        return content_hash(self.title, self.feed_text)

    @cached_property
    def simhash(self) -> int | None:
        return simhash(self.text)

    @property
    def is_teaser(self) -> bool:
        return not self.has_content and len(self.text) < TEASER_CHARS


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    title: str | None
    link: str | None
    version: str | None
    entries: tuple[ParsedEntry, ...]
    bozo: bool
    error: str | None

    @property
    def usable(self) -> bool:
        """False when nothing could be read at all (not a feed, or broken before any entry)."""
        return bool(self.entries) or (self.version is not None and self.version != "")


_XML_ENCODING = re.compile(rb"""^\s*<\?xml[^>]*encoding\s*=\s*["']([A-Za-z0-9._-]+)""")
_CHARSET = re.compile(r"charset\s*=\s*\"?([A-Za-z0-9._-]+)", re.IGNORECASE)
_DETECT_BYTES = 256 * 1024
_MULTIBYTE = frozenset(
    [
        "cp949",
        "euc_kr",
        "johab",
        "iso2022_kr",
        "euc_jp",
        "shift_jis",
        "cp932",
        "iso2022_jp",
        "gb2312",
        "gbk",
        "gb18030",
        "big5",
        "cp950",
        "big5hkscs",
        "hz",
    ]
)


def declared_encoding(data: bytes, content_type: str | None) -> str:
    """The charset the HTTP header, else the XML declaration, names; UTF-8 when neither does."""
    found = _CHARSET.search(content_type or "")
    if found:
        return found.group(1).lower()
    declared = _XML_ENCODING.match(data[:200])
    return declared.group(1).decode("ascii").lower() if declared else "utf-8"


def repair_false_utf8(data: bytes, content_type: str | None) -> bytes:
    """Bytes that claim UTF-8 but are not, re-encoded from the charset they really use.

    feedparser falls back to windows-1252 for these, which turns a Korean (EUC-KR) or Japanese
    feed into mojibake; charset detection on the bytes gets the real one.
    """
    if declared_encoding(data, content_type).replace("_", "-") not in ("utf-8", "utf8"):
        return data
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:
        return data
    from charset_normalizer import from_bytes  # noqa: PLC0415 - only for broken feeds

    best = from_bytes(data[:_DETECT_BYTES]).best()
    # Short Latin text cannot tell windows-1252 from its cousins: feedparser's fallback stays.
    if best is None or best.encoding.replace("-", "_").lower() not in _MULTIBYTE:
        return data
    try:
        return data.decode(best.encoding, errors="replace").encode("utf-8")
    except LookupError:
        return data


def parse_feed(
    data: bytes, *, content_type: str | None, base_url: str, max_entries: int | None = None
) -> ParsedFeed:
    """The feed's entries in feed order; with ``max_entries`` only that many are built."""
    data = repair_false_utf8(data, content_type)
    # A missing Content-Type is read as application/xml: the XML declaration and BOM decide the
    # encoding (RFC 7303), rather than feedparser's text/xml default of us-ascii.
    headers = {"content-location": base_url, "content-type": content_type or "application/xml"}
    result: Any = feedparser.parse(
        io.BytesIO(data),
        response_headers=headers,
        sanitize_html=False,
        resolve_relative_uris=False,
    )
    error: str | None = None
    exc = result.get("bozo_exception")
    # A feed served as text/html or text/plain is still read; that alone is not worth an error.
    bozo = bool(result.get("bozo")) and not isinstance(exc, feedparser.NonXMLContentType)
    if bozo:
        error = f"{type(exc).__name__}: {exc}" if exc is not None else "malformed feed"
    entries: list[ParsedEntry] = []
    seen: set[tuple[str | None, str | None]] = set()
    for raw in result.get("entries", []):
        if max_entries is not None and len(entries) >= max_entries:
            break
        entry = _entry(raw, base_url)
        if entry is None:
            continue
        key = (entry.guid, entry.url)
        if key in seen:
            continue
        seen.add(key)
        entries.append(entry)
    feed = result.get("feed", {})
    link = feed.get("link")
    return ParsedFeed(
        title=html_to_text(feed.get("title", "")) or None,
        link=canonical_url(urljoin(base_url, link)) if link else None,
        version=result.get("version") or None,
        entries=tuple(entries),
        bozo=bozo,
        error=error,
    )


def _entry(raw: Any, base_url: str) -> ParsedEntry | None:
    link = raw.get("link") or _alternate_link(raw)
    url = _story_url(base_url, link)
    guid_raw = raw.get("id") or raw.get("guid")
    guid = str(guid_raw).strip()[:2000] if guid_raw else None
    title = html_to_text(raw.get("title", ""))[:1000]
    author = html_to_text(raw.get("author", "")) or None
    origin = raw.get("source")
    source = html_to_text(str(origin.get("title", "") or "")) if isinstance(origin, dict) else ""
    entry = ParsedEntry(
        guid=guid or url,
        url=url,
        title=title,
        author=author[:300] if author else None,
        source=source[:200] or None,
        published=_date(dict.get(raw, "published_parsed") or dict.get(raw, "updated_parsed")),
        summary_html=str(raw.get("summary", "") or ""),
        content_html=tuple(str(c.get("value", "") or "") for c in raw.get("content", []) or []),
    )
    if title:
        return entry
    text = entry.text
    if not (text or url):
        return None
    fallback = (text[:120].rsplit(" ", 1)[0] + "…") if len(text) > 120 else (text or url or "")
    return dataclasses.replace(entry, title=fallback)


def _story_url(base_url: str, link: str | None) -> str | None:
    """Absolute http(s) URL or nothing: ``javascript:``, ``data:`` and friends are dropped."""
    if not link:
        return None
    url = canonical_url(urljoin(base_url, link.strip()))
    return url if url.startswith(("http://", "https://")) and len(url) <= 2000 else None


def _alternate_link(raw: Any) -> str | None:
    for link in raw.get("links", []) or []:
        if link.get("rel", "alternate") == "alternate" and link.get("href"):
            return str(link["href"])
    return None


def _date(parsed: Any) -> datetime | None:
    """feedparser gives UTC struct_time; out-of-range values (year 0, etc.) become None."""
    if not parsed:
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(parsed), tz=UTC)
    except (OverflowError, ValueError, OSError, TypeError):
        return None


def html_to_text(fragment: str) -> str:
    """Markup to plain text; hostile parts (script, style, frames, forms) are dropped whole."""
    if not fragment:
        return ""
    if "<" not in fragment and "&" not in fragment:
        return _tidy(fragment)
    try:
        root = lxml.html.fragment_fromstring(fragment, create_parent="div")
    except (etree.ParserError, ValueError):
        return _tidy(re.sub(r"<[^>]*>", " ", fragment))
    for element in list(root.iter(*_DROP_TAGS)):
        element.drop_tree()
    for element in list(root.iter(etree.Comment, etree.ProcessingInstruction)):
        element.drop_tree()
    parts: list[str] = []
    _collect(root, parts)
    return _tidy("".join(parts))


def _collect(element: Any, parts: list[str]) -> None:
    tag = element.tag if isinstance(element.tag, str) else ""
    block = tag in _BLOCK_TAGS
    if block:
        parts.append("\n")
    if element.text:
        parts.append(element.text)
    for child in element:
        _collect(child, parts)
        if child.tail:
            parts.append(child.tail)
    if block:
        parts.append("\n")


def _tidy(text: str) -> str:
    text = _CONTROL.sub("", unicodedata.normalize("NFC", text))
    lines = [_WS.sub(" ", line).strip() for line in text.split("\n")]
    return _NL.sub("\n\n", "\n".join(line for line in lines if line) if lines else "").strip()


def canonical_url(url: str) -> str:
    """One spelling per story: tracking parameters, fragment and default port dropped, host
    lowercased, so the same link shared with different campaign tags is recognised."""
    url = url.strip()
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return url[:2000]
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower().rstrip(".")
    if ":" in host:
        host = f"[{host}]"
    netloc = host
    if parts.username:
        netloc = f"{parts.username}@{netloc}"
    if port is not None and port != _DEFAULT_PORTS.get(scheme):
        netloc = f"{netloc}:{port}"
    query = urlencode(
        [
            (k, v)
            for k, v in parse_qsl(parts.query, keep_blank_values=True)
            if k.lower() not in _TRACKING_PARAMS and not k.lower().startswith(_TRACKING_PREFIXES)
        ],
        doseq=True,
    )
    path = parts.path or "/"
    return urlunsplit((scheme, netloc, path, query, ""))[:2000]


def normalise_for_hash(text: str) -> str:
    return " ".join(_WORD.findall(unicodedata.normalize("NFKC", text).casefold()))


def content_hash(title: str, text: str) -> str:
    """Hash of title and body words only: re-publishing with a new date keeps the hash."""
    body = normalise_for_hash(title) + "\n" + normalise_for_hash(text)
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


SIMHASH_MIN_WORDS = 25


def simhash(text: str) -> int | None:
    """Signed 64-bit simhash over word bigrams; None for texts too short to fingerprint.

    Words are hashed once each (blake2b, stable across processes) and bigram hashes are mixed
    from them in numpy, which keeps this cheap enough to run on every new entry."""
    words = normalise_for_hash(text).split()
    if len(words) < SIMHASH_MIN_WORDS:
        return None
    ids = np.fromiter((_word_hash(w) for w in words), dtype=np.uint64, count=len(words))
    with np.errstate(over="ignore"):
        mixed = ids[:-1] * np.uint64(0x9E3779B97F4A7C15) ^ (
            ids[1:] >> np.uint64(7) | ids[1:] << np.uint64(57)
        )
        mixed ^= mixed >> np.uint64(31)
        mixed *= np.uint64(0xBF58476D1CE4E5B9)
        mixed ^= mixed >> np.uint64(29)
    bits = np.unpackbits(mixed.view(np.uint8).reshape(-1, 8), axis=1, bitorder="little")
    votes = bits.sum(axis=0, dtype=np.int64) * 2 - len(mixed)
    value = 0
    for bit in np.flatnonzero(votes > 0).tolist():
        value |= 1 << int(bit)
    return value - (1 << 64) if value >= 1 << 63 else value


@lru_cache(maxsize=200_000)
def _word_hash(word: str) -> int:
    return int.from_bytes(hashlib.blake2b(word.encode(), digest_size=8).digest(), "little")


def hamming(a: int, b: int) -> int:
    return ((a ^ b) & ((1 << 64) - 1)).bit_count()
