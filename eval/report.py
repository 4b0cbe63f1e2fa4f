"""Tables and a chart of :func:`eval.metrics.score_run` results, one per retriever, and the
files of a whole evaluation (report.md, results.json, runs, TREC files) written from the
records :mod:`eval.harness` fills: this module reads the measurements, never the reverse.

``scores_by_retriever`` maps a retriever's name to its ``score_run`` output, optionally
with an ``"abstention"`` entry holding :func:`eval.metrics.abstention_rates` output.

>>> s = {"metrics": ["hit@1"], "n": 2, "mean": {"hit@1": 0.5},
...      "by_type": {"lexical": {"n": 2, "hit@1": 0.5}}, "per_question": {}}
>>> print(markdown_table({"bm25": s}))
| retriever | n | hit@1 |
|---|---:|---:|
| bm25 | 2 | 0.500 |
<BLANKLINE>
By question type:
<BLANKLINE>
| type | retriever | n | hit@1 |
|---|---|---:|---:|
| lexical | bm25 | 2 | 0.500 |
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from eval.harness import AnswerChecks, Evaluation, Rate

__all__ = [
    "markdown_table",
    "chart",
    "CHART_METRICS",
    "answers_table",
    "evaluation_markdown",
    "write_report",
    "write_results",
]

CHART_METRICS: tuple[str, ...] = ("recall@5", "ndcg@10", "mrr@10")
_ABSTENTION = (
    ("abstained_unanswerable", "abstain (unans.)"),
    ("wrongly_abstained_answerable", "wrong abstain (ans.)"),
)


def _fmt(value: Any) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def _metric_names(scores_by_retriever: Mapping[str, Mapping[str, Any]]) -> list[str]:
    # Union in first-seen order: runs scored with different metric lists still line up.
    names: list[str] = []
    for scored in scores_by_retriever.values():
        for m in scored.get("metrics", []):
            if m not in names:
                names.append(m)
    return names


def markdown_table(
    scores_by_retriever: Mapping[str, Mapping[str, Any]], metrics: Sequence[str] | None = None
) -> str:
    """Markdown: metric means by retriever, then by question type and retriever.

    Abstention columns appear when some retriever's scores carry ``"abstention"``.
    """
    names = list(metrics) if metrics is not None else _metric_names(scores_by_retriever)
    with_abst = any("abstention" in s for s in scores_by_retriever.values())
    extra = [label for _, label in _ABSTENTION] if with_abst else []

    head = ["retriever", "n", *names, *extra]
    lines = ["| " + " | ".join(head) + " |", "|---|" + "---:|" * (len(head) - 1)]
    for name, scored in scores_by_retriever.items():
        cells = [name, str(scored.get("n", "")), *(_fmt(scored["mean"].get(m)) for m in names)]
        if with_abst:
            abst = scored.get("abstention") or {}
            cells += [_fmt(abst.get(key)) for key, _ in _ABSTENTION]
        lines.append("| " + " | ".join(cells) + " |")

    types = sorted({t for s in scores_by_retriever.values() for t in s.get("by_type", {})})
    if types:
        head = ["type", "retriever", "n", *names]
        lines += ["", "By question type:", ""]
        lines += ["| " + " | ".join(head) + " |", "|---|---|" + "---:|" * (len(head) - 2)]
        for t in types:
            for name, scored in scores_by_retriever.items():
                row = scored.get("by_type", {}).get(t)
                if row is None:
                    continue
                cells = [t, name, str(row.get("n", "")), *(_fmt(row.get(m)) for m in names)]
                lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _count(scores_by_retriever: Mapping[str, Mapping[str, Any]], group: str) -> Any:
    first = next(iter(scores_by_retriever.values()))
    return first.get("n", "?") if group == "all" else first.get("by_type", {}).get(group, {}).get("n", "?")


def chart(
    scores_by_retriever: Mapping[str, Mapping[str, Any]],
    path: str | os.PathLike[str],
    metrics: Sequence[str] = CHART_METRICS,
    title: str | None = None,
) -> None:
    """Write a PNG: one panel per metric, bars per retriever over "all" and each type
    (each labelled with its number of questions).

    Uses the Agg backend so it works without a display (CI, servers).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    retrievers = list(scores_by_retriever)
    types = sorted({t for s in scores_by_retriever.values() for t in s.get("by_type", {})})
    groups = ["all", *types]
    x = np.arange(len(groups))
    width = 0.8 / max(1, len(retrievers))

    fig, axes = plt.subplots(
        len(metrics), 1, figsize=(max(6.0, 1.2 * len(groups) + 2), 3.0 * len(metrics)), squeeze=False
    )
    for ax, m in zip(axes[:, 0], metrics, strict=True):
        for i, name in enumerate(retrievers):
            scored = scores_by_retriever[name]
            vals = [scored["mean"].get(m)] + [scored.get("by_type", {}).get(t, {}).get(m) for t in types]
            # A missing value (metric not scored, type absent) is drawn as no bar.
            heights = [np.nan if v is None else float(v) for v in vals]
            ax.bar(x + (i - (len(retrievers) - 1) / 2) * width, heights, width, label=name)
        ax.set_title(m)
        ax.set_ylim(0, 1.05)
        ax.set_xticks(x, [f"{g}\n(n={_count(scores_by_retriever, g)})" for g in groups])
        ax.grid(axis="y", alpha=0.3)
    # Above the panels: inside one it would hide bars that reach 1.0.
    if title:
        fig.suptitle(title, x=0.01, ha="left", fontsize="medium")
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="upper center", ncol=min(len(labels), 5), fontsize="small")
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.35 / len(metrics) / 3))
    fig.savefig(path, format="png", dpi=100)
    plt.close(fig)


