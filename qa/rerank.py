"""A second stage built from what ships: no cross-encoder can be installed offline here.

The first stage (hybrid) gives candidates; each is re-scored from features a reader would
weigh, all cheap because the sentence vectors are already in the index:

- ``best``: similarity of the question to the passage's best sentence;
- ``second``: to its second-best sentence (an answer often spans two);
- ``coverage``: share of the question's content words (stemmed, with acronym expansions)
  found in the passage, its heading or its item title — IDF-weighted;
- ``bigrams``: share of the question's word pairs found as pairs in the passage;
- ``numbers``: figures and dates in the question that the passage repeats;
- ``first``: the first-stage fused score, so the stage refines rather than replaces.

    >>> rerank_score({"best": 0.6, "second": 0.5, "coverage": 1.0, "bigrams": 0.0, "numbers": 0.0, "first": 1.0})
    2.05
"""

from __future__ import annotations

import math
import re

import numpy as np

from index.tokens import bm25_tokens
from qa.answertype import answer_types, type_match

# Set on the development questions of both corpora (docs/EVAL.md); a handful of weights,
# not a learned model, so they carry to other councils' papers.
WEIGHTS = {"best": 1.0, "second": 0.5, "coverage": 0.6, "bigrams": 0.3, "numbers": 0.3, "first": 0.6, "fit": 0.4}

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


def features(index, query, passage_row: int, qvec: np.ndarray, first: float) -> dict[str, float]:
    p = index.passages[passage_row]
    units = index.unit_rows(passage_row)
    unit_sims = index.embeddings[units] @ qvec if len(units) else np.zeros(1)
    sims = np.sort(unit_sims)[::-1]
    fit = 0.0
    wanted = answer_types(query.text)
    if wanted and len(units):
        _, s, e = index.units[units[int(np.argmax(unit_sims))]]
        fit = type_match(wanted, p.text[int(s) - p.start : int(e) - p.start])
    q_tokens = [t for t in dict.fromkeys(bm25_tokens(query.expanded))]
    p_tokens = bm25_tokens(p.search_text())
    p_set = set(p_tokens)
    weights = {t: token_idf(index, t) for t in q_tokens}
    total = sum(weights.values()) or 1.0
    coverage = sum(w for t, w in weights.items() if t in p_set) / total
    q_words = [w for w in bm25_tokens(query.text)]
    q_pairs = {(a, b) for a, b in zip(q_words, q_words[1:])}
    p_pairs = set(zip(p_tokens, p_tokens[1:]))
    bigrams = len(q_pairs & p_pairs) / len(q_pairs) if q_pairs else 0.0
    q_numbers = {n.strip(".,").replace(",", "") for n in NUMBER.findall(query.text) if not re.fullmatch(r"(19|20)\d\d", n)}
    p_numbers = {n.strip(".,").replace(",", "") for n in NUMBER.findall(p.text)}
    numbers = len(q_numbers & p_numbers) / len(q_numbers) if q_numbers else 0.0
    return {
        "best": float(sims[0]),
        "second": float(sims[1]) if len(sims) > 1 else float(sims[0]) * 0.5,
        "coverage": coverage,
        "bigrams": bigrams,
        "numbers": numbers,
        "first": first,
        "fit": fit,
    }


def rerank(index, query, first_stage: list[tuple[int, float]], depth: int = 30) -> list[tuple[int, float]]:
    """Re-score the top ``depth`` candidates; the rest keep their order below them."""
    from qa.retrieve import question_vector

    head, tail = first_stage[:depth], first_stage[depth:]
    if not head:
        return first_stage
    qvec = question_vector(index, query.expanded)
    top = head[0][1] or 1.0
    rescored = [(row, rerank_score(features(index, query, row, qvec, score / top))) for row, score in head]
    rescored.sort(key=lambda rs: -rs[1])
    floor = rescored[-1][1]
    return rescored + [(row, floor - 1 - n) for n, (row, _) in enumerate(tail)]



