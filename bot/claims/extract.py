"""Claim extraction: sentences that assert something, with actors, weapons, figures and dates.

Pure functions: text in, claims out. Dates are resolved against the article's publication time
("last month" in a story of 7 August 2023 is July 2023; "August 21 to 24" is 2023-08-21..24).
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import datetime
from functools import lru_cache

import pysbd
from pysbd.utils import TextSpan

from bot.claims.atoms import fact_units
from bot.claims.claimhood import echoes_title, not_claim_reason, repair
from bot.claims.dates import find_dates
from bot.claims.figures import figures
from bot.claims.lexicon import Lexicon
from bot.claims.normalize import analyze, prepare
from bot.claims.types import Attributes, ExtractedClaim, StoryContext
from bot.claims.word_lists import COMMON_AUXILIARIES, NOT_VERB_ING

__all__ = [
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
        *COMMON_AUXILIARIES,
        "being",
        "can",
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
    dates = find_dates(text, published)
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