def _rate(r: Rate) -> str:
    return "n/a (none)" if not r.n else f"{r.rate:.3f} ({r.passed}/{r.n})"


def answers_table(c: AnswerChecks) -> str:
    """Markdown: abstention and the quote checks of one ``answer()`` run."""
    a = c.abstention
    rows = [
        ("abstained on unanswerable", f"{_fmt(a['abstained_unanswerable'])} (n = {a['n_unanswerable']})"),
        ("false abstention on answerable", f"{_fmt(a['wrongly_abstained_answerable'])} (n = {a['n_answerable']})"),
        ("top quote answers (quote rule; abstention = miss)", _rate(c.top_quote_answers)),
        ("some quote answers", _rate(c.any_quote_answers)),
        ("quotes verbatim in their paper", _rate(c.verbatim)),
        ("PDF quotes: cited pages contain the quote", _rate(c.page)),
        ("quotes unbroken in the paper's own file (pypdf's text of the cited pages for a PDF)", _rate(c.source)),
        ("top quote cites the question's meeting", _rate(c.meeting)),
        ("… when the top quote answers", _rate(c.meeting_when_answering)),
        ("answering quotes: cited pages include the gold page", _rate(c.gold_page)),
    ]
    lines = ["| figure | value |", "|---|---:|", *(f"| {k} | {v} |" for k, v in rows)]
    return "\n".join(lines)


