"""Claim engine benchmark: build, reopen, cold `nkwatch claim`, `/claim` latency, ingest and memory
at 10k / 100k / 1M stored claims, with the old in-memory BM25 and rank_bm25 side by side.

    python bench/claims_bench.py                              # 1k and 100k (a few minutes)
    python bench/claims_bench.py --sizes 10000 100000 1000000 --paths lexical old-bm25
    python bench/claims_bench.py --sizes 100000 --paths semantic   # needs the [semantic] extra

For each store size the script builds (once, cached under $TMPDIR/nkwatch-claims-bench/) a
SQLite knowledge base of synthetic claims: seed-like sentences recombined from lists of actors,
weapons, places, figures and dates with a fixed random seed, each with its extracted attributes
(from 500k on, attributes of 2,000 templates: see build_store). Then, each in a fresh subprocess
so peak memory is its own:

- lexical:   ClaimEngine with semantic="off" and its index directory beside a copy of the store:
             build (first open, nothing on disk), a cold `nkwatch claim --json` process (median
             of 3), reopen in-process, `check()` p50/p99 (retrieval + provenance + judge),
             retrieval-only p50/p99, ingest (synthetic 20-sentence articles through extract +
             batched retrieval + judge + store, rolled back afterwards), RSS;
- semantic:  the same with the sentence model (query encoding included in the latency);
- old-bm25:  the in-memory BM25 this project used before tantivy (bench/old_bm25.py), which
             tokenises and indexes every stored claim on every start;
- rank_bm25: BM25Okapi over the same analysed tokens as a naive peer (retrieval only; past 50k
             only a few queries, it scans every document per term).

Every time is given as wall / CPU: the machine is shared, CPU seconds are what compare.

Semantic store embeddings: encoding a million sentences on 2 CPU cores takes about an hour, so
only ``--encode`` sentences (default 4,000) are truly encoded; every other stored claim gets the
embedding of a random encoded claim plus small Gaussian noise, renormalised. Query embeddings are
real. Search cost does not depend on the vector values, so latency figures are representative.
bench/vector_bench.py compares the vector index with faiss HNSW, hnswlib, usearch and numpy.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

# Generated stores are large (1.5 GB at 1M claims): kept outside the source tree.
CACHE = Path(os.environ.get("NKWATCH_BENCH_CACHE", tempfile.gettempdir())) / "nkwatch-claims-bench"
SEED = 20230807

ACTORS = [
    "Kim Jong Un",
    "North Korean leader Kim Jong Un",
    "Kim",
    "state media",
    "KCNA",
    "South Korea's defence ministry",
    "South Korea's unification ministry",
    "U.S. officials",
    "the Pentagon",
    "Russian Defense Minister Sergei Shoigu",
    "Vladimir Putin",
    "Japan's defence ministry",
    "the Joint Chiefs of Staff",
    "analysts",
    "a U.N. panel of experts",
    "Chinese officials",
    "Kim Yo Jong",
    "the White House",
    "Ukrainian intelligence",
    "the Korean People's Army",
    "South Korean President Yoon Suk Yeol",
    "the State Department",
]
EVENT_VERBS = [
    "inspected",
    "visited",
    "toured",
    "oversaw a test of",
    "called for mass production of",
    "ordered more",
    "showcased",
    "displayed",
    "test-fired",
    "launched",
    "praised",
    "examined",
    "reviewed the production of",
]
SHIP_VERBS = ["shipped", "delivered", "sent", "exported", "supplied", "transferred"]
WEAPONS = [
    "intercontinental ballistic missiles",
    "ICBMs",
    "short-range ballistic missiles",
    "240mm multiple rocket launchers",
    "multiple-launch rocket systems",
    "artillery shells",
    "122mm artillery rounds",
    "cruise missiles",
    "hypersonic missiles",
    "spy drones",
    "attack drones",
    "tactical nuclear weapons",
    "Hwasong-18 missiles",
    "KN-23 missiles",
    "sniper rifles",
    "armored vehicles",
    "tanks",
    "submarine-launched ballistic missiles",
    "anti-aircraft missiles",
    "launch vehicles",
    "Grad rockets",
    "large-caliber rocket shells",
    "solid-fuel engines",
    "reconnaissance satellites",
]
PLACES = [
    "in Pyongyang",
    "near Wonsan",
    "at a munitions factory",
    "in the Sea of Japan",
    "off the east coast",
    "at the Sohae launch site",
    "in South Hamgyong province",
    "near the border",
    "in Russia's Far East",
    "at the Vostochny cosmodrome",
    "near Bakhmut",
    "in the Kursk region",
    "at a shell factory",
    "at a missile plant",
    "near Sinpo",
]
DATES = [
    "on Saturday",
    "last month",
    "in July",
    "on August 21",
    "in March 2024",
    "on Tuesday",
    "earlier this week",
    "in January 2023",
    "in September 2023",
    "from August 21 to 24",
    "in 2022",
    "last year",
    "on Sunday",
    "in November 2023",
    "in May 2024",
    "this week",
]
UNITS = [
    "containers of munitions",
    "rounds of artillery shells",
    "missiles",
    "shells",
    "troops",
    "rockets",
    "drones",
    "tonnes of ammunition",
]
TOPICS = [
    "military cooperation",
    "arms sales",
    "sanctions",
    "joint drills",
    "nuclear talks",
    "weapons exports",
    "the war in Ukraine",
    "food aid",
    "satellite technology",
]
ACCUSATIONS = [
    "violating U.N. sanctions",
    "supplying weapons to Russia",
    "escalating tensions",
    "staging provocative drills",
    "hiding missile launchers",
    "smuggling oil",
]
TAILS = [
    "",
    "",
    "",
    ", according to state media",
    ", officials said",
    ", analysts said",
    ", the report said",
    ", a spokesman said",
]
SYNONYMS = {
    "toured": "visited",
    "visited": "toured",
    "inspected": "examined",
    "shipped": "sent",
    "sent": "shipped",
    "delivered": "supplied",
    "launched": "fired",
    "test-fired": "launched",
    "called for": "urged",
    "showcased": "displayed",
    "ICBMs": "intercontinental ballistic missiles",
    "multiple-launch rocket systems": "multiple rocket launchers",
    "munitions": "ammunition",
    "said": "stated",
    "near": "close to",
}


def _num(rng: random.Random) -> str:
    value = rng.choice(
        [
            rng.randint(2, 99),
            rng.randint(100, 999) * 10,
            rng.randint(1, 9) * 1000,
            rng.randint(10, 900) * 1000,
        ]
    )
    return f"{value:,}"


def sentence(rng: random.Random) -> str:
    """One seed-like claim."""
    a, b = rng.sample(ACTORS, 2)
    w, p, d, t = rng.choice(WEAPONS), rng.choice(PLACES), rng.choice(DATES), rng.choice(TAILS)
    form = rng.randrange(10)
    if form == 0:
        s = f"{a} {rng.choice(EVENT_VERBS)} {w} {p} {d}{t}."
    elif form == 1:
        s = (
            f"{a} said North Korea {rng.choice(SHIP_VERBS)} {_num(rng)} {rng.choice(UNITS)} "
            f"to Russia {d}."
        )
    elif form == 2:
        s = f"{a} reported that {b} {rng.choice(EVENT_VERBS)} {w} {p}{t}."
    elif form == 3:
        s = f"{w[0].upper()}{w[1:]} were launched {p} {d}, {a} said."
    elif form == 4:
        since = rng.randint(2012, 2023)
        s = f"North Korea has conducted over {_num(rng)} missile tests since {since}{t}."
    elif form == 5:
        s = f"{a} called for exponentially increasing production of {w} {d}{t}."
    elif form == 6:
        s = f"The {w} could strike targets {rng.randint(20, 3000)} kilometres away, {a} said."
    elif form == 7:
        s = f"{a} met {b} {p} {d} to discuss {rng.choice(TOPICS)}{t}."
    elif form == 8:
        s = f"Satellite images show new construction {p}, {a} said {d}."
    else:
        s = f"{a} accused {b} of {rng.choice(ACCUSATIONS)} {d}{t}."
    return s[0].upper() + s[1:]


def paraphrase(text: str, rng: random.Random) -> str:
    """Synonym swaps and a dropped attribution tail, like a rewritten wire story."""
    for old, new in SYNONYMS.items():
        if old in text and rng.random() < 0.7:
            text = text.replace(old, new, 1)
    for tail in TAILS[3:]:
        text = text.replace(tail, "")
    return text


# ----------------------------------------------------------------------------- store build


def build_store(size: int, encode: int) -> Path:
    """A cached SQLite store of ``size`` synthetic claims (attributes and embeddings included).

    At a million claims, extracting every claim's attributes takes an hour of CPU on this
    machine, so from 500k on claims carry the attributes of one of 2,000 extracted templates
    (retrieval, index and memory figures do not depend on them; judging reads them)."""
    import numpy as np  # noqa: PLC0415

    from bot.claims.extract import extract_attributes  # noqa: PLC0415
    from bot.claims.lexicon import load_lexicon  # noqa: PLC0415
    from bot.claims.semantic import to_bytes  # noqa: PLC0415
    from storage.db import make_engine, upgrade  # noqa: PLC0415
    from storage.models import Claim  # noqa: PLC0415

    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / f"store-{size}-{encode}.db"
    if path.exists():
        return path
    tmp = path.with_suffix(".tmp")
    tmp.unlink(missing_ok=True)
    t0 = time.perf_counter()
    engine = make_engine(f"sqlite:///{tmp}")
    upgrade(engine)
    rng = random.Random(SEED)
    lexicon = load_lexicon()
    texts: list[str] = []
    seen: set[str] = set()
    while len(texts) < size:
        s = sentence(rng)
        if s not in seen:
            seen.add(s)
            texts.append(s)
    del seen
    n_true = min(encode, size)
    # --encode 0: a lexical-only store (no embeddings, no model needed)
    from bot.claims.semantic import SentenceEncoder  # noqa: PLC0415

    true_vecs = SentenceEncoder().encode(texts[:n_true]) if n_true else None
    nrng = np.random.default_rng(SEED)
    outlets = ["Yonhap", "NK News", "Reuters", "AP", "KCNA Watch", "38 North", "VOA", "WSJ"]
    base = datetime(2022, 1, 1, tzinfo=UTC)
    batch = 20_000
    rows_attrs: list[dict] = []
    with engine.begin() as conn:
        for lo in range(0, size, batch):
            hi = min(size, lo + batch)
            if true_vecs is None:
                vecs = None
            elif hi <= n_true:
                vecs = true_vecs[lo:hi]
            else:
                picks = nrng.integers(0, n_true, hi - lo)
                vecs = true_vecs[picks] + nrng.normal(0, 0.03, (hi - lo, true_vecs.shape[1]))
                vecs = (vecs / np.linalg.norm(vecs, axis=1, keepdims=True)).astype(np.float32)
                if lo < n_true:
                    vecs[: n_true - lo] = true_vecs[lo:n_true]
            rows = []
            for i in range(lo, hi):
                published = base + timedelta(days=(i * 7919) % 900)
                if size >= 500_000 and i >= 2000:
                    attrs = rows_attrs[i % 2000]
                else:
                    attrs = extract_attributes(
                        texts[i], published=published, lexicon=lexicon
                    ).to_json()
                    if size >= 500_000:
                        rows_attrs.append(attrs)
                rows.append(
                    {
                        "article_id": None,
                        "position": 0,
                        "text": texts[i],
                        "attrs": attrs,
                        "verdict": "new",
                        "changes": [],
                        "external_id": f"syn-{i}",
                        "source": outlets[i % len(outlets)],
                        "first_seen_at": published,
                        "created_at": published,
                        "embedding": None if vecs is None else to_bytes(vecs[i - lo]),
                    }
                )
            conn.execute(Claim.__table__.insert(), rows)
            print(
                f"  store {size}: {hi:,} claims ({time.perf_counter() - t0:.0f}s)",
                file=sys.stderr,
                flush=True,
            )
    engine.dispose()
    tmp.rename(path)
    return path


def query_set(size: int, n: int) -> list[str]:
    """Half paraphrases of stored claims, half fresh claims (mostly new)."""
    rng = random.Random(SEED)
    stored: list[str] = []
    seen: set[str] = set()
    # replay the store generator to pick stored sentences without reading the DB
    picks = sorted(random.Random(SEED + 1).sample(range(size), min(size, n // 2)))
    want = set(picks)
    i = 0
    while len(stored) < len(picks):
        s = sentence(rng)
        if s in seen:
            continue
        seen.add(s)
        if i in want:
            stored.append(s)
        i += 1
    qrng = random.Random(SEED + 2)
    out = [paraphrase(s, qrng) for s in stored]
    out += [sentence(qrng) for _ in range(n - len(out))]
    qrng.shuffle(out)
    return out


def articles(n: int, per: int = 20) -> list[str]:
    rng = random.Random(SEED + 3)
    return [" ".join(sentence(rng) for _ in range(per)) for _ in range(n)]


# -------------------------------------------------------------------------------- workers


def _rss_mb() -> tuple[float, float]:
    status = Path("/proc/self/status").read_text()
    vals = {}
    for line in status.splitlines():
        if line.startswith(("VmRSS:", "VmHWM:")):
            key, value = line.split(":", 1)
            vals[key] = float(value.split()[0]) / 1024
    return vals.get("VmRSS", 0.0), vals.get("VmHWM", 0.0)


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _clock() -> tuple[float, float]:
    return time.perf_counter(), time.process_time()


def _since(start: tuple[float, float]) -> tuple[float, float]:
    wall, cpu = _clock()
    return wall - start[0], cpu - start[1]


# `nkwatch claim --json TEXT`, reporting its own high-water RSS: a forked child's ru_maxrss
# still counts the parent's pages from before exec, so wait4 cannot tell it.
_CLAIM_WITH_HWM = (
    "import atexit, runpy, sys\n"
    "def hwm():\n"
    "    for line in open('/proc/self/status'):\n"
    "        if line.startswith('VmHWM:'):\n"
    "            sys.stderr.write('HWM ' + line.split()[1] + '\\n')\n"
    "atexit.register(hwm)\n"
    "sys.argv = ['nkwatch', 'claim', '--json', sys.argv[1]]\n"
    "runpy.run_module('bot.cli', run_name='__main__')\n"
)


def _cold_claim(url: str, query: str, repeats: int = 3) -> tuple[float, float, float]:
    """`nkwatch claim --json TEXT` as a user runs it, index already on disk: median wall and
    CPU seconds (the child's own), and its peak RSS in MB."""
    runs = []
    env = dict(os.environ, NKWATCH_DATABASE_URL=url, NKWATCH_SEMANTIC="off")
    for _ in range(repeats):
        t = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, "-c", _CLAIM_WITH_HWM, query],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t
        err = proc.stderr.read().decode() if proc.stderr else ""
        if status != 0:
            raise RuntimeError(err or "claim failed")
        hwm = [
            float(line.split()[1]) / 1024 for line in err.splitlines() if line.startswith("HWM ")
        ]
        runs.append((wall, usage.ru_utime + usage.ru_stime, hwm[-1] if hwm else 0.0))
    runs.sort()
    return runs[len(runs) // 2]


def worker_engine(store: Path, size: int, path: str, n_queries: int, n_articles: int) -> dict:
    import gc  # noqa: PLC0415

    from bot.claims.engine import ClaimEngine  # noqa: PLC0415
    from bot.settings import Settings  # noqa: PLC0415
    from storage.db import make_engine, make_session_factory  # noqa: PLC0415
    from storage.models import Article  # noqa: PLC0415

    work = store.with_name(f"work-{size}-{path}.db")
    index_dir = work.with_name(work.name + ".index")
    shutil.copyfile(store, work)  # ingest writes; keep the cached store pristine
    shutil.rmtree(index_dir, ignore_errors=True)
    url = f"sqlite:///{work}"
    sessions = make_session_factory(make_engine(url))
    settings = Settings(database_url=url, semantic="on" if path == "semantic" else "off")
    queries = query_set(size, n_queries)
    t = _clock()
    engine = ClaimEngine.from_settings(settings, sessions)  # no index on disk: builds it
    build = _since(t)
    engine.index.close()
    del engine
    gc.collect()
    cold = _cold_claim(url, queries[0]) if path == "lexical" else (0.0, 0.0, 0.0)
    rss_before, _ = _rss_mb()
    t = _clock()
    engine = ClaimEngine.from_settings(settings, sessions)  # reopens what is on disk
    reopen = _since(t)
    for q in queries[:10]:
        engine.check(q)
    lat, cpu, ret, statuses = [], [], [], {"new": 0, "repeated": 0, "updated": 0}
    for q in queries:
        t = _clock()
        v = engine.check(q)
        wall, used = _since(t)
        lat.append(wall * 1000)
        cpu.append(used * 1000)
        statuses[v.status] += 1
        qv = engine.index.encode([q])
        t = _clock()
        engine.index.search(q, 20, query_vec=None if qv is None else qv[0])
        ret.append(_since(t)[0] * 1000)
    rss_serving, _ = _rss_mb()
    texts = articles(n_articles)
    with sessions() as session:
        arts = [
            Article(
                origin="feed",
                title=f"bench {i}",
                content_hash=f"bench-{i}",
                text=text,
                url=f"https://bench.example/{i}",
                outlet="Bench Wire",
                published_at=datetime(2025, 1, 1, tzinfo=UTC) + timedelta(hours=i),
            )
            for i, text in enumerate(texts)
        ]
        session.add_all(arts)
        session.flush()
        t = _clock()
        n_claims = 0
        for art in arts:
            n_claims += len(engine.ingest_article(session, art))
        ingest = _since(t)
        session.rollback()
    _, peak = _rss_mb()
    engine.index.close()
    work.unlink(missing_ok=True)
    shutil.rmtree(index_dir, ignore_errors=True)
    for suffix in ("-wal", "-shm"):
        Path(str(work) + suffix).unlink(missing_ok=True)
    return {
        "size": size,
        "path": path,
        "build_s": build[0],
        "build_cpu_s": build[1],
        "load_s": reopen[0],
        "load_cpu_s": reopen[1],
        "cold_s": cold[0],
        "cold_cpu_s": cold[1],
        "cold_rss_mb": cold[2],
        "p50": _pct(lat, 0.5),
        "p99": _pct(lat, 0.99),
        "cpu_p50": _pct(cpu, 0.5),
        "cpu_p99": _pct(cpu, 0.99),
        "ret_p50": _pct(ret, 0.5),
        "ret_p99": _pct(ret, 0.99),
        "articles_per_s": n_articles / ingest[0],
        "articles_per_cpu_s": n_articles / ingest[1],
        "claims_per_s": n_claims / ingest[0],
        "rss_mb": rss_serving,
        "rss_open_mb": rss_before,
        "peak_mb": peak,
        "statuses": statuses,
        "queries": len(queries),
        "ingested_articles": n_articles,
    }


def worker_old_bm25(store: Path, size: int, n_queries: int) -> dict:
    """The in-memory BM25 this project used before tantivy (bench/old_bm25.py): every start
    tokenises and indexes every stored claim."""
    from functools import partial  # noqa: PLC0415

    from old_bm25 import BM25Index, top_k  # noqa: PLC0415

    from bot.claims.index import Analyzer  # noqa: PLC0415
    from bot.claims.lexicon import load_lexicon  # noqa: PLC0415
    from bot.claims.normalize import normalize_tokens  # noqa: PLC0415
    from storage.claims import iter_index_rows  # noqa: PLC0415
    from storage.db import make_engine, make_session_factory  # noqa: PLC0415

    analyzer = Analyzer(partial(normalize_tokens, lexicon=load_lexicon()), stem=False)
    sessions = make_session_factory(make_engine(f"sqlite:///{store}"))
    t = _clock()
    index = BM25Index()
    index.bulk = True
    with sessions() as session:
        batch: list[list[str]] = []
        for row in iter_index_rows(session):
            batch.append(analyzer(row.text))
            if len(batch) >= 5000:
                index.add_many(batch)
                batch = []
        index.add_many(batch)
    index.merge()
    load = _since(t)
    lat, cpu = [], []
    for q in query_set(size, n_queries):
        t = _clock()
        top_k(index.scores(analyzer(q)), 20)
        wall, used = _since(t)
        lat.append(wall * 1000)
        cpu.append(used * 1000)
    rss, peak = _rss_mb()
    return {
        "size": size,
        "path": "old-bm25",
        "build_s": load[0],
        "build_cpu_s": load[1],
        "load_s": load[0],
        "load_cpu_s": load[1],
        "ret_p50": _pct(lat, 0.5),
        "ret_p99": _pct(lat, 0.99),
        "rss_mb": rss,
        "peak_mb": peak,
    }


def worker_peer(store: Path, size: int, n_queries: int) -> dict:
    from functools import partial  # noqa: PLC0415

    import numpy as np  # noqa: PLC0415
    from rank_bm25 import BM25Okapi  # noqa: PLC0415

    from bot.claims.index import Analyzer  # noqa: PLC0415
    from bot.claims.lexicon import load_lexicon  # noqa: PLC0415
    from bot.claims.normalize import normalize_tokens  # noqa: PLC0415
    from storage.claims import iter_index_rows  # noqa: PLC0415
    from storage.db import make_engine, make_session_factory  # noqa: PLC0415

    analyzer = Analyzer(partial(normalize_tokens, lexicon=load_lexicon()), stem=False)
    sessions = make_session_factory(make_engine(f"sqlite:///{store}"))
    t0 = time.perf_counter()
    with sessions() as session:
        corpus = [analyzer(row.text) for row in iter_index_rows(session)]
    bm25 = BM25Okapi(corpus)
    load_s = time.perf_counter() - t0
    queries = query_set(size, n_queries)
    if size >= 500_000:
        queries = queries[:10]
    elif size >= 50_000:
        queries = queries[:30]
    lat = []
    for q in queries:
        t = time.perf_counter()
        scores = bm25.get_scores(analyzer(q))
        np.argpartition(-scores, 20)[:20]
        lat.append((time.perf_counter() - t) * 1000)
    rss, peak = _rss_mb()
    return {
        "size": size,
        "path": "rank_bm25",
        "build_s": load_s,
        "load_s": load_s,
        "ret_p50": _pct(lat, 0.5),
        "ret_p99": _pct(lat, 0.99),
        "rss_mb": rss,
        "peak_mb": peak,
        "queries": len(queries),
    }


# ----------------------------------------------------------------------------------- main


def _run_worker(args: list[str]) -> dict | None:
    env = dict(os.environ, TOKENIZERS_PARALLELISM="false")
    proc = subprocess.run(
        [sys.executable, __file__, "--worker", *args],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if proc.returncode != 0:
        print(proc.stderr[-3000:], file=sys.stderr)
        return None
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[1_000, 100_000])
    ap.add_argument("--paths", nargs="+", default=["lexical", "old-bm25", "rank_bm25"])
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--articles", type=int, default=40)
    ap.add_argument("--encode", type=int, default=4000)
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--store", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        size, path = args.sizes[0], args.paths[0]
        if path == "rank_bm25":
            result = worker_peer(args.store, size, args.queries)
        elif path == "old-bm25":
            result = worker_old_bm25(args.store, size, args.queries)
        else:
            result = worker_engine(args.store, size, path, args.queries, args.articles)
        print(json.dumps(result))
        return
    results = []
    for size in args.sizes:
        t = time.perf_counter()
        store = build_store(size, args.encode if "semantic" in args.paths else 0)
        print(f"store {size:,}: ready ({time.perf_counter() - t:.0f}s)", file=sys.stderr)
        for path in args.paths:
            res = _run_worker(
                [
                    "--store",
                    str(store),
                    "--sizes",
                    str(size),
                    "--paths",
                    path,
                    "--queries",
                    str(args.queries),
                    "--articles",
                    str(args.articles),
                ]
            )
            if res is not None:
                results.append(res)
                print(json.dumps(res), file=sys.stderr)
    print_table(results, args)


def print_table(results: list[dict], args: argparse.Namespace) -> None:
    print(
        f"\nclaim engine bench (seed {SEED}, {os.cpu_count()} cores shared, "
        f"{args.queries} queries, {args.articles} ingest articles of 20 sentences); "
        "each cell wall / CPU"
    )
    cols = [
        ("claims", 9),
        ("path", 9),
        ("build s", 13),
        ("reopen s", 11),
        ("cold claim s", 12),
        ("check p50 ms", 13),
        ("check p99 ms", 13),
        ("search p50/p99", 14),
        ("ingest art/s", 12),
        ("RSS MB", 7),
        ("peak MB", 7),
    ]
    head = " ".join(f"{name:>{width}}" for name, width in cols)
    print(head)
    print("-" * len(head))
    for r in results:

        def pair(wall: str, cpu: str, fmt: str = "{:.2f}", r: dict = r) -> str:
            if wall not in r:
                return "-"
            return fmt.format(r[wall]) + (f"/{fmt.format(r[cpu])}" if cpu in r else "")

        cells = [
            f"{r['size']:,}",
            r["path"],
            pair("build_s", "build_cpu_s", "{:.1f}"),
            pair("load_s", "load_cpu_s"),
            pair("cold_s", "cold_cpu_s"),
            pair("p50", "cpu_p50", "{:.1f}"),
            pair("p99", "cpu_p99", "{:.1f}"),
            pair("ret_p50", "ret_p99", "{:.1f}"),
            pair("articles_per_s", "articles_per_cpu_s", "{:.0f}"),
            pair("rss_mb", "-", "{:.0f}"),
            pair("peak_mb", "-", "{:.0f}"),
        ]
        print(" ".join(f"{c:>{w}}" for c, (_, w) in zip(cells, cols, strict=True)))
    print(
        "\nbuild = first open with no index on disk (tokenise + index every claim); reopen = "
        "open with the index on disk, in-process; cold claim = a fresh `nkwatch claim --json` "
        "process (imports included); check = extract + retrieve + provenance + judge; search = "
        "retrieval only (top 20, wall p50/p99); ingest = extract + batched retrieval + judge + "
        "store per article, per wall second / per CPU second; RSS = serving process after the "
        "queries; peak includes ingest. Peers (rank_bm25, old-bm25) rebuild from the database on "
        "every start, so their build is also their reopen."
    )
    for r in results:
        if "statuses" in r:
            print(
                f"  {r['size']:,} {r['path']}: verdicts {r['statuses']}, "
                f"ingest {r['claims_per_s']:.0f} claims/s, cold claim peak RSS "
                f"{r.get('cold_rss_mb', 0):.0f} MB"
            )


if __name__ == "__main__":
    main()
