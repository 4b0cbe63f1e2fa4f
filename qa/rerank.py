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

import math
import re
from dataclasses import dataclass

import numpy as np

from index.tokens import bm25_tokens
from qa.answertype import answer_types, type_match

# Set on the development questions of both corpora (docs/EVAL.md); a handful of weights,
# not a learned model, so they carry to other councils' papers.
# ``local`` (0.3) came in with coverage lowered from 0.6 to 0.4: over the three dev corpora
# recall@5 +0.014 and nDCG@10 +0.003 on average, no corpus down by more than 0.002 — a gain
# of one or two questions a corpus, within noise (pooled paired test p = 0.51 and 0.11).
WEIGHTS = {"best": 1.0, "second": 0.5, "coverage": 0.4, "local": 0.3, "bigrams": 0.3, "numbers": 0.3, "first": 0.6, "fit": 0.4}

NUMBER = re.compile(r"\b\d[\d,.]*%?|£\s?\d[\d,.]*(?:m|bn|k)?\b")


def rerank_score(features: dict[str, float]) -> float:
    return round(sum(WEIGHTS[name] * value for name, value in features.items()), 6)


def token_idf(index, token: str) -> float:
    bm = index.bm25
    tid = bm.vocab_dict.get(token)
    if tid is None:
        return 0.0
    # Document frequency: non-zero entries in the token's column of the score matrix.
    indptr = bm.scores["indptr"]
    df = int(indptr[tid + 1] - indptr[tid])
    n = len(index.passages)
    return math.log(1 + (n - df + 0.5) / (df + 0.5))


def passage_units(index, passage_row: int) -> tuple[list[tuple[int, int]], np.ndarray]:
    """A passage's embedded units: spans into its text, and their vectors."""
    p = index.passages[passage_row]
    rows = index.unit_rows(passage_row)
    return [(int(s) - p.start, int(e) - p.start) for _, s, e in index.units[rows]], index.embeddings[rows]


@dataclass(frozen=True)
class QuestionSide:
    """What the features need of the question, worked out once for all its candidates."""

    wanted: tuple[str, ...]  # qa.answertype.answer_types
    weights: dict[str, float]  # question token -> IDF
    pairs: frozenset
    numbers: frozenset

    @classmethod
    def of(cls, index, query) -> QuestionSide:
        q_tokens = list(dict.fromkeys(bm25_tokens(query.expanded)))
        q_words = bm25_tokens(query.text)
        return cls(
            wanted=answer_types(query.text),
            weights={t: token_idf(index, t) for t in q_tokens},
            pairs=frozenset(zip(q_words, q_words[1:])),
            numbers=frozenset(n.strip(".,").replace(",", "") for n in NUMBER.findall(query.text) if not re.fullmatch(r"(19|20)\d\d", n)),
        )


def features(index, query, passage_row: int, qvec: np.ndarray, first: float, side: QuestionSide | None = None) -> dict[str, float]:
    side = side or QuestionSide.of(index, query)
    p = index.passages[passage_row]
    spans, vecs = passage_units(index, passage_row)
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


def rerank(index, query, first_stage: list[tuple[int, float]], depth: int = 30) -> list[tuple[int, float]]:
    """Re-score the top ``depth`` candidates; the rest keep their order below them."""
    from qa.retrieve import question_vector

    head, tail = first_stage[:depth], first_stage[depth:]
    if not head:
        return first_stage
    qvec = question_vector(index, query.expanded)
    top = head[0][1] or 1.0
    side = QuestionSide.of(index, query)
    rescored = [(row, rerank_score(features(index, query, row, qvec, score / top, side))) for row, score in head]
    rescored.sort(key=lambda rs: -rs[1])
    floor = rescored[-1][1]
    return rescored + [(row, floor - 1 - n) for n, (row, _) in enumerate(tail)]



