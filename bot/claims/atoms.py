"""Atomic facts: a sentence that carries several facts is split into units judged one by one.

News sentences coordinate facts ("X said that A, and that B"; "A, while B"; "A; B"). Judged
whole, a known fact hides a new one beside it, or the reverse. Each unit keeps the sentence's
attribution ("..., officials said") so it still reads as a report and still says who said it.
Pure string functions; no parser, so a split happens only where both sides are clauses.
"""

from __future__ import annotations

import re

__all__ = ["fact_units"]

_MIN_WORDS = 5  # each side of a split must be a clause, not a list item
_WORD = re.compile(r"[A-Za-z0-9][\w'’-]*")
_SPEECH = (
    r"(?:said|says|say|told\s+[\w\s'’.-]{2,40}?|reported|reports|announced|added|noted|stated"
    r"|estimated|estimates|believes?|assessed|assesses|claimed|claims|confirmed|revealed"
    r"|disclosed|warned|explained|wrote|showed|shows)"
)
# "Seoul's spy agency said on Wednesday that " — the lead attribution, up to its "that".
_LEAD = re.compile(rf"^([^,;]{{3,100}}?\b{_SPEECH}\b[^,;\"“”]{{0,40}}?\bthat\s+)(.+)$", re.DOTALL)
_AND_THAT = re.compile(r",?\s+and\s+(?:also\s+)?that\s+")
# ", officials said." / ", according to the ministry." — the trailing attribution.
_TRAIL = re.compile(
    rf",\s+((?:according\s+to\s+[^,;]{{3,80}})|(?:[^,;]{{2,80}}?\s{_SPEECH}(?:\s+on\s+\w+)?))"
    r"\s*([.!]?[\"”’']?)$"
)
# Clause joints: "; ", ", while ", ", whereas ", ", but ", ", and " before a new subject.
_JOINT = re.compile(
    r";\s+|,\s+(?:while|whereas|but|and)\s+"
    r"|\s+(?:and|but)\s+(?=(?:has|have|had|is|was|will|also)\s)"
)
_OWN_ATTRIBUTION = re.compile(rf"^[^,]{{0,60}}?\b{_SPEECH}\b")
_FINITE = re.compile(  # lower-case only: "United" is not a past tense
    r"\b(?:is|are|was|were|has|have|had|will|would|could|can|may|might|did|does|do|said"
    r"|says|[a-z]{3,}ed|flew|sent|sold|made|built|hit|struck|began|took|held|met|went|saw|told"
    r"|gave|shot|fell|rose|left|came|became|kept|brought|bought|drew|won|lost|found|spent|led"
    r"|ran|grew|threw|wrote|chose|fought|sought|knew|shows|plans|remains|continues|appears)\b"
)
_NOT_SUBJECT_START = re.compile(
    r"(?i)^(?:to|of|in|on|at|by|for|with|from|as|than|then|also|so|not|its|their|his|her"
    r"|has|have|had|is|are|was|were|will|would|could|can|may|might"
    r"|[a-z]+(?:ed|ing|ly))\b"
)


def _words(text: str) -> int:
    return len(_WORD.findall(text))


def _close(text: str, end: str = ".") -> str:
    text = text.strip().rstrip(",;:")
    if text.endswith((".", "!", "”", '"', "’", "'")):
        return text
    return text + end


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def _is_clause(text: str) -> bool:
    """A piece that can stand as a sentence: long enough, a subject-like start, a finite verb."""
    if _words(text) < _MIN_WORDS or _NOT_SUBJECT_START.match(text.strip()):
        return False
    head = " ".join(_WORD.findall(text)[:10])
    return _FINITE.search(head) is not None


_VERB_START = re.compile(
    r"(?i)^(?:has|have|had|is|are|was|were|will|would|also\s+\w+|[a-z]{3,}ed)\s+\w+"
)


def _subject(clause: str) -> str | None:
    """The words before a clause's first finite verb, if they are few enough to be its subject."""
    m = _FINITE.search(clause)
    if m is None:
        return None
    subject = clause[: m.start()].strip()
    return subject if 1 <= _words(subject) <= 6 and "," not in subject else None


def _shared_subject(left: str, right: str) -> str | None:
    """'X has accused Y, and has warned Z': the second verb phrase with X as its subject."""
    if _words(right) < _MIN_WORDS - 1 or not _VERB_START.match(right.strip()):
        return None
    subject = _subject(left)
    return f"{subject} {right.strip()}" if subject else None


def _split_joints(body: str) -> list[str]:
    """Split at clause joints where both sides are clauses; otherwise keep the text whole."""
    pieces: list[str] = []
    rest = body
    while True:
        cut = None
        for m in _JOINT.finditer(rest):
            left, right = rest[: m.start()], rest[m.end() :]
            if not _is_clause(left):
                continue
            if _is_clause(right):
                cut = (left, right)
                break
            if m.group(0).strip(" ,") in ("and", "but"):
                shared = _shared_subject(left, right)
                if shared is not None:
                    pieces.append(left)
                    pieces.append(shared)
                    return pieces
        if cut is None:
            pieces.append(rest)
            return pieces
        pieces.append(cut[0])
        rest = cut[1]


def fact_units(sentence: str) -> list[str]:
    """The facts of one sentence as stand-alone texts (the sentence itself when it holds one)."""
    text = sentence.strip()
    if _words(text) < 2 * _MIN_WORDS:
        return [text]
    trail = ""
    end = "."
    m = _TRAIL.search(text)
    if m is not None and _words(m.group(1)) <= 12:
        trail = m.group(1)
        end = m.group(2) or "."
        text = text[: m.start()]
    lead = ""
    lm = _LEAD.match(text)
    if lm is not None:
        lead, body = lm.group(1), lm.group(2)
        parts = [p for p in _AND_THAT.split(body) if p.strip()]
        if len(parts) > 1 and any(_words(p) < _MIN_WORDS for p in parts):
            parts = [body]
    else:
        body = text
        parts = [body]
    units: list[str] = []
    for part in parts:
        units.extend(_split_joints(part))
    if len(units) <= 1:
        return [sentence.strip()]
    out: list[str] = []
    for unit in units:
        core = unit.strip().rstrip(",;")
        own = _OWN_ATTRIBUTION.match(core) is not None
        piece = lead + core if lead and not own else _capital(core)
        if trail:
            piece = f"{piece}, {trail}"
        out.append(_close(piece, end if end in ".!" else "."))
    return out
