"""Synthetic indexes for ``committee-qa bench``: 10^4–10^6 passages made from a real corpus.

Real embeddings for a million passages would take days on two cores, so a synthetic
passage recombines the corpus's own sentence units, and each unit's vector is the real
vector of the sentence it copies plus small gaussian noise, renormalised. The result is an
ordinary in-memory ``index.folder.Index``: every retriever and ``qa.answer.answer`` run on it
unchanged.
"""

from __future__ import annotations

import dataclasses
import hashlib
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

NOISE = 0.02  # per-dimension sd of the noise added to copied unit vectors (cosine to the original ≈ 0.93)
TWO_UNITS_FROM = 500_000  # from here synthetic passages hold 2 sentence units each, to fit in memory
NOISE_POOL = 1 << 16  # noise rows drawn once and reused: 1M fresh gaussian rows would cost minutes


class LookupEmbedder:
    """Question vectors computed once with the real model, so search timings exclude
    encoding; any other text goes to ``fallback`` (counted in ``misses``)."""

    def __init__(self, vectors: dict[str, np.ndarray], fallback=None, *, name: str | None = None) -> None:
        from index.embed import DEFAULT_MODEL

        self.vectors = vectors
        self.fallback = fallback
        self.name = name or getattr(fallback, "name", DEFAULT_MODEL)
        self.dim = len(next(iter(vectors.values()))) if vectors else getattr(fallback, "dim", 384)
        self.misses = 0

    def encode(self, texts: list[str], *, batch_size: int = 32, progress: bool = False) -> np.ndarray:
        missing = [t for t in texts if t not in self.vectors]
        if missing:
            if self.fallback is None:
                raise KeyError(f"no precomputed vector for {missing[0]!r}")
            self.misses += len(missing)
            for t, v in zip(missing, self.fallback.encode(missing, batch_size=batch_size)):
                self.vectors[t] = v
        return np.stack([self.vectors[t] for t in texts]).astype(np.float32)


@dataclass
class Material:
    """A real corpus's passages, the sentence units ingest embedded, and their vectors."""

    passages: list  # index.model.Passage
    texts: list[str]  # unit texts as embedded (index.ingest.passage_units)
    vectors: np.ndarray  # (n_units, dim) float32, unit length
    owner: np.ndarray  # passage row of each unit

    @classmethod
    def from_passages(cls, passages: list, vectors: np.ndarray) -> Material:
        from index.ingest import passage_units

        units, texts = passage_units(passages)
        if len(texts) != len(vectors):
            raise ValueError(f"{len(texts)} sentence units but {len(vectors)} vectors: the index and the chunker disagree")
        return cls(list(passages), texts, np.ascontiguousarray(vectors, dtype=np.float32), units[:, 0].copy())

    def units_per_passage(self) -> np.ndarray:
        counts = np.bincount(self.owner, minlength=len(self.passages))
        return counts[counts > 0]


@dataclass
class Synthetic:
    index: Any  # index.folder.Index
    tokens: list[list[str]] | None  # BM25 tokens of each passage (for the rank_bm25 peer)
    source_units: np.ndarray  # the real unit each synthetic unit copies
    seconds: dict[str, float] = field(default_factory=dict)


