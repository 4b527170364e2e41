"""What is not a claim: page chrome, rhetoric, captions, headline echoes, and scrape damage.

Pure functions used by extraction. News pages carry sentences an analyst never wants judged:
boilerplate ("did not respond to a request for comment"), meta lines ("This was stated at the
briefing"), captions ("... in this undated photo"), condemnations and state-media boasts, and
body sentences that only repeat the headline. Scraped text also loses the space after a full stop
("on Monday.The ministry") and keeps datelines, bylines and photo credits inline.
"""

from __future__ import annotations

import re

__all__ = ["echoes_title", "not_claim_reason", "repair"]

# ------------------------------------------------------------------------------ repair

# "Monday.The", "said.”The", "2023.North": a sentence end glued to the next sentence's start.
# Lower-case letter or digit before the stop, so "U.S.Army" or "p.m." forms are left alone.
_GLUED_STOP = re.compile(r"(?:(?<=[a-z0-9%)])|(?<=[A-Z]{3}))([.!?][\"”’']?)(?=[A-Z][a-z])")
# Credits and bylines left inline: "(Photo: Yonhap)", "(KCNA/Reuters)", "Reporting by ... ;".
_INLINE_CREDIT = re.compile(
    r"""(?ix)
    \(\s*(?:(?:file\s+)?photo|image|picture|video|graphic|credit|pictured|source)\b[^()]{0,80}\)
    | \(\s*(?:[A-Z][\w.]*(?:\s[A-Z][\w.]*)?\s*/\s*)+
        (?:Reuters|AFP|AP|Yonhap|KCNA|EPA|Getty(?:\sImages)?|Handout)\s*\)
    | (?m:^)(?:file\s+)?(?:photo|image|picture|credit)s?\s*:\s*[^()\n]{0,40}?\([^()\n]{0,40}\)
    | (?:^|(?<=[.!?]\s))(?:additional\s+)?(?:reporting|writing|editing|compiled)\s+by\b
        [^.\n]{0,160}(?:\.|$)
    """
)
# "SEOUL, Nov 21 (Reuters) -" / "SEOUL (AP) —" / "Seoul, March 4 (Yonhap) --": the dateline.
_DATELINE = re.compile(
    r"(?m)^[A-Z][A-Za-z .'-]{1,40}(?:,\s*[A-Z][a-z]{2,9}\.?\s+\d{1,2}(?:,\s*\d{4})?)?"
    r"\s*\((?:[A-Za-z .&]{2,30})\)\s*[-–—]{1,2}\s*"
)


# "By 38 North staff Kim Jong Un spent ...": a byline glued to the first sentence.
_LEAD_BYLINE = re.compile(
    r"^\s*By\s+[^.\n]{1,60}?\b(?:staff(?:\s+writers?)?|reporters?|correspondents?|writers?"
    r"|editors?|desk)\b[\s,:;-]*"
)


def repair(text: str) -> str:
    """Undo scrape damage before splitting: glued sentences, datelines, inline credits."""
    text = _LEAD_BYLINE.sub("", _DATELINE.sub("", text))
    text = _INLINE_CREDIT.sub(" ", text)
    return _GLUED_STOP.sub(r"\1 ", text)


# ------------------------------------------------------------------------------ not a claim

