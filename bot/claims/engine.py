"""The claim engine service: extract, retrieve, judge, store, and group claims into events.

Built once per process (``ClaimEngine.from_settings``): it loads the lexicon, the optional
sentence encoder and the retrieval index over every stored claim, then keeps the index current
as it stores new claims, so `/claim` never rebuilds anything.

The steps it drives live beside it: ``candidates`` (index hits as judge candidates),
``timeline`` (what may repeat what), ``story_events`` (which event a claim reports),
``backfill`` (judging again after a late story) and ``kb_import`` (external knowledge bases).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from bot.claims import backfill as backfill_mod
from bot.claims import kb_import
from bot.claims.candidates import from_hits, from_provenance, rank_matches
from bot.claims.extract import extract, extract_attributes
from bot.claims.index import (
    Analyzer,
    ClaimIndex,
    lexicon_fingerprint,
    text_check,
)
from bot.claims.judge import JudgeParams
from bot.claims.judge import judge as judge_claim
from bot.claims.lexicon import Lexicon, load_lexicon
from bot.claims.pairs import PairScorer, load_pair_scorer
from bot.claims.semantic import Encoder, from_bytes, load_encoder, to_bytes
from bot.claims.story_events import StoryEvent, event_for
from bot.claims.timeline import Moment, story_time
from bot.claims.token_overlap import TokenSets
from bot.claims.types import Candidate, ExtractedClaim, Verdict
from storage import claims as claim_store
from storage import events as event_store
from storage import locks

if TYPE_CHECKING:
    from numpy.typing import NDArray
    from sqlalchemy.orm import Session, sessionmaker

    from bot.settings import Settings
    from storage.models import Article, Claim

log = logging.getLogger(__name__)

JudgeFn = Callable[[ExtractedClaim, Sequence[Candidate]], Verdict]

MAX_CLAIM_CHARS = 2000  # longer input is cut: a claim is a sentence, not an article
CANDIDATES = 10  # claims offered to the judge per query
LATE_FETCH = 3  # a story older than stored ones over-fetches: later hits are not candidates
PROVENANCE_CACHE = 200_000  # stored claims' provenance kept in memory


@dataclass
class Counts:
    """Tally of one ``process_pending`` run."""

    articles: int = 0
    claims: int = 0
    new: int = 0
    repeated: int = 0
    updated: int = 0
    events_opened: int = 0

    def add(self, status: str) -> None:
        self.claims += 1
        if status in ("new", "repeated", "updated"):
            setattr(self, status, getattr(self, status) + 1)


# ------------------------------------------------------------------------------------ engine


class ClaimEngine:
    """Extract, retrieve, judge, store. One per process; not safe for concurrent writers."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        *,
        lexicon: Lexicon,
        encoder: Encoder | None = None,
        judge: JudgeFn | None = None,
        params: JudgeParams | None = None,
        semantic_weight: float = 0.7,
        pairs: PairScorer | None = None,
        index_dir: Path | None = None,
    ) -> None:
        self.sessions = sessions
        self.lexicon = lexicon
        self.encoder = encoder
        self.tokens = TokenSets(lexicon)
        self.judge: JudgeFn = judge or partial(
            judge_claim,
            lexicon=lexicon,
            params=params or JudgeParams(),
            tokens=self.tokens,
            pairs=pairs,
        )
        self.index = ClaimIndex(
            Analyzer(self.tokens.sequence, stem=False),
            encoder=encoder,
            semantic_weight=semantic_weight,
            path=index_dir,
            fingerprint_extra=lexicon_fingerprint(lexicon),
        )
        self._prov_cache: dict[int, Candidate] = {}  # retrieval scores left at zero
        self._indexed_up_to = 0  # highest stored claim id this index has seen
        self._load_index()

    @classmethod
    def from_settings(
        cls, settings: Settings, sessions: sessionmaker[Session], **kwargs: Any
    ) -> ClaimEngine:
        lexicon = load_lexicon(settings.lexicon_file)
        encoder = kwargs.pop("encoder", None) or load_encoder(settings.semantic)
        if "pairs" not in kwargs and encoder is not None:
            kwargs["pairs"] = load_pair_scorer(settings.semantic, encoder=encoder)
        kwargs.setdefault("index_dir", settings.index_path())
        return cls(sessions, lexicon=lexicon, encoder=encoder, **kwargs)

    @property
    def semantic(self) -> bool:
        return self.index.semantic

    # -- loading -------------------------------------------------------------------------

    def _load_index(self) -> None:
        """Open the stored index and index the claims it lacks; an index built from another
        database (or before a restore) is rebuilt. Embeddings missing from the cache are
        computed and kept."""
        with self.sessions() as session:
            top = self.index.max_id
            text = claim_store.claim_text(session, claim_id=top) if top else None
            if top and (text is None or self.index.check_of(top) != text_check(text)):
                log.warning("claim index does not match the database; rebuilding it")
                self.index.reset()
            self._indexed_up_to = self.index.max_id
            with self.index.bulk_load():
                self._index_from(session, after_id=self._indexed_up_to)
            session.commit()
        log.info("claim index loaded: %d claims, semantic=%s", len(self.index), self.semantic)

    def rebuild_index(self, progress: Callable[[int, int], None] | None = None) -> int:
        """Drop the stored index and index every claim again (``nkwatch index rebuild``);
        ``progress(done, total)`` is called after each batch. Returns how many were indexed."""
        self.index.reset()
        self._indexed_up_to = 0
        with self.sessions() as session:
            total = claim_store.count_claims_after(session, after_id=0)
            with self.index.bulk_load():
                step = None if progress is None else (lambda done: progress(done, total))
                self._index_from(session, after_id=0, progress=step)
            session.commit()
        return len(self.index)

    def catch_up(self, session: Session) -> int:
        """Index claims another process stored since this one last looked; returns how many.

        Several instances share one database: each must see the others' claims before it
        judges, or a fact another instance already stored would be judged new here.
        """
        before = len(self.index)
        self._index_from(session, after_id=self._indexed_up_to)
        added = len(self.index) - before
        if added:
            log.info("claim index caught up: %d claims stored elsewhere", added)
        return added

    def _index_from(
        self,
        session: Session,
        *,
        after_id: int,
        batch: int = 5000,
        progress: Callable[[int], None] | None = None,
    ) -> None:
        rows: list[claim_store.IndexRow] = []
        done = 0
        for row in claim_store.iter_index_rows(session, after_id=after_id):
            rows.append(row)
            if len(rows) >= batch:
                self._index_batch(session, rows)
                done += len(rows)
                rows = []
                if progress is not None:
                    progress(done)
        if rows:
            self._index_batch(session, rows)
            if progress is not None:
                progress(done + len(rows))
        self.index.flush()

    def _index_batch(self, session: Session, rows: Sequence[claim_store.IndexRow]) -> None:
        ids = [row.claim_id for row in rows]
        texts = [row.text for row in rows]
        blobs = [row.embedding for row in rows]
        vecs: NDArray[np.float32] | None = None
        if self.encoder is not None:
            dim = self.encoder.dim
            vecs = np.zeros((len(ids), dim), dtype=np.float32)
            missing: list[int] = []
            for i, blob in enumerate(blobs):
                vec = from_bytes(blob, dim) if blob is not None else None
                if vec is None:
                    missing.append(i)
                else:
                    vecs[i] = vec
            if missing:
                fresh = self.index.encode([texts[i] for i in missing])
                assert fresh is not None
                vecs[missing] = fresh
                claim_store.set_embeddings(
                    session,
                    embeddings={ids[i]: to_bytes(fresh[j]) for j, i in enumerate(missing)},
                )
        self.add_to_index(ids, texts, embeddings=vecs, published=[r.published for r in rows])

    def add_to_index(
        self,
        claim_ids: Sequence[int],
        texts: Sequence[str],
        *,
        embeddings: NDArray[np.float32] | None,
        published: Sequence[datetime | None],
    ) -> None:
        """Index stored claims; a later catch-up starts after the highest id seen."""
        self.index.add_many(claim_ids, texts, embeddings=embeddings, published=published)
        self._indexed_up_to = max(self._indexed_up_to, *claim_ids)

    # -- retrieval -----------------------------------------------------------------------

    def retrieve(
        self,
        session: Session,
        text: str,
        *,
        k: int = CANDIDATES,
        query_vec: NDArray[np.float32] | None = None,
        exclude_article: int | None = None,
        before: Moment | None = None,
    ) -> list[Candidate]:
        """The ``k`` best stored claims as judge candidates, best fused score first.

        With ``before``, only claims reported earlier on the timeline are candidates: a story
        can repeat only what was published before it.
        """
        extra = 10 if exclude_article is not None else 0
        fetch = k * LATE_FETCH if before is not None else k
        hits = self.index.search(text, fetch + extra, query_vec=query_vec)
        found = self.provenance(session, [h.claim_id for h in hits])
        return from_hits(hits, found, k=k, exclude_article=exclude_article, before=before)

    def provenance(self, session: Session, claim_ids: Sequence[int]) -> dict[int, Candidate]:
        """Stored claims by id as candidates, from the cache or one query for the misses.

        A stored claim's text, attributes, source, event and root never change after it is
        judged, so caching them is safe; the cache is bounded and simply dropped when full.
        """
        cache = self._prov_cache
        found = {cid: cache[cid] for cid in claim_ids if cid in cache}
        missing = [cid for cid in claim_ids if cid not in found]
        if missing:
            fetched = {
                cid: from_provenance(prov)
                for cid, prov in claim_store.claim_provenance(session, claim_ids=missing).items()
            }
            if len(cache) + len(fetched) > PROVENANCE_CACHE:
                cache.clear()
            cache.update(fetched)
            found.update(fetched)
        return found

    # -- /claim --------------------------------------------------------------------------

    def check(self, text: str, *, top: int = 5, published: datetime | None = None) -> Verdict:
        """Judge one claim against the knowledge base without storing it."""
        text = " ".join(text.split())[:MAX_CLAIM_CHARS]
        when = published or datetime.now(UTC)
        attrs = extract_attributes(text, published=when, lexicon=self.lexicon)
        claim = ExtractedClaim(text=text, position=0, attrs=attrs)
        with self.sessions() as session:
            candidates = self.retrieve(session, text, k=max(CANDIDATES, top))
        verdict = self.judge(claim, candidates)
        return replace(verdict, matches=rank_matches(verdict, candidates, top))

    # -- ingest --------------------------------------------------------------------------

    def ingest_article(self, session: Session, article: Article) -> list[Verdict]:
        """Extract, judge and store an article's claims, then add them to the index.

        Claims of the same article are never each other's match (a story restating its lead is
        not a repeat), so every claim's candidates are found first, with one provenance query
        for the whole article. The caller owns the transaction.
        """
        published = story_time(article)
        moment = Moment(published, article.id)
        late = claim_store.reported_later_exists(session, after=published)
        extracted = self.extract_story(article)
        log.debug("ingest article %s at %s late=%s", article.id, published, late)
        texts = [c.text for c in extracted]
        vecs = self.index.encode(texts) if extracted else None
        # one batched retrieval for the whole article (one searcher, one vector search); a
        # story older than stored ones over-fetches, as later hits are not its candidates
        fetch = CANDIDATES * LATE_FETCH if late else CANDIDATES
        hits = self.index.search_many(texts, fetch, query_vecs=vecs)
        found = self.provenance(session, [h.claim_id for row in hits for h in row])
        verdicts: list[Verdict] = []
        rows: list[Claim] = []
        story: list[StoryEvent] = []  # events this article's claims opened or joined
        for i, claim in enumerate(extracted):
            qvec = None if vecs is None else vecs[i]
            candidates = from_hits(
                hits[i], found, k=CANDIDATES, exclude_article=article.id, before=moment
            )
            verdict = self.judge(claim, candidates)
            event = event_for(session, story, claim, verdict, published)
            best = verdict.matches[0].candidate if verdict.matches else None
            matched = best if verdict.status != "new" else None
            row = claim_store.add_claim(
                session,
                text=claim.text,
                attrs=claim.attrs.to_json(),
                article_id=article.id,
                position=claim.position,
                verdict=verdict.status,
                score=float(verdict.score),
                changes=[{"what": c.what, "old": c.old, "new": c.new} for c in verdict.changed],
                matched_claim_id=matched.claim_id if matched else None,
                root_claim_id=(matched.root_claim_id or matched.claim_id) if matched else None,
                event=event,
                first_seen_at=published,
                embedding=None if qvec is None else to_bytes(qvec),
                flush=False,
            )
            rows.append(row)
            verdicts.append(verdict)
        session.flush()  # the article's events and claims in one round of inserts
        stored_ids = [row.id for row in rows]
        if stored_ids:
            self.add_to_index(
                stored_ids, texts, embeddings=vecs, published=[published] * len(stored_ids)
            )
            if late:
                backfill_mod.backfill(
                    self,
                    session,
                    claim_ids=stored_ids,
                    texts=texts,
                    vecs=vecs,
                    moment=moment,
                    reason=f"an earlier report arrived late: article {article.id}",
                )
        claim_store.mark_claims_extracted(session, article_id=article.id)
        return verdicts

    def extract_story(self, article: Article) -> list[ExtractedClaim]:
        return extract(
            article.text or "",
            published=story_time(article),
            lexicon=self.lexicon,
            title=article.title,
        )

    def judge_pending(self) -> Counts:
        """:meth:`process_pending` as one judge among processes sharing the database.

        Holds the knowledge-base lock, so no other process judges meanwhile, and first indexes
        the claims the others stored, so their facts are not judged new again here.
        """
        lock = locks.hold_lock(locks.bound_engine(self.sessions), name=locks.KNOWLEDGE)
        with lock, self.sessions() as session:  # process_pending commits article by article
            self.catch_up(session)
            session.commit()  # embeddings computed for caught-up claims are kept
            return self.process_pending(session)

    def process_pending(self, session: Session) -> Counts:
        """Every article not yet processed, oldest publication first; commits after each."""
        counts = Counts()
        before = event_store.count_events(session)
        for article in claim_store.unextracted_articles(session):
            try:
                verdicts = self.ingest_article(session, article)
                session.commit()
            except Exception:
                session.rollback()
                log.exception("claim extraction failed for article %s", article.id)
                self._forget_article(article.id)
                continue
            counts.articles += 1
            for verdict in verdicts:
                counts.add(verdict.status)
        counts.events_opened = event_store.count_events(session) - before
        return counts

    def _forget_article(self, article_id: int) -> None:
        """After a rollback: the article's claims are gone, so stop serving them from cache.

        (Their index entries stay but find no provenance, so retrieval skips them.)
        """
        self.forget_claims(
            [cid for cid, cand in self._prov_cache.items() if cand.article_id == article_id]
        )

    def forget_claims(self, claim_ids: Iterable[int]) -> None:
        """Stop serving these claims' provenance from cache (their verdict or root moved)."""
        for cid in claim_ids:
            self._prov_cache.pop(cid, None)

    # -- knowledge base import --------------------------------------------------------

    def import_claims(
        self,
        session: Session,
        rows: Sequence[kb_import.KbRow],
        *,
        batch: int = 512,
        judge: bool = True,
    ) -> int:
        """See :func:`bot.claims.kb_import.import_claims`."""
        return kb_import.import_claims(self, session, rows, batch=batch, judge=judge)
