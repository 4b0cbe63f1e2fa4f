"""How well each signal `qa.answer` could abstain on separates unanswerable questions from
answerable ones: its ROC AUC, and the most abstention it buys while wrongly abstaining on at
most 10% of answerable questions (``MAX_FALSE_ABSTENTION``).

    HF_HUB_OFFLINE=1 .venv/bin/python -m eval.abstention_signals \\
        --index /tmp/idx-sefton --questions eval/questions/sefton-dev.jsonl eval/questions/sefton-extra.jsonl \\
        --index /tmp/idx-kent   --questions eval/questions/kent-dev.jsonl eval/questions/kent-extra.jsonl

Each ``--index`` takes the ``--questions`` files after it. A signal is measured over all
questions pooled; "low means abstain" for every one of them.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

MAX_FALSE_ABSTENTION = 0.10


@dataclass(frozen=True)
class Evidence:
    """What the answer saw for one question, on each signal (higher: more likely answered)."""

    answerable: bool
    closest: float  # best sentence similarity to the question
    widest: float  # best share of the question's words in a sentence and its headings
    best_score: float  # the top quote's score (similarity, words, rank, answer type)
    top_passage: float  # the retriever's score of its first passage
    knows_every_word: float  # 0 when a question word occurs nowhere in the papers


SIGNALS = ("closest", "widest", "best_score", "top_passage", "knows_every_word")


def evidence(store, question: str, answerable: bool) -> Evidence:
    from qa.answer import read

    seen = read(store, question)
    return Evidence(
        answerable=answerable,
        closest=seen.closest,
        widest=seen.widest,
        best_score=seen.candidates[0].score if seen.candidates else 0.0,
        top_passage=seen.hits[0].score if seen.hits else 0.0,
        knows_every_word=0.0 if seen.unknown else 1.0,
    )


def auc(rows: Sequence[Evidence], signal: str) -> float:
    """Chance an answerable question scores above an unanswerable one (ties count half).

    >>> rows = [Evidence(True, .9, 0, 0, 0, 1), Evidence(True, .5, 0, 0, 0, 1), Evidence(False, .6, 0, 0, 0, 1)]
    >>> auc(rows, "closest")
    0.5
    """
    yes = [getattr(r, signal) for r in rows if r.answerable]
    no = [getattr(r, signal) for r in rows if not r.answerable]
    pairs = [(a > u) + 0.5 * (a == u) for a in yes for u in no]
    return sum(pairs) / len(pairs) if pairs else float("nan")


def best_threshold(rows: Sequence[Evidence], signal: str, max_false: float = MAX_FALSE_ABSTENTION) -> tuple[float, float, float]:
    """(threshold, abstention on unanswerable, false abstention) of the rule "abstain below
    the threshold" that abstains most while wrongly abstaining on at most ``max_false``.

    >>> rows = [Evidence(True, .9, 0, 0, 0, 1), Evidence(True, .5, 0, 0, 0, 1), Evidence(False, .6, 0, 0, 0, 1)]
    >>> best_threshold(rows, "closest", 0.5)
    (0.9, 1.0, 0.5)
    """
    yes = [getattr(r, signal) for r in rows if r.answerable]
    no = [getattr(r, signal) for r in rows if not r.answerable]
    best = (float("-inf"), 0.0, 0.0)
    for t in sorted({getattr(r, signal) for r in rows}):
        false = sum(v < t for v in yes) / len(yes)
        caught = sum(v < t for v in no) / len(no)
        if false <= max_false and caught > best[1]:
            best = (t, caught, false)
    return best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--index", action="append", required=True, type=Path)
    parser.add_argument("--questions", action="append", nargs="+", required=True, type=Path)
    parser.add_argument("--json", type=Path, help="write every question's evidence here")
    args = parser.parse_args(argv)
    if len(args.index) != len(args.questions):
        parser.error("give --questions after each --index")

    from eval.questionset import load_questions
    from index.embed import SentenceTransformerEmbedder
    from index.folder import open_index

    embedder = SentenceTransformerEmbedder()
    rows: list[Evidence] = []
    for index_dir, files in zip(args.index, args.questions, strict=True):
        store = open_index(index_dir, embedder)
        for path in files:
            for q in load_questions(path):
                rows.append(evidence(store, q["question"], bool(q["answers"])))
    n_yes = sum(r.answerable for r in rows)
    print(f"{n_yes} answerable, {len(rows) - n_yes} unanswerable questions")
    print("| signal | ROC AUC | abstain below | abstains on unanswerable | false abstention |")
    print("|---|---:|---:|---:|---:|")
    for signal in SIGNALS:
        t, caught, false = best_threshold(rows, signal)
        print(f"| {signal} | {auc(rows, signal):.2f} | {t:.3f} | {caught:.2f} | {false:.3f} |")
    if args.json:
        args.json.write_text(json.dumps([r.__dict__ for r in rows], indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
