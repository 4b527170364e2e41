"""Judgment: is a claim new, repeated or updated against the stored claims retrieval offers?

Each candidate gets a similarity from the two texts (weighted coverage of normalised tokens, with
fuzzy credit for near-identical tokens), fused with the semantic cosine when the model is on, and
adjusted by agreement of weapons, places, figures and dates. The best candidate above the threshold
decides the status: *repeated* when its figures and dates agree, *updated* when the same fact
carries a different figure (same unit) or a date shifted by up to ``date_shift_days``, and *new*
when nothing is similar enough or the similar claims are about a clearly different time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from bot.claims.compare import (
    SERIES,
    DateOutcome,
    actors_agree,
    compare_dates,
    compare_quantities,
    conflict,
    other_happening,
    running_series,
    unit_key,
    weapon_conflict,
)
from bot.claims.extract import extract_attributes
from bot.claims.lexicon import Lexicon
from bot.claims.token_overlap import (
    TokenSets,
    lexical_similarity,
    pool_weights,
    restated_credit,
)
from bot.claims.types import (
    Attributes,
    Candidate,
    Change,
    ExtractedClaim,
    Match,
    Verdict,
)

if TYPE_CHECKING:
    from bot.claims.pairs import PairScorer

__all__ = ["CandidateScore", "JudgeParams", "judge", "score_candidates"]


@dataclass(frozen=True, slots=True)
class JudgeParams:
    """Thresholds and weights (tuned on the dev set with bench/tune_judge.py)."""

    threshold: float = 0.44  # fused similarity below this -> new
    semantic_weight: float = 0.35  # share of the semantic cosine in the fused similarity
    semantic_floor: float = 0.2  # cosine mapped linearly from [floor, ceil] to [0, 1]
    semantic_ceil: float = 0.9
    claim_coverage_weight: float = 0.8  # geometric weight of claim-side vs candidate-side coverage
    fuzzy_min_ratio: float = 88.0  # near-identical tokens (spelling slips) get partial credit
    fuzzy_credit: float = 0.7
    weapon_conflict_penalty: float = 0.12
    place_conflict_penalty: float = 0.12
    unit_conflict_penalty: float = 0.12  # "10,000 troops" is not "6,700 containers"
    unmatched_figure_penalty: float = 0.1  # the claim brings a figure the stored claim lacks
    quantity_agree_bonus: float = 0.05
    change_penalty: float = 0.02  # among equals, prefer the candidate that agrees
    date_far_penalty: float = 0.3
    date_shift_days: int = 45  # a date moved by up to this many days is an update
    date_margin: float = 0.1  # candidates this close to the best decide date conflicts
    published_slack_days: int = 31  # an event this long after an article cannot be in it
    quantity_equal_tolerance: float = 0.005
    numeric_token_weight: float = 0.25
    generic_weapons: tuple[str, ...] = ("missile", "artillery", "shell")
    # A longer claim that restates a stored claim's main clause whole repeats that fact.
    restate_min_containment: float = 0.9
    restate_min_tokens: int = 4  # distinct content tokens in the stored main clause
    restate_weight: float = 0.55  # similarity credited to a whole restatement
    # A running figure (containers shipped, troops sent, casualties) reported again, however
    # worded: same counted thing, overlapping actors, some shared wording, a plausible ratio.
    series_min_similarity: float = 0.2
    series_score: float = 0.5  # the score a running-figure match gets at least
    series_max_ratio: float = 8.0  # values further apart are different quantities
    # A discrete happening (launch, strike, visit) dated this many days from the stored one is
    # another happening, not a corrected date.
    happening_gap_days: int = 2
    # A generic claim ("Kim watched the launch") matches only claims of the same happening:
    # stories published this close, with no clash of the stories' weapons.
    context_days: int = 7
    weekday_window_days: int = 6  # relative dates of stories this close compare as dates
    # The pair scorer (when on) re-scores the best few candidates: its probability that the two
    # sentences state the same fact moves the score by pair_weight * (p - pair_center).
    pair_top: int = 5
    pair_weight: float = 0.2
    pair_center: float = 0.3
    # Several stored claims may hold the same fact: the first report, and later stories that
    # restate it. Among agreeing candidates this close to the best, the earliest is the match.
    first_report_margin: float = 0.1


@dataclass(frozen=True, slots=True)
class CandidateScore:
    """A candidate's score and why: the parts feed the verdict and the tuning bench."""

    candidate: Candidate
    score: float
    similarity: float
    lexical: float
    semantic: float | None
    date_outcome: DateOutcome
    changes: tuple[Change, ...] = ()
    notes: tuple[str, ...] = field(default_factory=tuple)


RESTATES = "restates the stored claim"


# ------------------------------------------------------------------------------ scoring


