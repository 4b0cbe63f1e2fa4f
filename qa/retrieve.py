"""Rank passages for a question: ``bm25``, ``dense``, ``hybrid`` (fused) and ``rerank``.

Open an index once; it is read-only and safe to share between threads::

    >>> idx = open_index(Path("data/index"), SentenceTransformerEmbedder())  # doctest: +SKIP
    >>> hits = search(idx, "How many children were waiting to be adopted?", k=5)  # doctest: +SKIP
    >>> hits[0].passage.page, hits[0].retriever  # doctest: +SKIP
    (4, 'hybrid')

Identical or near-identical passages (the same minutes in two packs, a report and its
appendix) come back as one hit whose ``also_in`` lists the other places.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Callable, Protocol

import numpy as np

from index.embed import Embedder
from index.model import Filters, Hit, Paper, Passage
from index.store import (
    IndexCorrupt,
    IndexMismatch,
    UnitVectors,
    current_version,
    ivf_probes,
    load_embeddings,
    load_papers,
    load_passages,
    load_units,
    read_manifest,
    unit_vectors,
    verify_files,
)
from index.tokens import bm25_tokens
from qa.fusion import convex, rrf
from qa.query import Query, date_match, names_dates, understand

CANDIDATES = 100  # per path, before fusion


class NoMatchingPassages(LookupError):
    """The filters leave nothing to search."""


@dataclass(frozen=True)
class HybridSettings:
    """The default configuration, chosen on the development questions (docs/EVAL.md)."""

    fusion: str = "convex"
    dense_weight: float = 0.5
    rrf_k: float = 60.0
    date_boost: float = 0.15
    committee_boost: float = 0.05
    rerank_depth: int = 30


def rarity(store, word: str) -> float:
    """How specific ``word`` is in the papers of ``store`` (either engine): the IDF of its
    stem, a word they never use counting as rarest of all. qa.chat picks by it the word a
    follow-up's new topic replaces."""
    tokens = bm25_tokens(word)
    if not tokens:
        return 0.0
    return store.idf(tokens[0]) if store.knows(tokens[0]) else math.inf


class PassageStore(Protocol):
    """What the rest of the code needs from an index, whichever engine holds it
    (the embedded folder here, PostgreSQL in qa.pgstore)."""

    committees: list[str]
    acronyms: dict[str, str]

    def search(self, question: str, k: int = 10, filters: Filters = Filters(), retriever: str = "hybrid") -> list[Hit]: ...


@dataclass
class Index:
    """An opened index version: passages, BM25, FAISS, acronyms. Read-only after open."""

    path: Path
    version: Path
    manifest: dict
    passages: list[Passage]
    embeddings: np.ndarray | UnitVectors  # one row per sentence unit (FAISS's own copy when opened)
    units: np.ndarray  # (passage row, start, end) per unit
    faiss_index: object
    bm25: object
    acronyms: dict[str, str]
    embedder: Embedder | None
    settings: HybridSettings = field(default_factory=HybridSettings)

    @cached_property
    def _unit_starts(self) -> np.ndarray:
        # Units are written passage by passage: each passage's units are one run.
        return np.searchsorted(self.units[:, 0], np.arange(len(self.passages) + 1))

    def unit_rows(self, passage_row: int) -> np.ndarray:
        return np.arange(self._unit_starts[passage_row], self._unit_starts[passage_row + 1])

    @cached_property
    def _row_of(self) -> dict[str, int]:
        return {p.id: i for i, p in enumerate(self.passages)}

    def units_for(self, passages: list[Passage]) -> dict[str, tuple[list[tuple[int, int]], np.ndarray]]:
        """The sentence units of ``passages`` (offsets into their papers) and their vectors,
        by passage id (qa.answer reads the sentences of the passages it quotes from)."""
        out = {}
        for p in passages:
            row = self._row_of.get(p.id)
            if row is not None:
                rows = self.unit_rows(row)
                out[p.id] = ([(int(s), int(e)) for _, s, e in self.units[rows]], self.embeddings[rows])
        return out

    @cached_property
    def committees(self) -> list[str]:
        return sorted({p.committee for p in self.passages if p.committee})

    @cached_property
    def papers(self) -> dict[str, Paper]:
        return {p.source: p for p in load_papers(self.version)}

    def search(
        self, question: str, k: int = 10, filters: Filters = Filters(), retriever: str = "hybrid"
    ) -> list[Hit]:
        return search(self, question, k=k, filters=filters, retriever=retriever)

    def idf(self, token: str) -> float:
        """BM25 inverse document frequency of a stemmed word (0 for one the papers never use)."""
        from qa.rerank import token_idf

        return token_idf(self, token)

    def knows(self, token: str) -> bool:
        """Whether a (stemmed) word occurs anywhere in the indexed papers."""
        return token in self.bm25.vocab_dict

    def file_for(self, source: str) -> Path | None:
        """The original file of a paper, from the index's own store."""
        for entry in self.manifest["papers"]:
            if entry["source"] == source:
                for candidate in (self.path / "files").glob(f"{entry['content_hash']}.*"):
                    return candidate
        return None