def evaluation_markdown(ev: Evaluation, *, title: str = "Evaluation", chart_name: str | None = None) -> str:
    """report.md: metrics by retriever and type, paired tests, answers, failures."""
    n, n_ans = len(ev.questions), ev.n_answerable
    lines = [f"# {title}", "",
             f"{n} questions ({n_ans} answerable, {n - n_ans} unanswerable); top {ev.k} passages; "
             "metrics over answerable questions by the rule in shared/eval/README.md.", ""]
    if ev.source:
        lines += [" · ".join(f"{k}: `{v}`" for k, v in ev.source.items()), ""]
    if ev.scores:
        lines += ["## Retrieval", "", markdown_table(ev.scores), ""]
    if chart_name:
        lines += [f"![metrics by retriever and question type]({chart_name})", ""]
    if ev.comparisons:
        lines += ["## Paired randomization tests", "",
                  "Two-sided, per question over answerable questions; diff = a − b; p (Holm) adjusted "
                  "over the pairs compared on each metric.", "",
                  "| metric | a | b | mean a | mean b | diff | p | p (Holm) |",
                  "|---|---|---|---:|---:|---:|---:|---:|"]
        lines += [f"| {c.metric} | {c.a} | {c.b} | {c.result.mean_a:.3f} | {c.result.mean_b:.3f} "
                  f"| {c.result.diff:+.3f} | {c.result.p_value:.4f} | {c.p_holm:.4f} |" for c in ev.comparisons]
        lines.append("")
    for c in ev.answer_checks.values():
        lines += [f"## Answers (`ask`, retriever `{c.retriever}`)", "", answers_table(c), "",
                  f"{c.quotes} quotes checked; {c.not_pdf} from text exports (no PDF page to check).", ""]
        for key in ("type", "kind"):
            groups = c.by_group(key)
            if groups:
                lines += [f"By question {key}:", "", f"| {key} | n | top quote answers | some quote answers | false abstention | abstained (unanswerable) |",
                          "|---|---:|---:|---:|---:|---:|"]
                lines += [f"| {g} | {r['n']} | {_fmt(r['top_quote_answers'])} | {_fmt(r['any_quote_answers'])} | "
                          f"{_fmt(r['false_abstention'])} | {_fmt(r['abstained_unanswerable'])} |" for g, r in groups.items()]
                lines.append("")
        if c.answered_unanswerable or c.abstained_answerable:
            lines += [f"Answered though unanswerable: {', '.join(c.answered_unanswerable) or 'none'}. "
                      f"Abstained though answerable: {', '.join(c.abstained_answerable) or 'none'}.", ""]
        if c.failures:
            lines += [f"Check failures (first {len(c.failures)}):", "",
                      "| check | id | rank | source | pages | detail | quote |", "|---|---|---:|---|---|---|---|"]
            for f in c.failures:
                pages = "?" if f.page is None else f"{f.page}" + (f"–{f.page_end}" if f.page_end not in (None, f.page) else "")
                quote = f.quote.replace("|", "\\|")
                lines.append(f"| {f.check} | {f.id} | {f.rank} | {f.source} | {pages} | {f.detail} | {quote} |")
            lines.append("")
    if ev.answer_comparisons:
        lines += ["## Answers compared (paired randomization tests)", "",
                  "Per question: the top quote answers and some quote answers (answerable questions), "
                  "abstained (unanswerable questions); diff = a − b; p (Holm) over the runs compared with b.", "",
                  "| measure | a | b | n | mean a | mean b | diff | p | p (Holm) |", "|---|---|---|---:|---:|---:|---:|---:|---:|"]
        lines += [f"| {c.metric} | {c.a} | {c.b} | {c.result.n} | {c.result.mean_a:.3f} | {c.result.mean_b:.3f} "
                  f"| {c.result.diff:+.3f} | {c.result.p_value:.4f} | {c.p_holm:.4f} |" for c in ev.answer_comparisons]
        lines.append("")
    errors = ev.errors()
    if errors:
        lines += ["Questions refused: " + json.dumps(errors, ensure_ascii=False), ""]
    if ev.notes:
        lines += ["Notes:", "", *(f"- {note}" for note in ev.notes), ""]
    if ev.timing_s:
        lines += ["Time (s): " + ", ".join(f"{k} {v}" for k, v in ev.timing_s.items()), ""]
    return "\n".join(lines)


def _write_jsonl(path: Path, records: Mapping[str, Mapping[str, Any]]) -> None:
    with open(path, "w", encoding="utf-8") as f:
        for rec in records.values():
            f.write(json.dumps(rec, ensure_ascii=False) + "\n")


def write_results(ev: Evaluation, path: Path) -> None:
    """Every figure as JSON (``--json OUT``, and results.json in a report)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(ev.to_json(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def write_report(ev: Evaluation, folder: Path, *, title: str = "Evaluation") -> dict[str, Path]:
    """Write, under ``folder``: ``runs/search-NAME.jsonl`` and ``runs/ask-NAME.jsonl`` (the
    lines ``search``/``ask --json`` print), ``trec/NAME.run`` and ``trec/qrels.txt``,
    ``chart.png``, ``report.md`` and ``results.json``. Returns what was written."""
    from eval.significance import write_qrels, write_trec_run

    written: dict[str, Path] = {}
    (folder / "runs").mkdir(parents=True, exist_ok=True)
    (folder / "trec").mkdir(exist_ok=True)
    for name, run in ev.runs.items():
        written[f"run:{name}"] = folder / "runs" / f"search-{name}.jsonl"
        _write_jsonl(written[f"run:{name}"], run)
        written[f"trec:{name}"] = folder / "trec" / f"{name}.run"
        write_trec_run(run, written[f"trec:{name}"], name)
    if ev.runs:
        written["qrels"] = folder / "trec" / "qrels.txt"
        write_qrels(ev.questions, ev.runs.values(), written["qrels"])
    for name, ask_run in ev.ask_runs.items():
        written[f"ask:{name}"] = folder / "runs" / f"ask-{name}.jsonl"
        _write_jsonl(written[f"ask:{name}"], ask_run)
    chart_name = None
    if ev.scores:
        chart_name = "chart.png"
        written["chart"] = folder / chart_name
        chart(ev.scores, written["chart"], title=title)
    written["report"] = folder / "report.md"
    written["report"].write_text(evaluation_markdown(ev, title=title, chart_name=chart_name), encoding="utf-8")
    written["results"] = folder / "results.json"
    write_results(ev, written["results"])
    return written
