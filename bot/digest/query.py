"""Turn the stored stories of a window into the digest model's plain input records.

The SQL lives in ``storage.digests``; this module names the first report of each repeated fact
(its root claim) and counts the distinct outlets that carried it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy.orm import Session

from bot.digest.model import ChangeRecord, ClaimRecord, SourceRef, StoryRecord, Verdict
from bot.figures.query import figure_paths
from storage import digests as q
from storage.models import Article, Claim

MAX_CLUSTER = 5000  # how many later reports of one fact to look at when counting sources


def _published(claim: Claim) -> datetime | None:
    article = claim.article
    if article is not None and article.published_at is not None:
        return article.published_at
    return claim.first_seen_at or claim.created_at


def source_ref(claim: Claim) -> SourceRef:
    article = claim.article
    return SourceRef(
        claim_id=claim.id,
        text=claim.text,
        outlet=(article.outlet if article else None) or claim.source,
        title=article.title if article else None,
        url=article.url if article else None,
        published=_published(claim),
    )


def source_key(claim: Claim) -> str:
    """One key per outlet (so two stories of one outlet count once); an article without an
    outlet counts alone, an imported claim by its source."""
    article = claim.article
    if article is not None:
        return f"outlet:{article.outlet.casefold()}" if article.outlet else f"article:{article.id}"
    return f"source:{(claim.source or str(claim.id)).casefold()}"


def _changes(raw: list[Any]) -> tuple[ChangeRecord, ...]:
    out = []
    for item in raw or ():
        if isinstance(item, dict):
            out.append(
                ChangeRecord(
                    what=str(item.get("what", "")),
                    old=str(item.get("old", "")),
                    new=str(item.get("new", "")),
                )
            )
    return tuple(out)


class _Provenance:
    """Loads matched claims, the root (first report) of each fact and its other reports, once.

    The root is the claim engine's ``root_claim_id``: the earliest published report of the fact.
    Every display reads it from there, so the digest, ``/claim``, ``/latest`` and ``export``
    name the same first report.
    """

    def __init__(self, session: Session) -> None:
        self.session = session
        self.claims: dict[int, Claim] = {}
        self.reports: dict[int, list[Claim]] = {}

    def _load(self, ids: set[int]) -> None:
        missing = {i for i in ids if i not in self.claims}
        for claim in q.claims_by_ids(self.session, claim_ids=missing):
            self.claims[claim.id] = claim

    def root_of(self, claim: Claim) -> int | None:
        """The fact's root claim id; a claim stored before roots were kept falls back to its
        match's root, then its match."""
        if claim.root_claim_id is not None:
            return claim.root_claim_id
        matched = self.claims.get(claim.matched_claim_id) if claim.matched_claim_id else None
        if matched is None:
            return claim.matched_claim_id
        return matched.root_claim_id or matched.id

    def load(self, claims: list[Claim]) -> None:
        judged = [c for c in claims if c.verdict in ("repeated", "updated")]
        self._load({c.matched_claim_id for c in judged if c.matched_claim_id})
        roots = {r for c in judged if (r := self.root_of(c)) is not None}
        self._load(roots)
        for report in q.fact_reports(self.session, root_ids=roots, limit=MAX_CLUSTER):
            assert report.root_claim_id is not None
            self.reports.setdefault(report.root_claim_id, []).append(report)

    def outlets(self, root_id: int) -> frozenset[str]:
        """Distinct outlets (source names) that reported the fact, the root's included."""
        members = list(self.reports.get(root_id, []))
        root = self.claims.get(root_id)
        if root is not None:
            members.append(root)
        return frozenset(source_key(c) for c in members)


def _story(
    article: Article,
    prov: _Provenance,
    event_titles: dict[int, str],
    paths: dict[int, tuple[str, str]] | None = None,
) -> StoryRecord:
    records = []
    for claim in article.claims:
        verdict = cast(
            "Verdict", claim.verdict if claim.verdict in ("new", "repeated", "updated") else "new"
        )
        matched = prov.claims.get(claim.matched_claim_id) if claim.matched_claim_id else None
        first = None
        seen: frozenset[str] = frozenset()
        if verdict != "new":
            root_id = prov.root_of(claim)
            root = prov.claims.get(root_id) if root_id is not None else None
            if root is not None:
                first = source_ref(root)
                seen = prov.outlets(root.id) | {source_key(claim)}
        records.append(
            ClaimRecord(
                claim_id=claim.id,
                position=claim.position,
                text=claim.text,
                verdict=verdict,
                score=claim.score,
                changes=_changes(claim.changes),
                matched=source_ref(matched) if matched is not None else None,
                first_reported=first,
                seen_in=seen,
                event_id=claim.event_id,
                path=(paths or {}).get(claim.id, (None, None))[0],
                series=(paths or {}).get(claim.id, (None, None))[1],
            )
        )
    events = Counter(c.event_id for c in article.claims if c.event_id is not None)
    event_id = events.most_common(1)[0][0] if events else None
    own = (article.outlet or "").casefold()
    also = []
    for src in article.sources:
        if src.outlet and src.outlet.casefold() != own and src.outlet not in also:
            also.append(src.outlet)
    seen_at = article.fetched_at
    return StoryRecord(
        article_id=article.id,
        title=article.title,
        url=article.url,
        outlet=article.outlet,
        published=article.published_at,
        seen_at=seen_at,
        claims=tuple(records),
        event_id=event_id,
        event_title=event_titles.get(event_id) if event_id is not None else None,
        relevance=article.relevance,
        also_in=tuple(also),
    )


def load_stories(
    session: Session,
    *,
    since: datetime | None,
    until: datetime,
    min_relevance: float = 0.0,
    origin: str | None = q.FEED_ORIGIN,
) -> list[StoryRecord]:
    """The digest input for one window: stories, verdicts and where each repeated fact began."""
    articles = q.stories_in_window(
        session, since=since, until=until, min_relevance=min_relevance, origin=origin
    )
    return _records(session, articles)


def load_stories_by_ids(session: Session, *, article_ids: Sequence[int]) -> list[StoryRecord]:
    """The digest input of the stories a sent digest covered (to rebuild it on a button)."""
    return _records(session, q.stories_by_ids(session, article_ids=article_ids))


def _records(session: Session, articles: Sequence[Article]) -> list[StoryRecord]:
    prov = _Provenance(session)
    prov.load([c for a in articles for c in a.claims])
    event_ids = {c.event_id for a in articles for c in a.claims if c.event_id is not None}
    titles = {e.id: e.title for e in q.events_by_ids(session, event_ids=event_ids)}
    updated = {c.id for a in articles for c in a.claims if c.verdict == "updated"}
    paths = figure_paths(session, claim_ids=updated)
    return [_story(article, prov, titles, paths) for article in articles]
