"""Claim extraction: sentences that assert something, with actors, weapons, figures and dates.

Pure functions: text in, claims out. Dates are resolved against the article's publication time
("last month" in a story of 7 August 2023 is July 2023; "August 21 to 24" is 2023-08-21..24).
"""

from __future__ import annotations

import re
from calendar import monthrange
from dataclasses import replace
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Literal

import pysbd
from dateutil.relativedelta import relativedelta
from pysbd.utils import TextSpan

from bot.claims.atoms import fact_units
from bot.claims.claimhood import echoes_title, not_claim_reason, repair
from bot.claims.figures import figures
from bot.claims.lexicon import Lexicon
from bot.claims.normalize import analyze, prepare
from bot.claims.types import Attributes, DateRef, ExtractedClaim, Precision, StoryContext
from bot.corpus.cleaning import NOT_VERB_ING

__all__ = [
    "date_explicitness",
    "extract",
    "extract_attributes",
    "is_assertion",
    "split_sentences",
    "story_context",
]

# ------------------------------------------------------------------------------ sentences


class _Segmenter(pysbd.Segmenter):  # type: ignore[misc]
    """pysbd, locating its sentences in the text with ``str.find``.

    pysbd maps each segmented sentence back to the original text with a regex compiled per
    sentence, which overflows Python's regex cache and was a third of extraction time. A plain
    substring search finds the same first occurrence past the previous sentence.
    """

    def sentences_with_char_spans(self, sentences: list[str]) -> list[TextSpan]:
        text: str = self.original_text
        spans: list[TextSpan] = []
        prior_end = 0
        for sent in sentences:
            if not sent:
                continue
            start = text.find(sent, max(0, prior_end - len(sent) + 1))
            if start < 0:
                continue
            end = start + len(sent)
            while end < len(text) and text[end].isspace():
                end += 1
            spans.append(TextSpan(text[start:end], start, end))
            prior_end = end
        return spans


@lru_cache(maxsize=1)
def _segmenter() -> pysbd.Segmenter:
    return _Segmenter(language="en", clean=False)


def split_sentences(text: str) -> list[str]:
    """Sentences of ``text``; line breaks are hard boundaries (headings, captions stand alone).

    Scrape damage is repaired first (a full stop glued to the next sentence, inline datelines
    and credits), so a page without spaces after its full stops still splits.
    """
    out: list[str] = []
    for raw_block in re.split(r"\n\s*", repair(text)):
        block = raw_block.strip()
        if not block:
            continue
        for sentence in _segmenter().segment(block):
            s = " ".join(str(sentence).split())
            if s:
                out.append(s)
    return out


_BOILERPLATE = re.compile(
    r"""(?ix)
    ^(?:photo|image|picture|video|composite|credit|source|file|illustration|graphic)s?\s*[:\-–]
    | ^by\s+[A-Z]?[\w.'-]+(?:\s+[\w.'-]+){0,3}\s*$
    | \bwrite\ to\b.*\bat\b
    | \[email\ protected\]|@\w+\.\w+
    | \b(?:subscribe|sign\ up|newsletter|click\ here|read\ more|related\ post
        |leave\ a\ (?:reply|comment)|comments?\ are\ closed|all\ rights\ reserved|cookie
        |your\ email\ address
        |if\ you\ (?:found|enjoyed|liked)\ this|please\ consider|what'?s\ your\ reaction
        |follow\ us|share\ this|contact\ us|about\ the\ author|original\ story\ at)\b
    | \b(?:let\ us\ know|tell\ us|share\ your\ (?:thoughts|views)|what\ do\ you\ think
        |in\ the\ comments|comment\ below|join\ the\ (?:conversation|discussion))\b
    | ^\W*\d+\s*%\s*off\b
    | \b\d+\s*min(?:ute)?s?\s*read\b
    """
)
_AUXILIARIES = frozenset(
    [
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "being",
        "has",
        "have",
        "had",
        "will",
        "would",
        "could",
        "can",
        "may",
        "might",
        "must",
        "shall",
        "should",
        "does",
        "did",
        "do",
        "says",
        "said",
        "told",
    ]
)
_TERMINAL = (".", "!", "”", '"', "'", "’", ")", "…")


