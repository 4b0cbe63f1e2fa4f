"""``committee-qa eval``: run a question set through every retriever and score it.

    committee-qa eval --index DIR|--store URL --questions FILE [--retrievers bm25,dense,hybrid,rerank]
                      [--k 10] [--json OUT] [--report DIR]

Prints the Markdown report to stdout; ``--json`` writes every figure; ``--report`` writes
report.md, chart.png, results.json, the runs as ``search``/``ask --json`` JSON Lines
(``runs/``) and TREC run files with pooled qrels (``trec/``). Exit codes are
``committee-qa``'s: 0 done, 1 bad input (question set, retriever or metric name),
2 usage, 3 index missing or built with another model.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import Any

__all__ = ["register", "cmd_eval", "main"]


def _names(value: str | None) -> list[str] | None:
    items = [v.strip() for v in (value or "").split(",") if v.strip()]
    return items or None


def register(sub: Any) -> None:
    """Add ``eval`` to ``committee-qa``'s subcommands."""
    p = sub.add_parser("eval", help="score retrievers and answers on a question set; report and chart")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--index", help="index folder (default: $COMMITTEE_QA_INDEX or data/index)")
    where.add_argument("--store", metavar="URL", help="a postgresql:// index instead of a folder")
    p.add_argument("--questions", required=True, help="question set, JSON Lines (shared/eval/README.md)")
    p.add_argument("--retrievers", help="comma-separated (default: every one the index offers)")
    p.add_argument("--k", type=int, default=10, help="passages per question (default 10)")
    p.add_argument("--json", dest="json_out", metavar="OUT", help="write every figure as JSON to OUT")
    p.add_argument("--report", metavar="DIR", help="write report.md, chart.png, runs and TREC files to DIR")
    p.add_argument("--model", help="the embedding model the index was built with (local folder)")
    p.add_argument("--ask-retriever", help="retriever(s) answer() uses, comma-separated: the first is the headline, later ones are compared with it in paired tests (default: the project's default)")
    p.add_argument("--no-ask", action="store_true", help="retrieval metrics only: skip answers and abstention")
    p.add_argument("--compare-metrics", default="ndcg@10,recall@5", help="metrics of the paired tests")
    p.add_argument("--permutations", type=int, default=10_000, help="random sign patterns per paired test")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--quiet", action="store_true", help="no progress on stderr")
    p.set_defaults(func=cmd_eval)


def cmd_eval(args: argparse.Namespace) -> int:
    from pathlib import Path

    from eval.harness import run_eval, stderr_log
    from eval.report import evaluation_markdown
    from index.embed import SentenceTransformerEmbedder

    location = args.store or args.index or os.environ.get("COMMITTEE_QA_INDEX", "data/index")
    ev = run_eval(
        location,
        args.questions,
        embedder=SentenceTransformerEmbedder(args.model),
        retrievers=_names(args.retrievers),
        k=args.k,
        ask_retriever=args.ask_retriever,
        ask=not args.no_ask,
        report_dir=args.report,
        json_out=args.json_out,
        compare_metrics=_names(args.compare_metrics) or ["ndcg@10"],
        n_permutations=args.permutations,
        seed=args.seed,
        log=(lambda msg: None) if args.quiet else stderr_log,
    )
    print(evaluation_markdown(ev, title=f"Evaluation: {Path(args.questions).stem}"))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m eval.cli ...``: the same as ``committee-qa eval ...``."""
    from qa.cli import main as cli_main

    return cli_main(["eval", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.exit(main())
