"""The claim engine service end to end on a real database (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest
from sqlalchemy import select

from bot.claims.candidates import rank_matches
from bot.claims.engine import ClaimEngine
from bot.claims.kb_import import KbRow, parse_kb_line, parse_published
from bot.claims.lexicon import load_lexicon
from bot.claims.normalize import normalize_tokens
from bot.claims.token_overlap import TokenSets, main_clause
from bot.claims.types import Attributes, Candidate, Match, Verdict
from bot.settings import Settings
from storage import articles as article_store
from storage import claims as claim_store
from storage import events as event_store
from storage.models import Article, Claim
from tests.claims.test_index import HashEncoder
from tests.conftest import Database
from tests.helpers import queries

STORY_A = (
    "Kim Jong Un toured weapons factories for three days through Saturday, state media "
    "reported. North Korea shipped 6,700 containers of munitions to Russia, South Korea's "
    "defence ministry said. Russian Defense Minister Sergei Shoigu visited Pyongyang in July."
)
STORY_B = (
    "South Korea's defence ministry said North Korea shipped 8,000 containers of munitions to "
    "Russia. North Korean leader Kim Jong Un inspected weapons factories over three days ending "
    "Saturday, state media said. The price of rice in Pyongyang markets rose sharply."
)


def _settings(db: Database) -> Settings:
    return Settings(database_url=db.url, semantic="off")


def _add(s, *, h: str, text: str, published: datetime, outlet: str, origin: str = "feed"):
    return article_store.add_article(
        s,
        origin=origin,
        title=f"story {h}",
        content_hash=h,
        text=text,
        url=f"https://{h}.example/1" if origin == "feed" else f"seed:{origin}",
        outlet=outlet,
        published_at=published,
    )


def _stories(db: Database) -> tuple[int, int]:
    with db.sessions.begin() as s:
        # inserted newest first: processing must still follow publication order
        b = _add(s, h="b", text=STORY_B, published=datetime(2023, 8, 14, tzinfo=UTC), outlet="B")
        a = _add(
            s,
            h="a",
            text=STORY_A,
            published=datetime(2023, 8, 7, tzinfo=UTC),
            outlet="Wire A",
            origin="000_a.txt",
        )
        return a.id, b.id


def _claims(s, article_id: int) -> list[Claim]:
    return list(claim_store.list_article_claims(s, article_id=article_id))


def test_pending_articles_are_judged_in_publication_order(db: Database) -> None:
    a_id, b_id = _stories(db)
    engine = ClaimEngine.from_settings(_settings(db), db.sessions)
    with db.sessions() as s:
        counts = engine.process_pending(s)
    assert counts.articles == 2
    assert counts.claims == counts.new + counts.repeated + counts.updated
    with db.sessions() as s:
        first = _claims(s, a_id)
        later = _claims(s, b_id)
        assert {c.verdict for c in first} == {"new"}  # nothing was stored before story A
        by_text = {c.text.split()[0]: c for c in later}
        shipped = next(c for c in later if "8,000" in c.text)
        assert shipped.verdict == "updated"
        old_claim = next(c for c in first if "6,700" in c.text)
        assert shipped.matched_claim_id == old_claim.id
        assert shipped.root_claim_id == old_claim.id
        assert shipped.event_id == old_claim.event_id  # an update joins its match's event
        assert any("6700" in ch["old"] or "6,700" in ch["old"] for ch in shipped.changes)
        assert any("8000" in ch["new"] or "8,000" in ch["new"] for ch in shipped.changes)
        tour = next(c for c in later if "inspected" in c.text)
        assert tour.verdict == "repeated"
        assert tour.matched_claim_id == next(c for c in first if "toured" in c.text).id
        assert by_text["The"].verdict == "new"  # rice prices: nothing like it stored
        assert all(a.claims_extracted for a in s.scalars(select(Article)))
        assert claim_store.fact_source_count(s, root_claim_id=old_claim.id) == 2
    with db.sessions() as s:
        again = engine.process_pending(s)
    assert again.articles == 0  # nothing is judged twice


def test_check_explains_and_a_reloaded_engine_agrees(db: Database) -> None:
    _stories(db)
    engine = ClaimEngine.from_settings(_settings(db), db.sessions)
    with db.sessions() as s:
        engine.process_pending(s)
    verdict = engine.check("North Korea sent 6,700 containers of munitions to Russia", top=3)
    assert verdict.status == "repeated"
    top = verdict.matches[0].candidate
    assert top.url == "seed:000_a.txt"
    assert top.source == "Wire A"
    assert top.published == datetime(2023, 8, 7, tzinfo=UTC)
    assert "6,700" in top.text
    assert len(verdict.matches) == 3
    assert [m.score for m in verdict.matches] == sorted(
        (m.score for m in verdict.matches), reverse=True
    )
    updated = engine.check("North Korea shipped 9,500 containers of munitions to Russia.")
    assert updated.status == "updated"
    assert any("9500" in c.new or "9,500" in c.new for c in updated.changed)
    fresh = ClaimEngine.from_settings(_settings(db), db.sessions)  # index rebuilt from storage
    assert len(fresh.index) == len(engine.index)
    again = fresh.check("North Korea sent 6,700 containers of munitions to Russia", top=3)
    assert again.status == "repeated"
    assert again.matches[0].candidate.claim_id == top.claim_id
    nothing = fresh.check("Bananas are rich in potassium and taste sweet.")
    assert nothing.status == "new"


def test_claims_of_one_story_are_not_each_others_match(db: Database) -> None:
    text = (
        "Kim Jong Un toured weapons factories for three days, state media reported. "
        "North Korea's leader Kim Jong Un toured the weapons factories for three days, "
        "the state media said."
    )
    with db.sessions.begin() as s:
        art = _add(s, h="x", text=text, published=datetime(2023, 8, 7, tzinfo=UTC), outlet="X")
        art_id = art.id
    engine = ClaimEngine.from_settings(_settings(db), db.sessions)
    with db.sessions() as s:
        engine.process_pending(s)
        rows = _claims(s, art_id)
    assert len(rows) == 2
    assert [c.verdict for c in rows] == ["new", "new"]
    # ... but a later story sees both, in the same run or the next
    assert engine.check("Kim toured weapons factories for three days.").status == "repeated"


def test_events_group_a_story_and_its_repeats(db: Database) -> None:
    _a_id, b_id = _stories(db)
    engine = ClaimEngine.from_settings(_settings(db), db.sessions)
    with db.sessions() as s:
        counts = engine.process_pending(s)
        listed = event_store.list_events(s)
        b_claims = _claims(s, b_id)
    assert counts.events_opened == len(listed)
    assert sum(e.claim_count for e in listed) == counts.claims
    shared = [e for e in listed if len(e.sources) == 2]
    assert shared  # the repeated and updated claims put story B into story A's events
    assert all(c.event_id is not None for c in b_claims)


def test_import_is_idempotent_and_imported_claims_match(db: Database) -> None:
    engine = ClaimEngine.from_settings(_settings(db), db.sessions)
    rows = [
        KbRow("fc-1", "Drinking hot water with lemon cures the coronavirus.", "factcheck", None),
        KbRow(
            "fc-2",
            "5G mobile towers spread the coronavirus.",
            "factcheck",
            datetime(2020, 4, 1, tzinfo=UTC),
        ),
    ]
    with db.sessions.begin() as s:
        assert engine.import_claims(s, rows) == 2
    with db.sessions.begin() as s:
        assert engine.import_claims(s, rows) == 0
        assert queries.count_claims(s) == 2
    verdict = engine.check("they say 5G masts are spreading the corona virus #5G https://t.co/x")
    top = verdict.matches[0].candidate
    assert top.text == "5G mobile towers spread the coronavirus."
    assert (top.source, top.url, top.article_id) == ("factcheck", None, None)
    assert top.published == datetime(2020, 4, 1, tzinfo=UTC)


def test_semantic_engine_caches_embeddings_in_storage(db: Database) -> None:
    _stories(db)
    encoder = HashEncoder()
    engine = ClaimEngine.from_settings(_settings(db), db.sessions, encoder=encoder)
    assert engine.semantic
    with db.sessions() as s:
        engine.process_pending(s)
        blobs = [c.embedding for c in s.scalars(select(Claim))]
    assert blobs
    assert all(b is not None and len(b) == 2 * encoder.dim for b in blobs)
    query = "North Korea shipped 6,700 containers of munitions to Russia."
    verdict = engine.check(query)
    top = verdict.matches[0].candidate
    assert top.semantic is not None
    expected = float(encoder.encode([query])[0] @ encoder.encode([top.text])[0])
    assert top.semantic == pytest.approx(expected, abs=2e-3)

    calls: list[int] = []

    class Counting(HashEncoder):
        def encode(self, texts):
            calls.append(len(texts))
            return super().encode(texts)

    reloaded = ClaimEngine.from_settings(_settings(db), db.sessions, encoder=Counting())
    assert len(reloaded.index) == len(blobs)
    assert calls == []  # every stored claim came with its embedding


def test_kb_lines_are_validated() -> None:
    row = parse_kb_line('{"id": 7, "text": " A claim. ", "source": "x", "published": "2020-03-01"}')
    assert (row.external_id, row.text, row.source) == ("7", "A claim.", "x")
    assert row.published == datetime(2020, 3, 1, tzinfo=UTC)
    for bad, why in [
        ("not json", "not JSON"),
        ("[1, 2]", "JSON object"),
        ('{"text": "x"}', "id"),
        ('{"id": "a", "text": "  "}', "text"),
        ('{"id": "a", "text": "x", "published": "someday soonish"}', "published"),
        ('{"id": "' + "i" * 300 + '", "text": "x"}', "longer"),
    ]:
        with pytest.raises(ValueError, match=why):
            parse_kb_line(bad)
    assert parse_published("2023-08-07T08:07:00-04:00") == datetime(2023, 8, 7, 12, 7, tzinfo=UTC)
    assert parse_published(None) is None


def _cand(cid: int, semantic: float, lexical: float) -> Candidate:
    return Candidate(
        claim_id=cid, text=f"c{cid}", attrs=Attributes(), lexical=lexical, semantic=semantic
    )


def test_rank_matches_keeps_judge_order_then_fills_from_retrieval() -> None:
    a, b, c = _cand(1, 0.9, 0.9), _cand(2, 0.5, 0.5), _cand(3, 0.4, 0.1)
    verdict = Verdict(status="repeated", score=0.8, matches=(Match(b, 0.8), Match(a, 0.7)))
    ranked = rank_matches(verdict, [a, b, c], top=3)
    assert [m.candidate.claim_id for m in ranked] == [2, 1, 3]
    assert ranked[2].score == pytest.approx(0.7 * 0.4 + 0.3 * 0.1)
    assert len(rank_matches(verdict, [a, b, c], top=1)) == 1
    assert np.isfinite([m.score for m in ranked]).all()


def test_token_sets_equal_the_tokenizer_and_stay_bounded() -> None:
    lexicon = load_lexicon()
    tokens = TokenSets(lexicon, limit=2)
    text = "Kim Jong Un inspected 240-millimetre rocket launchers, praising the workers."
    assert tokens.whole(text) == frozenset(normalize_tokens(text, lexicon))
    assert tokens.core(text) == frozenset(normalize_tokens(main_clause(text), lexicon))
    assert "prais" not in tokens.core(text)
    assert len(tokens) == 1  # memoised: one text, one entry
    assert tokens.sequence(text) == normalize_tokens(text, lexicon)
    for other in ("Kim toured a factory.", "Kim toured a plant.", "Kim toured a works."):
        tokens.whole(other)
    assert len(tokens) <= 2


def test_catch_up_indexes_claims_another_process_stored(db: Database) -> None:
    """Two instances share one database: each judges against the other's claims too."""
    first = ClaimEngine.from_settings(_settings(db), db.sessions)
    second = ClaimEngine.from_settings(_settings(db), db.sessions)  # another process, say
    _stories(db)
    with db.sessions() as s:
        first.process_pending(s)
        stored = queries.count_claims(s)
    assert second.check("North Korea sent 6,700 containers of munitions to Russia").status == "new"
    with db.sessions() as s:
        assert second.catch_up(s) == stored
        assert second.catch_up(s) == 0  # nothing twice
    again = second.check("North Korea sent 6,700 containers of munitions to Russia")
    assert again.status == "repeated"
    assert len(second.index) == len(first.index)
