"""Figures in a sentence: a number with what it counts, its hedge, its range and its baseline.

Pure functions over one sentence. News states a running figure in many shapes: "about 6,700
containers of munitions", "13,000 sea containers", "the number of containers ... is about 5,000",
"tens of thousands of troops", "between 3,000 and 5,000 rounds", "$1.5 billion", "since
mid-2022". Each becomes a :class:`Quantity` whose unit is one of a small set of general counted
things (plain English nouns, not words taken from any one article), so that two reports of the
same running figure compare on unit, object, destination and baseline.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from bot.claims import figure_words as fw
from bot.claims.number_reading import Num, Tok, number_at, tokenize, word_at
from bot.claims.types import Quantity

__all__ = ["figures", "format_figure", "format_number"]


def _is_excluded(toks: list[Tok], num: Num) -> bool:
    """Numbers that are names or dates: "Hwasong-19", "No. 3", "August 21", "21 August"."""
    i = num.start
    prev, prev2 = word_at(toks, i - 1), word_at(toks, i - 2)
    if prev == "-" and i >= 2 and toks[i - 1].start == toks[i - 2].end:
        return toks[i - 2].kind == "word"  # a model name, or a year ("mid-2022")
    if prev in ("no", "number", "resolution", "article", "#", "pm", "am") or prev in fw.MONTHS:
        return True
    nxt = word_at(toks, num.end)
    if nxt in fw.MONTHS or nxt == ":":
        return True
    if prev in fw.DETERMINERS and toks[i].kind == "word" and num.value < 20:
        return True  # "the two countries", "its three leaders": a reference, not a count
    return prev == "." and prev2 in fw.MONTHS


def _range_after(toks: list[Tok], num: Num, between: bool) -> Num:
    """Widen ``num`` into a range: "10,000-12,000", "3 to 5 million", "between 3,000 and 5,000"."""
    j = num.end
    joiner = word_at(toks, j)
    allowed = ("and",) if between else ("-", "to", "or")
    if joiner not in allowed or j + 1 >= len(toks):
        return num
    if joiner == "to" and word_at(toks, num.start - 1) == "from":
        return num  # "rose from 1,000 to 5,000": two figures, not a range
    other = number_at(toks, j + 1)
    if other is None or other.year_like != num.year_like or other.vague or num.vague:
        return num
    lo, hi = num.value, other.value
    if hi > lo and num.end == num.start + 1 and other.end > other.start + 1:
        # "3 to 5 million": the first number borrows the second's scale
        scale = other.value / (toks[other.start].value or other.value or 1)
        if toks[other.start].value is not None and lo * scale <= hi:
            lo *= scale
    if hi <= lo:
        return num
    return Num(num.start, other.end, lo, lo, hi, unit=num.unit or other.unit)


# ------------------------------------------------------------------------------ units


def _unit_word(toks: list[Tok], k: int) -> tuple[str, int] | None:
    """The canonical unit a word (or word pair) at ``k`` names, and the index of its last word."""
    pair = (word_at(toks, k), word_at(toks, k + 1))
    if pair in fw.UNIT_PAIRS:
        return fw.UNIT_PAIRS[pair], k + 1
    unit = fw.UNIT_OF.get(word_at(toks, k))
    return (unit, k) if unit else None


def _head_after(toks: list[Tok], j: int, num: Num) -> tuple[str, int, list[int]] | None:
    """The counted noun after a number: (unit, index of its last word, modifier indices)."""
    j = _skip_calibre(toks, j)
    if word_at(toks, j) == "-":
        j += 1  # "240-millimetre", "20-percent"
    measure = _unit_word(toks, j)
    if measure is not None and measure[0] in fw.MEASURES:
        return measure[0], measure[1], []  # "a 240-millimetre launcher" measures, not counts
    if word_at(toks, j) == "of" and (num.vague or num.value >= 10):
        j += 1  # "thousands of troops", "12,000 of its soldiers"
        while word_at(toks, j) in fw.DETERMINERS:
            j += 1
    mods: list[int] = []
    head: tuple[str, int] | None = None
    k = j
    while k < len(toks) and len(mods) <= 3:
        tok = toks[k]
        if tok.kind != "word" or tok.lower in fw.STOP:
            if tok.lower == "-" and head is None and word_at(toks, k + 1):
                k += 1  # "long-range missiles"
                continue
            break
        found = _unit_word(toks, k)
        if found is not None:
            if not (head is not None and head[0] in fw.FIRED and found[0] == "tests"):
                head = found  # "artillery shells": the last unit noun of the run is the head
            # but "missile tests" and "rocket launches" count what was fired, as news uses them
            k = found[1] + 1
            continue
        if head is not None:
            break
        if tok.lower.endswith("ing") and not (num.value >= 10 and _unit_soon(toks, k + 1)):
            break  # "one producing shells": a clause; "13,000 shipping containers": a modifier
        mods.append(k)
        k += 1
    if head is not None:
        if head[0] in ("troops", "people", "workers") and _casualty_after(toks, head[1] + 1):
            return "casualties", head[1], mods  # "300 soldiers have been killed"
        return head[0], head[1], mods
    for m in mods:  # an unlisted plural noun still names what is counted: "40 warplanes"
        if fw.PLURAL_RE.match(toks[m].lower) and toks[m].text[0].islower():
            return toks[m].lower, m, mods[: mods.index(m)]
    return None


def _skip_calibre(toks: list[Tok], j: int) -> int:
    """Past a calibre right after a count: "three million 152-millimetre shells", "20 240mm"."""
    if j >= len(toks) or toks[j].kind != "num":
        return j
    suffix = toks[j].suffix
    if suffix and (fw.ATTACHED.get(suffix) or fw.UNIT_OF.get(suffix)) in fw.LENGTHS:
        return j + 1
    k = j + 2 if word_at(toks, j + 1) == "-" else j + 1
    measure = _unit_word(toks, k)
    if measure is not None and measure[0] in fw.LENGTHS:
        return measure[1] + 1
    return j


def _unit_soon(toks: list[Tok], k: int) -> bool:
    """Whether a unit noun follows within two plain words (a modifier run, not a clause)."""
    for j in (k, k + 1):
        if toks[j].kind != "word" if j < len(toks) else True:
            return False
        if toks[j].lower in fw.STOP:
            return False
        if _unit_word(toks, j) is not None:
            return True
    return False


def _casualty_after(toks: list[Tok], k: int) -> bool:
    """Whether the words after a count of people say they were killed or wounded."""
    while word_at(toks, k) in ("have", "has", "had", "been", "were", "was", "are", "reportedly"):
        k += 1
    return word_at(toks, k) in fw.HARMED


def _head_before(toks: list[Tok], qual_start: int) -> tuple[str, int] | None:
    """A figure stated after a link ("the number of containers ... is about 5,000")."""
    k = qual_start - 1
    if word_at(toks, k) not in fw.LINKS:
        return None
    while k >= 0:
        found = _unit_word(toks, k)
        if found is not None and toks[k].kind == "word" and found[0] not in fw.DURATIONS:
            return found  # "last week, ... put the number at 3,000" counts no weeks
        if toks[k].lower in (";", ":"):
            return None
        k -= 1
    return None


def _object_after(toks: list[Tok], k: int, unit: str) -> str:
    """What the counted things hold: "containers of munitions" -> "munitions"."""
    if word_at(toks, k + 1) != "of":
        return ""
    j = k + 2
    words: list[str] = []
    while j < len(toks) and len(words) < 3:
        w = word_at(toks, j)
        if toks[j].kind == "num" or w == "-" or fw.UNIT_OF.get(w) in fw.MEASURES:
            j += 1  # "rounds of 122 mm ammunition": the calibre is not the cargo
            continue
        if w == "and" and words:
            j += 1  # "containers of equipment and munitions"
            continue
        if toks[j].kind != "word" or w in fw.STOP or (words and fw.PARTICIPLE_RE.match(w)):
            break  # "containers of weapons sent to ...": the participle ends the phrase
        words.append(w)
        j += 1
    for w in words:  # a known cargo or counted thing names the object whatever its modifiers
        obj = fw.CARGO.get(w) or fw.UNIT_OF.get(w)
        if obj:
            return "" if obj == unit else obj
    return words[-1] if words else ""


def _dest(text: str) -> str:
    """Where the counted things went: "shipped ... to Russia's Kursk region" -> "russia"."""
    m = fw.TRANSFER_RE.search(text)
    if m is None:
        return ""
    words = m.group(1).split()
    if re.search(r"['’]s$", words[0]) or len(words) == 1 or words[1].lower() in fw.MONTHS:
        words = [re.sub(r"['’]s$", "", words[0])]
    name = " ".join(words).lower()
    if name.split()[0] in fw.MONTHS:
        return ""
    return fw.CAPITALS.get(name, name)


def _since(text: str) -> str:
    m = fw.SINCE_RE.search(text)
    if m is None:
        return ""
    part = (m.group(1) or "").lower().removeprefix("the ")
    what = " ".join(m.group(2).lower().split())
    if part in ("mid", "early", "late") and re.fullmatch(r"\d{4}", what):
        return f"since {part}-{what}"
    return " ".join(["since", *(p for p in (part, what) if p)])


# ------------------------------------------------------------------------------ figures


def _hedge(toks: list[Tok], text: str, num: Num) -> tuple[str, int]:
    """The qualifier before a number and the token index where the figure's text starts."""
    at = toks[num.start].start
    window = max(0, at - 24)
    qm = fw.QUAL_RE.search(text[window:at])
    if qm is None:
        return "", num.start
    q_start = num.start
    while q_start > 0 and toks[q_start - 1].start >= window + qm.start():
        q_start -= 1
    return fw.QUAL_OF[qm.group(1).lower()], q_start


