"""Finding dates in a sentence and resolving them against the story's publication date.

News writes "on Tuesday", "last month" or "August 21 to 24" far more often than a full date,
so each form is resolved relative to when the story was published.
"""

from __future__ import annotations

import re
from calendar import monthrange
from datetime import date, datetime, timedelta
from typing import Literal

from dateutil.relativedelta import relativedelta

from bot.claims.types import DateRef, Precision

__all__ = ["date_explicitness", "find_dates"]

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


def find_dates(sentence: str, published: datetime) -> list[DateRef]:
    """The dates a sentence states, resolved against its publication, in reading order."""
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