def score_candidates(
    claim: ExtractedClaim,
    candidates: Sequence[Candidate],
    *,
    lexicon: Lexicon,
    params: JudgeParams | None = None,
    tokens: TokenSets | None = None,
) -> list[CandidateScore]:
    """Every candidate scored, best first."""
    p = params or JudgeParams()
    tokens = tokens or TokenSets(lexicon)
    claim_tokens = tokens.whole(claim.text)
    cand_tokens = [tokens.whole(c.text) for c in candidates]
    core_tokens = [tokens.core(c.text) for c in candidates]
    weights = pool_weights(claim_tokens, cand_tokens, p)
    generic = set(p.generic_weapons)
    metonyms = set(lexicon.entity_tokens)
    out: list[CandidateScore] = []
    for cand, toks, core in zip(candidates, cand_tokens, core_tokens, strict=True):
        attrs = cand.attrs
        if attrs == Attributes() and cand.published is not None:
            attrs = extract_attributes(cand.text, published=cand.published, lexicon=lexicon)
        lex = lexical_similarity(claim_tokens, toks, weights, p)
        sem = cand.semantic
        if sem is None:
            sim = lex
        else:
            sem_n = min(
                1.0, max(0.0, (sem - p.semantic_floor) / (p.semantic_ceil - p.semantic_floor))
            )
            sim = (1.0 - p.semantic_weight) * lex + p.semantic_weight * sem_n
        notes: list[str] = []
        restated = restated_credit(claim_tokens, core, weights, p)
        if restated > sim:
            sim = restated
            notes.append(RESTATES)
        score = sim
        if weapon_conflict(claim.attrs.weapons, attrs.weapons, generic):
            score -= p.weapon_conflict_penalty
            notes.append("different weapons")
        if conflict(
            [unit_key(q.unit) for q in claim.attrs.quantities],
            [unit_key(q.unit) for q in attrs.quantities],
            set(),
        ):
            score -= p.unit_conflict_penalty
            notes.append("counts different things")
        if conflict(claim.attrs.places, attrs.places, metonyms):
            score -= p.place_conflict_penalty
            notes.append("different places")
        agree, q_changes = compare_quantities(
            claim.attrs, attrs, p, text=claim.text, cand_text=cand.text
        )
        if claim.attrs.quantities and not agree and not q_changes:
            score -= p.unmatched_figure_penalty
            notes.append("figure not in stored claim")
        if agree:
            score += p.quantity_agree_bonus
        outcome, d_changes = compare_dates(claim.attrs, cand, attrs, p, claim.text)
        if outcome == "far":
            score -= p.date_far_penalty
            notes.append("different time")
        changes = tuple(q_changes + d_changes)
        if changes:
            score -= p.change_penalty
        series = running_series(claim.attrs, attrs, p, text=claim.text, cand_text=cand.text)
        if (
            series is not None
            and outcome != "far"
            and sim >= p.series_min_similarity
            and actors_agree(claim.attrs.actors, attrs.actors)
        ):
            score = max(score, p.series_score + 0.1 * sim)
            notes.append(SERIES)
        if other_happening(claim, attrs, generic, p):
            score = min(score, p.threshold - 0.1)  # however alike the words: another fact
            notes.append("another happening")
        out.append(
            CandidateScore(
                candidate=cand,
                score=max(0.0, min(1.0, score)),
                similarity=sim,
                lexical=lex,
                semantic=sem,
                date_outcome=outcome,
                changes=changes,
                notes=tuple(notes),
            )
        )
    out.sort(key=lambda s: (-s.score, -s.similarity, s.candidate.claim_id))
    return out


def _pick_series(scored: Sequence[CandidateScore], threshold: float) -> CandidateScore | None:
    """Among running-figure matches, the same value if one gives it, else the latest value."""
    series = [s for s in scored if SERIES in s.notes and s.score >= threshold]
    if not series:
        return None
    agreeing = [s for s in series if not s.changes]
    if agreeing:
        return agreeing[0]
    return max(
        series,
        key=lambda s: (
            s.candidate.published.timestamp() if s.candidate.published else 0.0,
            s.score,
        ),
    )


def _first_report(
    scored: Sequence[CandidateScore], top: CandidateScore, params: JudgeParams
) -> CandidateScore:
    """The earliest stored claim that repeats the same fact about as well as ``top`` does.

    A fact reported first by one story and restated by later ones should be credited to the
    first report, not to whichever restatement happens to share a few more words.
    """
    if top.candidate.published is None:
        return top
    floor = max(params.threshold, top.score - params.first_report_margin)
    peers = [
        s
        for s in scored
        if s.score >= floor
        and not s.changes
        and s.date_outcome != "far"
        and s.candidate.published is not None
    ]
    return min(
        peers,
        key=lambda s: (s.candidate.root_claim_id is not None, s.candidate.published, -s.score),
        default=top,
    )