@dataclass(frozen=True, slots=True)
class _Found:
    q_start: int  # first token of the figure's text (its qualifier)
    num: Num
    unit: str
    qualifier: str
    head: int  # token index of the unit noun (before the number when named earlier)


def _read_figure(toks: list[Tok], text: str, num: Num) -> tuple[_Found, bool]:
    """Qualifier, range and unit around one number; the flag says whether a unit was found."""
    qualifier, q_start = _hedge(toks, text, num)
    num = _range_after(toks, num, between=qualifier == "between")
    if qualifier == "between":
        qualifier = ""
    if word_at(toks, num.end) == "or" and word_at(toks, num.end + 1) in ("more", "so"):
        qualifier = "at least" if word_at(toks, num.end + 1) == "more" else "about"
        num.end += 2
    elif word_at(toks, num.end) == "+":
        qualifier, num.end = "at least", num.end + 1
    unit, head = num.unit, num.end - 1
    if not unit:
        after = _head_after(toks, num.end, num)
        if after is not None and not (num.year_like and after[2]):
            unit, head = after[0], after[1]
    if not unit and not num.year_like:
        back = _head_before(toks, q_start)
        if back is not None:
            unit, head = back
    return _Found(q_start, num, unit, qualifier, head), bool(unit)


def figures(sentence: str) -> list[Quantity]:
    """Every counted figure of one sentence, in order of appearance."""
    text = unicodedata.normalize("NFKC", sentence).translate(fw.CHAR_MAP)
    toks = tokenize(text)
    found: list[_Found] = []
    pending: list[_Found] = []  # bare numbers that may share the next figure's unit
    i = 0
    while i < len(toks):
        num = number_at(toks, i)
        if num is None or _is_excluded(toks, num):
            i += 1
            continue
        fig, has_unit = _read_figure(toks, text, num)
        i = max(fig.num.end, fig.head + 1)
        if _skip_calibre(toks, fig.num.end) != fig.num.end:
            i = fig.num.end  # the calibre ("152mm") is a figure of its own too
        if not has_unit:
            if not fig.num.year_like:
                pending.append(fig)
            continue
        # "from 1,000 to 5,000 containers": bare numbers joined to this one share its unit
        for p in pending:
            gap = {word_at(toks, k) for k in range(p.num.end, fig.q_start)}
            if gap and gap <= {"to", "or", "and", ",", "from", "then"}:
                found.append(_Found(p.q_start, p.num, fig.unit, p.qualifier, p.num.end - 1))
        pending = []
        found.append(fig)
    since, dest = _since(text), _dest(text)
    out: list[Quantity] = []
    for fig in sorted(found, key=lambda f: f.q_start):
        last = max(fig.head, fig.num.end - 1)
        counted = fig.unit not in fw.LENGTHS
        out.append(
            Quantity(
                value=fig.num.value,
                unit=fig.unit,
                text=text[toks[fig.q_start].start : toks[last].end],
                low=fig.num.low,
                high=fig.num.high,
                qualifier=fig.qualifier,
                obj=_object_after(toks, fig.head, fig.unit) or _modifier_cargo(toks, fig),
                dest=dest if counted else "",
                since=since if counted else "",
            )
        )
    return out