def open_index(index_dir: Path, embedder: Embedder | None = None, *, verify: bool = True) -> Index:
    """Open the current version of an index. Refuses an index built with another model."""
    import bm25s
    import faiss

    version = current_version(index_dir)
    manifest = read_manifest(version)
    if verify:
        verify_files(version, manifest)
    if embedder is not None and manifest["model"]["name"] != embedder.name:
        raise IndexMismatch(
            f"{index_dir} was built with the model {manifest['model']['name']!r} but the question would be "
            f"embedded with {embedder.name!r}: use the same --model, or rebuild the index with this one"
        )
    passages = load_passages(version)
    units = load_units(version)
    faiss_index = faiss.read_index(str(version / "dense.faiss"))
    if faiss_index.ntotal != len(units):
        raise IndexCorrupt(f"{version} has {faiss_index.ntotal} vectors for {len(units)} sentence units: rebuild it with `committee-qa ingest`")
    embeddings = unit_vectors(faiss_index)
    if embeddings is None:  # an HNSW index written by an older version: its vectors are not addressable
        embeddings = load_embeddings(version, mapped=True)
    if hasattr(faiss_index, "nprobe"):  # an inverted file (index.store.build_faiss)
        faiss_index.nprobe = ivf_probes(faiss_index.nlist)
    if hasattr(faiss_index, "hnsw"):  # built by an older version above 1M units
        faiss_index.hnsw.efSearch = 128
    bm25 = bm25s.BM25.load(str(version / "bm25"), load_corpus=False)
    acronyms = json.loads((version / "acronyms.json").read_text())
    index = Index(
        path=index_dir,
        version=version,
        manifest=manifest,
        passages=passages,
        embeddings=embeddings,
        units=units,
        faiss_index=faiss_index,
        bm25=bm25,
        acronyms=acronyms,
        embedder=embedder,
    )
    # Loaded now, while the version is known to exist: a reader must not find it swapped out later.
    index.papers  # noqa: B018
    return index


# --- the two paths -------------------------------------------------------------------


def _mask(index: Index, filters: Filters) -> np.ndarray | None:
    if filters.is_empty():
        return None
    # A session asks question after question under the same sidebar filters, and testing
    # every passage in Python costs tens of ms at 100k passages: keep the last few masks.
    def build() -> np.ndarray:
        built = np.fromiter((filters.admits(p) for p in index.passages), dtype=bool, count=len(index.passages))
        built.flags.writeable = False
        return built

    mask = remember(index.__dict__.setdefault("_masks", {}), filters, build, 16)
    if not mask.any():
        raise NoMatchingPassages(
            "no indexed passage matches these filters (committee, dates, kind or paper); widen or clear them"
        )
    return mask


