"""One timeline: stories judged in publication order whatever order feeds list them in, and a
story that arrives late becomes the earlier report of what later stories repeat."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select, update

from bot.claims.engine import ClaimEngine
from bot.claims.kb_import import KbRow
from bot.feeds.cli import feeds_group, poll_command
from storage.models import Article, Claim, Feed
from tests.feeds.test_commands import App, run, write_feeds
from tests.helpers import queries
from tests.helpers.feed_server import FeedServer
from tests.helpers.rss import Item, rss


@pytest.fixture
def app(db, settings, tmp_path) -> App:
    settings.feeds_file = write_feeds(tmp_path, [])
    settings.semantic = "off"
    return App(settings=settings, sessions=db.sessions)


def _at(y: int, m: int, d: int) -> datetime:
    return datetime(y, m, d, 9, 0, tzinfo=UTC)


SUMMIT = (
    "Kim Jong Un and Vladimir Putin held a summit at the Vostochny Cosmodrome in Russia's Far "
    "East, where they discussed weapons cooperation."
)
CONTAINERS_1 = (
    "The White House said North Korea had delivered more than 1,000 containers of military "
    "equipment and munitions to Russia."
)
EARLY = Item(
    "summit",
    "Kim and Putin meet at Russian spaceport",
    _at(2023, 9, 13),
    f"{SUMMIT}\nNorth Korea's leader arrived by armoured train and toured the missile launch site.",
)
LATE = [
    Item(
        "containers-1",
        "US says North Korea sent munitions to Russia",
        _at(2023, 10, 13),
        f"{CONTAINERS_1}\nOfficials released satellite images of a port in North Korea's "
        "northeast where Russian ships loaded artillery shells.",
    ),
    Item(
        "summit-recap",
        "Analysts weigh the Kim-Putin weapons deal",
        _at(2023, 10, 20),
        f"{SUMMIT}\nSince then, analysts say, North Korea has sent artillery shells and rockets "
        "to Russia for use in Ukraine.",
    ),
    Item(
        "containers-2",
        "Seoul raises its count of munitions containers",
        _at(2024, 2, 27),
        "South Korea's defence minister said North Korea had shipped about 6,700 containers of "
        "munitions to Russia.\nThe ministry said the shipments held millions of artillery "
        "shells for use in Ukraine.",
    ),
]


def _serve(server: FeedServer, items_a: list[Item], items_b: list[Item]) -> tuple[str, str]:
    return server.put("/a.xml", rss(items_a)), server.put("/b.xml", rss(items_b))


def _poll(app: App) -> None:
    with app.sessions.begin() as s:  # every feed due, validators dropped: full feeds again
        s.execute(update(Feed).values(next_check_at=None, etag=None, last_modified=None))
    result = run(app, poll_command, "--once")
    assert result.exit_code == 0, result.output


def _claims(app: App) -> dict[int, tuple[Claim, datetime]]:
    with app.sessions() as s:
        rows = s.execute(
            select(Claim, Article.published_at).join(Article, Claim.article_id == Article.id)
        ).all()
        return {claim.id: (claim, published) for claim, published in rows}


def _claim_of(app: App, url_key: str, start: str) -> Claim:
    with app.sessions() as s:
        return s.scalars(
            select(Claim)
            .join(Article, Claim.article_id == Article.id)
            .where(Article.url.like(f"%/{url_key}"), Claim.text.startswith(start))
        ).one()


def assert_time_true(app: App) -> int:
    """Every non-new verdict cites a match and a root reported no later than its own story."""
    claims = _claims(app)
    checked = 0
    for claim, published in claims.values():
        if claim.verdict == "new":
            assert claim.root_claim_id is None
            continue
        assert claim.matched_claim_id is not None
        for cited in (claim.matched_claim_id, claim.root_claim_id):
            assert cited in claims, f"claim {claim.id} cites {cited}, not an article's claim"
            assert claims[cited][1] <= published, (claim.text, claims[cited][0].text)
        root = claims[claim.root_claim_id][0]
        assert root.verdict == "new", "a root is the fact's first report"
        checked += 1
    return checked


def test_newest_first_feeds_are_judged_in_publication_order_and_late_stories_backfill(
    app: App, server: FeedServer, tmp_path: Path, db
) -> None:
    # Feed a lists the newest container count first; feed b holds the oldest story.
    url_a, url_b = _serve(server, [LATE[2], LATE[1]], [LATE[0]])
    for url in (url_a, url_b):
        added = CliRunner().invoke(feeds_group, ["add", url], obj=app)
        assert added.exit_code == 0, added.output
    _poll(app)

    first = _claim_of(app, "containers-1", "The White House said")
    later = _claim_of(app, "containers-2", "South Korea's defence minister")
    assert first.verdict == "new"
    assert later.verdict == "updated"
    assert later.matched_claim_id == first.id
    assert later.root_claim_id == first.id
    recap = _claim_of(app, "summit-recap", "Kim Jong Un and Vladimir Putin")
    assert recap.verdict == "new"  # nothing earlier states the summit yet
    assert assert_time_true(app) >= 1

    # The summit's own story, a month older than the recap, arrives last (feed a, appended).
    server.put("/a.xml", rss([LATE[2], LATE[1], EARLY]))
    _poll(app)
    early = _claim_of(app, "summit", "Kim Jong Un and Vladimir Putin")
    recap = _claim_of(app, "summit-recap", "Kim Jong Un and Vladimir Putin")
    assert early.verdict == "new"
    assert recap.verdict == "repeated"
    assert recap.matched_claim_id == early.id
    assert recap.root_claim_id == early.id
    assert assert_time_true(app) >= 2
    with app.sessions() as s:
        corrections = queries.corrections_for(s, claim_ids=[recap.id])
    assert [(c.old_verdict, c.new_verdict, c.new_root_claim_id) for c in corrections] == [
        ("new", "repeated", early.id)
    ]


def test_kb_import_sits_on_the_timeline(app: App, server: FeedServer, db) -> None:
    url_a, _ = _serve(server, [LATE[1]], [])
    assert CliRunner().invoke(feeds_group, ["add", url_a], obj=app).exit_code == 0
    _poll(app)
    recap = _claim_of(app, "summit-recap", "Kim Jong Un and Vladimir Putin")
    assert recap.verdict == "new"

    engine = ClaimEngine.from_settings(app.settings, app.sessions)
    older = KbRow("kb-summit", SUMMIT, "Archive", _at(2023, 9, 14))
    newer = KbRow("kb-summit-2", SUMMIT, "Archive", _at(2024, 1, 5))
    with app.sessions.begin() as s:
        assert engine.import_claims(s, [newer, older]) == 2
    with app.sessions() as s:
        imported = {
            c.external_id: c for c in s.scalars(select(Claim).where(Claim.external_id.is_not(None)))
        }
        recap = s.get(Claim, recap.id)
        assert recap is not None
        first = imported["kb-summit"]
        assert first.verdict == "new"
        # the story of 20 October now repeats the import of 14 September ...
        assert (recap.verdict, recap.matched_claim_id, recap.root_claim_id) == (
            "repeated",
            first.id,
            first.id,
        )
        # ... and the January import repeats an earlier report, rooted at the first one
        second = imported["kb-summit-2"]
        assert second.verdict == "repeated"
        assert second.root_claim_id == first.id
        assert [c.reason for c in queries.corrections_for(s, claim_ids=[recap.id])] == [
            "an earlier report was imported: kb-summit"
        ]