_BOILERPLATE = re.compile(
    r"""(?ix)
    \b(?:did|does|has|have|had)\s+not\s+(?:immediately\s+)?(?:respond|reply|answer)(?:ed)?\s+to\b
        .{0,40}\b(?:request|comment|question|inquir|call|email|message)
    | \b(?:could|can|was|were)\s*(?:not|n't)\s+(?:immediately\s+)?(?:be\s+)?
        (?:reached|available|contacted)\b.{0,30}\bcomment
    | \bdeclined\s+to\s+(?:immediately\s+)?comment\b
    | \bno\s+immediate\s+(?:comment|response|reaction)\b
    | \b(?:for\s+(?:the\s+)?(?:latest|more)\b.{0,60}\b(?:visit|see|follow|go\ to|check))\b
    | \b(?:visit|see|follow)\s+our\b
    | \bcontributed\s+to\s+this\s+report\b
    | \bthis\s+(?:story|article|report)\s+(?:has\s+been|was)\s+(?:updated|corrected|amended)\b
    | \b(?:read|watch|listen)\s+(?:the\s+)?(?:full|more|also)\b
    | \bcopyright\b|©
    | \b(?:could|can|did|was|were)\s*(?:not|n't)\s+(?:be\s+)?(?:independently\s+)?
        (?:confirm|verif)\w*\s+(?:the|this|that|these|those|its|his|her|their)\s+
        (?:report|claim|account|information|figure|assessment)s?\b
    | \bviews\s+expressed\b|\bdo(?:es)?\s+not\s+(?:necessarily\s+)?reflect\b
    | \b(?:spoke|speaking|talked)\s+on\s+(?:the\s+)?condition\s+of\s+anonymity\b
    | \b(?:requested|asked\s+for|was\s+granted)\s+anonymity\b|\bdeclined\s+to\s+be\s+named\b
    | \b(?:monitoring|watching)\s+the\s+situation\b
    | \banaly[sz]ing\s+(?:the\s+)?(?:details|launch|data)\b
    | \b(?:cannot|can\s*not|could\s+not)\s+be\s+disclosed\b
    """
)
# "This was stated at the briefing." "The remarks were made during a visit." "He said so on X."
_META = re.compile(
    r"""(?ix)
    ^(?:this|that|these|it|such\s+\w+|the\s+(?:remarks?|comments?|statements?|announcement
        |assessment|information|claims?|figures?|report|briefing)s?)
    \s+(?:was|were|is|are|has\s+been|have\s+been)\s+(?:\w+ly\s+)?
    (?:stated|said|made|announced|reported|disclosed|revealed|conveyed|mentioned|delivered
        |given|noted|presented|shared|voiced|expressed|released|published|carried|submitted
        |sent|provided)\b
    | ^(?:he|she|they|the\s+\w+(?:\s+\w+)?)\s+(?:made|gave|delivered)
        \s+(?:the|these|those|his|her|their)\s+(?:remarks|comments|statement)\b
    | ^(?:he|she|they)\s+(?:said|told)\s+(?:this|so)\b
    """
)
# Captions: "Kim Jong Un inspects a factory in this undated photo", "This picture taken on ...".
_CAPTION = re.compile(
    r"""(?ix)
    \bin\s+(?:this|these|the\s+(?:above|below))\s+(?:\w+[\s-]+){0,3}
        (?:photos?|pictures?|images?|handouts?|screenshots?|screen\s?grabs?|stills?|footage
        |file\s+photos?)\b
    | ^(?:this|the|a)\s+(?:\w+\s+){0,3}
        (?:photo|picture|image|handout|screenshot|still|satellite\s+image)(?:\s+\w+){0,8}?\s+(?:shows|showing|depicts|taken|released|provided|distributed)\b
    | \b(?:is|are)\s+(?:pictured|seen\s+(?:here|above|below))\b
    | \b(?:pictured|seen)\s+(?:above|below|left|right|here)\b
    """
)
# Condemnation, threats and praise: what the rhetoric is made of.
_RHETORIC = re.compile(
    r"""(?ix)
    \b(?:flagrant|blatant|grave|serious|outrageous|reckless|shameless|brazen|despicable|deplorable
        |heinous|hideous|vicious|sinister|wanton|absurd|preposterous|ridiculous)\s+(?:\w+\s+){0,2}
        (?:violation|provocation|act|challenge|threat|breach|crime|insult|farce|lie|nonsense)s?
    | \b(?:will|would|shall)\s+not\s+(?:go\s+unanswered|be\s+tolerated|stand\s+idly|sit\s+idly)
    | \b(?:pay\s+(?:a|the)\s+(?:heavy\s+|dear\s+)?price|sea\s+of\s+fire|merciless|annihilat\w*
        |stern\s+(?:warning|response)|resolutely|strongly\s+(?:condemn|denounce|protest)\w*)
    | \b(?:condemn|denounc|deplor)\w*\b
    | \bprovocations?\b|\bfabricat\w+|\bslander\w*|\bdishonest\b|\bhostile\s+forces\b
    | \b(?:resolute|overwhelming)\s+(?:counter)?(?:action|response|measures?)\b
    | \benem(?:y|ies)\b|\bstriking\s+back\b|\bcounteraction\b
    | \b(?:respected|beloved)\s+(?:comrade|leader|marshal)\b|\bwarmly\s+acclaimed\b|\bhurrahs?\b
    | \b(?:hailed|lauded|likened|characteri[sz]ed|branded)\b
    | \b(?:called|described|dubbed|termed|labell?ed)\s+[^"“”.]{1,60}?\s+(?:as\s+)?["“]
    | \bwarn(?:ed|s|ing)?\b[^.]{0,120}\bwould\b
    | \b(?:heroic|glorious|invincible|indomitable|ever-victorious|sacred|revolutionary\s+spirit
        |great\s+(?:victory|leader)|patriotic\s+devotion|iron-willed
        |unprecedented\s+feat|proud\s+(?:achievement|victory)|world-class|miraculous)\b
    | \b(?:imperialists?|puppets?|warmongers?|gangsters?|lackeys?|traitors?)\b
    """
)
_QUOTE = re.compile(r"[\"“”]([^\"“”]{8,})[\"“”]")
_FACT_MARK = re.compile(
    r"""(?ix)
    (?<![-\w])\d
    | \b(?:three|four|five|six|seven|eight|nine|ten|dozens?|hundreds?|thousands?|millions?)\b
    | \b(?:January|February|March|April|June|July|August|September|October|November|December)\b
    | \b(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday|yesterday)\b
    """
)
_FACT_NOUNS = re.compile(
    r"(?i)\b(?:shells?|missiles?|rockets?|ammunition|munitions|troops|soldiers|containers"
    r"|launchers?|drones?|warheads?|satellites?|howitzers?|guns?)\b"
)
_FACT_VERBS = re.compile(
    r"(?i)\b(?:fired|launched|shipped|sent|supplied|delivered|deployed|killed|wounded|tested|"
    r"produced|exported|transferred|arrived|struck|hit|crossed|seized|captured|signed|agreed)\b"
)


