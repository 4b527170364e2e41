"""The database behind the chat layer's protocols: ``DbNews`` and ``DbFeeds``.

Every statement lives in ``storage``; these classes only open sessions, call its functions and
copy rows into the chat layer's detached DTOs.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from urllib.parse import urlsplit

from sqlalchemy.orm import Session, sessionmaker

from bot.chat.services import (
    ClaimInfo,
    FeedInfo,
    FeedRejectedError,
    PollInfo,
    StoryInfo,
    TodayInfo,
    blocking,
)
from bot.settings import Settings
from storage import articles as articles_store
from storage import claims as claims_store
from storage import digests as digests_store
from storage import feeds as feeds_store
from storage.db import transaction
from storage.models import Claim, Feed


class DbNews:
    """``NewsReader`` over the shared database (every statement lives in ``storage``)."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def latest(self, *, limit: int, min_relevance: float) -> Sequence[StoryInfo]:
        with self._sessions() as session:
            # Over-fetch so a chat's relevance floor still leaves ``limit`` stories.
            fetched = articles_store.list_latest_relevant(session, limit=limit * 4)
            shown = [a for a in fetched if a.relevance >= min_relevance][:limit]
            # One query counts the verdicts of every shown story (not one query per story).
            counts = claims_store.verdict_counts_by_article(
                session, article_ids=[a.id for a in shown]
            )
            out: list[StoryInfo] = []
            for article in shown:
                mine = counts.get(article.id, {})
                out.append(
                    StoryInfo(
                        article_id=article.id,
                        title=article.title,
                        url=claims_store.article_url(article),
                        outlet=article.outlet,
                        published_at=article.published_at or article.fetched_at,
                        new=mine.get("new", 0),
                        repeated=mine.get("repeated", 0),
                        updated=mine.get("updated", 0),
                    )
                )
            return out

    def claims_of(self, article_ids: Sequence[int], *, verdict: str) -> Sequence[ClaimInfo]:
        with self._sessions() as session:
            picked = [
                claim
                for article_id in article_ids
                for claim in claims_store.list_article_claims(session, article_id=article_id)
                if claim.verdict == verdict
            ]

            # "First reported" is the fact's root claim (its earliest report), as in the digest.
            def first_of(claim: Claim) -> int | None:
                return claim.root_claim_id or claim.matched_claim_id

            earlier_ids = [i for c in picked if (i := first_of(c)) is not None]
            prov = claims_store.claim_provenance(session, claim_ids=[c.id for c in picked])
            earlier = claims_store.claim_provenance(session, claim_ids=earlier_ids)
            out: list[ClaimInfo] = []
            for claim in picked:
                own = prov.get(claim.id)
                first = first_of(claim)
                before = earlier.get(first) if first is not None else None
                out.append(
                    ClaimInfo(
                        claim_id=claim.id,
                        text=claim.text,
                        verdict=claim.verdict,
                        article_title=own.article_title if own else None,
                        url=own.url if own else None,
                        source=own.source if own else None,
                        published_at=own.published if own else None,
                        earlier_source=before.source if before else None,
                        earlier_date=before.published if before else None,
                    )
                )
            return out

    def claims_by_id(self, claim_ids: Sequence[int]) -> Sequence[ClaimInfo]:
        with self._sessions() as session:
            prov = claims_store.claim_provenance(session, claim_ids=list(claim_ids))
        return [
            ClaimInfo(
                claim_id=p.claim_id,
                text=p.text,
                verdict=p.verdict,
                article_title=p.article_title,
                url=p.url,
                source=p.source,
                published_at=p.published,
            )
            for claim_id in claim_ids
            if (p := prov.get(claim_id)) is not None
        ]

    def fact_sources(self, root_claim_id: int) -> int:
        with self._sessions() as session:
            return claims_store.fact_source_count(session, root_claim_id=root_claim_id)

    def last_poll(self) -> PollInfo | None:
        with self._sessions() as session:
            run = feeds_store.latest_poll_run(session)
            if run is None:
                return None
            return PollInfo(
                started_at=run.started_at,
                finished_at=run.finished_at,
                feeds_polled=run.feeds_polled,
                new_stories=run.new_stories,
                errors=run.errors,
            )

    def today(self, *, since: datetime) -> TodayInfo:
        with self._sessions() as session:
            stories = digests_store.stories_in_window(session, since=since, until=datetime.now(UTC))
            verdicts = [c.verdict for a in stories for c in a.claims]
        return TodayInfo(
            stories=len(stories),
            relevant_stories=len(stories),
            claims_new=verdicts.count("new"),
            claims_repeated=verdicts.count("repeated"),
            claims_updated=verdicts.count("updated"),
        )


class DbFeeds:
    """``FeedDirectory`` over ``storage.feeds``; additions pass the feeds' SSRF guard first."""

    def __init__(self, sessions: sessionmaker[Session], settings: Settings) -> None:
        self._sessions = sessions
        self._settings = settings

    @staticmethod
    def _info(feed: Feed) -> FeedInfo:
        return FeedInfo(
            id=feed.id,
            name=feed.name,
            url=feed.url,
            enabled=feed.enabled,
            healthy=feed.enabled and feed.error_count == 0,
            last_success_at=feed.last_success_at,
            error_count=feed.error_count,
            last_error=feed.last_error,
            disabled_reason=feed.disabled_reason,
        )

    def list_feeds(self) -> Sequence[FeedInfo]:
        with self._sessions() as session:
            return [self._info(feed) for feed in feeds_store.list_feeds(session)]

    async def add_feed(self, url: str, *, added_by: str) -> FeedInfo:
        from bot.feeds.check import NotAFeedError, check_answers_with_feed  # noqa: PLC0415
        from bot.feeds.fetch import UnsafeURLError, check_public_url  # noqa: PLC0415
        from bot.feeds.parse import canonical_url  # noqa: PLC0415

        try:
            url = canonical_url(url)
        except ValueError as exc:
            raise FeedRejectedError("that is not a valid address") from exc
        if not self._settings.allow_private_feeds:
            try:
                await check_public_url(url)
            except UnsafeURLError as exc:
                raise FeedRejectedError(str(exc)) from exc
        try:  # the check `nkwatch feeds add` makes: a page or a 404 is refused now, not later
            await check_answers_with_feed(self._settings, url)
        except NotAFeedError as exc:
            raise FeedRejectedError(str(exc)) from exc
        host = urlsplit(url).hostname or url

        def work() -> FeedInfo:
            with transaction(self._sessions) as session:
                existing = feeds_store.get_feed_by_url(session, url=url)
                if existing is not None:
                    raise FeedRejectedError(f"already in the list as #{existing.id}")
                feed = feeds_store.add_feed(
                    session,
                    url=url,
                    name=host,
                    poll_interval_seconds=self._settings.poll_interval_seconds,
                    added_by=added_by,
                )
                return self._info(feed)

        return await blocking(work)

    def remove_feed(self, feed_id: int) -> FeedInfo | None:
        with transaction(self._sessions) as session:
            feed = feeds_store.get_feed(session, feed_id=feed_id)
            if feed is None:
                return None
            info = self._info(feed)
            feeds_store.remove_feed(session, feed_id=feed_id)
            return info