def bm25_scores(index: Index, text: str, mask: np.ndarray | None, n: int) -> dict[int, float]:
    vocab = index.bm25.vocab_dict
    tokens = [t for t in bm25_tokens(text) if t in vocab]
    if not tokens:
        return {}
    scores = index.bm25.get_scores(tokens)
    if mask is not None:
        scores = np.where(mask, scores, 0.0)
    n = min(n, len(scores))
    top = np.argpartition(-scores, n - 1)[:n]
    return {int(i): float(scores[i]) for i in top if scores[i] > 0}


def _selector(index: Index, unit_mask: np.ndarray | None):
    """FAISS search parameters admitting only the units in ``unit_mask`` (None: all)."""
    if unit_mask is None:
        return None
    import faiss

    bits = np.packbits(unit_mask, bitorder="little")
    sel = faiss.IDSelectorBitmap(len(bits), faiss.swig_ptr(bits))  # its size is in bytes
    ivf = index.faiss_index
    if hasattr(ivf, "nprobe"):
        # The selector only drops units from the lists probed: a filter admitting a share s
        # of units needs about 1/s times the lists for the same recall (at 5% of units,
        # passage recall@10 against exact went 0.53 → 0.97 on the Kent vectors).
        nprobe = min(ivf.nlist, math.ceil(ivf.nprobe / max(unit_mask.mean(), 1e-9)))
        params = faiss.SearchParametersIVF(sel=sel, nprobe=nprobe)
    else:
        params = faiss.SearchParameters(sel=sel)
    params._keep = (bits, sel)  # FAISS holds raw pointers: keep the buffers alive with the params
    return params


def _one_faiss_thread() -> None:
    """One thread a search: on a shared 2-core server, FAISS's threads contend (flat search
    at 585k vectors: 78 ms on 1 thread against 389 ms on 2; docs/BENCHMARKS.md), and
    concurrent questions are spread over threads by the caller. OpenMP's count is per
    thread, so it is set in whichever thread searches (the app's script threads too)."""
    import faiss

    if faiss.omp_get_max_threads() != 1:
        faiss.omp_set_num_threads(1)


def question_vector(index: Index, text: str) -> np.ndarray:
    if index.embedder is None:
        raise ValueError("this index was opened without an embedder; dense search needs one")
    cache = index.__dict__.setdefault("_question_vectors", {})
    return remember(cache, text, lambda: index.embedder.encode([text])[0], 512)


def remember(cache: dict, key, make, cap: int):
    """``cache[key]``, made by ``make()`` the first time it is asked for. A full cache starts
    over: what repeats is the last few keys (one session's filters, one question's vector).

    >>> cache = {}
    >>> remember(cache, "a", lambda: 1, 2), remember(cache, "a", lambda: 9, 2), remember(cache, "b", lambda: 2, 2)
    (1, 1, 2)
    >>> remember(cache, "c", lambda: 3, 2), sorted(cache)
    (3, ['c'])
    """
    found = cache.get(key)
    if found is None:
        found = make()
        if len(cache) >= cap:
            cache.clear()
        cache[key] = found
    return found


def unit_depth(n_units: int, n: int) -> int:
    """How many sentence units dense search asks FAISS for to rank ``n`` passages: enough
    that ``n`` distinct passages almost always come back."""
    return min(n_units, max(8 * n, 400))


BRUTE_FORCE_UNITS = 50_000  # a filter leaving fewer units than this scores them directly
# Rows of an inverted file are copied out of FAISS one by one: past a few thousand, its
# selector search is faster (16% of 300k units: 3 ms against 32-61 ms gathered).
BRUTE_FORCE_UNITS_IVF = 5_000


