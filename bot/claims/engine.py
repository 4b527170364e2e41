"""The claim engine service: extract, retrieve, judge, store, and group claims into events.

Built once per process (``ClaimEngine.from_settings``): it loads the lexicon, the optional
sentence encoder and the retrieval index over every stored claim, then keeps the index current
as it stores new claims, so `/claim` never rebuilds anything.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from dateutil import parser as date_parser

from bot.claims import happenings
from bot.claims.extract import extract, extract_attributes
from bot.claims.index import (
    Analyzer,
    ClaimIndex,
    Hit,
    lexicon_fingerprint,
    text_check,
)
from bot.claims.judge import JudgeParams, TokenSets
from bot.claims.judge import judge as judge_claim
from bot.claims.lexicon import Lexicon, load_lexicon
from bot.claims.pairs import PairScorer, load_pair_scorer
from bot.claims.semantic import Encoder, from_bytes, load_encoder, to_bytes
from bot.claims.types import (
    Attributes,
    Candidate,
    DateRef,
    ExtractedClaim,
    Match,
    Verdict,
)
from storage import articles as article_store
from storage import claims as claim_store
from storage import events as event_store
from storage import locks

if TYPE_CHECKING:
    from numpy.typing import NDArray
    from sqlalchemy.orm import Session, sessionmaker

    from bot.settings import Settings
    from storage.models import Article, Claim, Event

log = logging.getLogger(__name__)

JudgeFn = Callable[[ExtractedClaim, Sequence[Candidate]], Verdict]

MAX_CLAIM_CHARS = 2000  # longer input is cut: a claim is a sentence, not an article
CANDIDATES = 10  # claims offered to the judge per query
LATE_FETCH = 3  # a story older than stored ones over-fetches: later hits are not candidates
BACKFILL_HITS = 10  # later claims per claim of a late story that are judged again
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


@dataclass(frozen=True, slots=True)
class KbRow:
    """A validated ``kb import`` line."""

    external_id: str
    text: str
    source: str | None
    published: datetime | None


@dataclass
class ImportReport:
    added: int = 0
    present: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)


def parse_kb_line(line: str) -> KbRow:
    """One JSONL line of ``kb import``; ValueError says what is wrong with it."""
    try:
        data = json.loads(line)
    except json.JSONDecodeError as exc:
        msg = f"not JSON ({exc.msg})"
        raise ValueError(msg) from exc
    if not isinstance(data, dict):
        msg = "expected a JSON object"
        raise ValueError(msg)
    raw_id = data.get("id")
    if raw_id is None or isinstance(raw_id, (dict, list, bool)) or not str(raw_id).strip():
        msg = "missing 'id'"
        raise ValueError(msg)
    external_id = str(raw_id).strip()
    if len(external_id) > 200:
        msg = "'id' longer than 200 characters"
        raise ValueError(msg)
    text = data.get("text")
    if not isinstance(text, str) or not text.strip():
        msg = "missing or empty 'text'"
        raise ValueError(msg)
    source = data.get("source")
    if source is not None and not isinstance(source, str):
        source = str(source)
    return KbRow(
        external_id=external_id,
        text=text.strip(),
        source=source[:500] if source else None,
        published=parse_published(data.get("published")),
    )


def parse_published(value: object) -> datetime | None:
    """ISO dates, datetimes or loose date strings; naive times are taken as UTC."""
    if value is None or value == "":
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return datetime.fromtimestamp(float(value), tz=UTC)
    if not isinstance(value, str):
        msg = "'published' must be a date string"
        raise ValueError(msg)
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        try:
            parsed = date_parser.parse(value)
        except (ValueError, OverflowError) as exc:
            msg = f"'published' is not a date: {value[:40]!r}"
            raise ValueError(msg) from exc
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _retrieval_score(candidate: Candidate) -> float:
    """Score for a candidate the judge did not score (same fusion as retrieval)."""
    if candidate.semantic is None:
        return candidate.lexical
    return 0.7 * candidate.semantic + 0.3 * candidate.lexical


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
        self._judge: JudgeFn = judge or partial(
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
        self.index.add_many(ids, texts, embeddings=vecs, published=[r.published for r in rows])
        self._indexed_up_to = max(self._indexed_up_to, ids[-1])

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
        found = self._provenance(session, [h.claim_id for h in hits])
        return _candidates(hits, found, k=k, exclude_article=exclude_article, before=before)

    def _provenance(self, session: Session, claim_ids: Sequence[int]) -> dict[int, Candidate]:
        """Stored claims by id as candidates, from the cache or one query for the misses.

        A stored claim's text, attributes, source, event and root never change after it is
        judged, so caching them is safe; the cache is bounded and simply dropped when full.
        """
        cache = self._prov_cache
        found = {cid: cache[cid] for cid in claim_ids if cid in cache}
        missing = [cid for cid in claim_ids if cid not in found]
        if missing:
            fetched = {
                cid: _template(prov)
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
        verdict = self._judge(claim, candidates)
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
        extracted = self._extract(article)
        log.debug("ingest article %s at %s late=%s", article.id, published, late)
        texts = [c.text for c in extracted]
        vecs = self.index.encode(texts) if extracted else None
        # one batched retrieval for the whole article (one searcher, one vector search); a
        # story older than stored ones over-fetches, as later hits are not its candidates
        fetch = CANDIDATES * LATE_FETCH if late else CANDIDATES
        hits = self.index.search_many(texts, fetch, query_vecs=vecs)
        found = self._provenance(session, [h.claim_id for row in hits for h in row])
        verdicts: list[Verdict] = []
        rows: list[Claim] = []
        story: list[_StoryEvent] = []  # events this article's claims opened or joined
        for i, claim in enumerate(extracted):
            qvec = None if vecs is None else vecs[i]
            candidates = _candidates(
                hits[i], found, k=CANDIDATES, exclude_article=article.id, before=moment
            )
            verdict = self._judge(claim, candidates)
            event = self._event_for(session, story, claim, verdict, published)
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
            self.index.add_many(
                stored_ids,
                texts,
                embeddings=vecs,
                published=[published] * len(stored_ids),
            )
            self._indexed_up_to = max(self._indexed_up_to, *stored_ids)
            if late:
                self.backfill(
                    session,
                    claim_ids=stored_ids,
                    texts=texts,
                    vecs=vecs,
                    moment=moment,
                    reason=f"an earlier report arrived late: article {article.id}",
                )
        claim_store.mark_claims_extracted(session, article_id=article.id)
        return verdicts

    def _extract(self, article: Article) -> list[ExtractedClaim]:
        return extract(
            article.text or "",
            published=story_time(article),
            lexicon=self.lexicon,
            title=article.title,
        )

    # -- backfill ------------------------------------------------------------------------

    def backfill(
        self,
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
        hits = self.index.search_many(texts, BACKFILL_HITS + 1, query_vecs=vecs)
        found = self._provenance(session, [h.claim_id for row in hits for h in row])
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
        before: dict[int, _ChainState] = {}
        rows = claim_store.claims_by_id(session, claim_ids=sorted(later))
        extracted = self._reextract(session, rows)
        for row in rows:
            at = row.first_seen_at or datetime.now(UTC)
            vec = None
            if row.embedding is not None and self.encoder is not None:
                vec = from_bytes(row.embedding, self.encoder.dim)
            candidates = self.retrieve(
                session,
                row.text,
                query_vec=vec,
                exclude_article=row.article_id,
                before=Moment(at, row.article_id),
            )
            verdict = self._judge(extracted.get(row.id) or _stored_claim(row), candidates)
            best = verdict.matches[0].candidate if verdict.status != "new" else None
            if best is None or best.claim_id not in fresh:
                continue
            if row.verdict == verdict.status and row.matched_claim_id == best.claim_id:
                continue
            before[row.id] = _ChainState(row.verdict, row.matched_claim_id, row.root_claim_id)
            row.verdict = verdict.status
            row.score = float(verdict.score)
            row.changes = [{"what": c.what, "old": c.old, "new": c.new} for c in verdict.changed]
            row.matched_claim_id = best.claim_id
        if not before:
            return 0
        session.flush()
        roots = self._rechain(session, set(before) | {s.root for s in before.values() if s.root})
        for claim_id, (old_root, _) in roots.items():
            before.setdefault(claim_id, _ChainState(None, None, old_root))
        now_rows = claim_store.chain_rows(session, claim_ids=list(before), with_dependents=False)
        for claim_id, old in before.items():
            new = now_rows[claim_id]
            claim_store.add_correction(
                session,
                claim_id=claim_id,
                old_verdict=old.verdict or new.verdict,
                new_verdict=new.verdict,
                old_matched_claim_id=(
                    old.matched if old.verdict is not None else new.matched_claim_id
                ),
                new_matched_claim_id=new.matched_claim_id,
                old_root_claim_id=old.root,
                new_root_claim_id=new.root_claim_id,
                reason=reason,
            )
            self._prov_cache.pop(claim_id, None)
        log.info("backfill: %d later claims corrected (%s)", len(before), reason)
        return len(before)

    def _reextract(self, session: Session, rows: Sequence[Claim]) -> dict[int, ExtractedClaim]:
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
            units = {c.text: c for c in self._extract(article)}
            for row in members:
                if row.text in units:
                    out[row.id] = units[row.text]
        return out

    def _rechain(
        self, session: Session, seeds: set[int]
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
        for cid in moved:
            self._prov_cache.pop(cid, None)
        return moved

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

    # -- events --------------------------------------------------------------------------

    def _forget_article(self, article_id: int) -> None:
        """After a rollback: the article's claims are gone, so stop serving them from cache.

        (Their index entries stay but find no provenance, so retrieval skips them.)
        """
        stale = [cid for cid, cand in self._prov_cache.items() if cand.article_id == article_id]
        for cid in stale:
            del self._prov_cache[cid]

    def _event_for(
        self,
        session: Session,
        story: list[_StoryEvent],
        claim: ExtractedClaim,
        verdict: Verdict,
        published: datetime,
    ) -> Event:
        """The happening a claim reports (events are not flushed: the article's events and
        claims are inserted together).

        A repeat joins its match's event when it is about the same time; an update of a running
        figure, or a dated claim far from the event's window, is a later report linked through
        its match, not a reason to stretch the event. A new claim joins an event of the same
        story sharing an actor and something specific, or opens a new event with a composed
        title.
        """
        attrs = claim.attrs
        explicit = _happening_span(attrs.dates)
        day = published.date()
        span = explicit or (day, day)
        place = attrs.places[0] if attrs.places else None
        if verdict.status != "new" and verdict.matches:
            event_id = verdict.matches[0].candidate.event_id
            stored = None if event_id is None else event_store.get_event(session, event_id=event_id)
            if stored is not None:
                window = _window(stored)
                near = happenings.compatible(window, span)
                if near or (explicit is None and verdict.status == "repeated"):
                    start, end = (
                        (_at_midnight(span[0]), _at_midnight(span[1])) if near else (None, None)
                    )
                    event_store.extend(
                        stored,
                        actors=attrs.actors,
                        place=place,
                        start_date=start,
                        end_date=end,
                        first_seen_at=published,
                        widen_span=True,
                    )
                    if happenings.compatible(window, (day, day)):
                        _remember(story, stored, attrs)
                    return stored
        best = _same_story_event(story, attrs, span if explicit else None)
        if best is not None:
            start, end = (
                (_at_midnight(span[0]), _at_midnight(span[1])) if explicit else (None, None)
            )
            event_store.extend(
                best.event, actors=attrs.actors, place=place, start_date=start, end_date=end
            )
            _remember(story, best.event, attrs)
            return best.event
        event = event_store.add_event(
            session,
            title=happenings.title_for(claim.text, start=span[0], end=span[1]),
            place=place,
            actors=attrs.actors,
            start_date=_at_midnight(span[0]),
            end_date=_at_midnight(span[1]),
            first_seen_at=published,
            flush=False,
        )
        _remember(story, event, attrs)
        return event

    # -- knowledge base import -----------------------------------------------------------

    def import_claims(
        self, session: Session, rows: Sequence[KbRow], *, batch: int = 512, judge: bool = True
    ) -> int:
        """Store external claims (idempotent on id), index and (``judge``) judge them on the
        timeline; returns how many were new. ``judge=False`` is for bulk loads of a corpus."""
        added_total = 0
        now = datetime.now(UTC)
        for lo in range(0, len(rows), batch):
            chunk = rows[lo : lo + batch]
            prepared = [
                claim_store.ExternalClaim(
                    external_id=row.external_id,
                    text=row.text,
                    source=row.source,
                    published=row.published,
                    attrs=extract_attributes(
                        row.text, published=row.published or now, lexicon=self.lexicon
                    ).to_json(),
                )
                for row in chunk
            ]
            added, _ = claim_store.import_external_claims(session, rows=prepared)
            if not added:
                continue
            texts = [c.text for c in added]
            vecs = self.index.encode(texts)
            if vecs is not None:
                claim_store.set_embeddings(
                    session, embeddings={c.id: to_bytes(vecs[i]) for i, c in enumerate(added)}
                )
            self.index.add_many(
                [c.id for c in added],
                texts,
                embeddings=vecs,
                published=[c.first_seen_at for c in added],
            )
            self._indexed_up_to = max(self._indexed_up_to, *(c.id for c in added))
            added_total += len(added)
            if judge:
                self._judge_imported(session, added, vecs, now=now)
        return added_total

    def _judge_imported(
        self,
        session: Session,
        added: Sequence[Claim],
        vecs: NDArray[np.float32] | None,
        *,
        now: datetime,
    ) -> None:
        """Imported claims join the timeline: each is judged against what was reported before
        it, and one older than stored claims becomes the earlier report of what they repeat."""
        position = {c.id: i for i, c in enumerate(added)}
        for claim in sorted(added, key=lambda c: (c.first_seen_at or now, c.id)):
            if claim.first_seen_at is None:
                claim.first_seen_at = now  # undated: on the timeline at its import time
            moment = Moment(claim.first_seen_at)
            vec = None if vecs is None else vecs[position[claim.id]]
            candidates = self.retrieve(session, claim.text, query_vec=vec, before=moment)
            verdict = self._judge(_stored_claim(claim), candidates)
            if verdict.status != "new":
                best = verdict.matches[0].candidate
                claim.verdict = verdict.status
                claim.score = float(verdict.score)
                claim.changes = [
                    {"what": c.what, "old": c.old, "new": c.new} for c in verdict.changed
                ]
                claim.matched_claim_id = best.claim_id
                claim.root_claim_id = best.root_claim_id or best.claim_id
            session.flush()
            if claim_store.reported_later_exists(session, after=claim.first_seen_at):
                self.backfill(
                    session,
                    claim_ids=[claim.id],
                    texts=[claim.text],
                    vecs=None if vec is None else vec[None, :],
                    moment=moment,
                    reason=f"an earlier report was imported: {claim.external_id}",
                )


# ----------------------------------------------------------------------------------- helpers


def _template(prov: claim_store.ClaimProvenance) -> Candidate:
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


def _candidates(
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


@dataclass(frozen=True, slots=True)
class Moment:
    """A story's place on the timeline: its publication time, ties broken by arrival."""

    at: datetime
    article_id: int | None = None

    def precedes(self, cand: Candidate) -> bool:
        """Whether ``cand`` was reported before this moment (so it may be matched)."""
        if cand.published is None or cand.published < self.at:
            return True
        if cand.published > self.at:
            return False
        return (
            cand.article_id is not None
            and self.article_id is not None
            and cand.article_id < self.article_id
        )