def _quoted_share(sentence: str) -> float:
    quoted = sum(len(m.group(1)) for m in _QUOTE.finditer(sentence))
    return quoted / max(1, len(sentence))


def not_claim_reason(sentence: str) -> str | None:
    """Why a sentence is not a claim worth judging, or None when it may be one.

    Rhetoric is dropped only when it carries no fact of its own: a condemnation that also says
    what was fired, when, or how many is still a claim about that.
    """
    s = sentence.strip()
    if _BOILERPLATE.search(s):
        return "boilerplate"
    if _META.search(s):
        return "meta"
    if _CAPTION.search(s):
        return "caption"
    if _RHETORIC.search(s):
        quoted = _quoted_share(s) >= 0.4
        factual = _FACT_MARK.search(s) is not None or _FACT_VERBS.search(s) is not None
        if quoted and not factual:
            return "rhetoric"
        if not quoted and not _FACT_MARK.search(s):
            return "rhetoric"
    if _quoted_share(s) >= 0.5 and not (
        _FACT_MARK.search(s) or _FACT_VERBS.search(s) or _FACT_NOUNS.search(s)
    ):
        return "quote"  # a quoted view with no figure, date, deed or weapon in it
    return None


# ------------------------------------------------------------------------------ headline echo

_WORD = re.compile(r"[a-z0-9]+")
_SMALL_WORDS = frozenset(
    re.findall(
        r"\w+",
        "a an the of to in on at for and or by with from as is are was were be has have had its"
        " it that this says said",
    )
)


def _content(text: str) -> list[str]:
    return [w for w in _WORD.findall(text.lower()) if w not in _SMALL_WORDS]


def echoes_title(sentence: str, title: str | None, *, min_share: float = 0.8) -> bool:
    """Whether a body sentence only repeats the story's headline (nothing of its own)."""
    if not title:
        return False
    mine = _content(sentence)
    theirs = set(_content(title))
    if len(theirs) < 3 or not mine:
        return False
    inside = sum(1 for w in mine if w in theirs)
    return inside / len(mine) >= min_share and len(mine) <= len(theirs) + 2
