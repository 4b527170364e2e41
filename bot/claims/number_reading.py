"""Reading numbers in a sentence: digits with suffixes ("240mm", "$1.5bn", "5%") and numbers in
words ("three million", "twenty-two", "a dozen", "tens of thousands").

The figure reader (``bot.claims.figures``) works on these tokens and numbers to find what each
number counts.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.claims import figure_words as fw

__all__ = ["Num", "Tok", "number_at", "tokenize", "word_at"]


@dataclass(frozen=True, slots=True)
class Tok:
    """One token of a sentence, with its character span; numbers carry their value."""

    text: str
    lower: str
    kind: str  # num | word | punct
    start: int
    end: int
    value: float | None = None
    suffix: str = ""


def tokenize(text: str) -> list[Tok]:
    """A sentence as numbers (with any attached suffix), words and punctuation."""
    out: list[Tok] = []
    for m in fw.TOKEN_RE.finditer(text):
        if m.group("num"):
            digits = m.group("num")
            out.append(
                Tok(
                    m.group(0),
                    m.group(0).lower(),
                    "num",
                    m.start(),
                    m.end(),
                    float(digits.replace(",", "")),
                    (m.group("suf") or "").lower(),
                )
            )
        elif m.group("word"):
            out.append(Tok(m.group(0), m.group(0).lower(), "word", m.start(), m.end()))
        else:
            out.append(Tok(m.group(0), m.group(0), "punct", m.start(), m.end()))
    return out


def word_at(toks: list[Tok], i: int) -> str:
    """The lower-cased word at ``i`` (empty for a number or past either end)."""
    return toks[i].lower if 0 <= i < len(toks) and toks[i].kind != "num" else ""


# ------------------------------------------------------------------------------ numbers


@dataclass(slots=True)
class Num:
    """A number read from a token span: its value, or its range when vague."""

    start: int  # token index of the first token
    end: int  # token index past the last token
    value: float
    low: float | None = None
    high: float | None = None
    unit: str = ""  # set by a symbol or suffix: "$1.5bn", "240mm", "5%"
    year_like: bool = False
    vague: bool = False  # "thousands of": "of" belongs to the number


def _scale_after(toks: list[Tok], j: int) -> tuple[float, int]:
    """Multiply by scale words that follow ("1.5 million", "two hundred thousand")."""
    factor = 1.0
    while word_at(toks, j) in fw.SCALES:
        factor *= fw.SCALES[word_at(toks, j)]
        j += 1
    return factor, j


def _words_number(toks: list[Tok], i: int) -> Num | None:
    """A number spelled in words: "three million", "twenty-two", "a dozen", "tens of thousands"."""
    w = word_at(toks, i)
    if w in ("a", "an") and word_at(toks, i + 1) in (*fw.SCALES, "dozen"):
        factor = 12.0 if word_at(toks, i + 1) == "dozen" else fw.SCALES[word_at(toks, i + 1)]
        scale, j = _scale_after(toks, i + 2)
        return Num(i, j, factor * scale)
    if w == "half" and word_at(toks, i + 1) == "a" and word_at(toks, i + 2) in fw.SCALES:
        scale, j = _scale_after(toks, i + 2)
        return Num(i, j, 0.5 * scale)
    if w in fw.FEW or (w == "a" and word_at(toks, i + 1) in fw.FEW):
        k = i + 1 if w in fw.FEW else i + 2
        lo_f, hi_f = fw.FEW[word_at(toks, k - 1)]
        if word_at(toks, k) == "of":
            k += 1
        if word_at(toks, k) in ("dozen", *fw.SCALES):
            mag = 12.0 if word_at(toks, k) == "dozen" else float(fw.SCALES[word_at(toks, k)])
            scale, j = _scale_after(toks, k + 1)
            return Num(i, j, lo_f * mag * scale, lo_f * mag * scale, hi_f * mag * scale)
        return None
    if w in fw.VAGUE:
        lo_f, hi_f, mag = fw.VAGUE[w]
        lo, hi, j = lo_f * mag, hi_f * mag, i + 1
        # "tens of thousands": the tail multiplies, the head keeps its spread
        while word_at(toks, j) == "of" and word_at(toks, j + 1) in fw.VAGUE:
            tail = fw.VAGUE[word_at(toks, j + 1)][2]
            lo, hi, j = lo * tail, hi * tail, j + 2
        return Num(i, j, lo, lo, hi, vague=True)
    if w not in fw.SMALL and w != "dozen":
        return None
    total, current, j = 0.0, 0.0, i
    while True:
        w = word_at(toks, j)
        if w in fw.SMALL:
            current += fw.SMALL[w]
        elif w == "dozen":
            current = (current or 1) * 12
        elif w == "hundred":
            current = (current or 1) * 100
        elif w in fw.SCALES:
            total += (current or 1) * fw.SCALES[w]
            current = 0.0
        elif w == "-" and word_at(toks, j + 1) in fw.SMALL and j > i:
            pass  # "twenty-two"
        elif (
            w == "and" and word_at(toks, j - 1) in ("hundred", *fw.SCALES) and word_at(toks, j + 1)
        ):
            if word_at(toks, j + 1) not in fw.SMALL:
                break
        else:
            break
        j += 1
    if toks[j - 1].lower in ("-", "and"):
        j -= 1
    return Num(i, j, total + current)


def _digits_number(toks: list[Tok], i: int) -> Num | None:
    tok = toks[i]
    if tok.value is None:
        return None
    value, unit, suffix = tok.value, "", tok.suffix
    if suffix in ("st", "nd", "rd", "th"):
        return None  # "70th anniversary"
    if suffix in fw.SHORT_SCALES:
        value *= fw.SHORT_SCALES[suffix]
    elif suffix == "m" and word_at(toks, i - 1) == "$":
        value *= 10**6
    elif suffix in fw.ATTACHED or suffix in fw.UNIT_OF:
        unit = fw.ATTACHED.get(suffix) or fw.UNIT_OF[suffix]
    elif suffix:
        return None  # "3D", "5G": names, not counts
    scale, j = _scale_after(toks, i + 1)
    value *= scale
    start = i
    if word_at(toks, i - 1) == "$":
        unit, start = "usd", i - 1
    if word_at(toks, j) == "%":
        unit, j = "percent", j + 1
    year_like = (
        not suffix
        and "," not in tok.text
        and scale == 1
        and value == int(value)
        and fw.YEAR_MIN <= value <= fw.YEAR_MAX
    )
    return Num(start, j, value, unit=unit, year_like=year_like)


def number_at(toks: list[Tok], i: int) -> Num | None:
    """The number starting at token ``i``, in digits or in words, if there is one."""
    if toks[i].kind == "num":
        return _digits_number(toks, i)
    if toks[i].kind == "word":
        return _words_number(toks, i)
    return None
