"""Fusing ranked lists: pure functions, chosen by name.

Each takes per-retriever score arrays over the same candidates (``nan`` where a retriever
did not return the candidate) and gives one fused score per candidate.

    >>> import numpy as np
    >>> rrf([np.array([3.0, 1.0, np.nan]), np.array([np.nan, 0.9, 0.8])], k=60).round(5).tolist()
    [0.01639, 0.03252, 0.01613]
"""

from __future__ import annotations

from typing import Callable

import numpy as np


def _ranks(scores: np.ndarray) -> np.ndarray:
    """1-based rank of each candidate in one list (nan: not in the list → inf)."""
    order = np.argsort(-np.nan_to_num(scores, nan=-np.inf), kind="stable")
    ranks = np.empty(len(scores))
    ranks[order] = np.arange(1, len(scores) + 1)
    ranks[np.isnan(scores)] = np.inf
    return ranks


def rrf(score_lists: list[np.ndarray], k: float = 60.0, weights: list[float] | None = None) -> np.ndarray:
    """Reciprocal rank fusion (Cormack et al. 2009): sum of w / (k + rank)."""
    weights = weights or [1.0] * len(score_lists)
    return sum(w / (k + _ranks(s)) for w, s in zip(weights, score_lists))


def minmax(scores: np.ndarray) -> np.ndarray:
    """Scale a list's scores to [0, 1]; a candidate it did not return scores 0."""
    finite = scores[~np.isnan(scores)]
    if finite.size == 0:
        return np.zeros_like(scores)
    lo, hi = finite.min(), finite.max()
    out = (scores - lo) / (hi - lo) if hi > lo else np.ones_like(scores)
    return np.nan_to_num(out, nan=0.0)


def convex(score_lists: list[np.ndarray], weights: list[float] | None = None) -> np.ndarray:
    """Normalised convex combination: sum of w * minmax(scores), weights summing to 1.

    Bruch et al. (2023) find a tuned convex combination beats RRF and is sample-efficient."""
    weights = weights or [1.0 / len(score_lists)] * len(score_lists)
    total = sum(weights)
    return sum((w / total) * minmax(s) for w, s in zip(weights, score_lists))


# By name (qa.settings.RetrievalSettings.fusion), each as (score lists, weights, k). RRF is
# scaled by k so that first place in one list scores about 1, as in convex fusion.
FUSIONS: dict[str, Callable[..., np.ndarray]] = {
    "rrf": lambda lists, weights, k: k * rrf(lists, k=k, weights=weights),
    "convex": lambda lists, weights, k: convex(lists, weights=weights),
}


def fusion(name: str) -> Callable[..., np.ndarray]:
    try:
        return FUSIONS[name]
    except KeyError:
        raise ValueError(f"unknown fusion {name!r}; choose one of: {', '.join(sorted(FUSIONS))}") from None