def is_assertion(sentence: str) -> bool:
    """Whether a sentence asserts something worth judging (not a question, heading, caption...)."""
    return _sentence_shaped(sentence) and not_claim_reason(sentence.strip()) is None


def _sentence_shaped(sentence: str) -> bool:
    """A full sentence that is not page chrome (rhetoric is judged per fact unit later)."""
    s = sentence.strip()
    words = re.findall(r"[A-Za-z][A-Za-z'’-]*", s)
    if len(words) < 5:
        return False
    if s.endswith(("?", "?”", '?"')):
        return False
    if _BOILERPLATE.search(s):
        return False
    if not s.endswith(_TERMINAL) and not s.endswith(":"):
        # headings and title-case lines carry no full stop
        return False
    lower = [w.lower() for w in words]
    if not any(w in _AUXILIARIES or w.endswith(("ed", "es")) for w in lower):
        # "Kim Jong-un inspecting a missile production line ...": a photo caption
        ing = [i for i, w in enumerate(lower) if w.endswith("ing") and w not in NOT_VERB_ING]
        if ing and ing[0] <= 6:
            return False
    letters = sum(c.isalpha() for c in s)
    return letters >= 0.5 * len(s)


# ------------------------------------------------------------------------------ dates

_MONTHS = {
    "january": 1, "jan": 1, "february": 2, "feb": 2, "march": 3, "mar": 3, "april": 4, "apr": 4,
    "may": 5, "june": 6, "jun": 6, "july": 7, "jul": 7, "august": 8, "aug": 8, "september": 9,
    "sep": 9, "sept": 9, "october": 10, "oct": 10, "november": 11, "nov": 11, "december": 12,
    "dec": 12,
}  # fmt: skip
_WEEKDAYS = {
    "monday": 0, "tuesday": 1, "wednesday": 2, "thursday": 3, "friday": 4, "saturday": 5,
    "sunday": 6,
}  # fmt: skip
_MONTH_RE = (
    r"(?:January|February|March|April|May|June|July|August|September|October|November|December"
    r"|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept|Sep|Oct|Nov|Dec)\.?"
)
_DAY = r"(\d{1,2})(?:st|nd|rd|th)?"
_YEAR = r"((?:19|20)\d\d)"
_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    # August 21 to 24[, 2023] / August 21-24 / Aug. 30 to Sept. 2
    (
        "md_range",
        re.compile(
            rf"\b({_MONTH_RE})\s+{_DAY}\s*(?:-|to|through|until|and)\s*(?:({_MONTH_RE})\s+)?{_DAY}"
            rf"(?:,?\s+{_YEAR})?\b"
        ),
    ),
    # 21 to 24 August [2023]
    (
        "dm_range",
        re.compile(
            rf"\b{_DAY}\s*(?:-|to|through|until|and)\s*{_DAY}\s+({_MONTH_RE})(?:,?\s+{_YEAR})?\b"
        ),
    ),
    # August 17, 2015 / Aug. 5
    ("md", re.compile(rf"\b({_MONTH_RE})\s+{_DAY}(?:,?\s+{_YEAR})?\b(?!\s*(?:%|mm|km))")),
    # 5 August 2023 / 19 July
    ("dm", re.compile(rf"\b{_DAY}\s+({_MONTH_RE})(?:,?\s+{_YEAR})?\b")),
    # [early|mid|late] January 2024 / in July / a July parade
    (
        "m",
        re.compile(
            rf"(?:\b(early|mid|late|end of|beginning of|start of)[\s-]+)?"
            rf"\b({_MONTH_RE})(?:,?\s+{_YEAR})?\b"
        ),
    ),
    # since [early] 2022 / in 2019 / 1950-1953
    (
        "y_range",
        re.compile(rf"\b{_YEAR}\s*(?:-|to|through|until|and)\s*{_YEAR}\b"),
    ),
    (
        "y",
        re.compile(
            r"(?:\b(early|mid|late|end of|beginning of|start of|the beginning of|the start of"
            rf"|the end of)[\s-]+)?\b{_YEAR}\b"
            r"(?!\s*(?:mm|km|%|containers|rounds|missiles|tests|troops|soldiers))"
        ),
    ),
    (
        "rel",
        re.compile(
            r"\b(?:(later|earlier|late|early)\s+)?(last|this|next|past|previous|coming)\s+"
            r"(week|weekend|month|year|(?:Mon|Tues|Wednes|Thurs|Fri|Satur|Sun)day)\b",
            re.IGNORECASE,
        ),
    ),
    ("ago", re.compile(r"\b(a|one|two|three|four|five|six|\d+)\s+(day|week|month|year)s?\s+ago\b")),
    ("wd", re.compile(r"\b(Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)\b")),
    ("day", re.compile(r"\b(yesterday|today|tonight)\b", re.IGNORECASE)),
)
_SMALL = {"a": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6}
_PART_OF_MONTH = {
    "early": (1, 10), "beginning of": (1, 10), "start of": (1, 10), "mid": (11, 20),
    "late": (21, 31), "end of": (21, 31),
}  # fmt: skip
_PART_OF_YEAR = {
    "early": (1, 4), "beginning of": (1, 3), "start of": (1, 3), "the beginning of": (1, 3),
    "the start of": (1, 3), "mid": (5, 8), "late": (9, 12), "end of": (10, 12),
    "the end of": (10, 12),
}  # fmt: skip