def dense_scores(index: Index, vector: np.ndarray, mask: np.ndarray | None, n: int) -> dict[int, float]:
    """Passages scored by their best-matching sentence unit."""
    if not len(index.units):
        return {}
    _one_faiss_thread()
    owner = index.units[:, 0]
    depth = unit_depth(len(index.units), n)
    query = vector[None, :].astype(np.float32)
    unit_mask = None if mask is None else mask[owner]
    limit = BRUTE_FORCE_UNITS if isinstance(index.embeddings, np.ndarray) else BRUTE_FORCE_UNITS_IVF
    if unit_mask is not None and unit_mask.sum() <= limit:
        unit_ids = np.flatnonzero(unit_mask)
        sims = index.embeddings[unit_ids] @ vector
    else:
        # A broad filter goes through FAISS with a selector: gathering hundreds of
        # thousands of rows to score them would cost more than the search.
        sims, unit_ids = index.faiss_index.search(query, depth, params=_selector(index, unit_mask))
        sims, unit_ids = sims[0], unit_ids[0]
        keep = unit_ids >= 0
        sims, unit_ids = sims[keep], unit_ids[keep]
    best: dict[int, float] = {}
    for uid, sim in zip(owner[unit_ids].tolist(), sims.tolist()):
        if sim > best.get(uid, -2.0):
            best[uid] = sim
    top = sorted(best.items(), key=lambda kv: -kv[1])[:n]
    return dict(top)


# --- ranking ------------------------------------------------------------------------


def _boosts(index: Index, query: Query, ids: np.ndarray) -> np.ndarray:
    """Meetings and committees a question names lift the passages that record them."""
    s = index.settings
    out = np.zeros(len(ids))
    if names_dates(query):
        for j, i in enumerate(ids):
            p = index.passages[i]
            out[j] += s.date_boost * max(date_match(query, p.meeting_date), 0.5 * date_match(query, p.pack_date))
    if query.committees:
        for j, i in enumerate(ids):
            c = (index.passages[i].committee or "").lower()
            out[j] += s.committee_boost * any(q.lower() in c for q in query.committees)
    return out


def _fuse(index: Index, query: Query, bm: dict[int, float], de: dict[int, float], method: str) -> tuple[np.ndarray, np.ndarray]:
    ids = np.array(sorted(set(bm) | set(de)), dtype=np.int64)
    if not len(ids):
        return ids, np.zeros(0)
    b = np.array([bm.get(int(i), np.nan) for i in ids])
    d = np.array([de.get(int(i), np.nan) for i in ids])
    s = index.settings
    if method == "rrf":
        fused = rrf([b, d], k=s.rrf_k, weights=[1 - s.dense_weight, s.dense_weight]) * s.rrf_k
    else:
        fused = convex([b, d], weights=[1 - s.dense_weight, s.dense_weight])
    return ids, fused + _boosts(index, query, ids)


def _single(index: Index, query: Query, scores: dict[int, float]) -> tuple[np.ndarray, np.ndarray]:
    ids = np.array(sorted(scores), dtype=np.int64)
    return ids, np.array([scores[int(i)] for i in ids])


def _ranked(ids: np.ndarray, scores: np.ndarray) -> list[tuple[int, float]]:
    order = np.argsort(-scores, kind="stable")
    return [(int(ids[o]), float(scores[o])) for o in order]


def run_bm25(index: Index, query: Query, mask, n: int) -> list[tuple[int, float]]:
    return _ranked(*_single(index, query, bm25_scores(index, query.expanded, mask, n)))


def run_dense(index: Index, query: Query, mask, n: int) -> list[tuple[int, float]]:
    vec = question_vector(index, query.expanded)
    return _ranked(*_single(index, query, dense_scores(index, vec, mask, n)))


def run_hybrid(index: Index, query: Query, mask, n: int, method: str | None = None) -> list[tuple[int, float]]:
    bm = bm25_scores(index, query.expanded, mask, max(n, CANDIDATES))
    de = dense_scores(index, question_vector(index, query.expanded), mask, max(n, CANDIDATES))
    return _ranked(*_fuse(index, query, bm, de, method or index.settings.fusion))


