"""``nkwatch demo`` end to end: seeds, claim engine, a loopback feed server, one poll, the digest."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from bot.digest.cli import demo_command
from bot.digest.demo import SAMPLES_DIR
from bot.settings import load_settings
from storage.db import make_engine, make_session_factory
from storage.models import Article, Claim

FEEDS = Path(__file__).parent / "testdata" / "demo_feeds"

pytestmark = pytest.mark.slow


def _app() -> SimpleNamespace:
    return SimpleNamespace(settings=load_settings(semantic="off"))


@pytest.mark.parametrize("samples", [FEEDS, SAMPLES_DIR], ids=["test-feed", "bundled"])
def test_demo_prints_the_digest_of_the_polled_stories(tmp_path: Path, samples: Path) -> None:
    db = tmp_path / "demo.db"
    result = CliRunner().invoke(
        demo_command, ["--db", str(db), "--samples", str(samples)], obj=_app()
    )
    assert result.exit_code == 0, result.output
    out = result.output
    assert "nkwatch demo digest" in out
    digest = out.split("nkwatch demo digest", 1)[1]

    engine = make_engine(f"sqlite:///{db}")
    with make_session_factory(engine)() as session:
        feed_claims = session.scalars(
            select(Claim).join(Article).where(Article.origin == "feed", Article.relevant)
        ).all()
        seed_articles = session.scalars(select(Article).where(Article.origin != "feed")).all()
    assert len(seed_articles) == 5
    assert feed_claims, "the sample stories produced no claims"
    stories = {c.article_id for c in feed_claims}
    with make_session_factory(engine)() as session:
        titles = {a.id: a.title for a in session.scalars(select(Article)).all()}
        irrelevant = session.scalars(
            select(Article.title).where(Article.origin == "feed", Article.relevant.is_(False))
        ).all()
    engine.dispose()
    for article_id in stories:
        assert titles[article_id] in digest
    assert irrelevant, "the samples have irrelevant stories, which the digest must leave out"
    for title in irrelevant:
        assert title not in digest
    counts = {
        v: sum(1 for c in feed_claims if c.verdict == v) for v in ("new", "updated", "repeated")
    }
    # the digest reports exactly what the claim engine stored
    assert (
        f"{len(stories)} {'story' if len(stories) == 1 else 'stories'}: {counts['new']} new claims, {counts['updated']} updated, "
        f"{counts['repeated']} repeated"
    ) in out
    if counts["repeated"]:
        assert "first reported 20" in out


def test_demo_refuses_an_existing_database(tmp_path: Path) -> None:
    db = tmp_path / "demo.db"
    db.write_bytes(b"")
    result = CliRunner().invoke(demo_command, ["--db", str(db)], obj=_app())
    assert result.exit_code != 0
    assert "builds a fresh database" in result.output


def test_demo_without_sample_feeds_says_so(tmp_path: Path) -> None:
    empty = tmp_path / "feeds"
    empty.mkdir()
    result = CliRunner().invoke(
        demo_command, ["--db", str(tmp_path / "d.db"), "--samples", str(empty)], obj=_app()
    )
    assert result.exit_code != 0
    assert "no sample feeds" in result.output