def story_time(article: Article) -> datetime:
    """Where a story sits on the timeline: its publication time, else its fetch time."""
    return article.published_at or article.fetched_at or datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class _ChainState:
    verdict: str | None
    matched: int | None
    root: int | None


def _stored_claim(row: Claim) -> ExtractedClaim:
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
            out.append(Match(candidate=cand, score=round(_retrieval_score(cand), 4)))
            seen.add(cand.claim_id)
    return tuple(out[:top])


def _span(dates: Iterable[DateRef]) -> tuple[datetime | None, datetime | None]:
    refs = list(dates)
    if not refs:
        return None, None
    start = min(d.start for d in refs)
    end = max(d.end for d in refs)
    return _at_midnight(start), _at_midnight(end)


def _happening_span(dates: Iterable[DateRef]) -> tuple[date, date] | None:
    """When a claim says its happening took place: its day- or month-precise dates (a year, or
    a range of months, is background, not a happening's time); None when it names none."""
    refs = [
        d
        for d in dates
        if d.precision != "year" and (d.end - d.start).days <= happenings.MAX_SPAN_DAYS
    ]
    if not refs:
        return None
    start, end = min(d.start for d in refs), max(d.end for d in refs)
    if (end - start).days > happenings.MAX_SPAN_DAYS:
        # "since September 2023 ... said on Wednesday": the latest date is the happening's,
        # the earlier one a baseline
        latest = max(refs, key=lambda d: d.end)
        return latest.start, latest.end
    return start, end