def _modifier_cargo(toks: list[Tok], fig: _Found) -> str:
    """Cargo named before the unit: "6,700 munitions containers"."""
    for k in range(fig.num.end, fig.head):
        cargo = fw.CARGO.get(word_at(toks, k))
        if cargo:
            return cargo
    return ""


# ------------------------------------------------------------------------------ display


def format_number(value: float) -> str:
    """1000 -> "1,000"; 1500000 -> "1.5 million"; 2.5 -> "2.5"."""
    if abs(value) >= 10**6 and value % 10**5 == 0:
        for name, scale in (("billion", 10**9), ("million", 10**6)):
            if abs(value) >= scale:
                return f"{value / scale:g} {name}"
    if value == int(value):
        return f"{int(value):,}"
    return f"{value:,.2f}".rstrip("0").rstrip(".")


def format_figure(q: Quantity, *, unit: bool = False) -> str:
    """A figure as a reader writes it: "about 5,000", "10,000–12,000", "more than 1 million"."""
    if q.is_range and q.low is not None and q.high is not None:
        body = f"{format_number(q.low)}–{format_number(q.high)}"
    else:
        body = format_number(q.value)
    if q.unit == "usd":
        body = f"${body}"
    elif q.unit == "percent":
        body = f"{body}%"
    parts = [q.qualifier, body] if q.qualifier else [body]
    if unit and q.unit not in ("usd", "percent"):
        parts.append(q.unit)
    return " ".join(parts)
