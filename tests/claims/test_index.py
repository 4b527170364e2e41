"""Retrieval: tantivy BM25 against a direct implementation, the pending overlay, persistence and\nrebuilds, faiss vectors, fusion."""

from __future__ import annotations

import json
import math
import zlib
from collections import Counter
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

import numpy as np
import pytest

from bot.claims.index import Analyzer, ClaimIndex, clean_text, text_check
from bot.claims.lexical import META_FILE, Doc, IndexDirError, LexicalIndex
from bot.claims.lexicon import load_lexicon
from bot.claims.normalize import normalize_tokens
from bot.claims.semantic import from_bytes, to_bytes
from bot.claims.vectors import VECTOR_FILE, VectorIndex

FIXTURES = Path(__file__).parent / "fixtures"

DOCS = [
    "Kim Jong Un toured munitions factories for three days",
    "North Korea shipped 6,700 containers of munitions to Russia",
    "Shoigu visited Pyongyang in July",
    "The drills run from August 21 to 24",
    "Kim called for more missile production at factories",
    "South Korea said the containers held artillery shells",
    "Grad rockets with North Korean markings were seen near Bakhmut",
]


def reference_bm25(docs: list[list[str]], query: list[str], k1=1.2, b=0.75) -> list[float]:
    """Textbook Okapi BM25 with the non-negative (Lucene) idf, computed the slow way."""
    n = len(docs)
    avgdl = sum(len(d) for d in docs) / n
    df = Counter(t for d in docs for t in set(d))
    out = []
    for d in docs:
        tf = Counter(d)
        score = 0.0
        for t in set(query):
            if tf[t] == 0:
                continue
            idf = math.log(1 + (n - df[t] + 0.5) / (df[t] + 0.5))
            score += idf * tf[t] * (k1 + 1) / (tf[t] + k1 * (1 - b + b * len(d) / avgdl))
        out.append(score)
    return out


@pytest.fixture(scope="module")
def analyzer() -> Analyzer:
    return Analyzer()


def _lexical(tmp_path: Path | None = None, **kw) -> LexicalIndex:
    return LexicalIndex(tmp_path, fingerprint="f", **kw)


def _docs(analyzer: Analyzer, texts=DOCS, first: int = 1) -> list[Doc]:
    return [Doc(first + i, analyzer(t), 1000 * (first + i), i) for i, t in enumerate(texts)]


QUERIES = ("Kim factories", "containers of munitions Russia", "Bakhmut rockets", "nothing")


def _scores(index: LexicalIndex, terms: list[str], n: int) -> list[float]:
    ((hits, _),) = index.search_many([terms], n)
    by_id = {h.claim_id: h.score for h in hits}
    return [by_id.get(i + 1, 0.0) for i in range(n)]


def test_tantivy_bm25_matches_reference_committed_and_pending(analyzer: Analyzer) -> None:
    docs = [analyzer(d) for d in DOCS]
    committed = _lexical()
    committed.add(_docs(analyzer))
    committed.flush()
    pending = _lexical(commit_seconds=1e9)  # stays in the in-memory overlay
    pending.add(_docs(analyzer))
    assert len(committed) == len(pending) == len(DOCS)
    for query in QUERIES:
        terms = analyzer(query)
        want = reference_bm25(docs, terms)
        np.testing.assert_allclose(_scores(committed, terms, len(DOCS)), want, rtol=1e-3, atol=1e-4)
        np.testing.assert_allclose(_scores(pending, terms, len(DOCS)), want, rtol=1e-3, atol=1e-4)


def test_half_committed_index_ranks_like_a_committed_one(analyzer: Analyzer) -> None:
    rng = np.random.default_rng(1)
    vocab = [f"w{i}" for i in range(300)]
    texts = [" ".join(rng.choice(vocab, size=12)) for _ in range(3000)]
    whole = _lexical()
    whole.add(_docs(analyzer, texts))
    whole.flush()
    split = _lexical(commit_seconds=1e9)
    split.add(_docs(analyzer, texts[:2900]))
    split.flush()
    split.add(_docs(analyzer, texts[2900:], first=2901))  # pending in the overlay
    for probe in (texts[2950], texts[10], texts[2999][:20]):
        terms = analyzer(probe)
        ((a, _),) = whole.search_many([terms], 5)
        ((b, _),) = split.search_many([terms], 5)
        assert [h.claim_id for h in a][:3] == [h.claim_id for h in b][:3]
        np.testing.assert_allclose([h.score for h in a], [h.score for h in b], rtol=2e-2)