def _window(event: Event) -> tuple[date, date] | None:
    if event.start_date is None:
        return None
    end = event.end_date or event.start_date
    return event.start_date.date(), end.date()


def _at_midnight(day: date) -> datetime:
    return datetime.combine(day, time(0, 0), tzinfo=UTC)


@dataclass
class _StoryEvent:
    """What one story has said so far about an event it reports."""

    event: Event  # possibly not flushed yet
    actors: set[str]
    specifics: set[str]  # weapons and places named by the story's claims in this event
    start: datetime | None
    end: datetime | None


def _remember(story: list[_StoryEvent], event: Event, attrs: Attributes) -> None:
    for item in story:
        if item.event is event:
            break
    else:
        item = _StoryEvent(event, set(), set(), None, None)
        story.append(item)
    item.actors = set(event.actors or [])
    item.specifics.update(attrs.weapons, attrs.places)
    item.start, item.end = event.start_date, event.end_date


def _same_story_event(
    story: Sequence[_StoryEvent], attrs: Attributes, span: tuple[date, date] | None
) -> _StoryEvent | None:
    """The event of this story the claim most plausibly reports.

    It must share an actor and something specific (an overlapping date, or a weapon or place the
    story named for it); a clearly different time rules it out. Sharing only an actor is not
    enough: nearly every sentence of a story names its protagonist.
    """
    if not attrs.actors:
        return None
    start, end = _span(attrs.dates)
    specific = set(attrs.weapons) | set(attrs.places)
    best: _StoryEvent | None = None
    best_overlap = 0
    for item in story:
        overlap = len(item.actors & set(attrs.actors))
        if overlap == 0:
            continue
        dated = _overlap(start, end, item.start, item.end)
        if dated is False:
            continue  # a clearly different time is a different happening
        if span is not None and item.start is not None and item.end is not None:
            window = (item.start.date(), item.end.date())
            if not happenings.compatible(window, span):
                continue
        if not dated and not (specific & item.specifics):
            continue
        if overlap > best_overlap:
            best, best_overlap = item, overlap
    return best


def _overlap(
    a_start: datetime | None,
    a_end: datetime | None,
    b_start: datetime | None,
    b_end: datetime | None,
) -> bool | None:
    """Whether two spans overlap; None when either is unknown."""
    if a_start is None or a_end is None or b_start is None or b_end is None:
        return None
    return a_start <= b_end and b_start <= a_end
