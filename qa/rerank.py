"""A second stage built from what ships: no cross-encoder can be installed offline here.

The first stage (hybrid) gives candidates; each is re-scored from features a reader would
weigh, all cheap because the sentence vectors are already in the index:

- ``best``: similarity of the question to the passage's best sentence;
- ``second``: to its second-best sentence (an answer often spans two);
- ``coverage``: share of the question's content words (stemmed, with acronym expansions)
  found in the passage, its heading or its item title — IDF-weighted;
- ``local``: the same share found together in one sentence or line (a table row's label);
- ``bigrams``: share of the question's word pairs found as pairs in the passage;
- ``numbers``: figures and dates in the question that the passage repeats;
- ``first``: the first-stage fused score, so the stage refines rather than replaces.

    >>> rerank_score({"best": 0.6, "second": 0.5, "coverage": 1.0, "local": 0.5, "bigrams": 0.0, "numbers": 0.0, "first": 1.0})
    2.0
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from index.model import Passage
from index.store import Units
from index.tokens import bm25_tokens
from qa.answertype import answer_types, type_match
from qa.settings import RERANK_WEIGHTS

NUMBER = re.compile(r"\b\d[\d,.]*%?|£\s?\d[\d,.]*(?:m|bn|k)?\b")


DEFAULT_WEIGHTS = dict(RERANK_WEIGHTS)


def rerank_score(features: dict[str, float], weights: dict[str, float] | None = None) -> float:
    weights = weights or DEFAULT_WEIGHTS
    return round(sum(weights[name] * value for name, value in features.items()), 6)


@dataclass(frozen=True)
class QuestionSide:
    """What the features need of the question, worked out once for all its candidates."""

    wanted: tuple[str, ...]  # qa.answertype.answer_types
    weights: dict[str, float]  # question token -> IDF
    pairs: frozenset
    numbers: frozenset

    @classmethod
    def of(cls, query, idf: dict[str, float]) -> QuestionSide:
        """``idf``: of each stemmed word of the expanded question (qa.retrieve.frequencies_idf)."""
        q_words = bm25_tokens(query.text)
        return cls(
            wanted=answer_types(query.text),
            weights={t: idf[t] for t in dict.fromkeys(bm25_tokens(query.expanded))},
            pairs=frozenset(zip(q_words, q_words[1:])),
            numbers=frozenset(n.strip(".,").replace(",", "") for n in NUMBER.findall(query.text) if not re.fullmatch(r"(19|20)\d\d", n)),
        )


def features(p: Passage, units: Units | None, qvec: np.ndarray, first: float, side: QuestionSide) -> dict[str, float]:
    """The features of passage ``p`` (its stored sentence ``units``) for the question ``side``
    stands for; ``first``: its first-stage score over the best candidate's."""
    spans = units.relative_to(p.start) if units is not None else []
    vecs = units.vectors if units is not None else np.zeros((0, len(qvec)), dtype=np.float32)
    unit_sims = vecs @ qvec if len(spans) else np.zeros(1)
    sims = np.sort(unit_sims)[::-1]
    fit = 0.0
    if side.wanted and len(spans):
        s, e = spans[int(np.argmax(unit_sims))]
        fit = type_match(side.wanted, p.text[s:e])
    p_tokens = bm25_tokens(p.search_text())
    p_set = set(p_tokens)
    weights = side.weights
    total = sum(weights.values()) or 1.0
    coverage = sum(w for t, w in weights.items() if t in p_set) / total
    p_pairs = set(zip(p_tokens, p_tokens[1:]))
    bigrams = len(side.pairs & p_pairs) / len(side.pairs) if side.pairs else 0.0
    p_numbers = {n.strip(".,").replace(",", "") for n in NUMBER.findall(p.text)}
    numbers = len(side.numbers & p_numbers) / len(side.numbers) if side.numbers else 0.0
    return {
        "local": local_coverage(windows(p.text, spans), weights),
        "best": float(sims[0]),
        "second": float(sims[1]) if len(sims) > 1 else float(sims[0]) * 0.5,
        "coverage": coverage,
        "bigrams": bigrams,
        "numbers": numbers,
        "first": first,
        "fit": fit,
    }


def windows(text: str, unit_spans: list[tuple[int, int]]) -> list[str]:
    r"""The stretches of a passage the question's words should be found together in: its
    sentence units, and its lines (a table row read from a PDF is a line, whose label words
    sit together there even where a unit runs over several rows).

    >>> windows("Care 1.0 2.0\nHomes 3.0 4.0", [(0, 26)])
    ['Care 1.0 2.0\nHomes 3.0 4.0', 'Care 1.0 2.0', 'Homes 3.0 4.0']
    """
    lines = [line for line in text.split("\n") if line.strip()]
    return [text[s:e] for s, e in unit_spans] + lines


def local_coverage(windows: list[str], weights: dict[str, float]) -> float:
    """The largest IDF-weighted share of the question's words that one window holds.

    ``coverage`` counts words anywhere in the passage and its headings, so a long passage
    that mentions "older", "people", "residential" and "care" in four places scores as
    high as the budget row "Older People - Residential Care Services 97.5 124.9 27.4";
    this one asks for them together.

    >>> local_coverage(["Older People - Residential Care 97.5", "care homes"], {"older": 1.0, "peopl": 1.0, "residenti": 1.0, "home": 1.0})
    0.75
    """
    total = sum(weights.values()) or 1.0
    best = 0.0
    for w in windows:
        toks = set(bm25_tokens(w))
        best = max(best, sum(v for t, v in weights.items() if t in toks) / total)
    return best


def rerank(first_stage: list[tuple[Passage, float]], units: dict[str, Units], side: QuestionSide,
           qvec: np.ndarray, depth: int = 30, weights: dict[str, float] | None = None) -> list[tuple[Passage, float]]:
    """Re-score the top ``depth`` candidates; the rest keep their order below them."""
    head, tail = first_stage[:depth], first_stage[depth:]
    if not head:
        return first_stage
    top = head[0][1] or 1.0
    rescored = [(p, rerank_score(features(p, units.get(p.id), qvec, score / top, side), weights)) for p, score in head]
    rescored.sort(key=lambda rs: -rs[1])
    floor = rescored[-1][1]
    return rescored + [(p, floor - 1 - n) for n, (p, _) in enumerate(tail)]
