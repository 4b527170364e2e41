"""Judging again after a late story: an older report arriving after newer ones becomes the
earlier report of what they repeat, and their chains are re-rooted."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from bot.claims.candidates import stored_claim
from bot.claims.semantic import from_bytes
from bot.claims.timeline import Moment
from bot.claims.types import ExtractedClaim
from storage import articles as article_store
from storage import claims as claim_store

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray
    from sqlalchemy.orm import Session

    from bot.claims.engine import ClaimEngine
    from storage.models import Claim

log = logging.getLogger(__name__)

BACKFILL_HITS = 10  # later claims per claim of a late story that are judged again


@dataclass(frozen=True, slots=True)
class ChainState:
    """A claim's verdict, match and root before backfill changed them (for its correction)."""

    verdict: str | None
    matched: int | None
    root: int | None


def backfill(
    engine: ClaimEngine,
    session: Session,
    *,
    claim_ids: Sequence[int],
    texts: Sequence[str],
    vecs: NDArray[np.float32] | None,
    moment: Moment,
    reason: str,
) -> int:
    """Judge again the later claims that may state the facts of claims just stored late.

    A story older than stories already judged is the earlier report of what they repeat:
    a later claim whose best earlier match is now one of ``claim_ids`` re-points to it (a
    *new* becomes *repeated* or *updated*), roots follow the matched chains, and each change
    is recorded as a correction. Returns how many claims were corrected.
    """
    fresh = set(claim_ids)
    later: set[int] = set()
    hits = engine.index.search_many(texts, BACKFILL_HITS + 1, query_vecs=vecs)
    found = engine.provenance(session, [h.claim_id for row in hits for h in row])
    for row_hits in hits:
        for hit in row_hits:
            cand = found.get(hit.claim_id)
            if cand is None or cand.claim_id in fresh:
                continue
            if moment.article_id is not None and cand.article_id == moment.article_id:
                continue
            if not moment.precedes(cand):
                later.add(cand.claim_id)
    log.debug("backfill: %d later claims to judge again", len(later))
    if not later:
        return 0
    before: dict[int, ChainState] = {}
    rows = claim_store.claims_by_id(session, claim_ids=sorted(later))
    extracted = reextract(engine, session, rows)
    for row in rows:
        at = row.first_seen_at or datetime.now(UTC)
        vec = None
        if row.embedding is not None and engine.encoder is not None:
            vec = from_bytes(row.embedding, engine.encoder.dim)
        candidates = engine.retrieve(
            session,
            row.text,
            query_vec=vec,
            exclude_article=row.article_id,
            before=Moment(at, row.article_id),
        )
        verdict = engine.judge(extracted.get(row.id) or stored_claim(row), candidates)
        best = verdict.matches[0].candidate if verdict.status != "new" else None
        if best is None or best.claim_id not in fresh:
            continue
        if row.verdict == verdict.status and row.matched_claim_id == best.claim_id:
            continue
        before[row.id] = ChainState(row.verdict, row.matched_claim_id, row.root_claim_id)
        row.verdict = verdict.status
        row.score = float(verdict.score)
        row.changes = [{"what": c.what, "old": c.old, "new": c.new} for c in verdict.changed]
        row.matched_claim_id = best.claim_id
    if not before:
        return 0
    session.flush()
    roots = rechain(engine, session, set(before) | {s.root for s in before.values() if s.root})
    for claim_id, (old_root, _) in roots.items():
        before.setdefault(claim_id, ChainState(None, None, old_root))
    now_rows = claim_store.chain_rows(session, claim_ids=list(before), with_dependents=False)
    for claim_id, old in before.items():
        new = now_rows[claim_id]
        claim_store.add_correction(
            session,
            claim_id=claim_id,
            old_verdict=old.verdict or new.verdict,
            new_verdict=new.verdict,
            old_matched_claim_id=(old.matched if old.verdict is not None else new.matched_claim_id),
            new_matched_claim_id=new.matched_claim_id,
            old_root_claim_id=old.root,
            new_root_claim_id=new.root_claim_id,
            reason=reason,
        )
        engine.forget_claims([claim_id])
    log.info("backfill: %d later claims corrected (%s)", len(before), reason)
    return len(before)


def reextract(
    engine: ClaimEngine, session: Session, rows: Sequence[Claim]
) -> dict[int, ExtractedClaim]:
    """Stored claims as their story's extraction gives them (story context included)."""
    out: dict[int, ExtractedClaim] = {}
    by_article: dict[int, list[Claim]] = {}
    for row in rows:
        if row.article_id is not None:
            by_article.setdefault(row.article_id, []).append(row)
    for article_id, members in by_article.items():
        article = article_store.get_article(session, article_id=article_id)
        if article is None:
            continue
        units = {c.text: c for c in engine.extract_story(article)}
        for row in members:
            if row.text in units:
                out[row.id] = units[row.text]
    return out


def rechain(
    engine: ClaimEngine, session: Session, seeds: set[int]
) -> dict[int, tuple[int | None, int | None]]:
    """Point every claim of the chains through ``seeds`` at its earliest report again.

    A non-new claim's root is its match's root (or the match itself when that is new); going
    in timeline order, a match is always settled before the claims that cite it. Returns the
    claims whose root moved, as old -> new.
    """
    rows = claim_store.chain_rows(session, claim_ids=sorted(seeds))
    outside = {
        r.matched_claim_id
        for r in rows.values()
        if r.matched_claim_id is not None and r.matched_claim_id not in rows
    }
    known = claim_store.chain_rows(session, claim_ids=sorted(outside), with_dependents=False)
    root: dict[int, int] = {cid: r.root_claim_id or cid for cid, r in known.items()}
    moved: dict[int, tuple[int | None, int | None]] = {}
    order = sorted(
        rows.values(), key=lambda r: (r.first_seen_at is None, r.first_seen_at, r.claim_id)
    )
    for row in order:
        new_root: int | None = None
        if row.verdict != "new" and row.matched_claim_id is not None:
            new_root = root.get(row.matched_claim_id, row.matched_claim_id)
        root[row.claim_id] = new_root or row.claim_id
        if new_root != row.root_claim_id:
            moved[row.claim_id] = (row.root_claim_id, new_root)
    claim_store.set_roots(session, roots={cid: new for cid, (_, new) in moved.items()})
    engine.forget_claims(moved)
    return moved
