"""Happenings: the time window an event may cover, and a short title built from its first claim.

An event is one happening (a visit, a launch, a shipment report), bounded in time: claims weeks or
months apart about different happenings must not merge, and a running figure reported again and
again links to its earlier reports through its match, not by stretching one event forever.

Titles are composed, not copied: who (the subject's short name), what (the action and its
object, from a list of general news verbs), when (the event's dates), at most 80 characters,
with no dateline. Pure functions over plain data.
"""

from __future__ import annotations

import re
from datetime import date

from bot.claims.word_lists import COMMON_AUXILIARIES

__all__ = [
    "MAX_SPAN_DAYS",
    "SLACK_DAYS",
    "compatible",
    "format_span",
    "title_for",
]

SLACK_DAYS = 7  # a claim this close to an event's window may join it
MAX_SPAN_DAYS = 31  # no event stretches over more than this
TITLE_CHARS = 80

# lemma -> third person singular; inflections are derived (irregular past forms listed)
_VERBS: dict[str, tuple[str, ...]] = {
    "launch": (),
    "fire": (),
    "test": (),
    "test-fire": (),
    "ship": (),
    "send": ("sent",),
    "deliver": (),
    "supply": ("supplied",),
    "provide": (),
    "transfer": (),
    "export": (),
    "sell": ("sold",),
    "buy": ("bought",),
    "visit": (),
    "tour": (),
    "inspect": (),
    "meet": ("met",),
    "sign": (),
    "deploy": (),
    "strike": ("struck",),
    "attack": (),
    "veto": ("vetoed", "vetoes"),
    "produce": (),
    "build": ("built",),
    "unveil": (),
    "display": (),
    "show": ("shown", "showed"),
    "hold": ("held",),
    "order": (),
    "discuss": (),
    "approve": (),
    "adopt": (),
    "sanction": (),
    "seize": (),
    "capture": (),
    "kill": (),
    "lose": ("lost",),
    "fly": ("flew", "flown", "flies"),
    "shoot": ("shot",),
    "detonate": (),
    "conduct": (),
    "declare": (),
    "warn": (),
    "condemn": (),
    "agree": (),
    "use": (),
    "receive": (),
    "load": (),
    "move": (),
    "watch": (),
    "oversee": ("oversaw", "overseen"),
    "observe": (),
    "guide": (),
    "attend": (),
    "reach": (),
    "rise": ("rose", "risen"),
    "estimate": (),
}


def _third_person(lemma: str) -> str:
    if lemma.endswith(("s", "sh", "ch", "x", "o")):
        return lemma + "es"
    if lemma.endswith("y") and lemma[-2:-1] not in "aeiou":
        return lemma[:-1] + "ies"
    return lemma + "s"


def _forms(lemma: str, irregular: tuple[str, ...]) -> set[str]:
    stem = lemma[:-1] if lemma.endswith("e") else lemma
    double = lemma + lemma[-1] if re.fullmatch(r"[^aeiou]*[aeiou][bdgmnpt]", lemma) else lemma
    past = lemma + "d" if lemma.endswith("e") else double + "ed"
    if lemma.endswith("y") and lemma[-2:-1] not in "aeiou":
        past = lemma[:-1] + "ied"
    ing = (stem if lemma.endswith("e") and not lemma.endswith("ee") else double) + "ing"
    return {lemma, _third_person(lemma), past, ing, *irregular}


_VERB_FORMS: dict[str, str] = {  # any form -> lemma
    form: lemma for lemma, irregular in _VERBS.items() for form in _forms(lemma, irregular)
}
_PAST = re.compile(r"[a-z]{3,}ed")
_IRREGULAR_PAST = frozenset(
    [
        "sought", "made", "took", "gave", "began", "saw", "won", "led", "ran", "went", "came",
        "kept", "left", "found", "brought", "fought", "became", "drew", "grew", "threw", "wrote",
        "spoke", "chose", "stood", "paid", "put", "set", "hit", "spent", "built", "sent", "sold",
    ]
)  # fmt: skip
_REPORTING = re.compile(
    r"^.*?\b(?:said|says|told|reported|announced|confirmed|claimed|believes|estimated)\b"
    r"(?:\s+\w+day)?(?:\s+that)?\s+",
    re.IGNORECASE,
)

