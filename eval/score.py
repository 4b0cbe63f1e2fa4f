"""Score saved ``committee-qa search --json`` / ``ask --json`` output, independently of the
project's own code paths (it reads only the printed JSON Lines and the question set).

    python -m eval.score --questions Q.jsonl --run RUN.jsonl [--run NAME=RUN2.jsonl ...]
                         [--json] [--require-doc] [--metrics recall@5,ndcg@10]
                         [--chart scores.png] [--trec-dir DIR]

Each run file holds one ``{"id", "passages": [...]}`` object a line (``ask`` output also
has ``"abstained"``; abstention rates are then reported too). A run is named by its file
stem unless given as ``NAME=PATH``. With two or more runs, every run is compared with the
first by a paired randomization test on ``--compare-metric`` (default ndcg@10).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from eval.metrics import DEFAULT_METRICS, abstention_rates, metric, score_run
from eval.questionset import load_jsonl, load_run
from eval.report import chart, markdown_table
from eval.significance import compare, write_qrels, write_trec_run

__all__ = ["score_files", "main"]


def _split_run_arg(arg: str) -> tuple[str, str]:
    # "NAME=PATH" names a run; a bare path is named by its stem. A path holding "=" can
    # still be passed as "NAME=PATH".
    name, sep, path = arg.partition("=")
    if sep and name and not Path(arg).exists():
        return name, path
    return Path(arg).stem, arg


def score_files(
    questions_path: str | Path,
    runs: Sequence[tuple[str, str | Path]],
    metrics: Sequence[str] = DEFAULT_METRICS,
    *,
    require_doc: bool = False,
) -> dict[str, dict[str, Any]]:
    """Score each ``(name, path)`` run against the question set; name -> scores.

    A run whose records carry ``abstained`` also gets ``"abstention"`` rates.
    """
    questions = load_jsonl(questions_path)
    scored: dict[str, dict[str, Any]] = {}
    for name, path in runs:
        if name in scored:
            raise ValueError(f"two runs are named {name!r}; use NAME=PATH")
        run = load_run(path)
        s = score_run(questions, run, metrics, require_doc=require_doc)
        if any("abstained" in rec for rec in run.values()):
            s["abstention"] = abstention_rates(questions, run)
        s["path"] = str(path)
        scored[name] = s
    return scored


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m eval.score", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--questions", required=True, help="question set, JSON Lines")
    parser.add_argument(
        "--run", action="append", required=True, metavar="[NAME=]RUN.jsonl",
        help="search/ask --json output; repeat to compare runs",
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument(
        "--require-doc", action="store_true",
        help="a passage from another paper than the gold quote's never answers it "
        "(the README's rule is on tokens only, so this is off by default)",
    )
    parser.add_argument(
        "--metrics", default=",".join(DEFAULT_METRICS), help="comma-separated metric names"
    )
    parser.add_argument("--compare-metric", default="ndcg@10")
    parser.add_argument("--permutations", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--chart", metavar="PNG", help="also write a bar chart")
    parser.add_argument(
        "--trec-dir", metavar="DIR", help="also write NAME.run per run and pooled qrels.txt"
    )
    args = parser.parse_args(argv)

    metrics = [m.strip() for m in args.metrics.split(",") if m.strip()]
    try:
        for m in [*metrics, args.compare_metric]:
            metric(m)
        if args.compare_metric not in metrics:
            metrics.append(args.compare_metric)
        runs = [_split_run_arg(r) for r in args.run]
        scored = score_files(args.questions, runs, metrics, require_doc=args.require_doc)
    except (OSError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2

    for name, s in scored.items():
        if s["missing"]:
            print(f"warning: {name}: no result for {len(s['missing'])} answerable question(s): "
                  f"{', '.join(s['missing'])} (scored 0)", file=sys.stderr)
        if s["unknown"]:
            print(f"warning: {name}: ids not in the question set: {', '.join(s['unknown'])}",
                  file=sys.stderr)

    tests = compare(
        scored, args.compare_metric, n_permutations=args.permutations, seed=args.seed
    ) if len(scored) > 1 else {}

    if args.chart:
        chart(scored, args.chart)
    if args.trec_dir:
        out = Path(args.trec_dir)
        out.mkdir(parents=True, exist_ok=True)
        loaded = {name: load_run(path) for name, path in runs}
        for name, run in loaded.items():
            write_trec_run(run, out / f"{name}.run", name)
        write_qrels(load_jsonl(args.questions), loaded.values(), out / "qrels.txt",
                    require_doc=args.require_doc)

    if args.json:
        payload = {
            "require_doc": args.require_doc,
            "runs": scored,
            "significance": {
                "metric": args.compare_metric,
                "baseline": next(iter(scored)),
                "tests": {name: asdict(r) for name, r in tests.items()},
            } if tests else None,
        }
        json.dump(payload, sys.stdout, indent=2)
        print()
        return 0

    print(markdown_table(scored, metrics))
    print()
    print(f"Passages judged on tokens only{' and the same paper' if args.require_doc else ''} "
          f"(require_doc={args.require_doc}); unanswerable questions excluded from the metrics.")
    if tests:
        base = next(iter(scored))
        print()
        print(f"Paired randomization test on {args.compare_metric} against {base}:")
        for name, r in tests.items():
            kind = "exact" if r.exact else f"{r.n_permutations} permutations"
            print(f"- {name}: {r.mean_a:.3f} vs {r.mean_b:.3f} (diff {r.diff:+.3f}), "
                  f"p = {r.p_value:.4f} ({kind}, n = {r.n})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
