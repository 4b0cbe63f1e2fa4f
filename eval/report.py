"""Tables and a chart of :func:`eval.metrics.score_run` results, one per retriever.

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

import os
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["markdown_table", "chart", "CHART_METRICS"]

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


def chart(
    scores_by_retriever: Mapping[str, Mapping[str, Any]],
    path: str | os.PathLike[str],
    metrics: Sequence[str] = CHART_METRICS,
) -> None:
    """Write a PNG: one panel per metric, bars per retriever over "all" and each type.

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
        ax.set_xticks(x, groups)
        ax.grid(axis="y", alpha=0.3)
    # Above the panels: inside one it would hide bars that reach 1.0.
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="upper center", ncol=min(len(labels), 5), fontsize="small")
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.35 / len(metrics) / 3))
    fig.savefig(path, format="png", dpi=100)
    plt.close(fig)
