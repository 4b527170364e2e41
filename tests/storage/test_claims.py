"""Claim storage against SQLite and PostgreSQL: verdicts, provenance, import, index loading."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from storage import articles as article_store
from storage import claims as claim_store
from storage.models import Claim
from tests.conftest import Database
from tests.helpers import queries

T0 = datetime(2023, 8, 7, 12, 0, tzinfo=UTC)


def _article(s, *, origin: str, h: str, published: datetime | None, url: str | None = None, **kw):
    return article_store.add_article(
        s,
        origin=origin,
        title=f"title {h}",
        content_hash=h,
        text="text",
        url=url,
        outlet=kw.pop("outlet", None),
        published_at=published,
        **kw,
    )


def test_add_and_list_claims_with_verdicts(db: Database) -> None:
    with db.sessions.begin() as s:
        art = _article(s, origin="000_x.txt", h="a", published=T0, url="seed:000_x.txt")
        first = claim_store.add_claim(
            s,
            text="Kim toured factories.",
            attrs={"actors": ["kim"]},
            article_id=art.id,
            position=3,
        )
        second = claim_store.add_claim(
            s,
            text="Kim toured arms factories for three days.",
            attrs={},
            article_id=art.id,
            position=1,
            verdict="updated",
            score=0.8,
            changes=[{"what": "days", "old": "2 days", "new": "three days"}],
            matched_claim_id=first.id,
            root_claim_id=first.id,
        )
        art_id, first_id, second_id = art.id, first.id, second.id
    with db.sessions() as s:
        rows = claim_store.list_article_claims(s, article_id=art_id)
        assert [c.id for c in rows] == [second_id, first_id]  # by position
        assert rows[0].verdict == "updated"
        assert rows[0].changes == [{"what": "days", "old": "2 days", "new": "three days"}]
        assert rows[0].matched_claim_id == first_id
        assert rows[1].attrs == {"actors": ["kim"]}
        assert queries.verdict_counts(s) == {"new": 1, "updated": 1}
        assert queries.count_claims(s) == 2


def test_provenance_joins_article_and_keeps_external_source(db: Database) -> None:
    with db.sessions.begin() as s:
        seed = _article(
            s, origin="000_x.txt", h="a", published=T0, url=None, outlet="The Wall Street Journal"
        )
        feed = _article(s, origin="feed", h="b", published=T0, url="https://n.example/1")
        c1 = claim_store.add_claim(s, text="one", attrs={}, article_id=seed.id)
        c2 = claim_store.add_claim(s, text="two", attrs={}, article_id=feed.id, event_id=None)
        added, _ = claim_store.import_external_claims(
            s,
            rows=[
                claim_store.ExternalClaim(
                    external_id="x1", text="three", source="snopes", published=T0, attrs={}
                )
            ],
        )
        ids = (c1.id, c2.id, added[0].id)
    with db.sessions() as s:
        prov = claim_store.claim_provenance(s, claim_ids=[*ids, 999_999])
        assert set(prov) == set(ids)  # a missing id is simply absent
        assert prov[ids[0]].url == "seed:000_x.txt"
        assert prov[ids[0]].source == "The Wall Street Journal"
        assert prov[ids[0]].article_title == "title a"
        assert prov[ids[0]].published == T0
        assert prov[ids[1]].url == "https://n.example/1"
        ext = prov[ids[2]]
        assert (ext.article_id, ext.source, ext.published, ext.url) == (None, "snopes", T0, None)


def test_import_is_idempotent_on_external_id(db: Database) -> None:
    rows = [
        claim_store.ExternalClaim(
            external_id=f"id{i}", text=f"claim {i}", source=None, published=None, attrs={}
        )
        for i in range(5)
    ]
    dup = claim_store.ExternalClaim(
        external_id="id0", text="again", source=None, published=None, attrs={}
    )
    with db.sessions.begin() as s:
        added, skipped = claim_store.import_external_claims(s, rows=[*rows, dup])
        assert (len(added), skipped) == (5, 1)
    with db.sessions.begin() as s:
        added, skipped = claim_store.import_external_claims(s, rows=rows)
        assert (len(added), skipped) == (0, 5)
        assert queries.count_claims(s) == 5
        assert claim_store.existing_external_ids(s, external_ids=["id1", "nope"]) == {"id1"}


def test_index_rows_page_through_every_claim_and_embeddings_are_cached(db: Database) -> None:
    with db.sessions.begin() as s:
        ids = [claim_store.add_claim(s, text=f"c{i}", attrs={}).id for i in range(23)]
        claim_store.set_embeddings(s, embeddings={ids[0]: b"\x01\x02", ids[5]: b"\x03\x04"})
    with db.sessions() as s:
        rows = list(claim_store.iter_index_rows(s, batch=4))
    assert [r.claim_id for r in rows] == ids
    assert [r.text for r in rows] == [f"c{i}" for i in range(23)]
    assert rows[0].embedding == b"\x01\x02"
    assert rows[5].embedding == b"\x03\x04"
    assert rows[1].embedding is None


def test_unextracted_articles_in_publication_order(db: Database) -> None:
    with db.sessions.begin() as s:
        late = _article(s, origin="feed", h="late", published=T0 + timedelta(days=3))
        undated = _article(s, origin="feed", h="undated", published=None)
        early = _article(s, origin="feed", h="early", published=T0)
        done = _article(s, origin="feed", h="done", published=T0 - timedelta(days=1))
        off_topic = _article(s, origin="feed", h="off", published=T0, relevant=False)
        claim_store.mark_claims_extracted(s, article_id=done.id)
        order = [early.id, late.id, undated.id]
        assert off_topic.id not in order
    with db.sessions() as s:
        assert [a.id for a in claim_store.unextracted_articles(s)] == order


def test_fact_source_count_counts_distinct_outlets_and_imports(db: Database) -> None:
    with db.sessions.begin() as s:
        a = _article(s, origin="feed", h="a", published=T0)
        b = _article(s, origin="feed", h="b", published=T0)
        # Two more stories of one outlet (spelled two ways) count as one source.
        c = _article(s, origin="feed", h="c", published=T0, outlet="Yonhap")
        d = _article(s, origin="feed", h="d", published=T0, outlet="YONHAP")
        root = claim_store.add_claim(s, text="root", attrs={}, article_id=a.id)
        for art in (c, d):
            claim_store.add_claim(
                s, text="yonhap", attrs={}, article_id=art.id, root_claim_id=root.id
            )
        claim_store.add_claim(
            s, text="again", attrs={}, article_id=b.id, position=1, root_claim_id=root.id
        )
        claim_store.add_claim(
            s, text="again in b", attrs={}, article_id=b.id, position=2, root_claim_id=root.id
        )
        claim_store.add_claim(
            s, text="imported", attrs={}, source="wire", external_id="w1", root_claim_id=root.id
        )
        claim_store.add_claim(s, text="other", attrs={}, article_id=a.id, position=5)
        root_id = root.id
    with db.sessions() as s:
        assert claim_store.fact_source_count(s, root_claim_id=root_id) == 4


def test_later_provenance_finds_verdicts_that_point_forward_in_time(db: Database) -> None:
    with db.sessions.begin() as s:
        early = _article(s, origin="feed", h="e", published=T0)
        late = _article(s, origin="feed", h="l", published=T0 + timedelta(days=9))
        undated = _article(s, origin="feed", h="u", published=None)
        first = claim_store.add_claim(s, text="first", attrs={}, article_id=early.id)
        after = claim_store.add_claim(s, text="after", attrs={}, article_id=late.id)
        ok = claim_store.add_claim(
            s,
            text="later repeats the earlier",
            attrs={},
            article_id=late.id,
            position=1,
            verdict="repeated",
            matched_claim_id=first.id,
            root_claim_id=first.id,
        )
        bad_root = claim_store.add_claim(
            s,
            text="earlier story rooted in a later one",
            attrs={},
            article_id=early.id,
            position=1,
            verdict="repeated",
            matched_claim_id=first.id,
            root_claim_id=after.id,
        )
        bad_match = claim_store.add_claim(
            s,
            text="earlier story updated from a later one",
            attrs={},
            article_id=early.id,
            position=2,
            verdict="updated",
            matched_claim_id=after.id,
            root_claim_id=first.id,
        )
        new_claim = claim_store.add_claim(  # a new verdict is never a provenance error
            s, text="new", attrs={}, article_id=early.id, position=3, matched_claim_id=after.id
        )
        imported_later = claim_store.add_claim(
            s,
            text="wire",
            attrs={},
            source="wire",
            external_id="w9",
            first_seen_at=T0 + timedelta(days=30),
        )
        from_import = claim_store.add_claim(
            s,
            text="repeats a later import",
            attrs={},
            article_id=late.id,
            position=2,
            verdict="repeated",
            matched_claim_id=imported_later.id,
            root_claim_id=imported_later.id,
        )
        no_time = claim_store.add_claim(  # no time on its own side: not judged
            s,
            text="undated",
            attrs={},
            article_id=undated.id,
            verdict="repeated",
            matched_claim_id=after.id,
            root_claim_id=after.id,
        )
        expected = [bad_root.id, bad_match.id, from_import.id]
        fine = {ok.id, new_claim.id, no_time.id}
    with db.sessions() as s:
        found = queries.later_provenance(s)
    assert found == expected
    assert fine.isdisjoint(found)


def test_deleting_an_article_removes_its_claims(db: Database) -> None:
    with db.sessions.begin() as s:
        a = _article(s, origin="feed", h="a", published=T0)
        claim_store.add_claim(s, text="x", attrs={}, article_id=a.id)
        s.delete(a)
    with db.sessions() as s:
        assert s.query(Claim).count() == 0