_DATELINE = re.compile(
    r"""^(?:[A-Z][A-Z .'-]{1,40}|[A-Z][a-z]+(?:\s[A-Z][a-z]+)?)   # SEOUL / Seoul
        (?:,\s*[A-Z][a-z]{2,8}\.?\s+\d{1,2})?                      # , Oct 13
        \s*(?:\([^)]{1,40}\))?\s*[—–-]{1,2}\s*""",
    re.VERBOSE,
)
_LEAD_IN = re.compile(
    r"^(?:(?:on|in|last|this|earlier|late|early)\b[^,]{0,40},\s*|(?:meanwhile|however|separately),\s*)",
    re.IGNORECASE,
)
_STOP = frozenset(
    [
        "in",
        "on",
        "at",
        "for",
        "with",
        "over",
        "since",
        "from",
        "by",
        "during",
        "after",
        "before",
        "as",
        "while",
        "when",
        "where",
        "which",
        "who",
        "that",
        "into",
        "amid",
        "under",
        "near",
        "until",
        "across",
        "through",
        "against",
        "per",
        "via",
        "and",
        "but",
        "or",
        "said",
        "says",
        "according",
        "last",
        "this",
        "next",
        "yesterday",
        "today",
        "earlier",
        "later",
    ]
)
_AUXILIARY = frozenset(
    [
        *COMMON_AUXILIARIES,
        "also",
        "reportedly",
        "allegedly",
        "already",
        "recently",
        "reported",
    ]
)
_TITLES = frozenset(
    [
        "President",
        "Minister",
        "Defense",
        "Defence",
        "Foreign",
        "Leader",
        "Secretary",
        "General",
        "Chairman",
        "Russian",
        "North",
        "South",
        "Korean",
        "American",
        "Chinese",
        "Ukrainian",
        "Japanese",
        "Supreme",
        "Prime",
        "Deputy",
        "Vice",
        "Commander",
        "Chief",
        "Premier",
        "Marshal",
        "Colonel",
        "Major",
        "Captain",
        "Lieutenant",
        "Admiral",
        "Sergeant",
        "Mr",
        "Mrs",
        "Ms",
        "Dr",
        "Sen",
        "Senator",
        "Ambassador",
        "Spokesman",
        "Spokeswoman",
        "Director",
        "U.S.",
        "US",
        "Japan's",
        "Russia's",
        "Korea's",
        "State",
        "Gen.",
        "Lt.",
    ]
)
_ORGANISATION = re.compile(
    r"\b(?:Council|Ministry|Agency|Command|Nations|Forces?|Army|Navy|Party|Committee|House"
    r"|Department|Office|Service|Staff|Commission|Assembly|Union|Institute|Center|Centre"
    r"|Pentagon|Kremlin|Media|News|Wagner)\b"
)
_DETERMINERS = frozenset(["a", "an", "the", "its", "his", "her", "their"])
_COUNTRIES = frozenset(
    [
        "North Korea",
        "South Korea",
        "Russia",
        "China",
        "Ukraine",
        "Iran",
        "Japan",
        "United States",
        "U.S.",
        "Pyongyang",
        "Seoul",
        "Moscow",
        "Washington",
        "Beijing",
        "Kyiv",
    ]
)
_MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


def compatible(
    window: tuple[date, date] | None, span: tuple[date, date], *, slack: int = SLACK_DAYS
) -> bool:
    """Whether a claim about ``span`` may join an event covering ``window``: close enough in
    time, and the merged window no longer than ``MAX_SPAN_DAYS``."""
    if window is None:
        return True
    start, end = window
    gap = max((span[0] - end).days, (start - span[1]).days, 0)
    merged = (max(end, span[1]) - min(start, span[0])).days
    return gap <= slack and merged <= MAX_SPAN_DAYS


def format_span(start: date, end: date) -> str:
    """'13 Sep 2023', '3–5 Aug 2023', '28 Jul – 2 Aug 2023', 'Dec 2023 – Jan 2024'."""
    if start == end:
        return f"{start.day} {_MONTHS[start.month - 1]} {start.year}"
    if (start.year, start.month) == (end.year, end.month):
        return f"{start.day}–{end.day} {_MONTHS[start.month - 1]} {start.year}"
    if start.year == end.year:
        return (
            f"{start.day} {_MONTHS[start.month - 1]} – {end.day} {_MONTHS[end.month - 1]} "
            f"{end.year}"
        )
    return f"{_MONTHS[start.month - 1]} {start.year} – {_MONTHS[end.month - 1]} {end.year}"