def test_before_filters_by_publication_time(analyzer: Analyzer) -> None:
    idx = ClaimIndex(analyzer)
    old = datetime(2023, 9, 1, tzinfo=UTC)
    new = datetime(2023, 10, 1, tzinfo=UTC)
    texts = ["North Korea shipped munitions to Russia"] * 3
    idx.add_many([1, 2, 3], texts, published=[old, new, None])
    for flush in (False, True):
        if flush:
            idx.flush()
        assert {h.claim_id for h in idx.search(texts[0], k=5)} == {1, 2, 3}
        got = idx.search(texts[0], k=5, before=new)
        assert {h.claim_id for h in got} == {1, 3}  # unknown time counts as earlier
        assert {h.claim_id: h.published for h in got} == {1: old, 3: None}
        assert {h.claim_id for h in idx.search(texts[0], k=5, before=old)} == {3}


def test_search_many_equals_one_search_at_a_time(analyzer: Analyzer) -> None:
    idx = ClaimIndex(analyzer, encoder=HashEncoder())
    idx.add_many(list(range(1, len(DOCS) + 1)), DOCS)
    queries = ["Kim factories", "Shoigu Pyongyang", "zebra"]
    assert idx.search_many(queries, 3) == [idx.search(q, 3) for q in queries]


def test_index_persists_and_reopens_without_reindexing(tmp_path: Path, analyzer: Analyzer) -> None:
    first = ClaimIndex(analyzer, encoder=HashEncoder(), path=tmp_path / "ix")
    first.add_many(list(range(1, len(DOCS) + 1)), DOCS)
    want = first.search("Kim factories", 3)
    first.close()
    again = ClaimIndex(analyzer, encoder=HashEncoder(), path=tmp_path / "ix")
    assert len(again) == len(DOCS)
    assert again.max_id == len(DOCS)
    got = again.search("Kim factories", 3)  # tantivy scores in float32, the overlay in float64
    assert [h.claim_id for h in got] == [h.claim_id for h in want]
    np.testing.assert_allclose([h.fused for h in got], [h.fused for h in want], rtol=1e-5)
    assert again.lexical.rebuilt is None


