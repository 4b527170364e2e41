"""Model costs per article: load, encode 20 sentences, pair-score their top-5 candidates.

    python bench/models_bench.py                       # onnx-int8 (1 and 2 threads) and torch
    python bench/models_bench.py --kinds onnx-int8 numpy-fp32 --articles 10

Each encoder runs in its own subprocess (so import time, load time and peak RSS are its own):

- import + load: importing the runtime and building the model, wall and CPU seconds;
- encode / article: 20 sentences of the seed corpus per article, batched as ingest does;
- /claim encode: one sentence, p50 / p99 over 200 calls;
- pairs / article: ``bot.claims.pairs`` scoring 20 sentences x 5 candidates (100 pairs), cold
  (candidate embeddings not cached: the first time a stored claim is met) and warm;
- peak RSS of the process.

CPU time is printed next to wall time because the machine is shared; ratios against the first
kind. ``torch`` is the encoder nkwatch used before (sentence-transformers); it runs only where
torch is still importable.
"""

# ruff: noqa: PLC0415  (each worker imports only the runtime it measures)
from __future__ import annotations

import argparse
import json
import os
import re
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))


def corpus_sentences() -> list[str]:
    """Sentences of the bundled seed corpus (a crude split is enough for timing)."""
    out: list[str] = []
    for path in sorted((ROOT / "bot" / "corpus").glob("*.txt")):
        text = " ".join(path.read_text(encoding="utf-8").split())
        out += [s for s in re.split(r"(?<=[.!?])\s+(?=[A-Z\"'])", text) if len(s) > 30]
    return out


def _clock() -> tuple[float, float]:
    return time.perf_counter(), time.process_time()


def _since(start: tuple[float, float]) -> tuple[float, float]:
    return time.perf_counter() - start[0], time.process_time() - start[1]


def worker(kind: str, threads: int, articles: int) -> dict[str, object]:
    sents = corpus_sentences()
    t = _clock()
    if kind == "onnx-int8":
        from bot.claims.semantic import SentenceEncoder

        enc: object = SentenceEncoder(threads=threads)
    else:
        import encoders

        enc = encoders.make(kind)
    load = _since(t)
    encode = enc.encode  # type: ignore[attr-defined]
    encode(sents[:4])  # first-call warm-up (session allocation), counted separately
    arts = [[sents[(a * 20 + i) % len(sents)] for i in range(20)] for a in range(articles)]
    t = _clock()
    for art in arts:
        encode(art)
    per_article = tuple(x / articles for x in _since(t))

    single = []
    for i in range(200):
        s = _clock()
        encode([sents[i % len(sents)]])
        single.append(_since(s))
    wall_ms = sorted(w * 1000 for w, _ in single)
    cpu_ms = sorted(c * 1000 for _, c in single)

    from bot.claims.pairs import LogisticPairScorer

    scorer = LogisticPairScorer(enc)  # type: ignore[arg-type]
    cold, warm = [], []
    for a, art in enumerate(arts):
        # 5 candidates per sentence: other corpus sentences, distinct for each article
        pairs = [
            (s, sents[(a * 100 + 20 * articles + i * 5 + j) % len(sents)])
            for i, s in enumerate(art)
            for j in range(5)
        ]
        t = _clock()
        scorer.score(pairs)
        cold.append(_since(t))
        t = _clock()
        scorer.score(pairs)
        warm.append(_since(t))
    return {
        "kind": kind if kind != "onnx-int8" else f"onnx-int8 ({threads} thr)",
        "load": load,
        "encode": per_article,
        "single_p50": (wall_ms[100], cpu_ms[100]),
        "single_p99": (wall_ms[197], cpu_ms[197]),
        "pairs_cold": tuple(sum(x) / len(cold) for x in zip(*cold, strict=True)),
        "pairs_warm": tuple(sum(x) / len(warm) for x in zip(*warm, strict=True)),
        "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--kinds", nargs="+", default=["onnx-int8", "torch"])
    ap.add_argument("--articles", type=int, default=20)
    ap.add_argument("--worker", nargs=3, metavar=("KIND", "THREADS", "ARTICLES"))
    args = ap.parse_args()
    if args.worker:
        kind, threads, articles = args.worker
        print(json.dumps(worker(kind, int(threads), int(articles))))
        return
    runs = []
    for kind in args.kinds:
        for threads in [1, 2] if kind == "onnx-int8" else [1]:
            proc = subprocess.run(
                [sys.executable, __file__, "--worker", kind, str(threads), str(args.articles)],
                capture_output=True,
                text=True,
                check=False,
                env=dict(os.environ, TOKENIZERS_PARALLELISM="false"),
            )
            if proc.returncode != 0:
                print(f"{kind}: unavailable ({proc.stderr.strip().splitlines()[-1:]})")
                continue
            runs.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    if not runs:
        return
    print(f"{args.articles} articles of 20 sentences; wall / CPU")
    head = (
        f"{'encoder':<22}{'import+load s':>16}{'encode/article ms':>20}{'/claim p50 ms':>16}"
        f"{'/claim p99 ms':>16}{'pairs cold ms':>16}{'pairs warm ms':>16}{'peak RSS MB':>13}"
    )
    print(head)
    for r in runs:

        def pair(key: str, scale: float = 1000.0, r: dict = r) -> str:
            w, c = r[key]
            return f"{w * scale:.0f} / {c * scale:.0f}" if scale > 1 else f"{w:.2f} / {c:.2f}"

        print(
            f"{r['kind']:<22}{pair('load', 1):>16}{pair('encode'):>20}"
            f"{pair('single_p50', 1):>16}{pair('single_p99', 1):>16}"
            f"{pair('pairs_cold'):>16}{pair('pairs_warm'):>16}{r['rss_mb']:>13.0f}"
        )
    base = runs[0]
    for r in runs[1:]:
        print(
            f"{r['kind']} vs {base['kind']}: load x{r['load'][0] / base['load'][0]:.1f}, "
            f"encode CPU x{r['encode'][1] / base['encode'][1]:.2f}, "
            f"RSS x{r['rss_mb'] / base['rss_mb']:.1f}"
        )


if __name__ == "__main__":
    main()
