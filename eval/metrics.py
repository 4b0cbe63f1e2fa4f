"""Retrieval metrics over judged ranked lists (shared/eval/README.md, "Metrics").

A *judged* list is what :func:`eval.relevance.judge` returns: for each passage, in rank
order, the indices of the gold quotes it answers. Every metric is a pure function
``(judged, n_gold) -> float`` and is named by a string, as in ``ranx``:

>>> judged = [[], [0], [0], [1]]          # two gold quotes; rank 2 and 3 hold copies
>>> [metric(m)(judged, 2) for m in ("recall@1", "recall@3", "recall@5", "hit@1", "hit@5")]
[0.0, 0.5, 1.0, 0.0, 1.0]
>>> metric("mrr@10")(judged, 2)
0.5
>>> round(metric("ndcg@10")(judged, 2), 4)   # (1/log2 3 + 1/log2 5) / (1 + 1/log2 3)
0.6509

Unanswerable questions (no gold quotes) are left out of these metrics; their measure is
:func:`abstention_rates`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import partial
from typing import Any

from eval.relevance import judge

__all__ = [
    "Judged",
    "MetricFn",
    "recall",
    "hit",
    "mrr",
    "ndcg",
    "recall_at",
    "hit_at",
    "METRICS",
    "DEFAULT_METRICS",
    "metric",
    "metric_depth",
    "score_question",
    "score_run",
    "abstention_rates",
]

Judged = Sequence[Sequence[int]]
MetricFn = Callable[[Judged, int], float]

# The README scores the top 10 passages.
DEPTH = 10


def recall(judged: Judged, n_gold: int, k: int) -> float:
    """Share of the ``n_gold`` quotes answered by some passage in the top ``k``.

    >>> recall([[1], [], [0, 1]], 3, 2)   # quote 1 of 3 found in the top 2
    0.3333333333333333
    """
    if n_gold <= 0:
        raise ValueError("recall is undefined for a question without gold quotes")
    found = {q for hits in judged[:k] for q in hits}
    return len(found) / n_gold


def hit(judged: Judged, n_gold: int, k: int) -> float:
    """1.0 when some passage in the top ``k`` answers some gold quote, else 0.0.

    >>> hit([[], [], [0]], 1, 2), hit([[], [], [0]], 1, 3)
    (0.0, 1.0)
    """
    return 1.0 if any(judged[:k]) else 0.0


def mrr(judged: Judged, n_gold: int, k: int = DEPTH) -> float:
    """Reciprocal rank of the first passage (within the top ``k``) answering any quote.

    >>> mrr([[], [], [0]], 1)
    0.3333333333333333
    """
    for rank, hits in enumerate(judged[:k], start=1):
        if hits:
            return 1.0 / rank
    return 0.0


def ndcg(judged: Judged, n_gold: int, k: int = DEPTH) -> float:
    """nDCG@k with binary gain for each gold quote the first time a passage answers it.

    DCG = sum over quotes first answered at rank r of 1/log2(r+1): a second copy of a
    paragraph adds nothing. Ideal = one new quote per rank, i.e. sum of 1/log2(r+1) for
    r = 1..min(n_gold, k). A passage answering two new quotes at once earns 2 at its rank,
    which can beat that ideal; the value is capped at 1.0 (nothing ranks better).

    >>> ndcg([[0], [0], [1]], 2)   # (1 + 1/log2 4) / (1 + 1/log2 3) = 1.5 / 1.6309
    0.9197207891481876
    """
    if n_gold <= 0:
        raise ValueError("ndcg is undefined for a question without gold quotes")
    seen: set[int] = set()
    dcg = 0.0
    for rank, hits in enumerate(judged[:k], start=1):
        new = set(hits) - seen
        seen |= new
        dcg += len(new) / math.log2(rank + 1)
    ideal = sum(1.0 / math.log2(rank + 1) for rank in range(1, min(n_gold, k) + 1))
    return min(1.0, dcg / ideal)


def recall_at(k: int) -> MetricFn:
    """``recall`` at a fixed cut-off, as a ``(judged, n_gold) -> float`` function."""
    return partial(recall, k=k)


def hit_at(k: int) -> MetricFn:
    """``hit`` at a fixed cut-off, as a ``(judged, n_gold) -> float`` function."""
    return partial(hit, k=k)


_FAMILIES: dict[str, Callable[..., float]] = {"recall": recall, "hit": hit, "mrr": mrr, "ndcg": ndcg}

METRICS: dict[str, MetricFn] = {
    **{f"recall@{k}": recall_at(k) for k in (1, 3, 5, 10)},
    **{f"hit@{k}": hit_at(k) for k in (1, 5, 10)},
    "mrr@10": partial(mrr, k=10),
    "ndcg@10": partial(ndcg, k=10),
}
DEFAULT_METRICS: tuple[str, ...] = tuple(METRICS)

_NAME = re.compile(r"^(recall|hit|mrr|ndcg)@([1-9][0-9]*)$")


def metric(name: str) -> MetricFn:
    """The metric called ``name``: one of :data:`METRICS`, or ``family@k`` for any k.

    >>> metric("recall@7")([[0]] * 8, 1)
    1.0
    >>> metric("precision@5")
    Traceback (most recent call last):
    ...
    ValueError: unknown metric 'precision@5'; valid: recall@1, recall@3, recall@5, recall@10, hit@1, hit@5, hit@10, mrr@10, ndcg@10 (or recall@K, hit@K, mrr@K, ndcg@K for any K >= 1)
    """
    if name in METRICS:
        return METRICS[name]
    match = _NAME.match(name)
    if match is None:
        valid = ", ".join(METRICS)
        families = ", ".join(f"{f}@K" for f in _FAMILIES)
        raise ValueError(f"unknown metric {name!r}; valid: {valid} (or {families} for any K >= 1)")
    return partial(_FAMILIES[match.group(1)], k=int(match.group(2)))


def metric_depth(names: Iterable[str]) -> int:
    """How many passages the named metrics look at (their largest k).

    >>> metric_depth(["recall@1", "ndcg@10"])
    10
    """
    depth = 0
    for name in names:
        metric(name)  # validates
        depth = max(depth, int(name.rsplit("@", 1)[1]))
    return depth


def _passages(result: Any) -> Sequence[Any]:
    # A run maps id -> passages, or id -> the whole printed record {"id", "passages", ...}.
    if isinstance(result, Mapping):
        return result.get("passages") or []
    return result or []


def score_question(
    question: Mapping[str, Any],
    passages: Sequence[Any],
    metrics: Sequence[str] = DEFAULT_METRICS,
    *,
    require_doc: bool = False,
) -> dict[str, Any]:
    """Metric values for one answerable question, plus what the top passages answered.

    >>> q = {"id": "q", "type": "lexical", "answers": [{"doc": "d", "quote": "four tokens are here"}]}
    >>> score_question(q, [{"text": "nothing"}, {"text": "Four tokens are here."}], ["hit@1", "mrr@10"])
    {'type': 'lexical', 'hit@1': 0.0, 'mrr@10': 0.5, 'first_rank': 2, 'answered': [0]}
    """
    gold = question.get("answers") or []
    if not gold:
        raise ValueError(f"question {question.get('id')!r} is unanswerable: no gold quotes")
    depth = metric_depth(metrics)
    judged = judge(list(passages[:depth]), gold, require_doc=require_doc)
    row: dict[str, Any] = {"type": question.get("type")}
    for name in metrics:
        row[name] = metric(name)(judged, len(gold))
    row["first_rank"] = next((r for r, h in enumerate(judged, start=1) if h), None)
    row["answered"] = sorted({q for h in judged for q in h})
    return row


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def score_run(
    questions: Sequence[Mapping[str, Any]],
    results: Mapping[str, Any],
    metrics: Sequence[str] = DEFAULT_METRICS,
    *,
    require_doc: bool = False,
) -> dict[str, Any]:
    """Score a run: ``results`` maps question id -> ranked passage dicts (or the record).

    Unanswerable questions are skipped. An answerable question missing from ``results``
    scores 0 on every metric (the system returned nothing) and is listed in ``missing``.
    Returns::

        {"metrics": [...], "require_doc": bool, "n": answerable questions scored,
         "mean": {metric: value}, "by_type": {type: {"n": int, metric: value}},
         "per_question": {id: {"type", metric: value, "first_rank", "answered"}},
         "missing": [ids], "unknown": [result ids not in questions],
         "skipped_unanswerable": int}

    >>> qs = [{"id": "a", "type": "lexical", "answers": [{"doc": "d", "quote": "one two three"}]},
    ...       {"id": "u", "type": "unanswerable", "answers": []}]
    >>> score_run(qs, {"a": [{"text": "one two three"}]}, ["hit@1"])["mean"]
    {'hit@1': 1.0}
    """
    metrics = list(metrics)
    for name in metrics:
        metric(name)  # fail before scoring anything
    per_question: dict[str, dict[str, Any]] = {}
    missing: list[str] = []
    skipped = 0
    for q in questions:
        qid = str(q["id"])
        if not q.get("answers"):
            skipped += 1
            continue
        if qid not in results:
            missing.append(qid)
        per_question[qid] = score_question(
            q, _passages(results.get(qid)), metrics, require_doc=require_doc
        )

    by_type: dict[str, dict[str, Any]] = {}
    for t in sorted({str(row["type"]) for row in per_question.values()}):
        rows = [row for row in per_question.values() if str(row["type"]) == t]
        by_type[t] = {"n": len(rows), **{m: _mean([r[m] for r in rows]) for m in metrics}}

    known = {str(q["id"]) for q in questions}
    return {
        "metrics": metrics,
        "require_doc": require_doc,
        "n": len(per_question),
        "mean": {m: _mean([r[m] for r in per_question.values()]) for m in metrics},
        "by_type": by_type,
        "per_question": per_question,
        "missing": missing,
        "unknown": sorted(set(map(str, results)) - known),
        "skipped_unanswerable": skipped,
    }


def abstention_rates(
    questions: Sequence[Mapping[str, Any]], ask_results: Mapping[str, Any]
) -> dict[str, Any]:
    """Abstention on unanswerable questions and wrong abstention on answerable ones.

    ``ask_results`` maps question id -> the ``ask --json`` record (with ``abstained``) or
    directly to a bool. Questions without a result are left out of both shares and listed
    in ``missing``; a share over no questions is ``None``.

    >>> qs = [{"id": "u", "answers": []}, {"id": "a", "answers": [{"quote": "x"}]}]
    >>> abstention_rates(qs, {"u": {"abstained": True}, "a": {"abstained": False}})
    {'abstained_unanswerable': 1.0, 'wrongly_abstained_answerable': 0.0, 'n_unanswerable': 1, 'n_answerable': 1, 'missing': []}
    """
    unanswerable: list[bool] = []
    answerable: list[bool] = []
    missing: list[str] = []
    for q in questions:
        qid = str(q["id"])
        if qid not in ask_results:
            missing.append(qid)
            continue
        rec = ask_results[qid]
        abstained = bool(rec.get("abstained", False) if isinstance(rec, Mapping) else rec)
        (answerable if q.get("answers") else unanswerable).append(abstained)
    return {
        "abstained_unanswerable": _mean([float(a) for a in unanswerable]),
        "wrongly_abstained_answerable": _mean([float(a) for a in answerable]),
        "n_unanswerable": len(unanswerable),
        "n_answerable": len(answerable),
        "missing": missing,
    }
