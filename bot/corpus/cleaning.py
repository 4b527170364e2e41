"""Turn a scraped page's text into the article body.

Scraped pages carry chrome around the story: discount banners, date headers, reading times, share
counters, photo captions and credits, bylines, author bios, reaction buttons, comment sections,
calls to read more, and spam words injected into sentences. The rules below are general page
patterns, never rules for one file; every dropped line is reported with its reason so tests (and
people) can see what was removed.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from rapidfuzz import fuzz

from bot.claims.word_lists import NOT_VERB_ING

# Lines at which the article is over: everything from here on is end matter.
_END_MARKERS = re.compile(
    r"""^(?:
        what'?s\ your\ reaction\??
      | about\ (?:the\ )?author\b.*
      | related\ (?:posts?|articles?|stories|news)\b.*
      | leave\ a\ (?:reply|comment)\b.*
      | comments?\ (?:are\ )?closed\.?
      | (?:\d+|one|two|three)\ (?:thoughts?|comments?|responses?|replies)\ on\b.*
      | write\ to\ .{1,80}\ at\ .*
      | original\ (?:story|article)\ (?:at|from|on)\b.*
      | (?:you\ may\ also\ like|read\ more|more\ stories|recommended(?:\ for\ you)?)\b.{0,40}
      | (?:tags?|filed\ under|categories)\s*:.*
      | contact\ us\b.{0,20}
      | share\ (?:this|on)\b.{0,40}
      | .{0,120}\bcontributed\ (?:reporting\ )?to\ this\ (?:report|story)\.?
    )$""",
    re.IGNORECASE | re.VERBOSE,
)
_CREDIT = re.compile(
    r"^(?:photos?|images?|composite|video|credit|illustration|graphic|source)s?\s*:\s*\S",
    re.IGNORECASE,
)
_FILE_CAPTION = re.compile(r"^FILE\s*[-–—:]\s", re.IGNORECASE)
_COUNTER = re.compile(r"^[\d.,]+[kKmM]?$")
_ADVERT = re.compile(
    r"^(?:\d{1,3}\s*%\s*off\b.*|.*\b(?:subscribe now|sign up now|limited offer|free trial)\b.*)$",
    re.IGNORECASE,
)
_READING_TIME = re.compile(r"^\d+\s*(?:min(?:ute)?s?)\.?\s*read$", re.IGNORECASE)
_SYMBOL = re.compile(r"^[\W_]{1,3}$")
_MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|jun(?:e)?|jul(?:y)?|aug(?:ust)?|"
    r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
)
_WEEKDAY = r"(?:mon|tue|tues|wed|thu|thur|thurs|fri|sat|sun)[a-z]*\.?"
_DATE_LINE = re.compile(
    rf"""^(?:{_WEEKDAY},?\s*)?(?:
        {_MONTH}\s*\d{{1,2}}(?:st|nd|rd|th)?,?\s*\d{{4}}
      | \d{{1,2}}(?:st|nd|rd|th)?\s+{_MONTH},?\s*\d{{4}}
      | \d{{4}}-\d{{2}}-\d{{2}}
    )$""",
    re.IGNORECASE | re.VERBOSE,
)
_BYLINE = re.compile(r"(?:^|\s)By\s+[A-Z][\w.'’-]+(?:\s+[A-Z][\w.'’-]+){0,3}")
_CALL_TO_ACTION = re.compile(
    r"""(?:if\ you\ (?:found|enjoyed|liked)\ this
      | please\ consider\ (?:reading|subscribing|sharing|supporting)
      | sign\ up\ for\ our
      | subscribe\ to\ our
      | follow\ us\ on
      | click\ here
      | share\ this\ (?:article|story)
      | your\ email\ address\ will\ not\ be\ published)""",
    re.IGNORECASE | re.VERBOSE,
)
# Gambling and SEO spam injected into scraped sentences; matched inside lowercase tokens.
_SPAM_MARKERS = ("toto", "togel", "gacor", "judi", "sbobet", "maxwin", "slot88", "bet88", "jp88")
_SPAM_TOKEN = re.compile(
    r"(?<![\w-])[a-z0-9]*(?:" + "|".join(_SPAM_MARKERS) + r")[a-z0-9]*(?![\w-])"
)
_ENGLISH_WITH_MARKER = frozenset({"total", "totally", "totem", "totes", "potato", "tomato"})
_SPINNER_BRACES = re.compile(r"\{([^{}\n]{1,40})\}")
_SENTENCE_END = (".", "!", "?", "”", '"', "’", "'", ")", "…", ":")
_FINITE = frozenset(
    {
        "is",
        "are",
        "was",
        "were",
        "has",
        "have",
        "had",
        "will",
        "would",
        "can",
        "could",
        "did",
        "does",
        "do",
        "said",
        "says",
        "may",
        "might",
        "must",
        "should",
        "shall",
    }
)


@dataclass(frozen=True)
class Dropped:
    line: str
    reason: str


@dataclass
class CleanedText:
    """The article body as paragraphs, and what was removed with the reason."""

    paragraphs: list[str]
    dropped: list[Dropped] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "\n\n".join(self.paragraphs)


def normalize_text(raw: str) -> str:
    """Unicode NFC, unified newlines, no zero-width or control characters, spinner braces undone."""
    text = unicodedata.normalize("NFC", raw).replace("\r\n", "\n").replace("\r", "\n")
    text = "".join(
        ch for ch in text if ch in "\n\t" or not unicodedata.category(ch).startswith("C")
    )
    text = text.replace("\u00a0", " ")
    return _SPINNER_BRACES.sub(r"\1", text)


def _squash(line: str) -> str:
    return re.sub(r"\s+", " ", line).strip()


def _key(line: str) -> str:
    return re.sub(r"[^\w]+", " ", line.lower()).strip()


def _is_title(line: str, title: str | None) -> bool:
    if not title:
        return False
    return fuzz.ratio(_key(line), _key(title)) >= 92


def _ends_sentence(line: str) -> bool:
    return line.rstrip().endswith(_SENTENCE_END)


def _is_participial_caption(line: str) -> bool:
    """Captions read "Kim Jong Un inspecting a missile line": a noun phrase, then an -ing verb."""
    if len(line) > 220 or line.count(". ") > 0:
        return False
    words = re.findall(r"[\w’'-]+", line)
    for index, word in enumerate(words[:8]):
        lower = word.lower()
        if lower in _FINITE or (lower.endswith("ed") and index > 0):
            return False
        if lower.endswith("ing") and len(lower) > 4 and lower not in NOT_VERB_ING:
            return index > 0
    return False


def _is_heading(line: str) -> bool:
    words = line.split()
    return len(words) <= 12 and not _ends_sentence(line)


def _strip_spam(line: str) -> str:
    def replace(match: re.Match[str]) -> str:
        token = match.group(0)
        # An English word may contain a marker ("judicious"); spam ends in one or carries digits.
        spam = any(ch.isdigit() for ch in token) or token.endswith(_SPAM_MARKERS)
        return "" if spam and token not in _ENGLISH_WITH_MARKER else token

    return _squash(_SPAM_TOKEN.sub(replace, line))


def _strip_calls_to_action(line: str) -> tuple[str, list[str]]:
    sentences = re.split(r"(?<=[.!?])\s+", line)
    kept = [s for s in sentences if not _CALL_TO_ACTION.search(s)]
    removed = [s for s in sentences if _CALL_TO_ACTION.search(s)]
    return " ".join(kept), removed


def clean_page(raw: str, *, title: str | None = None, author: str | None = None) -> CleanedText:
    """Keep the article body of a scraped page; report every dropped line with its reason."""
    lines = [_squash(line) for line in normalize_text(raw).split("\n")]
    lines = [line for line in lines if line]
    dropped: list[Dropped] = []

    # Page chrome before the headline: the body starts after the last standalone title line.
    title_positions = [i for i, line in enumerate(lines) if _is_title(line, title)]
    if title_positions:
        start = title_positions[-1] + 1
        dropped.extend(Dropped(line, "before headline") for line in lines[: start - 1])
        dropped.append(Dropped(lines[start - 1], "headline"))
        lines = lines[start:]

    author_key = _key(author) if author else None
    body: list[str] = []
    seen: set[str] = set()
    index = 0
    while index < len(lines):
        line = lines[index]
        following = lines[index + 1] if index + 1 < len(lines) else ""
        key = _key(line)
        in_body = bool(body)
        if _END_MARKERS.match(line) or (
            in_body and author_key and key in (author_key, f"by {author_key}")
        ):
            dropped.extend(Dropped(rest, "end matter") for rest in lines[index:])
            break
        reason: str | None = None
        if _CREDIT.match(line):
            reason = "photo credit"
        elif (_CREDIT.match(following) and len(line) <= 400) or _FILE_CAPTION.match(line):
            reason = "caption"
        elif _COUNTER.match(line):
            reason = "counter"
        elif _ADVERT.match(line):
            reason = "advert"
        elif _READING_TIME.match(line):
            reason = "reading time"
        elif _SYMBOL.match(line):
            reason = "symbol"
        elif _DATE_LINE.match(line):
            reason = "date line"
        elif _BYLINE.search(line) and len(line) < 120 and not _ends_sentence(line):
            reason = "byline"
        elif _is_heading(line):
            reason = "heading"
        elif _is_participial_caption(line):
            reason = "caption"
        elif not _ends_sentence(line):
            reason = "no sentence end"
        elif key in seen:
            reason = "duplicate"
        if reason is not None:
            dropped.append(Dropped(line, reason))
            index += 1
            continue
        cleaned = _strip_spam(line)
        if cleaned != line:
            dropped.append(Dropped(line, "spam words"))
        cleaned, calls = _strip_calls_to_action(cleaned)
        dropped.extend(Dropped(call, "call to action") for call in calls)
        if cleaned:
            body.append(cleaned)
            seen.add(key)
        index += 1
    return CleanedText(paragraphs=body, dropped=dropped)
