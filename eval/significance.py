"""Paired significance between two retrievers, and TREC run / qrels files.

The test is the paired randomization (sign-flip) test that ``ranx.compare`` also offers:
under the null hypothesis that the two systems are interchangeable, each question's score
difference is as likely to have either sign. Two-sided p-value = share of sign patterns
whose mean difference is at least as far from 0 as the observed one. With ``n`` questions
and ``2**n <= n_permutations`` every pattern is enumerated (exact); otherwise
``n_permutations`` random patterns from a fixed seed are drawn and
``p = (1 + count) / (1 + n_permutations)`` (never 0).

>>> r = paired_test({"q1": 1.0, "q2": 1.0, "q3": 1.0}, {"q1": 0.0, "q2": 0.0, "q3": 0.0})
>>> r.p_value, r.exact   # 2 of the 8 sign patterns reach |mean| = 1
(0.25, True)

``ranx`` itself is not used: it pulls numba, llvmlite, ir_datasets and fastparquet.
"""

from __future__ import annotations

import hashlib
import io  # noqa: F401 - used by the doctests below
import itertools
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import IO, Any

import numpy as np

from eval.relevance import judge

__all__ = [
    "PairedResult",
    "Comparison",
    "paired_test",
    "compare",
    "holm",
    "pairwise",
    "passage_id",
    "write_trec_run",
    "write_qrels",
]


@dataclass(frozen=True)
class PairedResult:
    """Outcome of :func:`paired_test`; ``diff = mean_a - mean_b``."""

    n: int
    mean_a: float
    mean_b: float
    diff: float
    p_value: float
    exact: bool
    n_permutations: int


