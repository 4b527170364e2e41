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
    r"(?m)^[A-Z][A-Za-z .'/-]{1,40}(?:,\s*[A-Z][a-z]{2,9}\.?\s+\d{1,2}(?:,\s*\d{4})?)?"
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
    | \b(?:could|can)\s*(?:not|n't)\s+(?:immediately\s+)?be\s+(?:reached|contacted)\b
    | \b(?:has|have|had)\s+reached\s+out\s+to\b
    | \b(?:not|n't|cannot|unable\s+to|no\s+way\s+to)\s+(?:\w+\s+){0,2}?(?:be\s+)?independently\s+
        (?:verif|confirm|corroborat)\w*
    | \b(?:not|n't|cannot|unable\s+to)\s+(?:be\s+)?(?:verif|confirm)\w*\s+(?:\w+\s+){0,3}
        independently\b
    | \b(?:did|does|do|would)\s*(?:not|n't)\s+(?:immediately\s+)?(?:elaborate|specify)\b
    | \b(?:did|does|would)\s*(?:not|n't)\s+(?:immediately\s+)?(?:say|give|provide|disclose|offer
        |reveal)\s+(?:how|what|when|where|whether|which|why|who|further|more|any|details|evidence)\b
    | \b(?:declined|refused)\s+to\s+(?:give|provide|offer|disclose|elaborate|say\s+more)\b
    | \bgave\s+no\s+(?:further\s+|other\s+|more\s+)?(?:details|evidence|explanation)\b
    | \bstory\s+(?:as\s+it\s+)?develops\b
    | \b(?:further\s+|more\s+)?details(?:\s+of\s+[^.]{0,40}?)?\s+(?:were|was|are|is)\s+not\s+
        (?:immediately\s+)?(?:available|known|released|disclosed)\b
    | \bmore\s+details\s+(?:are|were|will\s+be)\s+(?:expected|to\s+follow)\b
    | \b(?:developing|breaking)\s+(?:news\s+)?story\b|\bstay\s+(?:with|tuned|up\s+to\s+date)\b
    | \bcookies?\b|\bsign\s+(?:in|up)\b|\b(?:create|register)\s+(?:a|an|your)\s+(?:free\s+)?
        account\b|\bcontinue\s+reading\b|\bto\s+your\s+inbox\b|\bsubscri(?:be|ption|bers)\b
    | \bedited\s+for\s+(?:length|clarity|style)\b|\boriginally\s+(?:published|appeared)\b
    | \bcontributed(?:\s+reporting)?\s*\.?$
    | ^(?:the\s+)?(?:author|writer|columnist)s?\s+(?:is|are|was|has\s+been)\b
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
    ^(?:this|that|these|it|such\s+\w+|the\s+(?:[\w.-]+(?:'s|’s)\s+)?(?:remarks?|comments?
        |statements?|announcement|assessment|information|claims?|figures?|report|briefing)s?)
    \s+(?:was|were|is|are|has\s+been|have\s+been)\s+(?:\w+ly\s+)?
    (?:stated|said|made|announced|reported|disclosed|revealed|conveyed|mentioned|delivered
        |given|noted|presented|shared|voiced|expressed|released|published|carried|submitted
        |sent|provided)\b
    | ^(?:he|she|they|the\s+\w+(?:\s+\w+)?)\s+(?:made|gave|delivered|offered)
        \s+(?:the|these|those|this|that|his|her|their|its)\s+(?:remarks|comments|statement
        |assessment|estimate|announcement|disclosure|speech|claim)s?\b
    | ^(?:he|she|they|the\s+\w+(?:\s+\w+)?)\s+(?:spoke|was\s+speaking|were\s+speaking
        |was\s+talking|were\s+talking)\s+(?:at|to|during|in|on|after|before)\b[^,;]{0,80}[.!]?$
    | ^the\s+(?:[\w.-]+(?:'s|’s)\s+)?(?:remarks|comments|statement|announcement)s?\s+came
        \s+(?:during|at|in)\b
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
    | ^[A-Z][^,]{2,60},\s*(?:left|right|centre|center|front|rear|second\s+(?:from\s+)?(?:left|right)
        |third\s+(?:from\s+)?(?:left|right))\s*,
    | \bcourtesy\s+of\b
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
# State-media boasts: the test "proved the reliability", "great satisfaction", "mighty sword".
# A boast that also tells a deed ("praised the methods that produced ...") stays a claim.
_BOAST = re.compile(
    r"""(?ix)
    \b(?:proved|proven|demonstrated|showed|shown|displayed|showcased|confirmed)\s+(?:once\s+again\s+)?
        (?:to\s+the\s+(?:whole\s+)?world\s+)?(?:the|its|their|his|our)\s+["“]?(?:[\w'’-]+\s+){0,3}
        (?:might|power|strength|reliability|superiority|prowess|progress|perfection|excellence
        |invincibility|loyalty|mettle|greatness|dignity)\b
    | \b(?:great|deep|full|boundless|immense|high|profound)\s+(?:satisfaction|pride|joy|honou?r
        |admiration|gratitude)\b|\bexpressed\s+(?:\w+\s+)?(?:satisfaction|pride)\b|\bfull\s+of\s+pride\b
    | \b(?:boundless|mighty|unstoppable|unrivall?ed|thunderous|splendid|matchless)\b|\bfeats?\b
    | \b(?:smash|crush|wipe\s+out|obliterate)\w*\s+(?:\w+\s+){0,2}(?:aggression|enem\w+|attack
        |invasion|provocation|threat)s?\b
    """
)
# The writer's own "it remains unclear whether...": an official saying so is still a claim.
_UNKNOWN = re.compile(
    r"""(?ix)
    \b(?:remains?|remained|is|are|was|were)\s+(?:still\s+)?(?:not\s+(?:yet\s+)?(?:clear|known)
        |unclear|uncertain|unknown|to\s+be\s+seen|too\s+early\s+to)\b
    """
)
_SPEECH = re.compile(
    r"(?i)\b(?:said|says|told|according\s+to|stated|added|noted|wrote|estimated?s?|believes?)\b"
)
# Hedges and analysis with nothing to check: "It remains unclear whether...", "Analysts say the
# North may want...", "The launch is a reminder that...", "could further raise tensions".
_HEDGE = re.compile(
    r"""(?ix)
    \b(?:a|another)\s+question\s+for\b|\btime\s+will\s+tell\b
    | \b(?:is|was|serves\s+as)\s+(?:a|another)\s+(?:\w+\s+)?reminder\b
    | \b(?:underscores?|underlines?)\s+(?:the|how|that)\b
    | \b(?:could|may|might|would|is\s+likely\s+to|threatens\s+to)\s+(?:further\s+)?(?:raise|heighten
        |escalate|fuel|stoke|inflame|deepen|worsen|complicate)\s+(?:\w+\s+){0,3}(?:tensions?|concerns?
        |fears?|worries|isolation|instability)\b
    | ^(?:some\s+|many\s+|other\s+|several\s+)?(?:analysts|experts|observers|critics|commentators
        |pundits|watchers|researchers)\b[^.]{0,30}\b(?:say|said|believe|think|suspect|argue|speculate)\b
        (?=[^.]*\b(?:may|might|could|likely|probably|possibly|perhaps)\b)
        (?=[^.]*\b(?:wants?|wanted|aim|aims|aimed|seeks?|seeking|intends?|show|show\s+off|signal
        |message|pressure|attention|leverage|bargaining|distract\w*|bid|hopes?)\b)
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


# What is left of a sentence once its quotes are taken out, when it only names the speaker:
# ', said a researcher at a Seoul think tank.' / ', the ministry said in a statement.'
_BARE_ATTRIBUTION = re.compile(
    r"""(?ix)
    ^[\s,.:;—–-]*(?:(?:said|says|told|wrote|added|according\s+to)\b[^"“”]{0,90}
    | [^"“”]{0,70}\b(?:said|says|told\s+\w+(?:\s+\w+)?|wrote|added|posted)
        (?:\s+(?:on|in|at|to|after|during)\b[^"“”]{0,50})?)[\s.,]*$
    """
)


# "Kim inspects the plant in a photo released by state media": a caption is in the present tense;
# "Kim appeared in footage released on Monday" tells what was shown, so it stays a claim.
_RELEASED_PHOTO = re.compile(
    r"""(?ix)
    \bin\s+(?:a|an)\s+(?:\w+\s+){0,2}(?:photos?|pictures?|images?|handouts?|footage|video)
        \s+(?:released|provided|distributed|published|issued|posted|carried|supplied)\b
    """
)
_PAST_VERB = re.compile(r"(?i)\b(?:\w{3,}ed|was|were|had|showed|shown|appeared|said|told|saw)\b")


def _caption(sentence: str) -> bool:
    if _CAPTION.search(sentence):
        return True
    m = _RELEASED_PHOTO.search(sentence)
    return m is not None and not _PAST_VERB.search(sentence[: m.start()])


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
    if _caption(s):
        return "caption"
    if _RHETORIC.search(s):
        quoted = _quoted_share(s) >= 0.4
        factual = _FACT_MARK.search(s) is not None or _FACT_VERBS.search(s) is not None
        if quoted and not factual:
            return "rhetoric"
        if not quoted and not _FACT_MARK.search(s):
            return "rhetoric"
    if _BOAST.search(s) and not (_FACT_MARK.search(s) or _FACT_VERBS.search(s)):
        return "rhetoric"
    if not _FACT_MARK.search(s) and (
        _HEDGE.search(s) or (_UNKNOWN.search(s) and not _SPEECH.search(s))
    ):
        return "hedge"
    share = _quoted_share(s)
    if (share >= 0.5 or (share >= 0.3 and _BARE_ATTRIBUTION.match(_QUOTE.sub("", s)))) and not (
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
