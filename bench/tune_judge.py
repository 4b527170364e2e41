"""Run the dev set end to end in memory: seeds -> claims -> retrieval -> judge -> metrics.

    python bench/tune_judge.py [--semantic] [--file ../shared/eval/dev_claims.jsonl] [--errors]
    python bench/tune_judge.py --grid            # threshold/weight sweep (lexical and semantic)

Retrieval here is a stand-in for the real one (storage/): BM25 over ``normalize_tokens`` for the
top 20, plus the top 20 by MiniLM cosine when --semantic; every candidate gets its cosine.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
from rank_bm25 import BM25Okapi  # noqa: E402

from bot.claims.evaluation import (  # noqa: E402
    GoldClaim,
    Prediction,
    evaluate,
    format_report,
    parse_gold,
    seed_prefix,
)
from bot.claims.extract import extract, extract_attributes  # noqa: E402
from bot.claims.judge import JudgeParams, judge  # noqa: E402
from bot.claims.lexicon import Lexicon, load_lexicon  # noqa: E402
from bot.claims.normalize import normalize_tokens  # noqa: E402
from bot.claims.types import Candidate, ExtractedClaim  # noqa: E402
from bot.corpus import load_seed_corpus  # noqa: E402

DEFAULT_FILE = ROOT.parent / "shared" / "eval" / "dev_claims.jsonl"


def load_kb(lexicon: Lexicon) -> list[Candidate]:
    kb: list[Candidate] = []
    for seed in load_seed_corpus():
        for claim in extract(seed.text, published=seed.published, lexicon=lexicon):
            kb.append(
                Candidate(
                    claim_id=len(kb) + 1,
                    text=claim.text,
                    attrs=claim.attrs,
                    article_title=seed.title,
                    source=seed.outlet or seed.title,
                    published=seed.published,
                    url=f"seed:{seed.origin}",
                )
            )
    return kb


class Retriever:
    def __init__(self, kb: list[Candidate], lexicon: Lexicon, *, semantic: bool, k: int = 20):
        self.kb = kb
        self.lexicon = lexicon
        self.k = k
        self.bm25 = BM25Okapi([normalize_tokens(c.text, lexicon) or ["_"] for c in kb])
        self.model: Any = None
        self.emb: Any = None
        if semantic:
            from bot.claims.semantic import SentenceEncoder  # noqa: PLC0415 - optional extra

            self.model = SentenceEncoder()
            self.emb = self.model.encode([c.text for c in kb])

    def candidates(self, text: str) -> list[Candidate]:
        scores = self.bm25.get_scores(normalize_tokens(text, self.lexicon))
        idx = set(np.argsort(-scores)[: self.k].tolist())
        sims = None
        if self.model is not None:
            q = self.model.encode([text])[0]
            sims = self.emb @ q
            idx |= set(np.argsort(-sims)[: self.k].tolist())
        top = max(float(scores.max()), 1e-9)
        out = []
        for i in sorted(idx):
            c = replace(self.kb[i], lexical=float(scores[i]) / top)
            if sims is not None:
                c = replace(c, semantic=float(sims[i]))
            out.append(c)
        return out


def run(
    gold: list[GoldClaim],
    retriever: Retriever,
    lexicon: Lexicon,
    params: JudgeParams,
    cache: dict[str, list[Candidate]] | None = None,
) -> dict[str, Prediction]:
    now = datetime.now(UTC)

    preds: dict[str, Prediction] = {}
    for g in gold:
        if cache is not None and g.id in cache:
            cands = cache[g.id]
        else:
            cands = retriever.candidates(g.text)
            if cache is not None:
                cache[g.id] = cands
        claim = ExtractedClaim(
            text=g.text,
            position=0,
            attrs=extract_attributes(g.text, published=now, lexicon=lexicon),
        )
        verdict = judge(claim, cands, lexicon=lexicon, params=params)
        top = verdict.matches[0].candidate.url if verdict.matches else None
        preds[g.id] = Prediction(id=g.id, status=verdict.status, top_ref=seed_prefix(top))
    return preds


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--file", type=Path, default=DEFAULT_FILE)
    ap.add_argument("--semantic", action="store_true")
    ap.add_argument("--grid", action="store_true")
    ap.add_argument("--errors", action="store_true")
    ap.add_argument("--threshold", type=float)
    ap.add_argument("--semantic-weight", type=float)
    args = ap.parse_args()

    lexicon = load_lexicon()
    t0 = time.perf_counter()
    kb = load_kb(lexicon)
    gold = parse_gold(args.file.read_text(encoding="utf-8").splitlines())
    retriever = Retriever(kb, lexicon, semantic=args.semantic)
    print(
        f"kb: {len(kb)} seed claims; gold: {len(gold)} claims; "
        f"setup {time.perf_counter() - t0:.1f}s"
    )
    params = JudgeParams()
    if args.threshold is not None:
        params = replace(params, threshold=args.threshold)
    if args.semantic_weight is not None:
        params = replace(params, semantic_weight=args.semantic_weight)
    cache: dict[str, list[Candidate]] = {}
    if args.grid:
        ws = [0.3, 0.4, 0.5, 0.6, 0.7] if args.semantic else [params.semantic_weight]
        for w in ws:
            for th in [x / 100 for x in range(25, 71, 3)]:
                p = replace(params, threshold=th, semantic_weight=w)
                rep = evaluate(gold, run(gold, retriever, lexicon, p, cache))
                print(
                    f"w={w:.2f} th={th:.2f} macroF1={rep.macro_f1:.3f} "
                    f"kvn={rep.known_vs_new_accuracy:.3f} attr={rep.attribution_accuracy:.3f}"
                )
        return
    t1 = time.perf_counter()
    preds = run(gold, retriever, lexicon, params, cache)
    dt = time.perf_counter() - t1
    print(f"mode: {'lexical+semantic' if args.semantic else 'lexical'}; params: {params}")
    print(f"judged {len(gold)} claims in {dt:.2f}s")
    print(format_report(evaluate(gold, preds), show_errors=args.errors))


if __name__ == "__main__":
    main()
