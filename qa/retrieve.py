"""Rank passages for a question: ``bm25``, ``dense``, ``hybrid`` (fused), ``rerank`` (the
hand-weighted second stage) and ``learned`` (the learned one), the same for every engine:
the store hands out candidates (index.store.Store), ranking happens here.

    >>> store = open_store("data/index", SentenceTransformerEmbedder())  # doctest: +SKIP
    >>> hits = search(store, "How many children were waiting to be adopted?", k=5)  # doctest: +SKIP
    >>> hits[0].passage.page, hits[0].retriever  # doctest: +SKIP
    (4, 'learned')

Identical or near-identical passages (the same minutes in two packs, a report and its
appendix) come back as one hit whose ``also_in`` lists the other places.
"""

from __future__ import annotations

import math
import re
import weakref
from functools import cached_property, lru_cache
from typing import Callable

import numpy as np

from index.model import Filters, Hit, Passage
from index.store import Store, remember
from index.tokens import bm25_tokens
from qa import learned, rerank
from qa.fusion import fusion
from qa.query import Query, date_match, names_dates, understand
from qa.settings import DEFAULTS, Settings

Ranked = list[tuple[Passage, float]]


class Question:
    """A question understood once (acronyms expanded, dates and committees read) and
    embedded once, when first needed, for every stage that reads it."""

    def __init__(self, store: Store, text: str) -> None:
        self.text = text
        self.query: Query = understand(text, store.acronyms, store.committees)
        self._embedder = store.embedder

    @cached_property
    def vector(self) -> np.ndarray:
        if self._embedder is None:
            raise ValueError("this index was opened without an embedder; dense search needs one")
        return question_vector(self._embedder, self.query.expanded)


# Per embedder (an embedder shared by the app's sessions, or one a test made for itself).
_VECTORS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def question_vector(embedder, text: str) -> np.ndarray:
    """The embedding of a question's text; the last few are kept (a conversation's
    repeated question, one question asked of every retriever)."""
    return remember(_VECTORS.setdefault(embedder, {}), text, lambda: embedder.encode([text])[0], 512)


def frequencies_idf(store: Store, tokens) -> dict[str, float]:
    """BM25's IDF of each stemmed word, from one call to the store."""
    found = store.frequencies(list(dict.fromkeys(tokens)))
    return {t: found.idf(t) for t in dict.fromkeys(tokens)}


def idf(store: Store, token: str) -> float:
    return frequencies_idf(store, [token])[token]


def rarity(store: Store, word: str) -> float:
    """How specific ``word`` is in the papers of ``store``: the IDF of its stem, a word they
    never use counting as rarest of all. qa.chat picks by it the word a follow-up's new
    topic replaces."""
    tokens = bm25_tokens(word)
    if not tokens:
        return 0.0
    found = store.frequencies([tokens[0]])
    return found.idf(tokens[0]) if found.df[tokens[0]] else math.inf


# --- the retrievers ------------------------------------------------------------------


def _ranked(passages, scores: np.ndarray) -> Ranked:
    order = np.argsort(-scores, kind="stable")
    return [(passages[o], float(scores[o])) for o in order]


def boosts(passages, query: Query, settings: Settings) -> np.ndarray:
    """Meetings and committees a question names lift the passages that record them."""
    s = settings.retrieval
    out = np.zeros(len(passages))
    if names_dates(query):
        for j, p in enumerate(passages):
            out[j] += s.date_boost * max(date_match(query, p.meeting_date), 0.5 * date_match(query, p.pack_date))
    if query.committees:
        for j, p in enumerate(passages):
            c = (p.committee or "").lower()
            out[j] += s.committee_boost * any(q.lower() in c for q in query.committees)
    return out


def run_bm25(store: Store, question: Question, filters: Filters, n: int, settings: Settings) -> Ranked:
    found = store.candidates(question.query.expanded, None, filters, n)
    return _ranked(found.passages, found.lexical)


def run_dense(store: Store, question: Question, filters: Filters, n: int, settings: Settings) -> Ranked:
    found = store.candidates(None, question.vector, filters, n)
    return _ranked(found.passages, found.dense)


def run_hybrid(store: Store, question: Question, filters: Filters, n: int, settings: Settings) -> Ranked:
    s = settings.retrieval
    found = store.candidates(question.query.expanded, question.vector, filters, max(n, s.candidates))
    if not len(found):
        return []
    fused = fusion(s.fusion)([found.lexical, found.dense], [1 - s.dense_weight, s.dense_weight], s.rrf_k)
    return _ranked(found.passages, fused + boosts(found.passages, question.query, settings))


def run_rerank(store: Store, question: Question, filters: Filters, n: int, settings: Settings) -> Ranked:
    first = run_hybrid(store, question, filters, n, settings)
    depth = settings.retrieval.rerank_depth
    head = [p for p, _ in first[:depth]]
    if not head:
        return first
    side = question_side(store, question)
    return rerank.rerank(first, store.units(head), side, question.vector, depth, settings.retrieval.weights)


def run_learned(store: Store, question: Question, filters: Filters, n: int, settings: Settings) -> Ranked:
    """The learned second stage (qa.learned) over the hybrid candidates: scores are P(answers)."""
    stage = learned.load()
    first = run_hybrid(store, question, filters, n, settings)
    head = [p for p, _ in first[: stage.depth]]
    if not head:
        return first
    side = question_side(store, question)
    return learned.rescore(stage, first, store.units(head), side, question.vector)


def question_side(store: Store, question: Question) -> rerank.QuestionSide:
    return rerank.QuestionSide.of(question.query, frequencies_idf(store, bm25_tokens(question.query.expanded)))


RETRIEVERS: dict[str, Callable[..., Ranked]] = {
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


def default_retriever(store: Store) -> str:
    """The retriever a store answers with when none is named."""
    embedder = store.embedder
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


def dedupe(ranked: Ranked, k: int, retriever: str) -> list[Hit]:
    hits: list[tuple[Passage, float, list]] = []
    seen_hash: dict[str, int] = {}
    kept_shingles: list[frozenset[int]] = []
    for p, score in ranked:
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
    store: Store,
    question: str | Question,
    k: int = 10,
    filters: Filters = Filters(),
    retriever: str | None = None,
    settings: Settings = DEFAULTS,
) -> list[Hit]:
    """The ``k`` best distinct passages for ``question`` (``retriever`` None: the store's
    default_retriever)."""
    retriever = retriever or default_retriever(store)
    try:
        run = RETRIEVERS[retriever]
    except KeyError:
        raise ValueError(f"unknown retriever {retriever!r}; choose one of: {', '.join(RETRIEVERS)}") from None
    if k < 1:
        raise ValueError("k must be at least 1")
    if isinstance(question, str):
        question = Question(store, question)
    n = settings.retrieval.candidates
    ranked = run(store, question, filters, max(n, 3 * k), settings)
    return dedupe(ranked[: max(n, 5 * k)], k, retriever)
