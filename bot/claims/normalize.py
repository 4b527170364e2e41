"""Token normalisation shared by the judge and retrieval (index and query use the same function).

``normalize_tokens(text, lexicon)`` lower-cases, fixes British spellings, stems (Snowball English),
folds lexicon aliases to one token per entity ("multiple-launch rocket system" -> ``mrl``,
"Pyongyang" -> ``northkorea``), folds synonym groups ("warfare" -> ``war``), turns numbers into
digits ("three million" -> ``3000000``, "6,700" -> ``6700``, "240-millimetre" -> ``240mm``) and
drops stopwords. Every token is ``[a-z0-9]+`` so any full-text tokenizer keeps it whole.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import snowballstemmer

from bot.claims.word_lists import ISE_EXCEPTIONS, OUR_EXCEPTIONS, STOPWORDS

if TYPE_CHECKING:
    from bot.claims.lexicon import Entry, Lexicon

__all__ = ["Token", "analyze", "normalize_tokens", "prepare", "raw_words", "word_key"]

_WORD_RE = re.compile(r"[a-z]+\d+[a-z]*|\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?|[a-z]+")
# Model designations ("Hwasong-19", "BM-21", "S-400") are names, not counts: keep them whole.
_MODEL_RE = re.compile(r"\b([A-Za-z]{1,12})-(\d{1,4})\b(?!-)")
_MEASURE_UNITS = frozenset({"mm", "km", "m", "kg", "t", "mi"})

# Case-sensitive rewrites that lower-casing would make ambiguous ("US" vs "us").
_CASE_REWRITES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\bU\.S\.(?:A\.)?(?=[^A-Za-z]|$)"), "United States"),
    (re.compile(r"\bUS(?:A)?\b"), "United States"),
    (re.compile(r"\bU\.N\.(?=[^A-Za-z]|$)"), "United Nations"),
    (re.compile(r"\bUN\b"), "United Nations"),
    (re.compile(r"\bU\.K\.(?=[^A-Za-z]|$)|\bUK\b"), "Britain"),
)
_CHAR_MAP = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u2013": "-",
        "\u2014": "-",
        "\u00a0": " ",
    }
)

_ISE_RE = re.compile(r"^(\w{3,}[^aeiou\W])is(e|es|ed|ing|ation|ations)$")
_OUR_RE = re.compile(r"^(\w{2,}[^o\W])our(s|ed|ing|able|ite|ites)?$")

_STEMMERS = threading.local()  # a snowball stemmer keeps its word in itself: one per thread


def _stemmer() -> Any:
    stemmer = getattr(_STEMMERS, "english", None)
    if stemmer is None:
        stemmer = _STEMMERS.english = snowballstemmer.stemmer("english")
    return stemmer


def prepare(text: str) -> str:
    """Unicode-fold and rewrite case-sensitive abbreviations; keeps the text readable."""
    text = unicodedata.normalize("NFKC", text).translate(_CHAR_MAP)
    for pattern, repl in _CASE_REWRITES:
        text = pattern.sub(repl, text)
    return _MODEL_RE.sub(r"\1\2", text)


def raw_words(text: str) -> list[str]:
    """Lower-cased words and numbers, hyphens and apostrophes split ("jong-un" -> jong, un)."""
    return [m.group(0).replace(",", "") for m in _WORD_RE.finditer(prepare(text).lower())]


def _american(word: str, spelling: Mapping[str, str]) -> str:
    fixed = spelling.get(word)
    if fixed is not None:
        return fixed
    if word not in ISE_EXCEPTIONS:
        m = _ISE_RE.match(word)
        if m:
            return f"{m.group(1)}iz{m.group(2)}"
    if word not in OUR_EXCEPTIONS:
        m = _OUR_RE.match(word)
        if m:
            return f"{m.group(1)}or{m.group(2) or ''}"
    return word


@lru_cache(maxsize=65536)
def _stem(word: str) -> str:
    return str(_stemmer().stemWord(word))


def word_key(word: str, spelling: Mapping[str, str] | None = None) -> str:
    """The comparable form of one lower-case word: American spelling, then Snowball stem."""
    if not word or word[0].isdigit():
        return word
    return _stem(_american(word, spelling or {}))


@dataclass(frozen=True, slots=True)
class Token:
    """One analysed token: ``key`` is what search and comparison use."""

    text: str  # surface form(s), lower-case
    key: str
    kind: str  # word | number | measure | actor | weapon | place | synonym | stop
    ident: str = ""  # entity id (actor/weapon/place), unit (measure)
    value: float | None = None  # numbers and measures


def _format_number(value: float) -> str:
    return str(int(value)) if value == int(value) else f"{value:g}"


def _numbers(words: list[str], lexicon: Lexicon) -> list[tuple[str, float | None, int]]:
    """Fold number words and digit strings: (surface, value or None, words consumed)."""
    out: list[tuple[str, float | None, int]] = []
    i = 0
    n = len(words)
    while i < n:
        w = words[i]
        value: float | None = None
        j = i
        if w[0].isdigit():
            value = float(w)
            j = i + 1
        elif w in lexicon.numbers:
            value = float(lexicon.numbers[w])
            j = i + 1
            # "twenty two", "twenty-two"
            if (
                value >= 20
                and j < n
                and words[j] in lexicon.numbers
                and lexicon.numbers[words[j]] < 10
            ):
                value += lexicon.numbers[words[j]]
                j += 1
        elif w in ("a", "an") and i + 1 < n and words[i + 1] in lexicon.multipliers:
            value = 1.0
            j = i + 1
        if value is None:
            out.append((w, None, 1))
            i += 1
            continue
        while j < n and words[j] in lexicon.multipliers:
            value *= lexicon.multipliers[words[j]]
            j += 1
        out.append((" ".join(words[i:j]), value, j - i))
        i = j
    return out


def analyze(text: str, lexicon: Lexicon) -> list[Token]:
    """Tokens of ``text`` with lexicon phrases folded; stopwords kept with kind ``stop``."""
    words = raw_words(text)
    folded = _numbers(words, lexicon)
    # (surface, key, value) after number folding
    items: list[tuple[str, str, float | None]] = []
    for surface, value, _ in folded:
        if value is not None:
            items.append((surface, _format_number(value), value))
        else:
            items.append((surface, word_key(surface, lexicon.spelling), None))

    tokens: list[Token] = []
    i = 0
    n = len(items)
    while i < n:
        surface, key, value = items[i]
        if value is not None:
            # a number followed by a measure unit becomes one token: 240 mm -> 240mm
            unit, used = _unit_at(items, i + 1, lexicon)
            if unit in _MEASURE_UNITS:
                text_ = " ".join(s for s, _, _ in items[i : i + 1 + used])
                tokens.append(Token(text_, f"{key}{unit}", "measure", unit, value))
                i += 1 + used
                continue
            tokens.append(Token(surface, key, "number", "", value))
            i += 1
            continue
        match = _phrase_at(items, i, lexicon)
        if match is not None and _overtaken(items, i, match[1], lexicon):
            match = None  # "the North Korean capital": the later, longer phrase wins
        if match is not None:
            entry, length = match
            text_ = " ".join(s for s, _, _ in items[i : i + length])
            if length == 1 and entry.kind == "synonym" and surface in STOPWORDS:
                tokens.append(Token(text_, key, "stop"))
            else:
                tokens.append(Token(text_, entry.token, entry.kind, entry.ident))
            i += length
            continue
        if surface in STOPWORDS or len(surface) < 2:
            tokens.append(Token(surface, key, "stop"))
        else:
            tokens.append(Token(surface, key, "word"))
        i += 1
    return tokens


def _phrase_at(
    items: list[tuple[str, str, float | None]], i: int, lexicon: Lexicon
) -> tuple[Entry, int] | None:
    """The longest lexicon phrase starting at ``items[i]``, and how many items it spans."""
    lengths = lexicon.starts.get(items[i][1])
    if lengths is None:
        return None
    for length in lengths:
        if i + length > len(items):
            continue
        span = items[i : i + length]
        if any(v is not None for _, _, v in span):
            continue
        entry = lexicon.lookup(tuple(k for _, k, _ in span))
        if entry is not None:
            return entry, length
    return None


def _overtaken(
    items: list[tuple[str, str, float | None]], i: int, length: int, lexicon: Lexicon
) -> bool:
    """A phrase starting inside this one reaches further, so this one only clips its start."""
    end = i + length
    for j in range(i + 1, end):
        later = _phrase_at(items, j, lexicon)
        if later is not None and j + later[1] > end:
            return True
    return False


def _unit_at(
    items: list[tuple[str, str, float | None]], i: int, lexicon: Lexicon
) -> tuple[str | None, int]:
    """The unit starting at ``items[i]`` (longest alias), and how many items it spans."""
    for length in range(min(lexicon.max_unit, len(items) - i), 0, -1):
        keys = tuple(k for _, k, _ in items[i : i + length])
        unit = lexicon.units.get(keys)
        if unit is not None:
            return unit, length
    return None, 0


def normalize_tokens(text: str, lexicon: Lexicon) -> list[str]:
    """Search tokens of ``text`` in order (duplicates kept); stable API for retrieval indexing."""
    out: list[str] = []
    for tok in analyze(text, lexicon):
        if tok.kind == "stop":
            continue
        if out and tok.kind in ("actor", "weapon", "place") and out[-1] == tok.key:
            continue  # "Russian Defense Minister Sergei Shoigu" -> one shoigu
        out.append(tok.key)
    return out
