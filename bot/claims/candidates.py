"""Stored claims as the judge's candidates: retrieval hits given provenance, and the ranked
matches a check shows."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from bot.claims.types import Attributes, Candidate, ExtractedClaim, Match, Verdict

if TYPE_CHECKING:
    from bot.claims.index import Hit
    from bot.claims.timeline import Moment
    from storage.claims import ClaimProvenance
    from storage.models import Claim


def retrieval_score(candidate: Candidate) -> float:
    """Score for a candidate the judge did not score (same fusion as retrieval)."""
    if candidate.semantic is None:
        return candidate.lexical
    return 0.7 * candidate.semantic + 0.3 * candidate.lexical


def from_provenance(prov: ClaimProvenance) -> Candidate:
    """A stored claim as a candidate, before retrieval gives it scores."""
    return Candidate(
        claim_id=prov.claim_id,
        text=prov.text,
        attrs=Attributes.from_json(prov.attrs),
        article_id=prov.article_id,
        article_title=prov.article_title,
        source=prov.source,
        published=prov.published,
        url=prov.url,
        event_id=prov.event_id,
        root_claim_id=prov.root_claim_id,
    )


def from_hits(
    hits: Sequence[Hit],
    found: dict[int, Candidate],
    *,
    k: int,
    exclude_article: int | None,
    before: Moment | None = None,
) -> list[Candidate]:
    """Hits with provenance as candidates, best first; gone claims, the excluded article's own
    claims and (with ``before``) claims reported later on the timeline are skipped."""
    out: list[Candidate] = []
    for hit in hits:
        template = found.get(hit.claim_id)
        if template is None or (
            exclude_article is not None and template.article_id == exclude_article
        ):
            continue
        if before is not None and not before.precedes(template):
            continue
        out.append(replace(template, lexical=hit.lexical, semantic=hit.semantic))
        if len(out) >= k:
            break
    return out


def stored_claim(row: Claim) -> ExtractedClaim:
    """A stored claim as the judge takes it, when its story's extraction is not at hand."""
    return ExtractedClaim(
        text=row.text, position=row.position, attrs=Attributes.from_json(row.attrs)
    )


def rank_matches(verdict: Verdict, candidates: Sequence[Candidate], top: int) -> tuple[Match, ...]:
    """Matches best first, always ``top`` long when the store has that many candidates.

    The judge's own matches come first in its order (its top match is what the verdict is about);
    candidates it did not score follow in retrieval order, scored by their fused retrieval score.
    """
    out: list[Match] = []
    seen: set[int] = set()
    for match in verdict.matches:
        if match.candidate.claim_id not in seen:
            out.append(match)
            seen.add(match.candidate.claim_id)
    for cand in candidates:
        if cand.claim_id not in seen:
            out.append(Match(candidate=cand, score=round(retrieval_score(cand), 4)))
            seen.add(cand.claim_id)
    return tuple(out[:top])
