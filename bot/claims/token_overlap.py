"""How much two claims' wording overlaps: weighted token coverage, fuzzy credit for spelling
slips, and a stored claim's main clause restated inside a longer claim.

The judge fuses this lexical similarity with the semantic cosine; ``TokenSets`` memoises the
tokens so a stored claim is tokenised once, not on every verdict it takes part in.
"""

from __future__ import annotations

import math
import re
import sys
from collections import Counter
from collections.abc import Sequence
from collections.abc import Set as AbstractSet
from typing import TYPE_CHECKING

from rapidfuzz import fuzz

from bot.claims.normalize import normalize_tokens
from bot.claims.word_lists import NOT_VERB_ING

if TYPE_CHECKING:
    from bot.claims.judge import JudgeParams
    from bot.claims.lexicon import Lexicon

__all__ = [
    "TokenSets",
    "coverage",
    "lexical_similarity",
    "main_clause",
    "pool_weights",
    "restated_credit",
]


class TokenSets:
    """Tokens of texts, memoised: the sequence (for the index), the set, the main clause's set.

    Stored claims come back as candidates again and again; one engine keeps one of these, fed by
    its index as claims are added, so a candidate is tokenised once, not on every verdict it
    takes part in. Past ``limit`` texts the memo starts over.
    """

    def __init__(self, lexicon: Lexicon, *, limit: int = 1_200_000) -> None:
        self.lexicon = lexicon
        self.limit = limit
        # text -> (tokens, how many of them the main clause has; -1 until asked)
        self._memo: dict[str, tuple[tuple[str, ...], int]] = {}

    def __len__(self) -> int:
        return len(self._memo)

    def _tokens(self, text: str) -> tuple[str, ...]:
        hit = self._memo.get(text)
        if hit is not None:
            return hit[0]
        if len(self._memo) >= self.limit:
            self._memo.clear()  # a burst of misses costs one re-tokenisation each, no more
        tokens = tuple(sys.intern(t) for t in normalize_tokens(text, self.lexicon))
        self._memo[text] = (tokens, -1)
        return tokens

    def sequence(self, text: str) -> list[str]:
        return list(self._tokens(text))

    def whole(self, text: str) -> frozenset[str]:
        return frozenset(self._tokens(text))

    def core(self, text: str) -> frozenset[str]:
        """The main clause's tokens: a prefix of the whole sentence's."""
        tokens = self._tokens(text)  # the entry is in the memo from here on
        size = self._memo[text][1]
        if size < 0:
            main = main_clause(text)
            size = (
                len(tokens) if len(main) == len(text) else len(normalize_tokens(main, self.lexicon))
            )
            self._memo[text] = (tokens, size)
        return frozenset(tokens[:size])


def pool_weights(
    claim_tokens: AbstractSet[str], pools: Sequence[AbstractSet[str]], params: JudgeParams
) -> dict[str, float]:
    """Pool IDF: a token shared by most candidates tells them apart less than a rare one.

    Figures weigh little here: whether they agree is the attribute comparison's business, and a
    changed figure must not hide that the rest of the sentence is the same fact.
    """
    n = len(pools)
    df: Counter[str] = Counter()
    for toks in pools:
        df.update(toks)
    vocab = set(claim_tokens).union(*pools) if pools else set(claim_tokens)
    return {
        t: math.log(1.0 + (n + 1.0) / (df[t] + 0.5))
        * (params.numeric_token_weight if t[:1].isdigit() else 1.0)
        for t in vocab
    }


def coverage(
    src: AbstractSet[str], dst: AbstractSet[str], weights: dict[str, float], params: JudgeParams
) -> float:
    total = sum(weights[t] for t in src)
    if total <= 0:
        return 0.0
    got = 0.0
    unmatched: list[str] = []
    for t in src:
        if t in dst:
            got += weights[t]
        else:
            unmatched.append(t)
    if unmatched and dst:
        others = [d for d in dst if len(d) >= 5 and not d.isdigit()]
        for t in unmatched:
            if len(t) < 5 or t[0].isdigit():
                continue
            best = max((fuzz.ratio(t, d) for d in others), default=0.0)
            if best >= params.fuzzy_min_ratio:
                got += weights[t] * params.fuzzy_credit
    return got / total


def lexical_similarity(
    claim_tokens: AbstractSet[str],
    cand_tokens: AbstractSet[str],
    weights: dict[str, float],
    params: JudgeParams,
) -> float:
    if not claim_tokens or not cand_tokens:
        return 0.0
    cq = coverage(claim_tokens, cand_tokens, weights, params)
    cd = coverage(cand_tokens, claim_tokens, weights, params)
    a = params.claim_coverage_weight
    return float((cq**a) * (cd ** (1.0 - a)))


# Where a sentence's main clause ends: a comma (or dash, semicolon) before a relative or
# subordinate clause, or before a participle ("…, reaffirming Moscow's partnership").
_CLAUSE_BREAK = re.compile(r"(?:[,;]|\s[—–]|\s--)\s+([a-z]+)\b")
_ADJUNCT_OPENERS = frozenset(
    [
        "which",
        "who",
        "whom",
        "whose",
        "where",
        "while",
        "whereas",
        "although",
        "though",
        "as",
        "after",
        "before",
        "when",
        "amid",
        "despite",
        "according",
        "including",
        "citing",
    ]
)
_MIN_CLAUSE_CHARS = 25


def main_clause(text: str) -> str:
    """The sentence up to its first trailing adjunct clause (the whole sentence if none)."""
    for m in _CLAUSE_BREAK.finditer(text):
        if m.start() < _MIN_CLAUSE_CHARS:
            continue
        word = m.group(1)
        if word in _ADJUNCT_OPENERS or (word.endswith("ing") and word not in NOT_VERB_ING):
            return text[: m.start()]
    return text


def restated_credit(
    claim_tokens: AbstractSet[str],
    core_tokens: AbstractSet[str],
    weights: dict[str, float],
    params: JudgeParams,
) -> float:
    """Similarity credited when the claim contains the stored claim's main clause whole."""
    if len(core_tokens) < params.restate_min_tokens:
        return 0.0
    contained = coverage(core_tokens, claim_tokens, weights, params)
    if contained < params.restate_min_containment:
        return 0.0
    return params.restate_weight * contained
