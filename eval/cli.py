"""The commands eval adds to ``committee-qa``: ``eval``, ``bench`` and ``train``.

Each is registered by a ``register_*(sub)`` function named in pyproject.toml's entry-point
group ``committee_qa.commands``, which ``qa.cli`` reads: qa never imports eval. Each command
opens what it measures, has the measuring side run (:mod:`eval.harness`,
:mod:`eval.bench.run`, :mod:`eval.train`) and hands the figures to the report writers
(:mod:`eval.report`, :mod:`eval.bench.report`): the writers depend on the measurements,
never the other way.

    committee-qa eval --index DIR|--store URL --questions FILE [--retrievers bm25,dense,hybrid,rerank]
                      [--k 10] [--json OUT] [--report DIR]

Prints the Markdown report to stdout; ``--json`` writes every figure; ``--report`` writes
report.md, chart.png, results.json, the runs as ``search``/``ask --json`` JSON Lines
(``runs/``) and TREC run files with pooled qrels (``trec/``). Exit codes are
``committee-qa``'s: 0 done, 1 bad input (question set, retriever or metric name),
2 usage, 3 index missing or built with another model.

    committee-qa bench [--quick] ...      (eval.bench.run; python -m eval.bench alike)
    committee-qa train --corpus INDEX TRAIN DEV ...      (eval.train)
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from eval.harness import Evaluation, Log, evaluate, stderr_log, timed

__all__ = [
    "register_eval",
    "run_eval",
    "cmd_eval",
    "main",
    "register_bench",
    "bench_arguments",
    "cmd_bench",
    "bench_main",
    "register_train",
    "cmd_train",
]


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
    from index.engines import open_store
    from qa.retrieve import retriever_names

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
    from index.engines import printable

    return printable(location)


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


# --- committee-qa bench ------------------------------------------------------------------


def _bench_description() -> str:
    import eval.bench.run as bench_run

    return (bench_run.__doc__ or "").split("\n\n")[0]


def register_bench(sub: Any) -> argparse.ArgumentParser:
    """Add ``bench`` to an argparse subparsers object; ``args.func(args)`` returns the exit code."""
    p = sub.add_parser("bench", help="measure ingest throughput, query latency at 10k-1M passages, memory and disk",
                       description=_bench_description())
    bench_arguments(p)
    p.set_defaults(func=cmd_bench)
    return p


def bench_main(argv: list[str] | None = None) -> int:
    """``python -m eval.bench ...``: the same as ``committee-qa bench ...``."""
    parser = argparse.ArgumentParser(prog="python -m eval.bench", description=_bench_description())
    bench_arguments(parser)
    return cmd_bench(parser.parse_args(argv))


def bench_arguments(p: argparse.ArgumentParser) -> None:
    from eval.bench.run import DEFAULT_CORPUS, DEFAULT_QUESTIONS, NOISE, QUICK_SIZES, SERVE_SIZE

    p.add_argument("--quick", action="store_true",
                   help=f"under 3 minutes: {QUICK_SIZES[0]:,} synthetic passages from the smallest sample files; "
                        "prints a JSON summary as the last line, writes no report unless --out is given")
    p.add_argument("--corpus", default=str(DEFAULT_CORPUS), help="folder of papers to ingest and build synthetic indexes from (default: samples/)")
    p.add_argument("--out", default=None, help="the Markdown report (full run default: docs/BENCHMARKS.md); chart and raw JSON go to bench/ beside it")
    p.add_argument("--sizes", default=None, help="synthetic index sizes in passages, comma-separated (default 10000,100000,1000000; --quick 100000)")
    p.add_argument("--questions", default=str(DEFAULT_QUESTIONS), help="question set (JSON Lines) used as queries")
    p.add_argument("--repeats", type=int, default=None, help="times each question is asked per measurement (default 2; --quick 1)")
    p.add_argument("--noise", type=float, default=NOISE, help="sd of the noise added to copied sentence vectors, per dimension")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--ann-from", type=int, default=100_000, help="measure the IVF index from this size up (full run; --quick: where it ships)")
    p.add_argument("--serve-size", type=int, default=SERVE_SIZE, help=argparse.SUPPRESS)  # tests: a tiny served index
    p.add_argument("--no-serve", action="store_true", help="skip the serving process (no serving memory figure)")
    p.add_argument("--pg", metavar="DSN", default=None,
                   help="also time search through the PostgreSQL index at DSN (postgresql://...; see `committee-qa pg start`)")
    p.add_argument("--json", default=None, help="also write every figure measured to this JSON file")
    p.add_argument("--keep", action="store_true", help="keep the temporary work folder")
    p.add_argument("--report-from", metavar="JSON", default=None,
                   help="measure nothing: write the report from a results file of an earlier run (--json, docs/bench/results.json)")


def cmd_bench(args: argparse.Namespace) -> int:
    from eval.bench.measure import log
    from eval.bench.report import load_results, summary, write_report
    from eval.bench.run import (
        DEFAULT_OUT,
        DEFAULT_SIZES,
        QUICK_QUESTIONS,
        QUICK_SIZES,
        RunConfig,
        run_bench,
    )
    from eval.questionset import question_texts

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    corpus = Path(args.corpus)
    if not corpus.is_dir():
        print(f"error: corpus folder {corpus} not found: pass --corpus DIR (a folder of papers)", file=sys.stderr)
        return 1
    try:
        sizes = [int(s) for s in args.sizes.split(",")] if args.sizes else list(QUICK_SIZES if args.quick else DEFAULT_SIZES)
    except ValueError:
        print(f"error: --sizes takes passage counts separated by commas, e.g. 10000,100000 (got {args.sizes!r})", file=sys.stderr)
        return 2
    questions = question_texts(Path(args.questions))[: QUICK_QUESTIONS if args.quick else None]
    cfg = RunConfig(quick=args.quick, repeats=args.repeats or (1 if args.quick else 2), noise=args.noise, seed=args.seed,
                    ann_from=args.ann_from, serve=not args.no_serve, serve_size=args.serve_size)
    if args.report_from:
        results = load_results(Path(args.report_from))
    else:
        def save(tree: dict[str, Any]) -> None:
            if args.json:
                Path(args.json).write_text(json.dumps(tree | {"questions_file": args.questions}, indent=1, default=str))

        results = run_bench(corpus, questions, sizes, cfg, pg=args.pg, keep=args.keep, save=save)
        results["questions_file"] = str(Path(args.questions).resolve())
        save(results)
    out = Path(args.out) if args.out else (None if args.quick else DEFAULT_OUT)
    if out is not None:
        for path in write_report(results, out):
            log(f"wrote {path}")
    print(json.dumps(summary(results)), flush=True)
    return 0


# --- committee-qa train ------------------------------------------------------------------


def register_train(sub: Any) -> None:
    """Add ``train`` to ``committee-qa``'s subcommands."""
    from qa import learned

    p = sub.add_parser("train", help="learn the second stage on a train split, choose on dev (eval/train.py)")
    p.add_argument("--corpus", nargs=3, action="append", required=True, metavar=("INDEX", "TRAIN", "DEV"),
                   help="an index and the train and dev questions over its papers (repeat per corpus)")
    p.add_argument("--out", default=str(learned.MODEL_DIR), help="folder for second_stage.json and manifest.json")
    p.add_argument("--model", default=None, help="the index's embedding model folder (default: bundled)")
    p.add_argument("--report", default=None, help="folder for the dev reliability plot and training figures")
    p.set_defaults(func=cmd_train)


def cmd_train(args: argparse.Namespace) -> int:
    from eval.questionset import load_questions
    from eval.train import train, training_set_hash, write_report
    from index.embed import SentenceTransformerEmbedder
    from index.folder import open_index
    from qa import learned

    embedder = SentenceTransformerEmbedder(args.model) if args.model else SentenceTransformerEmbedder()
    corpora = [(open_index(Path(i), embedder), load_questions(tr), load_questions(dv)) for i, tr, dv in args.corpus]
    stage = train(corpora)
    path = learned.save(stage, Path(args.out), training_set_hash([tuple(map(Path, c)) for c in args.corpus]))
    if args.report:
        write_report(stage, Path(args.report))
    print(json.dumps({"wrote": str(path), "dev": stage.info["dev"], "threshold": stage.threshold, "quote_margin": stage.quote_margin}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
