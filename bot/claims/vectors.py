"""Persistent cosine search over claim embeddings, on faiss.

Exact (``IndexFlatIP``) while small; past ``ivf_threshold`` vectors an inverted file
(``IndexIVFFlat``, about √n lists, ``nprobe`` of them scanned per query), retrained when the
store has grown fourfold since it was trained. Both sit in an ``IndexIDMap2`` so vectors are
addressed by claim id. At a million claims the hand-written IVF it replaces took 12/180 ms
(p50/p99) where faiss takes 4/6 ms at the same recall (bench/vector_bench.py compares hnswlib and
usearch too).

The database keeps every embedding (``claims.embedding``); the file here is a snapshot that
saves re-reading and re-training at start. It is written every ``save_every`` new vectors and on
:meth:`VectorIndex.flush`; whatever it lacks is caught up from the database above
:attr:`VectorIndex.max_id`. An unreadable file or one of another dimension is dropped with a
warning and rebuilt that way.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import faiss
import numpy as np

if TYPE_CHECKING:
    from numpy.typing import NDArray

log = logging.getLogger(__name__)

VECTOR_FILE = "vectors.faiss"


class VectorIndex:
    """Cosine search over L2-normalised rows keyed by claim id."""

    def __init__(
        self,
        dim: int,
        *,
        path: Path | None = None,
        ivf_threshold: int = 200_000,
        nprobe: int = 24,
        save_every: int = 20_000,
        seed: int = 0,
    ) -> None:
        self.dim = dim
        self.path = path
        self.ivf_threshold = ivf_threshold
        self.nprobe = nprobe
        self.save_every = save_every
        self.seed = seed
        self.deferred = False  # while bulk loading: train once at the end
        self._trained_n = 0
        self._unsaved = 0
        self._index: Any = self._load()
        ids = faiss.vector_to_array(self._index.id_map)
        self._max_id = int(ids.max()) if ids.size else -1

    def _empty(self) -> Any:
        return faiss.IndexIDMap2(faiss.IndexFlatIP(self.dim))

    def _load(self) -> Any:
        if self.path is None or not (self.path / VECTOR_FILE).exists():
            return self._empty()
        try:
            index = faiss.read_index(str(self.path / VECTOR_FILE))
            if index.d != self.dim or not isinstance(index, faiss.IndexIDMap2):
                msg = f"dimension {index.d}, expected {self.dim}"
                raise ValueError(msg)
        except (RuntimeError, ValueError) as exc:
            log.warning("vector index at %s dropped (%s); rebuilding it", self.path, exc)
            return self._empty()
        inner = faiss.downcast_index(index.index)
        if isinstance(inner, faiss.IndexIVF):
            inner.nprobe = self.nprobe
            self._trained_n = int(index.ntotal)
        return index

    def __len__(self) -> int:
        return int(self._index.ntotal)

    @property
    def max_id(self) -> int:
        return max(self._max_id, 0)

    @property
    def partitioned(self) -> bool:
        return isinstance(faiss.downcast_index(self._index.index), faiss.IndexIVF)

    def add(self, ids: NDArray[np.int64], vecs: NDArray[np.float32]) -> None:
        """Add vectors; ids at or below :attr:`max_id` are taken as held already."""
        ids = np.asarray(ids, dtype=np.int64)
        keep = ids > self._max_id
        if not keep.any():
            return
        ids, vecs = ids[keep], np.ascontiguousarray(vecs[keep], dtype=np.float32)
        self._index.add_with_ids(vecs, ids)
        self._max_id = int(ids.max())
        self._unsaved += int(ids.shape[0])
        if not self.deferred:
            self.maintain()

    def maintain(self) -> None:
        """(Re)train the inverted file when the store is large or has grown, then save."""
        n = len(self)
        if n >= self.ivf_threshold and n >= 4 * self._trained_n:
            self._retrain()
        if self._unsaved >= self.save_every:
            self.flush()

    def _retrain(self) -> None:
        n = len(self)
        rows = self._index.index.reconstruct_n(0, n)
        ids = faiss.vector_to_array(self._index.id_map).astype(np.int64)
        n_lists = max(16, int(np.sqrt(n)))
        rng = np.random.default_rng(self.seed)
        sample = rows[rng.choice(n, size=min(n, 40 * n_lists), replace=False)]
        quantizer = faiss.IndexFlatIP(self.dim)
        ivf = faiss.IndexIVFFlat(quantizer, self.dim, n_lists, faiss.METRIC_INNER_PRODUCT)
        ivf.cp.seed = self.seed
        ivf.train(sample)
        ivf.set_direct_map_type(faiss.DirectMap.Array)  # type: ignore[attr-defined]
        ivf.nprobe = self.nprobe
        index = faiss.IndexIDMap2(ivf)
        index.add_with_ids(rows, ids)
        self._index = index
        self._trained_n = n
        self._unsaved = n

    def flush(self) -> None:
        """Write the snapshot (atomically) when vectors were added since the last one."""
        if self.path is None or self._unsaved == 0:
            return
        self.path.mkdir(parents=True, exist_ok=True)
        tmp = self.path / (VECTOR_FILE + ".tmp")
        faiss.write_index(self._index, str(tmp))
        os.replace(tmp, self.path / VECTOR_FILE)
        self._unsaved = 0

    def reset(self) -> None:
        self._index = self._empty()
        self._max_id = -1
        self._trained_n = 0
        self._unsaved = 1  # the empty snapshot replaces the old file on the next flush

    def search_many(
        self, queries: NDArray[np.float32], k: int
    ) -> tuple[NDArray[np.int64], NDArray[np.float32]]:
        """Per query row: claim ids of the ``k`` most similar vectors (-1 pads) and cosines."""
        queries = np.ascontiguousarray(queries, dtype=np.float32).reshape(-1, self.dim)
        if len(self) == 0 or k <= 0:
            shape = (queries.shape[0], 0)
            return np.zeros(shape, dtype=np.int64), np.zeros(shape, dtype=np.float32)
        sims, ids = self._index.search(queries, min(k, len(self)))
        return ids.astype(np.int64), sims.astype(np.float32)

    def similarities(
        self, query: NDArray[np.float32], claim_ids: NDArray[np.int64]
    ) -> NDArray[np.float32]:
        """Cosines of the query with the given claims' vectors (0 for ids not held)."""
        out = np.zeros(len(claim_ids), dtype=np.float32)
        if len(claim_ids) == 0:
            return out
        ids = np.asarray(claim_ids, dtype=np.int64)
        query = np.asarray(query, dtype=np.float32)
        try:
            rows: NDArray[np.float32] = self._index.reconstruct_batch(ids)
            return (rows @ query).astype(np.float32)
        except RuntimeError:  # an id not held (a claim indexed lexically only): one by one
            for i, claim_id in enumerate(ids):
                try:
                    out[i] = float(self._index.reconstruct(int(claim_id)) @ query)
                except RuntimeError:
                    continue
        return out