def _month(name: str) -> int:
    return _MONTHS[name.lower().rstrip(".")]


def _month_end(year: int, month: int) -> date:
    return date(year, month, monthrange(year, month)[1])


def _yearless(month: int, day: int, pub: date) -> int:
    """The year of a yearless date: within ~10 months before to ~2 months after publication."""
    for year in (pub.year, pub.year - 1, pub.year + 1):
        try:
            d = date(year, month, min(day, monthrange(year, month)[1]))
        except ValueError:
            continue
        if pub - timedelta(days=300) <= d <= pub + timedelta(days=65):
            return year
    return pub.year


def _safe(year: int, month: int, day: int) -> date:
    return date(year, month, min(max(day, 1), monthrange(year, month)[1]))


def _resolve(kind: str, m: re.Match[str], pub: date) -> tuple[date, date, Precision] | None:
    g = m.groups()
    if kind == "md_range":
        m1 = _month(g[0])
        m2 = _month(g[2]) if g[2] else m1
        year = int(g[4]) if g[4] else _yearless(m1, int(g[1]), pub)
        y2 = year + 1 if m2 < m1 else year
        return _safe(year, m1, int(g[1])), _safe(y2, m2, int(g[3])), "day"
    if kind == "dm_range":
        mo = _month(g[2])
        year = int(g[3]) if g[3] else _yearless(mo, int(g[0]), pub)
        return _safe(year, mo, int(g[0])), _safe(year, mo, int(g[1])), "day"
    if kind in ("md", "dm"):
        mname, day = (g[0], int(g[1])) if kind == "md" else (g[1], int(g[0]))
        if mname.rstrip(".").lower() == "may" and kind == "md" and not g[2]:
            pass
        mo = _month(mname)
        if day > monthrange(2024, mo)[1]:
            return None
        year = int(g[2]) if g[2] else _yearless(mo, day, pub)
        d = _safe(year, mo, day)
        return d, d, "day"
    if kind == "m":
        part, mname, year_s = g
        mo = _month(mname)
        year = int(year_s) if year_s else _yearless(mo, 15, pub)
        lo, hi = _PART_OF_MONTH.get((part or "").lower(), (1, 31))
        return _safe(year, mo, lo), _safe(year, mo, hi), "month"
    if kind == "y_range":
        return date(int(g[0]), 1, 1), date(int(g[1]), 12, 31), "year"
    if kind == "y":
        part, year_s = g
        year = int(year_s)
        if part:
            lo, hi = _PART_OF_YEAR.get(part.lower(), (1, 12))
            return date(year, lo, 1), _month_end(year, hi), "month"
        return date(year, 1, 1), date(year, 12, 31), "year"
    if kind == "rel":
        qual, which, unit = (x.lower() if x else x for x in g)
        step = {"last": -1, "past": -1, "previous": -1, "this": 0, "next": 1, "coming": 1}[which]
        if unit == "year":
            y = pub.year + step
            return date(y, 1, 1), date(y, 12, 31), "year"
        if unit == "month":
            first = date(pub.year, pub.month, 1) + relativedelta(months=step)
            lo, hi = _PART_OF_MONTH.get(qual or "", (1, 31))
            if qual == "later" and step == 0:
                lo, hi = pub.day, 31
            if qual == "earlier" and step == 0:
                lo, hi = 1, pub.day
            return _safe(first.year, first.month, lo), _safe(first.year, first.month, hi), "month"
        if unit in ("week", "weekend"):
            monday = pub - timedelta(days=pub.weekday()) + timedelta(weeks=step)
            if unit == "weekend":
                return monday + timedelta(days=5), monday + timedelta(days=6), "day"
            return monday, monday + timedelta(days=6), "day"
        wd = _WEEKDAYS[unit]
        if step < 0:
            back = (pub.weekday() - wd) % 7 or 7
            d = pub - timedelta(days=back)
        elif step > 0:
            d = pub + timedelta(days=((wd - pub.weekday()) % 7 or 7))
        else:
            d = pub + timedelta(days=wd - pub.weekday())
        return d, d, "day"
    if kind == "ago":
        n_s, unit = g
        n = _SMALL.get(n_s.lower(), 0) if not n_s.isdigit() else int(n_s)
        delta = {
            "day": relativedelta(days=n),
            "week": relativedelta(weeks=n),
            "month": relativedelta(months=n),
            "year": relativedelta(years=n),
        }[unit.lower()]
        d = pub - delta
        return d, d, "day" if unit.lower() in ("day", "week") else "month"
    if kind == "wd":
        wd = _WEEKDAYS[g[0].lower()]
        d = pub - timedelta(days=(pub.weekday() - wd) % 7)  # news weekdays point back
        return d, d, "day"
    if kind == "day":
        word = g[0].lower()
        d = pub - timedelta(days=1) if word == "yesterday" else pub
        return d, d, "day"
    return None


