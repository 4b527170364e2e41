"""Comparing what two claims say: figures, running series, dates, happenings, story context.

Pure helpers for the judge. A figure compares on its counted thing and value (ranges too); a
running figure (containers shipped, troops sent) reported again with another value is an update
even when worded differently; dates compare only when they say when something happened (not
when it was said, nor where a count starts); a one-off happening on another day is another
happening; a generic sentence belongs to its story's happening.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from datetime import date, timedelta
from typing import TYPE_CHECKING, Literal

from bot.claims.dates import date_explicitness
from bot.claims.types import Attributes, Candidate, Change, DateRef, ExtractedClaim, Quantity

if TYPE_CHECKING:
    from bot.claims.judge import JudgeParams

__all__ = [
    "RUNNING_UNITS",
    "SERIES",
    "DateOutcome",
    "actors_agree",
    "compare_dates",
    "compare_quantities",
    "conflict",
    "other_happening",
    "running_series",
    "unit_key",
    "weapon_conflict",
]

DateOutcome = Literal["none", "agree", "shift", "far"]


def _q_equal(a: float, b: float, params: JudgeParams) -> bool:
    return abs(a - b) <= params.quantity_equal_tolerance * max(abs(a), abs(b), 1.0)


def _fmt_q(q: Quantity) -> str:
    return q.text.strip() or f"{q.value:g} {q.unit}"


def unit_key(unit: str) -> str:
    """Units that count the same thing: a tally of missiles fired is a tally of launches."""
    return _SAME_COUNT.get(unit, unit)


def _same_figure(a: Quantity, b: Quantity, params: JudgeParams) -> bool:
    """Same value and, for ranges, the same upper bound ("4-6 million" is not "6 million")."""
    a_high = a.high if a.high is not None else a.value
    b_high = b.high if b.high is not None else b.value
    return _q_equal(a.value, b.value, params) and _q_equal(a_high, b_high, params)


def compare_quantities(
    claim: Attributes,
    cand: Attributes,
    params: JudgeParams,
    *,
    text: str = "",
    cand_text: str = "",
) -> tuple[int, list[Change]]:
    """How many of the claim's figures the stored claim gives too, and which it gives otherwise.

    A figure that is not the same quantity is no change: values too far apart, what came back
    against what was sent, casualties against troops sent. When one figure of a unit agrees,
    the claim lists items ("170mm guns and 240mm launchers"), so the others are no change either.
    """
    agree = 0
    agreed_units: set[str] = set()
    pending: list[tuple[Quantity, Quantity]] = []
    for q in claim.quantities:
        same_unit = [
            c
            for c in cand.quantities
            if unit_key(c.unit) == unit_key(q.unit)
            and _same_quantity(q, c, text, cand_text, params)
        ]
        if not same_unit:
            continue
        if any(_same_figure(q, c, params) for c in same_unit):
            agree += 1
            agreed_units.add(unit_key(q.unit))
            continue
        old = min(
            same_unit, key=lambda c: abs(math.log((abs(c.value) + 1e-9) / (abs(q.value) + 1e-9)))
        )
        pending.append((q, old))
    changes = [
        Change(what=q.unit, old=_fmt_q(old), new=_fmt_q(q))
        for q, old in pending
        if unit_key(q.unit) not in agreed_units
    ]
    return agree, changes


# What a side got in return is not what it sent.
_RECEIPT = re.compile(r"(?i)\b(?:received|receiving|receives|in\s+return|obtained|imported)\b")
# A rate ("three million shells a year") is not a running total.
_RATE = re.compile(
    r"(?i)\b(?:a|per|each|every)\s+(?:year|month|week|day)\b|\b(?:annually|monthly)\b"
)
_CASUALTY = re.compile(r"(?i)\b(?:killed|wounded|injured|dead|deaths?|casualt\w*|toll)\b")


def _same_quantity(
    q: Quantity, c: Quantity, text: str, cand_text: str, params: JudgeParams
) -> bool:
    """Whether two figures of one unit can be values of the same quantity."""
    if unit_key(q.unit) in RUNNING_UNITS and _ratio(q, c) > params.series_max_ratio:
        return False  # "two captured soldiers" is not a new value of "11,000 troops"
    sources = {m.group(1).lower() for m in _FROM.finditer(text)}
    if (c.dest and c.dest in sources) or any(
        re.search(rf"(?i)\bto\s+(?:the\s+)?{re.escape(x)}\b", cand_text) for x in sources
    ):
        return False  # what came back from Russia is not what was sent to it
    if text and cand_text:
        kinds = (_CASUALTY, _RECEIPT, _RATE)
        return all(bool(r.search(text)) == bool(r.search(cand_text)) for r in kinds)
    return True


_SAME_COUNT = {"missiles": "tests"}
# Counted things whose figure runs on over months: a new value updates the old one.
RUNNING_UNITS = frozenset(
    [
        "containers",
        "rounds",
        "tests",
        "rockets",
        "troops",
        "casualties",
        "deaths",
        "shipments",
        "wagons",
        "launchers",
        "guns",
        "drones",
        "workers",
    ]
)
SERIES = "same running figure"
# Verbs of a one-off happening: on another date it is another happening.
_HAPPENING = re.compile(
    r"(?i)\b(?:launch(?:ed|es)?|fired|fires|test-fired|struck|strikes?|hit|attacked|attacks?"
    r"|visit(?:ed|s)?|met|meets|meeting|arrived|clash(?:ed|es)?|captured|shot\s+down"
    r"|exploded|landed|flew|toured|inspected|watched|oversaw|paraded)\b"
)


# Who an actor speaks or acts for: Kim and state media act for North Korea, the NIS for Seoul.
_SIDE = {
    "kim": "northkorea",
    "kimyojong": "northkorea",
    "statemedia": "northkorea",
    "sknis": "southkorea",
    "skdefence": "southkorea",
    "skunification": "southkorea",
    "yoon": "southkorea",
    "yonhap": "southkorea",
    "usofficials": "usa",
    "biden": "usa",
    "trump": "usa",
    "rudefence": "russia",
    "shoigu": "russia",
    "putin": "russia",
    "zelensky": "ukraine",
    "uaintel": "ukraine",
}


def actors_agree(mine: Sequence[str], theirs: Sequence[str]) -> bool:
    """Both name someone in common (or the same side), or one of them names no one."""
    if not mine or not theirs:
        return True
    return bool({_SIDE.get(a, a) for a in mine} & {_SIDE.get(a, a) for a in theirs})


def _ratio(a: Quantity, b: Quantity) -> float:
    lo, hi = sorted((max(abs(a.value), 1.0), max(abs(b.value), 1.0)))
    return hi / lo


_FROM = re.compile(r"(?i)\bfrom\s+(?:the\s+)?([a-z]+)")


def running_series(
    claim: Attributes,
    cand: Attributes,
    params: JudgeParams,
    *,
    text: str = "",
    cand_text: str = "",
) -> tuple[bool, Change | None] | None:
    """A running figure both claims give: (values agree, the change if not); None if none."""
    for q in claim.quantities:
        key = unit_key(q.unit)
        if key not in RUNNING_UNITS:
            continue
        for c in cand.quantities:
            if unit_key(c.unit) != key or not _same_quantity(q, c, text, cand_text, params):
                continue
            if (q.obj and c.obj and q.obj != c.obj) or (q.dest and c.dest and q.dest != c.dest):
                continue
            if _same_figure(q, c, params):
                return True, None
            return False, Change(what=q.unit, old=_fmt_q(c), new=_fmt_q(q))
    return None


def _gap_days(a_start: date, a_end: date, b_start: date, b_end: date) -> int:
    if a_start <= b_end and b_start <= a_end:
        return 0
    return abs((a_start - b_start).days)


def _shift_year(d: date, year: int) -> date:
    try:
        return d.replace(year=year)
    except ValueError:  # 29 February
        return d.replace(year=year, day=28)


def _near_stories(claim: Attributes, cand: Attributes, params: JudgeParams) -> bool:
    """Two stories close enough that their weekdays ("on Monday") name days of the same week."""
    if claim.story is None or cand.story is None:
        return False
    return abs((claim.story.published - cand.story.published).days) < params.weekday_window_days


def _is_baseline(ref: DateRef, attrs: Attributes) -> bool:
    """A date that only starts a running count ("since July") says nothing about when."""
    return any(q.since and ref.text in q.since for q in attrs.quantities)


_SPEECH_DATE = re.compile(
    r"(?i)\b(?:said|says|told(?:\s+\w+){0,2}?|announced|reported|stated|added|wrote|confirmed"
    r"|disclosed|estimated|briefing|statement|report(?:ed)?\s+published|submitted(?:\s+\w+){0,3}?"
    r"|interview|(?:news|press)\s+conference)\s+(?:on\s+|in\s+|late\s+|early\s+)?"
    r"((?:last\s+)?(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday|yesterday|today"
    r"|week|month)|[A-Z][a-z]{2,8}\.?\s+\d{1,2}"
    r"|(?:January|February|March|April|May|June|July|August|September|October|November|December)"
    r"(?:\s+\d{4})?)"
)


def _when_said(text: str) -> set[str]:
    """Dates that say when something was said ("officials said Friday"), not when it happened."""
    return {m.group(1).lower() for m in _SPEECH_DATE.finditer(text)}


def _happening_dates(attrs: Attributes, text: str) -> list[DateRef]:
    said = _when_said(text)
    return [d for d in attrs.dates if not _is_baseline(d, attrs) and d.text.lower() not in said]


def _another_happening(
    ref: DateRef, gap: int, claim: Attributes, *, text: str, cand: Candidate, params: JudgeParams
) -> bool:
    """A dated one-off happening that cannot be the stored one: it came after the stored report
    was published, or it is a launch, strike or visit on a clearly different day."""
    story = claim.story
    if story is None or ref.end > story.published + timedelta(days=1):
        return False  # a lone claim, or a scheduled (future) happening: dates may move
    if cand.published is not None and ref.start > cand.published.date() + timedelta(days=1):
        return True
    return gap > params.happening_gap_days and _HAPPENING.search(text) is not None


def _after_report(ref: DateRef, claim: Attributes, cand: Candidate) -> bool:
    """A past date of the claim's story ("on Thursday") that falls after the stored claim was
    published: whatever the wording, the stored report cannot have told of it."""
    story = claim.story
    if story is None or cand.published is None:
        return False
    if ref.end > story.published + timedelta(days=1):
        return False  # a scheduled happening: its date may move
    # a weekday is read as the latest one before the story; writers are not always that exact
    return ref.start > cand.published.date() + timedelta(days=7)


def compare_dates(
    claim: Attributes,
    cand: Candidate,
    cand_attrs: Attributes,
    params: JudgeParams,
    text: str = "",
) -> tuple[DateOutcome, list[Change]]:
    """Compare only what the claim states: its years if given, else its calendar days.

    Relative dates ("on Monday") count only for claims read from a story, whose publication
    date resolves them; a typed-in claim's "Monday" means nothing against the stored one.
    """
    outcome: DateOutcome = "none"
    changes: list[Change] = []
    rank = {"none": 0, "agree": 1, "shift": 2, "far": 3}
    others = _happening_dates(cand_attrs, cand.text)
    for ref in _happening_dates(claim, text):
        kind = date_explicitness(ref)
        if kind == "relative":
            if not _near_stories(claim, cand_attrs, params):
                if _after_report(ref, claim, cand):
                    outcome = "far"  # "on Thursday" in a later story: after the stored report
                continue
            kind = "absolute"
        best: tuple[int, DateRef] | None = None
        for other in others:
            if kind == "absolute":
                gap = _gap_days(ref.start, ref.end, other.start, other.end)
            else:
                gap = min(
                    _gap_days(
                        _shift_year(ref.start, y),
                        _shift_year(ref.end, y + (ref.end.year - ref.start.year)),
                        other.start,
                        other.end,
                    )
                    for y in (other.start.year - 1, other.start.year, other.start.year + 1)
                )
            if best is None or gap < best[0]:
                best = (gap, other)
        this: DateOutcome
        if best is None:
            published = cand.published.date() if cand.published is not None else None
            if (
                kind == "absolute"
                and published is not None
                and ref.start > published + timedelta(days=params.published_slack_days)
            ):
                this = "far"  # the claim's event is after the stored article was written
            else:
                continue
        elif best[0] == 0:
            this = "agree"
        elif _another_happening(ref, best[0], claim, text=text, cand=cand, params=params):
            this = "far"
        elif best[0] <= params.date_shift_days and (
            ref.precision == best[1].precision or ref.precision == "day"
        ):
            this = "shift"
            changes.append(Change(what="date", old=best[1].text, new=ref.text))
        else:
            this = "far"
        if rank[this] > rank[outcome]:
            outcome = this
    if outcome == "far":
        changes = []
    return outcome, changes


def weapon_conflict(mine: Sequence[str], theirs: Sequence[str], generic: set[str]) -> bool:
    """The claim names a specific weapon the candidate, which does talk weapons, never names."""
    specific = {w for w in mine if w not in generic}
    return bool(specific) and bool(theirs) and not (specific & set(theirs))


def conflict(mine: Sequence[str], theirs: Sequence[str], ignore: set[str]) -> bool:
    a = {x for x in mine if x not in ignore}
    b = {x for x in theirs if x not in ignore}
    return bool(a) and bool(b) and not (a & b)


_ANAPHORA = re.compile(
    r"(?i)\bthe\s+(?:launch|test|firing|strike|attack|drill|exercise|visit|trip|meeting|summit"
    r"|talks|parade|event|ceremony|inspection|tour|missile|rocket|satellite|weapon|clash)"
    r"(?=\s*[,.;:]|\s+(?:was|were|is|had|has|on|in|at|from|of|and|took|came|went|flew)\b)"
)


def _generic(claim: ExtractedClaim, generic_weapons: set[str]) -> bool:
    """A sentence about its story's happening that names nothing of its own to tell it apart."""
    a = claim.attrs
    if a.places or a.quantities or {w for w in a.weapons if w not in generic_weapons}:
        return False
    if any(date_explicitness(d) != "relative" for d in a.dates):
        return False
    return bool(_ANAPHORA.search(claim.text) or _HAPPENING.search(claim.text))


def other_happening(
    claim: ExtractedClaim, cand: Attributes, generic_weapons: set[str], params: JudgeParams
) -> bool:
    """A generic claim against a stored claim from a story about another happening."""
    mine, theirs = claim.attrs.story, cand.story
    if mine is None or theirs is None or not _generic(claim, generic_weapons):
        return False
    if abs((mine.published - theirs.published).days) > params.context_days:
        return True
    return weapon_conflict(mine.weapons, theirs.weapons, generic_weapons)
