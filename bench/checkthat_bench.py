"""CLEF 2020 CheckThat! task 2 through the product: MAP@5 of tweet -> verified-claim retrieval.

    python bench/checkthat_bench.py --encoder off                 # lexical path
    python bench/checkthat_bench.py --encoder onnx-int8           # the product's model path
    python bench/checkthat_bench.py --encoder numpy-fp32          # fp32 reference weights
    python bench/checkthat_bench.py --split train --top 20 --dump /tmp/ct-train.jsonl
                                            # candidates for bench/train_pairs.py

Runs the real CLI in this process: ``nkwatch kb import`` of the 10,375 verified claims into a
fresh SQLite database (cached per encoder under $TMPDIR/nkwatch-checkthat/, embeddings included),
then ``nkwatch claim --json --top K`` with one tweet per stdin line. A claim's id travels in its
``source`` field. ``--rerank`` re-orders each tweet's top ``K`` with the pair scorer
(``bot.claims.pairs``) and reports MAP@5 before and after.
"""

# ruff: noqa: PLC0415  (optional and heavy modules are imported where they are used)
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

DATA = Path("/work/shared/eval/checkthat2020")


def read_tsv(path: Path) -> list[list[str]]:
    return [line.split("\t") for line in path.read_text(encoding="utf-8").splitlines()[1:]]


def qrels(split: str) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for line in (DATA / split / "tweet-vclaim-pairs.qrels").read_text().splitlines():
        if line.strip():
            tid, _, vid, _ = line.split()
            out.setdefault(tid, set()).add(vid)
    return out


def map_at_5(ranked: dict[str, list[str]], gold: dict[str, set[str]]) -> float:
    """Mean over tweets of the precision at each relevant claim within the top 5."""
    total = 0.0
    for tid, rel in gold.items():
        hits, score = 0, 0.0
        for rank, vid in enumerate(ranked.get(tid, [])[:5], start=1):
            if vid in rel:
                hits += 1
                score += hits / rank
        total += score / min(len(rel), 5)
    return total / len(gold)


def run_cli(args: list[str], stdin: str | None = None) -> str:
    from click.testing import CliRunner

    from bot.cli import cli

    result = CliRunner().invoke(cli, args, input=stdin, catch_exceptions=False)
    if result.exit_code != 0:
        raise SystemExit(f"nkwatch {args[0]} failed: {result.output}")
    return result.output


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--encoder", default="onnx-int8", help="off | onnx-int8 | numpy-fp32 | torch")
    ap.add_argument("--split", default="dev", choices=["dev", "train"])
    ap.add_argument("--top", type=int, default=5)
    ap.add_argument("--dump", type=Path, help="write each tweet's candidates as JSONL")
    ap.add_argument("--rerank", action="store_true", help="re-rank the top K with the pair scorer")
    args = ap.parse_args()

    cache = Path(tempfile.gettempdir()) / "nkwatch-checkthat"
    cache.mkdir(exist_ok=True)
    db = cache / f"kb-{args.encoder}.db"
    os.environ["NKWATCH_DATABASE_URL"] = f"sqlite:///{db}"
    os.environ["NKWATCH_SEMANTIC"] = "off" if args.encoder == "off" else "on"
    os.environ.setdefault("NKWATCH_LOG_LEVEL", "WARNING")
    if args.encoder != "off":
        import encoders

        encoders.patch_engine(args.encoder)

    if not db.exists():
        rows = read_tsv(DATA / "verified_claims.docs.tsv")
        kb = "".join(
            json.dumps({"id": f"vc{r[0]}", "text": r[1], "source": r[0]}) + "\n" for r in rows
        )
        kb_file = cache / "verified_claims.jsonl"
        kb_file.write_text(kb, encoding="utf-8")
        t0, c0 = time.perf_counter(), time.process_time()
        print(run_cli(["kb", "import", str(kb_file)]).strip())
        print(
            f"kb import: {time.perf_counter() - t0:.1f} s wall, "
            f"{time.process_time() - c0:.1f} CPU-s"
        )

    tweets = read_tsv(DATA / args.split / "tweets.queries.tsv")
    gold = qrels(args.split)
    stdin = "".join(" ".join(t[1].split()) + "\n" for t in tweets)
    t0, c0 = time.perf_counter(), time.process_time()
    out = run_cli(["claim", "--json", "--top", str(args.top)], stdin=stdin).splitlines()
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    verdicts = [json.loads(line) for line in out if line.startswith("{")]
    assert len(verdicts) == len(tweets), (len(verdicts), len(tweets))
    ranked = {
        t[0]: [m["article"]["source"] for m in v["matches"]]
        for t, v in zip(tweets, verdicts, strict=True)
    }
    print(
        f"{args.split} ({len(gold)} tweets), encoder={args.encoder}: MAP@5 "
        f"{map_at_5(ranked, gold):.4f}  (claim: {wall:.1f} s wall, {cpu:.1f} CPU-s)"
    )
    recall = sum(bool(set(ranked[t][: args.top]) & rel) for t, rel in gold.items()) / len(gold)
    print(f"  a relevant claim within the top {args.top}: {recall:.3f}")

    if args.dump:
        with args.dump.open("w", encoding="utf-8") as fh:
            for t, v in zip(tweets, verdicts, strict=True):
                fh.write(
                    json.dumps(
                        {
                            "tweet": t[0],
                            "text": " ".join(t[1].split()),
                            "gold": sorted(gold.get(t[0], ())),
                            "cands": [
                                {
                                    "id": m["article"]["source"],
                                    "text": m["claim"],
                                    "score": m["score"],
                                }
                                for m in v["matches"]
                            ],
                        }
                    )
                    + "\n"
                )
    if args.rerank:
        from bot.claims.pairs import load_pair_scorer

        scorer = load_pair_scorer("on")
        assert scorer is not None
        t0, c0 = time.perf_counter(), time.process_time()
        reranked: dict[str, list[str]] = {}
        for t, v in zip(tweets, verdicts, strict=True):
            text = " ".join(t[1].split())
            cands = v["matches"]
            scores = scorer.score([(text, m["claim"]) for m in cands]) if cands else []
            order = sorted(range(len(cands)), key=lambda i: -float(scores[i]))
            reranked[t[0]] = [cands[i]["article"]["source"] for i in order]
        print(
            f"  re-ranked top {args.top} by the pair scorer: MAP@5 {map_at_5(reranked, gold):.4f}"
            f"  ({time.perf_counter() - t0:.1f} s wall, {time.process_time() - c0:.1f} CPU-s)"
        )


if __name__ == "__main__":
    main()
