"""Dump the judge's candidates on a labelled stream, for retrieval recall and pair training.

    python bench/stream_pairs.py eval/streams/dev --dump /tmp/dev-pairs.jsonl

Runs the stream through the real poll path (as ``nkwatch eval --stream``) with the judge
wrapped to record, for every claim, the candidates it was offered and their judge scores (the
last judgement of a claim wins: a late earlier report re-judges it). Each label is then mapped
to its stored claim as the scorer maps it, and the script prints recall@k of a candidate from
the label's reference stories among the judge's candidates (retrieval order and judge order).
The dump (one row per label with candidates) feeds ``bench/train_pairs.py``.
Never run on a held-out stream for tuning.
"""

# ruff: noqa: PLC0415
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("stream", type=Path)
    ap.add_argument("--dump", type=Path)
    args = ap.parse_args()

    import bot.claims.engine as engine_mod
    import bot.claims.judge as judge_mod
    from bot.claims.stream_run import _source, run_stream
    from bot.claims.streams import KNOWN, _match, load_stream
    from bot.settings import load_settings

    stories, labels = load_stream(args.stream)
    seen: dict[str, dict[str, Any]] = {}
    real = judge_mod.judge

    def recording(claim: Any, candidates: Any, **kw: Any) -> Any:
        scored = judge_mod.score_candidates(
            claim,
            candidates,
            lexicon=kw["lexicon"],
            params=kw.get("params"),
            tokens=kw.get("tokens"),
        )
        verdict = real(claim, candidates, **kw)
        final = {m.candidate.claim_id: m.score for m in verdict.matches}
        seen[claim.text] = {
            "verdict": verdict.status,
            "cands": [
                {
                    "rank": r,
                    "text": c.text,
                    "source": _source(c.url, c.article_title, stories),
                    "published": c.published.isoformat() if c.published else None,
                    "retrieval_lexical": c.lexical,
                    "cosine": c.semantic,
                    "judge": next(s.score for s in scored if s.candidate.claim_id == c.claim_id),
                    "similarity": next(
                        s.similarity for s in scored if s.candidate.claim_id == c.claim_id
                    ),
                    "final": final.get(c.claim_id),
                    "notes": list(
                        next(s.notes for s in scored if s.candidate.claim_id == c.claim_id)
                    ),
                }
                for r, c in enumerate(candidates)
            ],
        }
        return verdict

    engine_mod.judge_claim = recording  # type: ignore[attr-defined]
    run = run_stream(load_settings(), stories)
    by_story: dict[str, list[Any]] = {}
    for c in run.claims:
        if c.source:
            by_story.setdefault(c.source, []).append(c)
    rows = []
    hit_any = hit_judge1 = hit_ret1 = known = 0
    for label in labels:
        if label.label == "not_claim":
            continue
        best, cov = _match(label, by_story.get(label.story, []))
        if best is None or cov < 0.5 or best.text not in seen:
            continue
        rec = seen[best.text]
        refs = set(label.refs)
        cands = rec["cands"]
        row = {
            "story": label.story,
            "label": label.label,
            "refs": sorted(refs),
            "text": best.text,
            "verdict": rec["verdict"],
            "cands": cands,
        }
        rows.append(row)
        if label.label in KNOWN:
            known += 1
            good = [c for c in cands if c["source"] in refs]
            hit_any += bool(good)
            hit_ret1 += bool(cands and cands[0]["source"] in refs)
            by_judge = sorted(cands, key=lambda c: -c["judge"])
            hit_judge1 += bool(by_judge and by_judge[0]["source"] in refs)
            if not good:
                print(f"  miss {label.story} {label.label}{sorted(refs)}: {best.text[:110]}")
    print(f"{args.stream}: {len(rows)} claim labels judged, {known} known")
    print(
        f"  recall@{max(len(r['cands']) for r in rows)} (a ref story among candidates) "
        f"{hit_any / known:.3f}"
    )
    print(
        f"  recall@1 retrieval order {hit_ret1 / known:.3f}, judge order {hit_judge1 / known:.3f}"
    )
    if args.dump:
        args.dump.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


if __name__ == "__main__":
    main()
