"""``committee-qa eval``: run a question set through every retriever and score it.

    committee-qa eval --index DIR|--store URL --questions FILE [--retrievers bm25,dense,hybrid,rerank]
                      [--k 10] [--json OUT] [--report DIR]

Prints the Markdown report to stdout; ``--json`` writes every figure; ``--report`` writes
report.md, chart.png, results.json, the runs as ``search``/``ask --json`` JSON Lines
(``runs/``) and TREC run files with pooled qrels (``trec/``). Exit codes are
``committee-qa``'s: 0 done, 1 bad input (question set, retriever or metric name),
2 usage, 3 index missing or built with another model.

The command opens the store, has :mod:`eval.harness` measure and hands the
:class:`eval.harness.Evaluation` to :mod:`eval.report`: the report writer depends on the
measurements, never the other way.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from eval.harness import Evaluation, Log, evaluate, stderr_log, timed

__all__ = ["register_eval", "run_eval", "cmd_eval", "main"]


def _names(value: str | None) -> list[str] | None:
    items = [v.strip() for v in (value or "").split(",") if v.strip()]
    return items or None


def register_eval(sub: Any) -> None:
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


register = register_eval  # the name qa.cli's import hook looks for


def run_eval(
    location: str | Path,
    questions_path: str | Path,
    *,
    embedder: Any = None,
    retrievers: Sequence[str] | None = None,
    k: int = 10,
    ask_retriever: str | None = None,
    ask: bool = True,
    report_dir: str | Path | None = None,
    json_out: str | Path | None = None,
    compare_metrics: Sequence[str] = ("ndcg@10", "recall@5"),
    n_permutations: int = 10_000,
    seed: int = 0,
    log: Log = stderr_log,
) -> Evaluation:
    """Open the index once (folder or ``postgresql://`` URL), evaluate, write the outputs."""
    from eval.questionset import load_questions
    from eval.report import write_report, write_results
    from qa.retrieve import retriever_names
    from qa.stores import open_store

    questions = load_questions(questions_path)
    known = retriever_names()
    names = list(retrievers) if retrievers else known
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ValueError(f"unknown retriever(s) {', '.join(unknown)}; choose from {', '.join(known)}")
    if embedder is None:
        from index.embed import SentenceTransformerEmbedder

        embedder = SentenceTransformerEmbedder()
    timing: dict[str, float] = {}
    store = timed(timing, "open", lambda: open_store(location, embedder))
    log(f"eval: opened {location} in {timing['open']:.1f}s")
    ev = evaluate(
        store, questions, retrievers=names, k=k, ask_retriever=ask_retriever, ask=ask,
        compare_metrics=compare_metrics, n_permutations=n_permutations, seed=seed,
        optional=() if retrievers else names, log=log,
    )
    ev.timing_s = {**timing, **ev.timing_s}
    ev.source = {"questions": str(questions_path), "index": _redacted(location)}
    if report_dir is not None:
        write_report(ev, Path(report_dir), title=f"Evaluation: {Path(questions_path).stem}")
    if json_out is not None:
        write_results(ev, Path(json_out))
    return ev


def _redacted(location: str | Path) -> str:
    """A location fit to print: a database URL without its password."""
    from qa.stores import is_postgres_url

    if not is_postgres_url(location):
        return str(location)
    from index.pgwrite import redact  # only reached once the PostgreSQL store has opened

    return "postgresql://" + redact(str(location))


def cmd_eval(args: argparse.Namespace) -> int:
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