_NOT_A_MONTH_AFTER = re.compile(r"^\s+(?:be|have|not|also|well|seek|need|want|use|help|face)\b")


def _dates(sentence: str, published: datetime) -> list[DateRef]:
    pub = published.date()
    taken: list[tuple[int, int]] = []
    found: list[tuple[int, DateRef]] = []
    for kind, pattern in _PATTERNS:
        for m in pattern.finditer(sentence):
            a, b = m.span()
            if any(a < e and s < b for s, e in taken):
                continue
            text = m.group(0).strip()
            if kind == "m" and text.rstrip(".").lower() in ("may", "march") and not m.group(3):
                # the verbs "may" and "march" are not months unless a date context says so
                before = sentence[max(0, a - 10) : a].lower()
                if not re.search(r"\b(?:in|since|until|by|early|mid|late|of)\s*-?$", before):
                    continue
            if kind == "m" and _NOT_A_MONTH_AFTER.match(sentence[b:]):
                continue
            resolved = _resolve(kind, m, pub)
            if resolved is None:
                continue
            start, end, precision = resolved
            if end < start:
                start, end = end, start
            taken.append((a, b))
            found.append((a, DateRef(start=start, end=end, text=text, precision=precision)))
    found.sort(key=lambda x: x[0])
    return [d for _, d in found]