def test_version_or_tokenizer_change_rebuilds_with_a_warning(
    tmp_path: Path, analyzer: Analyzer, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "ix"
    idx = ClaimIndex(analyzer, path=path)
    idx.add_many([1, 2], DOCS[:2])
    idx.close()
    other = ClaimIndex(analyzer, path=path, fingerprint_extra="another lexicon")
    assert len(other) == 0
    assert other.lexical.rebuilt == "was built with another lexicon or tokenizer"
    other.add_many([1], DOCS[:1])
    other.close()
    meta = json.loads((path / META_FILE).read_text())
    (path / META_FILE).write_text(json.dumps({**meta, "version": 0}))
    with caplog.at_level("WARNING"):
        newer = ClaimIndex(analyzer, path=path, fingerprint_extra="another lexicon")
    assert len(newer) == 0
    assert "rebuilding" in caplog.text


def test_corrupt_index_rebuilds_instead_of_crashing(tmp_path: Path, analyzer: Analyzer) -> None:
    path = tmp_path / "ix"
    idx = ClaimIndex(analyzer, path=path)
    idx.add_many(list(range(1, len(DOCS) + 1)), DOCS)
    idx.close()
    for file in path.iterdir():
        if file.name not in (META_FILE,) and file.is_file():
            file.write_bytes(b"\x00garbage" * 3)
    again = ClaimIndex(analyzer, path=path)
    assert again.lexical.rebuilt is not None
    assert again.lexical.rebuilt.startswith("is unreadable")
    assert len(again) == 0
    again.add_many([1], DOCS[:1])
    assert again.search("Kim factories", 1)[0].claim_id == 1


def test_a_second_process_reads_the_writers_commits_and_keeps_its_own_claims(
    tmp_path: Path, analyzer: Analyzer
) -> None:
    path = tmp_path / "ix"
    writer = ClaimIndex(analyzer, path=path)
    reader = ClaimIndex(analyzer, path=path)  # the directory's writer lock is taken
    writer.add_many([1, 2], DOCS[:2])
    writer.flush()
    reader.add_many([3], DOCS[2:3])
    reader.flush()  # cannot commit: stays searchable in memory
    assert reader.lexical.max_id == 3
    assert {h.claim_id for h in reader.search("Kim factories Shoigu munitions", 5)} >= {1, 3}
    assert 3 not in writer


def test_a_foreign_directory_is_refused(tmp_path: Path, analyzer: Analyzer) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(IndexDirError, match="not empty"):
        ClaimIndex(analyzer, path=tmp_path)
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_self_score_bounds_lexical(analyzer: Analyzer) -> None:
    idx = ClaimIndex(analyzer)
    idx.add_many(list(range(10, 10 + len(DOCS))), DOCS)
    hits = idx.search(DOCS[1], k=3)
    assert hits[0].claim_id == 11
    assert hits[0].lexical == pytest.approx(1.0, abs=1e-4)
    assert all(0.0 <= h.lexical <= 1.0 for h in hits)
    assert [h.fused for h in hits] == sorted((h.fused for h in hits), reverse=True)
    assert idx.search("completely unrelated zebra", k=3) == []


def test_adding_the_same_claim_twice_is_ignored(analyzer: Analyzer) -> None:
    idx = ClaimIndex(analyzer)
    idx.add(1, DOCS[0])
    idx.add(1, DOCS[0])
    idx.add_many([1, 2], [DOCS[0], DOCS[1]])
    assert len(idx) == 2
    assert 2 in idx
    assert next(h.claim_id for h in idx.search("Kim munitions factories", k=5)) == 1


def test_an_id_reused_with_another_text_replaces_the_old_entry(
    tmp_path: Path, analyzer: Analyzer
) -> None:
    """SQLite hands a rolled-back claim's id to the next claim: the index must follow."""
    idx = ClaimIndex(analyzer, path=tmp_path / "ix")
    idx.add_many([1, 2], DOCS[:2])
    idx.flush()  # 2 is committed
    idx.add_many([3], DOCS[2:3])  # 3 is pending
    idx.add_many([2, 3], [DOCS[3], DOCS[4]])
    for flush in (False, True):
        if flush:
            idx.flush()
        assert len(idx) == 3
        assert 2 not in [h.claim_id for h in idx.search(DOCS[1], 3)]  # its old text is gone
        assert idx.search(DOCS[3], 1)[0].claim_id == 2
        assert idx.search(DOCS[4], 1)[0].claim_id == 3
        assert idx.check_of(2) == text_check(DOCS[3])


def test_analyzer_cleans_social_media_text() -> None:
    cleaned = clean_text("Wow #NorthKorea @KimJongUn see https://t.co/x pic.twitter.com/abc")
    assert "https" not in cleaned
    assert "pic.twitter" not in cleaned
    assert "North Korea" in cleaned
    assert "Kim Jong Un" in cleaned
    terms = Analyzer()("The missiles were launched")
    assert terms == ["missil", "launch"]


def test_lexicon_tokens_make_aliases_meet() -> None:
    lex = load_lexicon()
    analyzer = Analyzer(partial(normalize_tokens, lexicon=lex), stem=False)
    idx = ClaimIndex(analyzer)
    idx.add_many([1, 2], ["Kim drove an updated 240mm MRL", "Kim visited a shoe factory"])
    hits = idx.search("Kim rode in a 240-millimetre multiple rocket launcher", k=2)
    assert hits[0].claim_id == 1


# ------------------------------------------------------------------------------- vectors


def _unit(rows: np.ndarray) -> np.ndarray:
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


def test_vector_index_exact_and_ivf_agree_on_clustered_data(tmp_path: Path) -> None:
    rng = np.random.default_rng(7)
    centers = rng.standard_normal((40, 32))
    data = _unit(centers[rng.integers(0, 40, 6000)] + 0.3 * rng.standard_normal((6000, 32)))
    ids = np.arange(100, 6100, dtype=np.int64)  # claim ids, not positions
    exact = VectorIndex(32, ivf_threshold=10**9)
    ivf = VectorIndex(32, ivf_threshold=1000, nprobe=8, path=tmp_path)
    for lo in range(0, 6000, 500):
        exact.add(ids[lo : lo + 500], data[lo : lo + 500])
        ivf.add(ids[lo : lo + 500], data[lo : lo + 500])
    assert ivf.partitioned
    assert not exact.partitioned
    ivf.add(ids[:10], data[:10])  # held already: ignored
    assert len(ivf) == 6000
    queries = _unit(data[rng.integers(0, 6000, 50)] + 0.05 * rng.standard_normal((50, 32)))
    truth, sims = exact.search_many(queries, 10)
    found, _ = ivf.search_many(queries, 10)
    assert all(list(row) == sorted(row, reverse=True) for row in sims)
    recall = [len(set(t) & set(f)) / 10 for t, f in zip(truth, found, strict=True)]
    assert np.mean(recall) >= 0.9
    pick = ids[rng.integers(0, 6000, 200)]
    q = queries[0]
    np.testing.assert_allclose(ivf.similarities(q, pick), data[pick - 100] @ q, rtol=1e-5)
    assert ivf.similarities(q, np.asarray([99999]))[0] == 0.0
    ivf.flush()
    reopened = VectorIndex(32, path=tmp_path, nprobe=8)
    assert reopened.partitioned
    assert reopened.max_id == 6099
    again, _ = reopened.search_many(queries, 10)
    assert (again == found).all()


def test_unreadable_vector_file_is_dropped(tmp_path: Path) -> None:
    (tmp_path / VECTOR_FILE).write_bytes(b"not faiss")
    vectors = VectorIndex(8, path=tmp_path)
    assert len(vectors) == 0
    assert vectors.max_id == 0


def test_embedding_bytes_round_trip() -> None:
    vec = _unit(np.random.default_rng(0).standard_normal((1, 384)))[0]
    back = from_bytes(to_bytes(vec), 384)
    assert back is not None
    assert float(back @ vec) > 0.9999
    assert from_bytes(to_bytes(vec), 512) is None  # another model's size is recomputed


class HashEncoder:
    """A deterministic stand-in encoder: bag of character trigrams hashed into 256 dims."""

    dim = 256

    def encode(self, texts):
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, text in enumerate(texts):
            t = f"  {text.lower()}  "
            for j in range(len(t) - 2):
                out[i, zlib.crc32(t[j : j + 3].encode()) % self.dim] += 1.0
        return _unit(out + 1e-6)


def test_fusion_surfaces_a_claim_bm25_misses() -> None:
    idx = ClaimIndex(Analyzer(), encoder=HashEncoder(), semantic_weight=0.7, pool=2)
    texts = ["Pyongyang-munitionfactory", *DOCS]
    idx.add_many(list(range(len(texts))), texts)
    hits = idx.search("pyongyangmunition factory", k=3)
    # no whole word matches claim 0, yet trigram similarity brings it in and ranks it first
    assert hits[0].claim_id == 0
    assert hits[0].lexical == 0.0
    assert hits[0].semantic is not None
    assert hits[0].semantic > 0.5


def _probe():
    pairs = [json.loads(line) for line in (FIXTURES / "paraphrases.jsonl").open()]
    distractors = [line.strip() for line in (FIXTURES / "distractors.txt").open() if line.strip()]
    return pairs, [p["claim"] for p in pairs] + distractors


def _map_at_5(index: ClaimIndex, pairs) -> float:
    total = 0.0
    for i, pair in enumerate(pairs):
        ranked = [h.claim_id for h in index.search(pair["query"], k=5)]
        total += 1.0 / (ranked.index(i) + 1) if i in ranked else 0.0
    return total / len(pairs)


def test_lexical_probe_finds_most_paraphrases() -> None:
    pairs, texts = _probe()
    idx = ClaimIndex(Analyzer())
    idx.add_many(list(range(len(texts))), texts)
    assert _map_at_5(idx, pairs) >= 0.75


@pytest.mark.semantic
def test_semantic_fusion_beats_lexical_on_paraphrase_probe() -> None:
    semantic = pytest.importorskip("bot.claims.semantic")
    try:
        encoder = semantic.SentenceEncoder()
    except Exception as exc:  # pragma: no cover - extra not installed
        pytest.skip(f"MiniLM unavailable: {exc}")
    pairs, texts = _probe()
    lexical = ClaimIndex(Analyzer())
    lexical.add_many(list(range(len(texts))), texts)
    fused = ClaimIndex(Analyzer(), encoder=encoder)
    fused.add_many(list(range(len(texts))), texts)
    lexical_map, fused_map = _map_at_5(lexical, pairs), _map_at_5(fused, pairs)
    assert fused_map > lexical_map
    assert fused_map >= 0.9


def test_bulk_load_builds_once_and_then_serves_like_incremental() -> None:
    rng = np.random.default_rng(3)
    vocab = [f"w{i}" for i in range(200)]
    texts = [" ".join(rng.choice(vocab, size=8)) for _ in range(3000)]
    encoder = HashEncoder()
    bulk = ClaimIndex(Analyzer(), encoder=encoder)
    assert bulk.vectors is not None
    bulk.vectors.ivf_threshold = 1000
    with bulk.bulk_load():
        for lo in range(0, 3000, 250):
            bulk.add_many(list(range(lo + 1, lo + 251)), texts[lo : lo + 250])
        assert not bulk.vectors.partitioned  # deferred while loading
    assert bulk.vectors.partitioned
    assert len(bulk) == 3000
    plain = ClaimIndex(Analyzer(), encoder=encoder)
    plain.add_many(list(range(1, 3001)), texts)
    for probe in texts[:20]:
        got = [h.claim_id for h in bulk.search(probe, k=3)]
        want = [h.claim_id for h in plain.search(probe, k=3)]
        assert got[0] == want[0]