def _where(c: Candidate) -> str:
    parts = [c.source or c.article_title or c.url or f"claim {c.claim_id}"]
    if c.published is not None:
        parts.append(c.published.date().isoformat())
    return ", ".join(parts)


def _quote(text: str, limit: int = 90) -> str:
    text = " ".join(text.split())
    return f"“{text if len(text) <= limit else text[: limit - 1] + '…'}”"


def rescore_pairs(
    claim: ExtractedClaim,
    scored: Sequence[CandidateScore],
    pairs: PairScorer,
    params: JudgeParams,
) -> list[CandidateScore]:
    """The best few candidates re-scored with the pair model, all re-sorted best first.

    The model reads the two sentences whole, so a paraphrase the lexical overlap misses comes
    up and a look-alike about another fact goes down; the attribute rules keep their say.
    """
    head = list(scored[: params.pair_top])
    if not head:
        return list(scored)
    probs = pairs.score([(claim.text, s.candidate.text) for s in head])
    moved = [
        replace(
            s,
            score=max(
                0.0, min(1.0, s.score + params.pair_weight * (float(pr) - params.pair_center))
            ),
            notes=(*s.notes, f"pair {float(pr):.2f}"),
        )
        for s, pr in zip(head, probs, strict=True)
    ]
    out = moved + list(scored[params.pair_top :])
    out.sort(key=lambda s: (-s.score, -s.similarity, s.candidate.claim_id))
    return out


def judge(
    claim: ExtractedClaim,
    candidates: Sequence[Candidate],
    *,
    lexicon: Lexicon,
    params: JudgeParams | None = None,
    tokens: TokenSets | None = None,
    pairs: PairScorer | None = None,
) -> Verdict:
    """The verdict on one claim against the candidates retrieval found (all scored, best first).

    With ``pairs`` (the model path) the best few are re-scored by the pair model; without it the
    judge is lexical (plus the encoder's cosine when retrieval has one).
    """
    p = params or JudgeParams()
    scored = score_candidates(claim, candidates, lexicon=lexicon, params=p, tokens=tokens)
    if pairs is not None:
        scored = rescore_pairs(claim, scored, pairs, p)
    matches = tuple(Match(candidate=s.candidate, score=round(s.score, 4)) for s in scored)
    if not scored:
        return Verdict(
            status="new", score=0.0, explanation="New: nothing stored resembles this claim."
        )
    top = scored[0]
    if SERIES in top.notes:
        pick = _pick_series(scored, p.threshold)
        if pick is not None and pick is not top:
            top = pick
            scored = [pick, *(s for s in scored if s is not pick)]
            matches = tuple(Match(candidate=s.candidate, score=round(s.score, 4)) for s in scored)

    # A claim that names a clearly different time than the similar stored claims is a new event,
    # even when an undated stored claim happens to read alike.
    close = [
        s for s in scored if s.similarity >= max(p.threshold, scored[0].similarity - p.date_margin)
    ]
    close_by_sim = sorted(close, key=lambda s: -s.similarity)
    dated = [s for s in close_by_sim if s.date_outcome != "none"]
    if dated and all(s.date_outcome == "far" for s in dated):
        far = dated[0]
        return Verdict(
            status="new",
            score=top.score,
            matches=matches,
            explanation=(
                f"New: the closest stored claim {_quote(far.candidate.text)} "
                f"({_where(far.candidate)}) is about a different time than this one."
            ),
        )

    if top.score < p.threshold:
        return Verdict(
            status="new",
            score=top.score,
            matches=matches,
            explanation=(
                f"New: the closest stored claim {_quote(top.candidate.text)} "
                f"({_where(top.candidate)}) scores {top.score:.2f}, below {p.threshold:.2f}."
            ),
        )
    if top.changes:
        what = "; ".join(f"{c.what} {c.old} → {c.new}" for c in top.changes)
        return Verdict(
            status="updated",
            score=top.score,
            matches=matches,
            changed=top.changes,
            explanation=(
                f"Updated: same fact as {_quote(top.candidate.text)} "
                f"({_where(top.candidate)}, score {top.score:.2f}) with {what}."
            ),
        )
    first = _first_report(scored, top, p)
    if first is not top:
        top = first
        scored = [first, *(s for s in scored if s is not first)]
        matches = tuple(Match(candidate=s.candidate, score=round(s.score, 4)) for s in scored)
    how = "restates, inside a longer claim," if RESTATES in top.notes else "matches"
    return Verdict(
        status="repeated",
        score=top.score,
        matches=matches,
        explanation=(
            f"Repeated: {how} {_quote(top.candidate.text)} "
            f"({_where(top.candidate)}), score {top.score:.2f}."
        ),
    )
