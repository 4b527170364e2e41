"""Relevance of a story to North Korea's arms industry, from the topic lexicon in config/.

Pure: the lexicon is loaded once (``load_topics``) and scoring does no I/O. The score is the
geometric mean of a North Korea sum and an arms sum, so a story about missiles elsewhere, or about
North Korean football, stays low however often it repeats its one topic.
"""

from __future__ import annotations

import math
import re
import tomllib
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from bot.errors import ConfigError

GROUPS = ("north_korea", "arms")
_SEPARATORS = re.compile(r"[\s\-‐‑‒–—_/]+")
_APOSTROPHES = str.maketrans({"’": "'", "‘": "'", "`": "'"})
MAX_COUNT = 3  # occurrences of one term counted at most this often (sqrt-damped)
TITLE_BONUS = 1.0


class TopicsError(ConfigError, ValueError):
    """The topic lexicon is missing a group or has a malformed weight."""


@dataclass(frozen=True, slots=True)
class Topics:
    north_korea: Mapping[str, float]
    arms: Mapping[str, float]
    _patterns: tuple[re.Pattern[str], re.Pattern[str]]

    @classmethod
    def from_mapping(cls, data: Mapping[str, object]) -> Topics:
        groups: list[dict[str, float]] = []
        for name in GROUPS:
            raw = data.get(name)
            if not isinstance(raw, Mapping) or not raw:
                msg = f"topics: group [{name}] is missing or empty"
                raise TopicsError(msg)
            terms: dict[str, float] = {}
            for term, weight in raw.items():
                if not isinstance(weight, int | float) or isinstance(weight, bool) or weight < 0:
                    msg = f"topics: weight of {term!r} in [{name}] must be a number >= 0"
                    raise TopicsError(msg)
                key = normalise(str(term))
                if key:
                    terms[key] = float(weight)
            groups.append(terms)
        return cls(
            north_korea=groups[0],
            arms=groups[1],
            _patterns=(_pattern(groups[0]), _pattern(groups[1])),
        )

    def score(self, title: str, text: str) -> float:
        title_n = normalise(title)
        body_n = normalise(text)
        nk = _group_score(self._patterns[0], self.north_korea, title_n, body_n)
        arms = _group_score(self._patterns[1], self.arms, title_n, body_n)
        return round(math.sqrt(nk * arms), 3)


def load_topics(path: Path) -> Topics:
    with path.open("rb") as handle:
        return Topics.from_mapping(tomllib.load(handle))


def normalise(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).casefold().translate(_APOSTROPHES)
    return " " + _SEPARATORS.sub(" ", text).strip() + " "


def _pattern(terms: Mapping[str, float]) -> re.Pattern[str]:
    alternatives = sorted((t.strip() for t in terms), key=len, reverse=True)
    body = "|".join(re.escape(t) for t in alternatives)
    return re.compile(rf"(?<!\w)({body})(?!\w)")


def _group_score(
    pattern: re.Pattern[str], weights: Mapping[str, float], title: str, body: str
) -> float:
    counts: dict[str, int] = {}
    for match in pattern.finditer(body):
        counts[match.group(1)] = counts.get(match.group(1), 0) + 1
    in_title = {m.group(1) for m in pattern.finditer(title)}
    total = 0.0
    for term in set(counts) | in_title:
        weight = weights.get(" " + term + " ", 0.0)
        total += weight * math.sqrt(min(counts.get(term, 0), MAX_COUNT))
        if term in in_title:
            total += weight * TITLE_BONUS
    return total