def date_explicitness(ref: DateRef) -> Literal["absolute", "yearless", "relative"]:
    """How much of a date its text states: a year, a calendar day/month without year, or neither.

    Only the stated parts can be compared across articles: a claim's "Saturday" means nothing
    without its own publication date, but "August 21 to 24" still fixes the days of the year.
    """
    if re.search(r"\b(?:19|20)\d\d\b", ref.text):
        return "absolute"
    if re.search(rf"\b{_MONTH_RE}", ref.text) and not re.search(
        r"\b(?:last|this|next|past|previous|coming)\s+(?:week|month|year)", ref.text, re.I
    ):
        return "yearless"
    return "relative"


# ------------------------------------------------------------------------------ attributes


def extract_attributes(sentence: str, *, published: datetime, lexicon: Lexicon) -> Attributes:
    """Actors, weapons, places, quantities and resolved dates named in one sentence."""
    text = prepare(sentence)
    tokens = analyze(text, lexicon)
    actors: list[str] = []
    weapons: list[str] = []
    places: list[str] = []
    for tok in tokens:
        if tok.kind == "actor" and tok.ident not in actors:
            actors.append(tok.ident)
        elif tok.kind == "weapon" and tok.ident not in weapons:
            weapons.append(tok.ident)
        elif tok.kind == "place":
            if tok.ident not in places:
                places.append(tok.ident)
            if tok.key != tok.ident and tok.key not in actors:
                actors.append(tok.key)  # metonym: "Pyongyang" acts for North Korea
    dates = _dates(text, published)
    quantities = figures(sentence)
    return Attributes(
        actors=tuple(actors),
        weapons=tuple(weapons),
        places=tuple(places),
        quantities=tuple(quantities),
        dates=tuple(dates),
    )


def _without_title(text: str, title: str | None) -> str:
    """The body without a leading copy of the headline (scraped pages often start with it)."""
    body = text.lstrip()
    head = " ".join((title or "").split())
    if len(head) < 12:
        return text
    flat = " ".join(body[: len(head) * 2].split())
    if not flat.lower().startswith(head.lower()):
        return text
    # walk the body past the headline's characters, whitespace-insensitively
    i = j = 0
    while i < len(head) and j < len(body):
        if body[j].isspace():
            j += 1
            continue
        if head[i].isspace():
            i += 1
            continue
        i += 1
        j += 1
    rest = body[j:]
    return rest if not rest[:1].isalnum() else text


def story_context(
    title: str | None, text: str, *, published: datetime, lexicon: Lexicon
) -> StoryContext:
    """The happening a story reports: the weapons, places and actors of its headline and lead."""
    lead = " ".join(split_sentences(text)[:2])
    head = extract_attributes(title or "", published=published, lexicon=lexicon)
    body = extract_attributes(lead, published=published, lexicon=lexicon)
    return StoryContext(
        published=published.date(),
        weapons=head.weapons or body.weapons,
        places=head.places or body.places,
        actors=tuple(dict.fromkeys(head.actors + body.actors)),
    )


def extract(
    text: str, *, published: datetime, lexicon: Lexicon, title: str | None = None
) -> list[ExtractedClaim]:
    """The facts an article asserts, each with its attributes and its story's context.

    Sentences that are not claims (page chrome, rhetoric, captions, a repeat of the headline)
    are skipped; a sentence holding several facts gives one claim per fact.
    """
    text = _without_title(text, title)
    context = story_context(title, text, published=published, lexicon=lexicon)
    claims: list[ExtractedClaim] = []
    seen: set[str] = set()
    for sentence in split_sentences(text):
        if not _sentence_shaped(sentence) or echoes_title(sentence, title):
            continue
        units = fact_units(sentence)
        for unit in units:
            key = " ".join(unit.lower().split())
            if key in seen or not_claim_reason(unit) is not None:
                continue
            seen.add(key)
            attrs = extract_attributes(unit, published=published, lexicon=lexicon)
            claims.append(
                ExtractedClaim(
                    text=unit,
                    position=len(claims),
                    attrs=replace(attrs, story=context),
                    sentence=sentence if len(units) > 1 else "",
                )
            )
    return claims
