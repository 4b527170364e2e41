"""Turn the stored stories of a window into the digest model's plain input records.

The SQL lives in ``storage.digests``; this module only follows the match chains (a repeated claim
may match a claim that itself repeated an older one) to name the first report of each fact and
count the sources that carried it.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any, cast

from sqlalchemy.orm import Session

from bot.digest.model import ChangeRecord, ClaimRecord, SourceRef, StoryRecord, Verdict
from bot.figures.query import figure_paths
from storage import digests as q
from storage.models import Article, Claim

MAX_CHAIN = 12  # how far up a chain of matches to follow
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
    """One key per source: the outlet when known, else the article, else the import's source."""
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
    """Loads matched claims, their roots and the other reports of the same facts, once."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.claims: dict[int, Claim] = {}
        self.children: dict[int, list[int]] = {}
        self._expanded: set[int] = set()

    def load_up(self, ids: set[int]) -> None:
        frontier = {i for i in ids if i not in self.claims}
        for _ in range(MAX_CHAIN):
            if not frontier:
                break
            for claim in q.claims_by_ids(self.session, claim_ids=frontier):
                self.claims[claim.id] = claim
            frontier = {
                c.matched_claim_id
                for c in (self.claims.get(i) for i in frontier)
                if c is not None and c.matched_claim_id and c.matched_claim_id not in self.claims
            }

    def root(self, claim_id: int) -> int:
        seen = {claim_id}
        current = self.claims.get(claim_id)
        while current is not None and current.matched_claim_id is not None:
            nxt = current.matched_claim_id
            if nxt in seen or nxt not in self.claims:
                break
            seen.add(nxt)
            current = self.claims[nxt]
        return current.id if current is not None else claim_id

    def cluster(self, root_id: int) -> list[Claim]:
        """The root and every claim whose match chain leads to it (bounded)."""
        members = [root_id]
        frontier = [root_id]
        for _ in range(MAX_CHAIN):
            todo = [i for i in frontier if i not in self._expanded]
            if todo:
                for child in q.claims_matched_to(self.session, claim_ids=todo, limit=MAX_CLUSTER):
                    self.claims.setdefault(child.id, child)
                    assert child.matched_claim_id is not None
                    self.children.setdefault(child.matched_claim_id, []).append(child.id)
                self._expanded.update(todo)
            frontier = [c for i in frontier for c in self.children.get(i, [])]
            frontier = [c for c in frontier if c not in members]
            if not frontier or len(members) >= MAX_CLUSTER:
                break
            members.extend(frontier)
        return [self.claims[i] for i in members if i in self.claims]


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
        if matched is not None and verdict != "new":
            cluster = prov.cluster(prov.root(matched.id))
            earlier = [c for c in cluster if c.article_id != article.id] or [matched]
            dated = [c for c in earlier if _published(c) is not None]
            pick = min(dated, key=lambda c: (_published(c), c.id)) if dated else earlier[0]
            first = source_ref(pick)
            seen = frozenset(source_key(c) for c in cluster) | {source_key(claim)}
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
    prov = _Provenance(session)
    prov.load_up({c.matched_claim_id for a in articles for c in a.claims if c.matched_claim_id})
    event_ids = {c.event_id for a in articles for c in a.claims if c.event_id is not None}
    titles = {e.id: e.title for e in q.events_by_ids(session, event_ids=event_ids)}
    updated = {c.id for a in articles for c in a.claims if c.verdict == "updated"}
    paths = figure_paths(session, claim_ids=updated)
    return [_story(article, prov, titles, paths) for article in articles]
