"""Vector search side by side: nkwatch's VectorIndex (faiss IVFFlat) against faiss HNSW, hnswlib,
usearch and numpy brute force, on the same clustered unit vectors.

    python bench/vector_bench.py                 # 100k x 384 (a few minutes on 2 cores)
    python bench/vector_bench.py --n 1000000     # faiss IVF and numpy only at 1M (HNSW builds
                                                 # take tens of minutes there)

Each engine runs in its own subprocess (its own peak RSS). Vectors are synthetic: sentence
embeddings cluster by topic, so rows are drawn around 2,000 random centres with noise, then
normalised; queries are perturbed stored rows. Figures: build (wall and CPU), save + reopen,
query p50/p99 (wall and CPU, one query at a time), recall@10 against exact search, peak RSS.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DIM = 384
K = 10
ENGINES = ("nkwatch-faiss-ivf", "faiss-hnsw", "hnswlib", "usearch", "numpy")


def data(n: int, n_queries: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(7)
    centres = rng.standard_normal((2000, DIM)).astype(np.float32)
    rows = centres[rng.integers(0, 2000, n)] + 0.35 * rng.standard_normal((n, DIM)).astype(
        np.float32
    )
    rows /= np.linalg.norm(rows, axis=1, keepdims=True)
    picks = rng.integers(0, n, n_queries)
    queries = rows[picks] + 0.05 * rng.standard_normal((n_queries, DIM)).astype(np.float32)
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    return rows.astype(np.float32), queries.astype(np.float32)


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return float(line.split()[1]) / 1024
    return 0.0


def _clock() -> tuple[float, float]:
    return time.perf_counter(), time.process_time()


def _since(start: tuple[float, float]) -> tuple[float, float]:
    wall, cpu = _clock()
    return wall - start[0], cpu - start[1]


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def worker(engine: str, n: int, n_queries: int) -> dict:
    rows, queries = data(n, n_queries)
    ids = np.arange(1, n + 1, dtype=np.int64)
    exact = np.argsort(-(queries @ rows.T), axis=1)[:, :K] + 1
    base_rss = _rss_mb()
    tmp = Path(tempfile.mkdtemp(prefix="vbench-"))
    t = _clock()
    if engine == "nkwatch-faiss-ivf":
        from bot.claims.vectors import VectorIndex  # noqa: PLC0415

        index = VectorIndex(DIM, path=tmp, ivf_threshold=min(200_000, n // 2))
        index.deferred = True
        for lo in range(0, n, 20_000):
            index.add(ids[lo : lo + 20_000], rows[lo : lo + 20_000])
        index.deferred = False
        index.maintain()
        build = _since(t)
        t = _clock()
        index.flush()
        index = VectorIndex(DIM, path=tmp)
        reopen = _since(t)

        def search(q: np.ndarray) -> np.ndarray:
            return index.search_many(q.reshape(1, -1), K)[0][0]

    elif engine == "faiss-hnsw":
        import faiss  # noqa: PLC0415

        h = faiss.IndexIDMap2(faiss.IndexHNSWFlat(DIM, 32, faiss.METRIC_INNER_PRODUCT))
        h.add_with_ids(rows, ids)
        build = _since(t)
        t = _clock()
        faiss.write_index(h, str(tmp / "h.faiss"))
        h = faiss.read_index(str(tmp / "h.faiss"))
        faiss.downcast_index(h.index).hnsw.efSearch = 64
        reopen = _since(t)

        def search(q: np.ndarray) -> np.ndarray:
            return h.search(q.reshape(1, -1), K)[1][0]

    elif engine == "hnswlib":
        import hnswlib  # noqa: PLC0415

        hl = hnswlib.Index(space="ip", dim=DIM)
        hl.init_index(max_elements=n, M=16, ef_construction=100)
        hl.add_items(rows, ids)
        build = _since(t)
        t = _clock()
        hl.save_index(str(tmp / "h.bin"))
        hl = hnswlib.Index(space="ip", dim=DIM)
        hl.load_index(str(tmp / "h.bin"), max_elements=n)
        hl.set_ef(64)
        reopen = _since(t)

        def search(q: np.ndarray) -> np.ndarray:
            return hl.knn_query(q, k=K)[0][0]

    elif engine == "usearch":
        from usearch.index import Index  # noqa: PLC0415

        u = Index(ndim=DIM, metric="ip", dtype="f32")
        u.add(ids, rows)
        build = _since(t)
        t = _clock()
        u.save(str(tmp / "u.usearch"))
        u = Index.restore(str(tmp / "u.usearch"), view=True)
        reopen = _since(t)

        def search(q: np.ndarray) -> np.ndarray:
            return u.search(q, K).keys

    else:  # numpy brute force: the matrix is the index
        np.save(tmp / "rows.npy", rows)
        build = _since(t)
        t = _clock()
        mat = np.load(tmp / "rows.npy", mmap_mode="r")
        reopen = _since(t)

        def search(q: np.ndarray) -> np.ndarray:
            sims = mat @ q
            best = np.argpartition(-sims, K)[:K]
            return best[np.argsort(-sims[best])] + 1

    walls, cpus, recall = [], [], []
    for q, truth in zip(queries, exact, strict=True):
        t = _clock()
        found = search(q)
        wall, cpu = _since(t)
        walls.append(wall * 1000)
        cpus.append(cpu * 1000)
        recall.append(len(set(np.asarray(found).tolist()) & set(truth.tolist())) / K)
    held = _rss_mb()  # the input matrix stays alive in every engine, so this is the index's
    return {
        "engine": engine,
        "n": n,
        "build_s": build[0],
        "build_cpu_s": build[1],
        "reopen_s": reopen[0],
        "p50": _pct(walls, 0.5),
        "p99": _pct(walls, 0.99),
        "cpu_p50": _pct(cpus, 0.5),
        "cpu_p99": _pct(cpus, 0.99),
        "recall": float(np.mean(recall)),
        "rss_mb": held - base_rss,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--engines", nargs="+", default=list(ENGINES))
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker, args.n, args.queries)))
        return
    results = []
    for engine in args.engines:
        proc = subprocess.run(
            [
                sys.executable,
                __file__,
                "--worker",
                engine,
                "--n",
                str(args.n),
                "--queries",
                str(args.queries),
            ],
            capture_output=True,
            text=True,
            check=False,
            env=dict(os.environ, OMP_NUM_THREADS="1"),
        )
        if proc.returncode != 0:
            print(f"{engine}: failed\n{proc.stderr[-2000:]}", file=sys.stderr)
            continue
        results.append(json.loads(proc.stdout.strip().splitlines()[-1]))
        print(json.dumps(results[-1]), file=sys.stderr)
    print(
        f"\nvector search, {args.n:,} x {DIM} clustered unit vectors, {args.queries} queries, "
        f"top {K}, one thread"
    )
    head = (
        f"{'engine':<18} {'build s':>8} {'build cpu':>9} {'reopen s':>8} {'p50 ms':>7} "
        f"{'p99 ms':>7} {'cpu p50':>7} {'cpu p99':>7} {'recall':>6} {'RSS MB':>7}"
    )
    print(head)
    print("-" * len(head))
    for r in results:
        print(
            f"{r['engine']:<18} {r['build_s']:>8.1f} {r['build_cpu_s']:>9.1f} "
            f"{r['reopen_s']:>8.2f} {r['p50']:>7.2f} {r['p99']:>7.2f} {r['cpu_p50']:>7.2f} "
            f"{r['cpu_p99']:>7.2f} {r['recall']:>6.3f} {r['rss_mb']:>7.0f}"
        )


if __name__ == "__main__":
    main()