def run_rerank(index: Index, query: Query, mask, n: int) -> list[tuple[int, float]]:
    from qa.rerank import rerank

    first = run_hybrid(index, query, mask, n)
    return rerank(index, query, first, depth=index.settings.rerank_depth)


def run_learned(index: Index, query: Query, mask, n: int) -> list[tuple[int, float]]:
    """The learned second stage (qa.learned) over the hybrid candidates: scores are P(answers)."""
    from qa import learned

    stage = learned.load()
    first = run_hybrid(index, query, mask, n)
    return learned.rescore(stage, index, query, first, question_vector(index, query.expanded))


RETRIEVERS: dict[str, Callable[..., list[tuple[int, float]]]] = {
    "bm25": run_bm25,
    "dense": run_dense,
    "hybrid": run_hybrid,
    "rerank": run_rerank,
    "learned": run_learned,
}
# The learned second stage (qa.learned, shipped in qa/models) where it was trained on the
# index's embedding model; otherwise the hand-weighted rerank (docs/EVAL.md).
DEFAULT_RETRIEVER = "learned"
FALLBACK_RETRIEVER = "rerank"


def default_retriever(store) -> str:
    """The retriever a store answers with when none is named."""
    from qa import learned

    embedder = getattr(store, "embedder", None)
    return DEFAULT_RETRIEVER if embedder is not None and learned.fits(embedder.name) else FALLBACK_RETRIEVER


def retriever_names() -> list[str]:
    return list(RETRIEVERS)


# --- de-duplication -----------------------------------------------------------------

_TOKEN = re.compile(r"[a-z0-9]+")


@lru_cache(maxsize=4096)  # the same passages come back question after question
def _shingles(text: str, n: int = 5) -> frozenset[int]:
    toks = _TOKEN.findall(text.lower())
    return frozenset(hash(" ".join(toks[i : i + n])) for i in range(max(1, len(toks) - n + 1)))


def near_duplicate(a: frozenset[int], b: frozenset[int], threshold: float = 0.6) -> bool:
    """Containment of the smaller in the larger: a paragraph quoted whole in a longer
    passage is a repeat even though the two differ in length."""
    if not a or not b:
        return False
    return len(a & b) / min(len(a), len(b)) >= threshold


def dedupe(index: Index, ranked: list[tuple[int, float]], k: int, retriever: str) -> list[Hit]:
    hits: list[tuple[Passage, float, list]] = []
    seen_hash: dict[str, int] = {}
    kept_shingles: list[frozenset[int]] = []
    for i, score in ranked:
        p = index.passages[i]
        j = seen_hash.get(p.content_hash)
        if j is None:
            sh = _shingles(p.text)
            j = next((n for n, other in enumerate(kept_shingles) if near_duplicate(sh, other)), None)
        if j is not None:
            if len(hits[j][2]) < 20:
                hits[j][2].append(p.location())
            continue
        if len(hits) >= k:
            # Enough distinct hits: a later copy of a kept hit still adds its location.
            continue
        seen_hash[p.content_hash] = len(hits)
        kept_shingles.append(sh)
        hits.append((p, score, []))
    return [Hit(passage=p, score=s, retriever=retriever, also_in=tuple(locs)) for p, s, locs in hits]


def search(
    index: Index,
    question: str,
    k: int = 10,
    filters: Filters = Filters(),
    retriever: str | None = None,
) -> list[Hit]:
    """The ``k`` best distinct passages for ``question`` (``retriever`` None: the store's
    default_retriever)."""
    retriever = retriever or default_retriever(index)
    try:
        run = RETRIEVERS[retriever]
    except KeyError:
        raise ValueError(f"unknown retriever {retriever!r}; choose one of: {', '.join(RETRIEVERS)}") from None
    if k < 1:
        raise ValueError("k must be at least 1")
    query = understand(question, index.acronyms, index.committees)
    mask = _mask(index, filters)
    ranked = run(index, query, mask, max(CANDIDATES, 3 * k))
    return dedupe(index, ranked[: max(CANDIDATES, 5 * k)], k, retriever)