def build_synthetic(
    material: Material,
    n_passages: int,
    *,
    units_per_passage: int | None = None,
    noise: float = NOISE,
    seed: int = 0,
    embedder=None,
    faiss_kind: str = "flat",
    keep_tokens: bool = True,
) -> Synthetic:
    """An in-memory ``index.folder.Index`` of ``n_passages`` passages made from ``material``.

    Each passage takes its metadata (paper, committee, dates, item) from a random real
    passage and its text from real sentence units drawn at random from the whole corpus,
    joined by spaces; it has as many units as a random real passage has (or
    ``units_per_passage``). BM25 is bm25s over ``index.tokens.bm25_tokens`` of each
    passage's search text (tokenised per real unit once and concatenated, which gives the
    same tokens). ``faiss_kind``: ``flat``, ``ivf`` (as the store builds it) or ``none``.
    """
    import bm25s

    from index.embed import DEFAULT_MODEL
    from index.folder import Index, build_flat, build_ivf
    from index.tokens import bm25_tokens

    builders = {"flat": build_flat, "ivf": build_ivf, "none": lambda emb: None}
    if faiss_kind not in builders:
        raise ValueError(f"unknown faiss_kind {faiss_kind!r}; choose one of: {', '.join(builders)}")
    if not material.texts:
        raise ValueError("the corpus has no sentence units to build from: ingest some papers first")
    seconds: dict[str, float] = {}
    t0 = time.perf_counter()
    rng = np.random.default_rng(seed)
    if units_per_passage:
        counts = np.full(n_passages, int(units_per_passage), dtype=np.int64)
    else:
        counts = rng.choice(material.units_per_passage(), size=n_passages).astype(np.int64)
    total = int(counts.sum())
    src = rng.integers(0, len(material.texts), size=total)
    templates = rng.integers(0, len(material.passages), size=n_passages)

    unit_tokens = [bm25_tokens(t) for t in material.texts]
    head_tokens: dict[int, list[str]] = {}
    passages, corpus_tokens, unit_rows = [], [], []
    pos = 0
    for i in range(n_passages):
        ids = src[pos : pos + counts[i]].tolist()
        pos += int(counts[i])
        pieces, toks, off = [], [], 0
        for j in ids:
            piece = material.texts[j]
            unit_rows.append((i, off, off + len(piece)))
            off += len(piece) + 1
            pieces.append(piece)
            toks.extend(unit_tokens[j])
        text = " ".join(pieces)
        t = int(templates[i])
        tpl = material.passages[t]
        if t not in head_tokens:
            head_tokens[t] = bm25_tokens("\n".join(x for x in (tpl.item_title, tpl.section) if x))
        passages.append(dataclasses.replace(
            tpl, id=f"syn-{i:07d}", text=text, start=0, end=len(text), context="", is_table=False,
            content_hash=hashlib.sha1(text.encode()).hexdigest()[:20],
        ))
        corpus_tokens.append((head_tokens[t] + toks) or [""])
    units = np.array(unit_rows, dtype=np.int64).reshape(-1, 3)
    del unit_rows
    seconds["passages"] = time.perf_counter() - t0

    t = time.perf_counter()
    emb = perturbed_copies(material.vectors, src, noise, rng)
    seconds["vectors"] = time.perf_counter() - t

    t = time.perf_counter()
    bm25 = bm25s.BM25()
    bm25.index(corpus_tokens, show_progress=False)
    seconds["bm25"] = time.perf_counter() - t

    t = time.perf_counter()
    faiss_index = builders[faiss_kind](emb)
    seconds["faiss"] = time.perf_counter() - t

    index = Index(
        path=Path("synthetic"),
        version_dir=Path("synthetic"),
        manifest={"model": {"name": getattr(embedder, "name", DEFAULT_MODEL), "dim": int(emb.shape[1])},
                  "papers": [], "counts": {"papers": 0, "passages": n_passages, "sentences": total}, "synthetic": True},
        passages=passages,
        embeddings=emb,
        unit_table=units,
        faiss_index=faiss_index,
        bm25=bm25,
        acronyms={},
        embedder=embedder,
    )
    # No paper texts behind synthetic passages: citations fall back to the passage's own.
    index.__dict__["papers"] = {}
    seconds["total"] = time.perf_counter() - t0
    return Synthetic(index, corpus_tokens if keep_tokens else None, src, {k: round(v, 1) for k, v in seconds.items()})


def perturbed_copies(vectors: np.ndarray, src: np.ndarray, noise: float, rng: np.random.Generator) -> np.ndarray:
    """``vectors[src]`` plus N(0, noise²) per dimension, each row renormalised. Noise rows
    come from a pool of 65,536 gaussian rows, each copy a random one."""
    total, dim = len(src), vectors.shape[1]
    out = np.empty((total, dim), dtype=np.float32)
    pool = noise * rng.standard_normal((min(total, NOISE_POOL), dim), dtype=np.float32)
    step = 65536
    for a in range(0, total, step):
        b = min(total, a + step)
        block = vectors[src[a:b]] + pool[rng.integers(0, len(pool), size=b - a)]
        block /= np.linalg.norm(block, axis=1, keepdims=True)
        out[a:b] = block
    return out


def recall(found: list[list], truth: list[list]) -> float:
    """Share of the true top-k found, pooled over questions: ``recall([[1, 2]], [[2, 3]]) == 0.5``."""
    den = sum(len(t) for t in truth)
    if not den:
        raise ValueError("no true neighbours to compare with")
    return round(sum(len(set(f) & set(t)) for f, t in zip(found, truth, strict=True)) / den, 4)