def paired_test(
    scores_a: Mapping[str, float],
    scores_b: Mapping[str, float],
    *,
    n_permutations: int = 10_000,
    seed: int = 0,
) -> PairedResult:
    """Two-sided paired randomization test on the questions both mappings score.

    >>> paired_test({"a": 2.0, "b": 1.0}, {"a": 0.0, "b": 0.0}).p_value  # 2 of 4 reach 1.5
    0.5
    """
    keys = sorted(set(scores_a) & set(scores_b))
    if not keys:
        raise ValueError("the two runs score no question in common")
    a = np.array([float(scores_a[k]) for k in keys])
    b = np.array([float(scores_b[k]) for k in keys])
    d = a - b
    n = len(d)
    observed = abs(d.mean())
    # Floating-point sums of the same numbers in another order can differ in the last
    # bits; without a tolerance an identical pattern could count as "less extreme".
    tol = 1e-12 * max(1.0, float(np.abs(d).max()))

    exact = 2**n <= n_permutations
    if exact:
        signs = np.array(list(itertools.product((1.0, -1.0), repeat=n)))
        means = np.abs(signs @ d) / n
        p = float(np.mean(means >= observed - tol))
        used = len(signs)
    else:
        rng = np.random.default_rng(seed)
        count = 0
        # Chunks keep memory at ~chunk*n floats for large question sets.
        chunk = max(1, min(n_permutations, 2_000_000 // max(n, 1)))
        done = 0
        while done < n_permutations:
            m = min(chunk, n_permutations - done)
            signs = rng.choice((-1.0, 1.0), size=(m, n))
            count += int(np.sum(np.abs(signs @ d) / n >= observed - tol))
            done += m
        p = (1 + count) / (1 + n_permutations)
        used = n_permutations
    return PairedResult(
        n=n,
        mean_a=float(a.mean()),
        mean_b=float(b.mean()),
        diff=float(d.mean()),
        p_value=p,
        exact=exact,
        n_permutations=used,
    )


def compare(
    scored: Mapping[str, Mapping[str, Any]],
    metric: str = "ndcg@10",
    *,
    baseline: str | None = None,
    n_permutations: int = 10_000,
    seed: int = 0,
) -> dict[str, PairedResult]:
    """Test every retriever against ``baseline`` (default: the first) on ``metric``.

    ``scored`` maps retriever name -> :func:`eval.metrics.score_run` output; the result
    maps each other retriever's name -> its :class:`PairedResult` (``a`` = that retriever,
    ``b`` = the baseline).
    """
    names = list(scored)
    if not names:
        return {}
    base = baseline if baseline is not None else names[0]
    if base not in scored:
        raise ValueError(f"baseline {base!r} is not among {names}")

    def per_q(name: str) -> dict[str, float]:
        return {qid: row[metric] for qid, row in scored[name]["per_question"].items()}

    return {
        name: paired_test(per_q(name), per_q(base), n_permutations=n_permutations, seed=seed)
        for name in names
        if name != base
    }


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm-Bonferroni adjusted p-values, in the input order: with several pairs of
    retrievers compared at once, a small raw p-value is expected by chance alone.

    >>> holm([0.01, 0.04, 0.03])   # sorted 0.01, 0.03, 0.04 times 3, 2, 1; kept monotone
    [0.03, 0.06, 0.06]
    """
    order = sorted(range(len(p_values)), key=lambda i: p_values[i])
    out = [0.0] * len(p_values)
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (len(p_values) - rank) * p_values[i]))
        out[i] = round(running, 12)
    return out


@dataclass(frozen=True)
class Comparison:
    """Retriever ``a`` against ``b`` on one metric; ``p_holm`` is adjusted over every
    pair compared on that metric."""

    metric: str
    a: str
    b: str
    result: PairedResult
    p_holm: float

    def to_json(self) -> dict[str, Any]:
        return {"metric": self.metric, "a": self.a, "b": self.b, **asdict(self.result), "p_holm": self.p_holm}


def pairwise(
    scored: Mapping[str, Mapping[str, Any]],
    metrics: Sequence[str] = ("ndcg@10",),
    *,
    n_permutations: int = 10_000,
    seed: int = 0,
) -> list[Comparison]:
    """Every two retrievers (``a`` after ``b`` in ``scored``'s order) on each metric."""
    names = list(scored)
    out: list[Comparison] = []
    for m in metrics:
        tests = [
            (a, b, compare({a: scored[a], b: scored[b]}, m, baseline=b,
                           n_permutations=n_permutations, seed=seed)[a])
            for i, b in enumerate(names)
            for a in names[i + 1 :]
        ]
        adjusted = holm([r.p_value for _, _, r in tests])
        out += [Comparison(m, a, b, r, p) for (a, b, r), p in zip(tests, adjusted, strict=True)]
    return out


def passage_id(passage: Mapping[str, Any]) -> str:
    """The passage's ``id`` when it has one, else ``doc#<sha1 of its text, 12 hex>``.

    TREC files split on whitespace, so any whitespace in an id becomes ``_``.

    >>> passage_id({"id": "000_abc:12"})
    '000_abc:12'
    >>> passage_id({"doc": "Printed minutes", "text": "Hello"})
    'Printed_minutes#f7ff9e8b7bb2'
    """
    pid = passage.get("id")
    if not pid:
        digest = hashlib.sha1(str(passage.get("text") or "").encode()).hexdigest()[:12]
        pid = f"{passage.get('doc') or 'unknown'}#{digest}"
    return "_".join(str(pid).split())


def _open(target: str | os.PathLike[str] | IO[str]) -> tuple[IO[str], bool]:
    if hasattr(target, "write"):
        return target, False  # type: ignore[return-value]
    return open(target, "w", encoding="utf-8"), True  # noqa: SIM115 - closed by caller


def _ranked_ids(passages: Sequence[Mapping[str, Any]]) -> list[str]:
    # trec_eval and ranx key on (qid, docid): a repeat would be dropped or rejected, so
    # a second passage with the same id gets a ~2, ~3 suffix instead.
    seen: dict[str, int] = {}
    out = []
    for p in passages:
        pid = passage_id(p)
        seen[pid] = seen.get(pid, 0) + 1
        out.append(pid if seen[pid] == 1 else f"{pid}~{seen[pid]}")
    return out


def _passages(result: Any) -> Sequence[Mapping[str, Any]]:
    if isinstance(result, Mapping):
        return result.get("passages") or []
    return result or []


def write_trec_run(
    results: Mapping[str, Any],
    target: str | os.PathLike[str] | IO[str],
    run_name: str = "committee-qa",
) -> None:
    """Write ``qid Q0 docid rank score runname`` lines, one per retrieved passage.

    ``results`` maps question id -> ranked passage dicts (or the printed record). TREC
    tools re-sort by score, so when the printed scores do not strictly fall with rank
    (ties, or missing scores) the list's scores are replaced by ``len - rank + 1`` to keep
    the system's order.

    >>> buf = io.StringIO()
    >>> write_trec_run({"q1": [{"id": "p7", "score": 2.5}, {"id": "p3", "score": 1.0}]}, buf, "bm25")
    >>> print(buf.getvalue(), end="")
    q1 Q0 p7 1 2.5 bm25
    q1 Q0 p3 2 1.0 bm25
    """
    out, close = _open(target)
    try:
        run_name = "_".join(run_name.split()) or "run"
        for qid, result in results.items():
            passages = list(_passages(result))
            scores = [p.get("score") for p in passages]
            ok = all(isinstance(s, int | float) for s in scores) and all(
                x > y for x, y in itertools.pairwise(scores)  # type: ignore[operator]
            )
            if not ok:
                scores = [float(len(passages) - i) for i in range(len(passages))]
            for rank, (pid, score) in enumerate(zip(_ranked_ids(passages), scores, strict=True), 1):
                out.write(f"{qid} Q0 {pid} {rank} {float(score)!r} {run_name}\n")  # type: ignore[arg-type]
    finally:
        if close:
            out.close()


def write_qrels(
    questions: Sequence[Mapping[str, Any]],
    runs: Iterable[Mapping[str, Any]],
    target: str | os.PathLike[str] | IO[str],
    *,
    require_doc: bool = False,
) -> None:
    """Write ``qid 0 docid 1`` for each pooled passage that answers a gold quote.

    Relevance here is judged on the passage's words (:func:`eval.relevance.judge`), so
    qrels can only list passages some run retrieved: pass every run to be compared. Tools
    reading these count relevant *passages*, not gold quotes, so their recall and nDCG
    differ from :mod:`eval.metrics`, which is the one the README defines.

    >>> qs = [{"id": "q1", "answers": [{"doc": "d", "quote": "one two three"}]}]
    >>> buf = io.StringIO()
    >>> write_qrels(qs, [{"q1": [{"id": "p1", "text": "x"}, {"id": "p2", "text": "one two three"}]}], buf)
    >>> print(buf.getvalue(), end="")
    q1 0 p2 1
    """
    runs = list(runs)
    out, close = _open(target)
    try:
        for q in questions:
            qid = str(q["id"])
            gold = q.get("answers") or []
            if not gold:
                continue
            written: set[str] = set()
            for run in runs:
                passages = list(_passages(run.get(qid)))
                for pid, hits in zip(
                    _ranked_ids(passages), judge(passages, gold, require_doc=require_doc), strict=True
                ):
                    if hits and pid not in written:
                        written.add(pid)
                        out.write(f"{qid} 0 {pid} 1\n")
    finally:
        if close:
            out.close()