def _short_name(subject: str) -> str:
    """The subject's short name: 'North Korean leader Kim Jong Un' -> 'Kim'."""
    subject = subject.strip(" ,;:'\"“”")
    parts = [p for p in re.split(r"\s+and\s+", subject) if p.strip()]
    if len(parts) > 1:
        return " and ".join(_short_name(p) for p in parts[:2])
    words = subject.split()
    while words and (words[-1].lower() in _AUXILIARY or words[-1].endswith("ly")):
        words.pop()
    subject = " ".join(words)
    for country in sorted(_COUNTRIES, key=len, reverse=True):
        if subject.endswith(country) or subject == country:
            return country
    runs = re.findall(r"(?:[A-Z][\w'.-]*)(?:\s+[A-Z][\w'.-]*)*", subject)
    if not runs:
        return " ".join(w for w in subject.split()[-3:] if w.lower() not in _DETERMINERS)
    if words and words[-1].islower():  # a common noun: "Russian forces", "the ministry"
        return " ".join(w for w in words[-2:] if w.lower() not in _DETERMINERS)
    name = re.sub(r"^The\s+|'s$", "", runs[-1])
    if _ORGANISATION.search(name):
        return name
    words = name.split()
    while len(words) > 1 and words[0] in _TITLES:
        words.pop(0)
    if len(words) >= 3 or (len(words) == 2 and "-" in words[1]):
        return words[0]  # Kim Jong Un, Kim Jong-un: family name first
    if len(words) == 2:
        return words[1]  # Vladimir Putin
    return name


def _object(words: list[str]) -> list[str]:
    out: list[str] = []
    for raw in words:
        word = raw.strip("“”\"'()")
        bare = word.rstrip(",.;:")
        if not bare or bare.lower() in _STOP or (bare.lower() == "to" and len(out) >= 2):
            break
        if not out and bare.lower() in _DETERMINERS:
            continue
        out.append(bare)
        if bare != word or len(out) >= 5:  # punctuation ends the phrase
            break
    while out and out[-1].lower() in {"of", "to", "and"}:
        out.pop()
    return out


def _clip(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0]
    return cut + "…"


def title_for(text: str, *, start: date | None, end: date | None) -> str:
    """A short event title: who, what, when — never the sentence itself."""
    body = _DATELINE.sub("", " ".join(text.split()), count=1)
    body = _LEAD_IN.sub("", body, count=1)
    words = body.split()
    when = f" · {format_span(start, end or start)}" if start is not None else ""
    first = 0  # where the subject starts: after a reporting clause ("photos showed that")
    for i, raw in enumerate(words[1:], start=1):
        if i <= first:
            continue
        bare = raw.strip(",.;:")
        verb = _VERB_FORMS.get(bare.lower())
        if verb is None and (bare in _IRREGULAR_PAST or _PAST.fullmatch(bare)):
            verb = bare  # another past-tense verb: kept as it stands
        if verb is None:
            continue
        if words[i - 1].lower() in {"to", "will", "would", "could", "may", "might"}:
            continue  # "plans to launch": keep looking for the main verb
        if words[i - 1].lower() in _DETERMINERS | {"of", "for", "new", "first", "latest"}:
            continue  # "the launch", "a test": a noun
        if i + 1 < len(words) and words[i + 1].lower() == "that":
            first = i + 2
            continue
        subject = " ".join(words[first:i])
        subject = subject.rsplit(",", 1)[-1] if subject.count(",") else subject
        subject = _REPORTING.sub("", subject, count=1) or subject
        rest = words[i + 1 :]
        obj = _object(rest)
        if not obj and rest and rest[0].lower() in {"at", "in", "to", "with"}:
            place = _object(rest[1:])
            obj = [rest[0].lower(), *place] if place else []
        who = _short_name(subject)
        last = who.split()[-1] if who else ""
        plural = " and " in who or (last.islower() and last.endswith("s"))
        if words[i - 1].lower() in {"was", "were", "been", "being", "is", "are"}:
            action = raw.lower().strip(",.;:")  # passive: "shells were fired" -> shells fired
        elif verb == bare:
            action = verb
        else:
            action = verb if plural else _third_person(verb)
        head = " ".join([who, action, *obj])
        return _clip(head, TITLE_CHARS - len(when)) + when
    # no action verb: the main clause's first words, cut short, still dated
    return _clip(" ".join(words[:8]).rstrip(",.;:"), TITLE_CHARS - len(when)) + when
