"""Load the seed corpus into the database once; running it again adds nothing."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from bot.corpus import SeedArticle
from storage import articles


@dataclass
class SeedResult:
    added: list[str] = field(default_factory=list)
    present: list[str] = field(default_factory=list)


def seed_database(session: Session, *, seeds: Sequence[SeedArticle]) -> SeedResult:
    """Insert seed articles not yet stored (matched by origin, then by content hash)."""
    result = SeedResult()
    for seed in seeds:
        existing = articles.get_by_origin(session, origin=seed.origin) or (
            articles.get_by_content_hash(session, content_hash=seed.content_hash)
        )
        if existing is not None:
            result.present.append(seed.origin)
            continue
        articles.add_article(
            session,
            origin=seed.origin,
            title=seed.title,
            content_hash=seed.content_hash,
            text=seed.text,
            url=seed.url,
            outlet=seed.outlet,
            author=seed.author,
            published_at=seed.published,
            published_inferred=seed.published_inferred,
            relevance=1.0,
            relevant=True,
        )
        result.added.append(seed.origin)
    return result
