"""A stream of invented stories that report the same running figures again and again.

Six reports of the containers of munitions shipped from North Korea to Russia, from two outlets
whose estimates compete (one gives a lower range in between), and two reports of troops, with
unrelated sentences around them. Written for these tests; not copied from any article.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.orm import Session, sessionmaker

from bot.claims.engine import ClaimEngine
from bot.settings import Settings
from storage import articles as article_store

SEOUL = "Seoul Daily"
WIRE = "Washington Wire"


@dataclass(frozen=True)
class Story:
    published: datetime
    outlet: str
    text: str

    @property
    def url(self) -> str:
        return f"https://news.example/{self.published:%Y%m%d}/{self.outlet.split()[0].lower()}"


def _at(y: int, m: int, d: int) -> datetime:
    return datetime(y, m, d, 9, 0, tzinfo=UTC)


STORIES = (
    Story(
        _at(2023, 10, 14),
        WIRE,
        "The White House said North Korea has delivered more than 1,000 containers of munitions "
        "to Russia in recent weeks. Kim Jong Un inspected a missile factory, state media said.",
    ),
    Story(
        _at(2023, 12, 2),
        SEOUL,
        "South Korea's spy agency estimates that Pyongyang has shipped about 5,000 containers of "
        "munitions to Russia. The agency briefed lawmakers behind closed doors on Friday.",
    ),
    Story(
        _at(2024, 2, 27),
        SEOUL,
        "The defence minister told reporters that North Korea has sent some 6,700 containers of "
        "munitions to Russia. The new 240mm launchers can strike targets 60 km away.",
    ),
    Story(
        _at(2024, 3, 8),
        WIRE,
        "U.S. officials put the count of containers of munitions that North Korea has moved to "
        "Russia lower, at between 3,000 and 4,500. A Russian cargo ship left the port of Rajin.",
    ),
    Story(
        _at(2024, 6, 20),
        SEOUL,
        "Seoul's defence ministry said North Korea has now shipped 10,000 containers of "
        "munitions to Russia. Officials in Seoul called the trade a grave threat.",
    ),
    Story(
        _at(2024, 10, 10),
        WIRE,
        "A U.S. intelligence assessment says Pyongyang has sent as many as 13,000 sea containers "
        "of weapons to Russia. About 3,000 North Korean soldiers were deployed to Russia's east.",
    ),
    Story(
        _at(2024, 11, 5),
        SEOUL,
        "South Korea's spy agency now says more than 10,000 North Korean troops were sent to "
        "Russia. Their officers speak little Russian, the agency added.",
    ),
)


def store_story(session: Session, story: Story) -> int:
    """One story as a relevant feed article; its id."""
    article = article_store.add_article(
        session,
        origin="feed",
        title=f"{story.outlet} {story.published:%Y-%m-%d}",
        content_hash=hashlib.sha256(story.text.encode()).hexdigest(),
        text=story.text,
        url=story.url,
        outlet=story.outlet,
        published_at=story.published,
        relevance=2.0,
    )
    return article.id


def ingest(sessions: sessionmaker[Session], settings: Settings, stories=STORIES) -> None:
    """Store the stories as feed articles and judge them through the claim engine."""
    with sessions.begin() as s:
        for story in stories:
            store_story(s, story)
    engine = ClaimEngine.from_settings(settings, sessions)
    with sessions() as s:
        engine.process_pending(s)


def main(out: str = "docs/figures/containers.png") -> None:
    """Write the chart of the container series of this stream (the one in docs/figures/)."""
    import tempfile  # noqa: PLC0415
    from pathlib import Path  # noqa: PLC0415

    from bot.figures.chart import render_chart  # noqa: PLC0415
    from bot.figures.query import load_series  # noqa: PLC0415
    from bot.figures.series import find_series  # noqa: PLC0415
    from tests.helpers.db import session_factory, sqlite_database  # noqa: PLC0415

    with tempfile.TemporaryDirectory() as tmp, sqlite_database(Path(tmp)) as (url, engine):
        sessions = session_factory(engine)
        ingest(sessions, Settings(database_url=url, semantic="off"))
        with sessions() as s:
            series = find_series(load_series(s), "containers")
        assert series is not None
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        Path(out).write_bytes(render_chart(series).png)


if __name__ == "__main__":
    import sys

    main(*sys.argv[1:])
