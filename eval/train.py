"""``committee-qa train``: learn the second stage (qa.learned) on the train split, choose on dev.

    committee-qa train --corpus IDX_SEFTON eval/questions/split/sefton-train.jsonl eval/questions/split/sefton-dev.jsonl \\
                       --corpus IDX_KENT eval/questions/split/kent-train.jsonl eval/questions/split/kent-dev.jsonl

Each ``--corpus`` names an index and the train and dev questions over its papers (split by
paper: eval/questions/split/SPLIT.md). Three logistic models are fitted in turn, each on
what the one before it ranks (qa.learned): passages, then the quotes read from the
passages it puts first, then P(first quote answers). The L2 strength of each is chosen on
dev; so are the quote margin and the abstention threshold. Deterministic: Newton's method,
no sampling, so the same questions and indexes give the same file.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from eval.harness import stderr_log
from eval.metrics import score_question
from eval.relevance import judge
from eval.weak import weak_questions
from index.model import Filters, Passage
from index.tokens import bm25_tokens
from qa import learned
from qa.answer import candidate_quotes, unknown_words
from qa.retrieve import Question as Asked
from qa.retrieve import dedupe, frequencies_idf, question_side, run_hybrid
from qa.settings import DEFAULTS, AnswerSettings

DEPTH = 30  # first-stage candidates the passage model re-scores (as rerank does)
L2_GRID = (0.1, 1.0, 10.0, 100.0)
MARGINS = (0.05, 0.1, 0.2, 0.3, 0.5)
CONTEXTS = (0, 1)  # sentences either side of the best a quote may take (qa.answer._extend)
MAX_FALSE_ABSTENTION = 0.08  # the product's limit on abstaining when the papers do answer
# The structure's weak pairs are kept only for a clear gain on dev (recall@5 + nDCG@10),
# not for a question's worth of noise.
WEAK_GAIN = 0.01


@dataclass
class Question:
    """One question on its index, with what every stage needs worked out once."""

    record: dict
    index: object
    query: object
    qvec: np.ndarray
    head: list[tuple[Passage, float]]
    passage_x: np.ndarray
    passage_y: np.ndarray
    unknown: list[str]
    spans: dict = field(default_factory=dict)  # filled per passage model

    @property
    def gold(self) -> list:
        return self.record.get("answers") or []


def prepare(index, records: Sequence[dict]) -> list[Question]:
    out = []
    for rec in records:
        asked = Asked(index, rec["question"])
        query, qvec = asked.query, asked.vector
        head = run_hybrid(index, asked, Filters(), DEFAULTS.retrieval.candidates, DEFAULTS)[:DEPTH]
        x = learned.passage_matrix(head, index.units([p for p, _ in head]), question_side(index, asked), qvec)
        gold = rec.get("answers") or []
        y = np.array([bool(j) for j in judge([p.text for p, _ in head], gold)] if gold else [False] * len(head))
        out.append(Question(rec, index, query, qvec, head, x, y.astype(float), unknown_words(index, query.text)))
    return out


def _stack(questions: list[Question], attr: str) -> tuple[np.ndarray, np.ndarray]:
    xs = [getattr(q, attr + "_x") for q in questions if len(getattr(q, attr + "_x"))]
    ys = [getattr(q, attr + "_y") for q in questions if len(getattr(q, attr + "_y"))]
    return np.vstack(xs), np.concatenate(ys)


def hits_for(q: Question, model: learned.LogisticModel | None = None, k: int = 10, scores: np.ndarray | None = None):
    """The passages a search with this passage model (or these scores of the candidates,
    higher better) returns."""
    if scores is None:
        scores = model.probability(model.on(q.passage_x, learned.PASSAGE_FEATURES)) if len(q.head) else np.zeros(0)
    ranked = sorted(((passage, float(p)) for (passage, _), p in zip(q.head, scores)), key=lambda rp: -rp[1])
    return dedupe(ranked, k, "learned")


def passage_figures(questions: list[Question], model: learned.LogisticModel | None = None,
                    scores: Sequence[np.ndarray] | None = None) -> dict[str, float]:
    """recall@5, nDCG@10 and MRR@10 over the answerable questions, ranked by the passage
    model or by given scores (one array per question, over its candidates)."""
    rows = []
    for n, q in enumerate(questions):
        if q.gold:
            hits = hits_for(q, model, scores=None if scores is None else scores[n])
            rows.append(score_question(q.record, [{"text": h.passage.text} for h in hits], ["recall@5", "ndcg@10", "mrr@10"]))
    return {m: float(np.mean([r[m] for r in rows])) for m in ("recall@5", "ndcg@10", "mrr@10")}


def span_examples(q: Question, passage_model: learned.LogisticModel, context: int = 1):
    """The quotes read from the passage model's top passages, taking ``context`` sentences
    either side of the best: candidates, features, labels."""
    hits = hits_for(q, passage_model)
    cands = candidate_quotes(q.index, q.query.expanded, q.qvec, hits, AnswerSettings(context_sentences=context))
    idf = frequencies_idf(q.index, bm25_tokens(q.query.expanded))
    x = learned.span_matrix(cands, q.query.text, idf, {h.passage.id: h.score for h in hits})
    texts = [c.passage.text[c.start - c.passage.start : c.end - c.passage.start] for c in cands]
    y = np.array([bool(j) for j in judge(texts, q.gold)] if q.gold and texts else [False] * len(texts), dtype=float)
    return hits, cands, x, y


def first_quote_right(questions: list[Question], read: tuple, span_model: learned.LogisticModel,
                      margin: float | None = None) -> dict[str, float]:
    """Top quote answers / some quote answers over answerable questions, for a span model
    over the quotes ``read`` (a key of Question.spans: passage model, context)."""
    top = some = n = 0
    for q in questions:
        if not q.gold:
            continue
        hits, cands, x, y = q.spans[read]
        n += 1
        if not len(cands):
            continue
        p = span_model.probability(x)
        order = np.argsort(-p, kind="stable")
        top += bool(y[order[0]])
        if margin is not None:
            kept = [i for i in order[:5] if p[i] >= p[order[0]] - margin]
            some += any(y[i] for i in kept)
    return {"top_quote": top / n, "some_quote": some / n if margin is not None else float("nan")}


# The passage models tried: a weight for every feature, or the hand-weighted score of
# qa.rerank alone, calibrated (its order, with a probability for the later stages).
PASSAGE_MODELS = {
    "features": tuple(n for n in learned.PASSAGE_FEATURES if n != "hand"),
    "hand-weighted, calibrated": ("hand",),
}


def fit_passage_model(train_qs: list[Question], dev_qs: list[Question], log=lambda msg: None):
    """The passage model of each kind (PASSAGE_MODELS) fitted on train, its L2 strength
    chosen on dev by recall@5 + nDCG@10: {kind: (model, l2, dev figures)}."""
    x, y = _stack(train_qs, "passage")
    out = {}
    for kind, names in PASSAGE_MODELS.items():
        for l2 in L2_GRID:
            model = learned.fit_logistic(model_columns(x, names), y, names, l2=l2)
            figs = {k: round(v, 4) for k, v in passage_figures(dev_qs, model).items()}
            log(f"train: passage model ({kind}) l2={l2}: dev recall@5 {figs['recall@5']:.3f} nDCG@10 {figs['ndcg@10']:.3f}")
            if kind not in out or _passage_score(figs) > _passage_score(out[kind][2]) + 1e-9:
                out[kind] = (model, l2, figs)
    return out


def fit_span_model(train_qs: list[Question], dev_qs: list[Question], passage_model: learned.LogisticModel,
                   context: int, log=lambda msg: None):
    """The span model over the quotes read from ``passage_model``'s top passages with
    ``context`` sentences either side, its L2 chosen on dev by how often the top quote
    answers: (model, l2, dev figures, the key of Question.spans it read)."""
    read = (id(passage_model), context)
    for q in train_qs + dev_qs:
        if read not in q.spans:
            q.spans[read] = span_examples(q, passage_model, context)
    xs = [q.spans[read][2] for q in train_qs if len(q.spans[read][2])]
    ys = [q.spans[read][3] for q in train_qs if len(q.spans[read][3])]
    sx, sy = np.vstack(xs), np.concatenate(ys)
    best = None
    for l2 in L2_GRID:
        model = learned.fit_logistic(sx, sy, learned.SPAN_FEATURES, l2=l2)
        figs = first_quote_right(dev_qs, read, model)
        log(f"train: span l2={l2}, context {context}: dev top quote answers {figs['top_quote']:.3f}")
        if best is None or figs["top_quote"] > best[2]["top_quote"] + 1e-9:
            best = (model, l2, figs, read)
    return best


def model_columns(x: np.ndarray, names: tuple[str, ...]) -> np.ndarray:
    return x[:, [learned.PASSAGE_FEATURES.index(n) for n in names]]


def _passage_score(figures: dict[str, float]) -> float:
    return figures["recall@5"] + figures["ndcg@10"]


def papers_quoted(index, records: Sequence[dict]) -> set[str]:
    """The sources of the index's papers that ``records`` quote (the split's own papers)."""
    docs = {str(a["doc"]) for r in records for a in r.get("answers") or []}
    return {p.source for p in index.papers.values() if p.doc in docs or str(Path(p.source).with_suffix("")) in docs}


def train(corpora: Sequence[tuple[object, list[dict], list[dict]]], log=stderr_log) -> learned.SecondStage:
    train_qs: list[Question] = []
    dev_qs: list[Question] = []
    weak_qs: list[Question] = []
    for index, tr, dv in corpora:
        train_qs += prepare(index, tr)
        dev_qs += prepare(index, dv)
        weak_qs += prepare(index, weak_questions(index.passages, papers_quoted(index, tr)))
    log(f"train: {len(train_qs)} train and {len(dev_qs)} dev questions prepared, "
        f"{len(weak_qs)} weak ones from the train papers' structure (eval.weak)")

    # 1. passages, then 2. the quotes read from the passages each passage model puts first.
    # The passage model of each kind, with the structure's weak pairs and without; kept is
    # the one whose passages and quotes together do best on dev (recall@5 + nDCG@10 + top
    # quote answers); the weak pairs only for a clear gain.
    options = {kind: (*fitted, False) for kind, fitted in fit_passage_model(train_qs, dev_qs, log).items()}
    if weak_qs:
        options |= {f"{kind}, with weak pairs": (*fitted, True)
                    for kind, fitted in fit_passage_model(train_qs + weak_qs, dev_qs, log).items()}
    tried, best = {}, None
    for name, (model, l2, figs, weak) in options.items():
        for context in CONTEXTS:
            span_model, span_l2, quotes, read = fit_span_model(train_qs, dev_qs, model, context, log)
            score = _passage_score(figs) + quotes["top_quote"] - (WEAK_GAIN if weak else 0.0)
            key = f"{name}; quotes with {context} sentence(s) of context"
            tried[key] = {**figs, "l2": l2, "top_quote": round(quotes["top_quote"], 4), "span_l2": span_l2}
            log(f"train: {key}: dev recall@5 + nDCG@10 + top quote {score:.3f}")
            if best is None or score > best[0] + 1e-9:
                best = (score, key, name, model, span_model, span_l2, read)
    _, choice, passage_choice, passage_model, span_model, span_l2, read = best
    context = read[1]
    passage_dev = {k: tried[choice][k] for k in ("recall@5", "ndcg@10", "mrr@10")}
    margin = max(MARGINS, key=lambda m: first_quote_right(dev_qs, read, span_model, m)["some_quote"] - 0.02 * m * 10)
    log(f"train: kept: {choice}")

    # 3. P(first quote answers), and the threshold under which the answer abstains
    def answer_rows(qs: list[Question]) -> tuple[np.ndarray, np.ndarray]:
        rows, labels = [], []
        for q in qs:
            hits, cands, sxq, syq = q.spans[read]
            probs = span_model.probability(sxq) if len(cands) else np.zeros(0)
            rows.append(learned.answer_vector(probs, cands, hits, q.unknown))
            labels.append(float(bool(len(cands)) and bool(syq[int(np.argmax(probs))])))
        return np.vstack(rows), np.array(labels)

    ax, ay = answer_rows(train_qs)
    dx, dy = answer_rows(dev_qs)
    best = None
    for l2 in L2_GRID:
        model = learned.fit_logistic(ax, ay, learned.ANSWER_FEATURES, l2=l2)
        p = np.clip(model.probability(dx), 1e-6, 1 - 1e-6)
        loss = -float(np.mean(dy * np.log(p) + (1 - dy) * np.log(1 - p)))
        log(f"train: answer l2={l2}: dev log loss {loss:.4f}")
        if best is None or loss < best[0] - 1e-9:
            best = (loss, l2, model)
    _, answer_l2, answer_model = best
    threshold, abst = choose_threshold(answer_model.probability(dx), [bool(q.gold) for q in dev_qs])
    log(f"train: threshold {threshold:.3f}: dev abstains on {abst[0]:.2f} of unanswerable, wrongly on {abst[1]:.2f} of answerable")

    dev_quotes = first_quote_right(dev_qs, read, span_model, margin)
    info = {
        "trained_on": len(train_qs), "chosen_on": len(dev_qs),
        "embedding_model": _embedding_model(corpora),
        "passage_model": passage_choice,
        "quote_context": context,
        "l2": {"passage": options[passage_choice][1], "span": span_l2, "answer": answer_l2},
        "passage_models_on_dev": tried,
        "weak_questions": len(weak_qs),
        "dev": {**passage_dev,
                "top_quote": round(dev_quotes["top_quote"], 4), "some_quote": round(dev_quotes["some_quote"], 4),
                "abstains_unanswerable": round(abst[0], 4), "false_abstention": round(abst[1], 4)},
        "reliability_dev": reliability(answer_model.probability(dx), dy),
    }
    return learned.SecondStage(passage_model, span_model, answer_model, threshold, margin, DEPTH, info, context)


def _embedding_model(corpora) -> str:
    """The one embedding model every training index was built with (the features are its
    similarities)."""
    names = {index.embedder.name for index, _, _ in corpora}
    if len(names) != 1:
        raise ValueError(f"the training indexes were built with different embedding models ({', '.join(sorted(names))}): train on one")
    return names.pop()


def choose_threshold(chance: np.ndarray, answerable: Sequence[bool]) -> tuple[float, tuple[float, float]]:
    """The threshold abstaining on most unanswerable questions while abstaining wrongly on
    at most MAX_FALSE_ABSTENTION of the answerable; the lowest such, on ties.

    >>> choose_threshold(np.array([0.9, 0.8, 0.3, 0.2, 0.1]), [True, True, True, False, False])
    (0.21, (1.0, 0.0))
    """
    answerable = np.asarray(answerable, dtype=bool)
    best = (0.0, (0.0, 0.0))
    for t in np.round(np.arange(0.01, 1.0, 0.01), 2):
        abstain = chance < t
        false = float(abstain[answerable].mean()) if answerable.any() else 0.0
        right = float(abstain[~answerable].mean()) if (~answerable).any() else 0.0
        if false <= MAX_FALSE_ABSTENTION and right > best[1][0]:
            best = (float(t), (right, false))
    return best


def reliability(chance: np.ndarray, correct: np.ndarray, bins: int = 5) -> list[dict]:
    """Observed share right per probability bin: a calibrated model's rows lie on the diagonal.

    >>> reliability(np.array([0.1, 0.15, 0.9]), np.array([0.0, 1.0, 1.0]), bins=2)
    [{'from': 0.0, 'to': 0.5, 'n': 2, 'mean_p': 0.125, 'observed': 0.5}, {'from': 0.5, 'to': 1.0, 'n': 1, 'mean_p': 0.9, 'observed': 1.0}]
    """
    out = []
    for b in range(bins):
        lo, hi = b / bins, (b + 1) / bins
        inside = (chance >= lo) & ((chance < hi) | (b == bins - 1))
        if inside.any():
            out.append({"from": lo, "to": hi, "n": int(inside.sum()), "mean_p": round(float(chance[inside].mean()), 4),
                        "observed": round(float(correct[inside].mean()), 4)})
    return out


def training_set_hash(corpora_files: Sequence[tuple[Path, Path, Path]]) -> str:
    """SHA-256 over the question files and the papers' content hashes in each index."""
    h = hashlib.sha256()
    for index_dir, tr, dv in corpora_files:
        manifest = json.loads((Path(index_dir) / "current" / "manifest.json").read_text())
        for entry in sorted(manifest["papers"], key=lambda e: e["source"]):
            h.update(f"{entry['source']}:{entry['content_hash']}\n".encode())
        h.update(Path(tr).read_bytes())
        h.update(Path(dv).read_bytes())
    return h.hexdigest()


def write_report(stage: learned.SecondStage, folder: Path) -> None:
    """``training.json`` (the stage's info) and ``reliability.png``: P(first quote answers)
    on dev against how often it did, per bin."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "training.json").write_text(json.dumps({**stage.info, "threshold": stage.threshold,
                                                      "quote_margin": stage.quote_margin}, indent=1) + "\n")
    bins = stage.info["reliability_dev"]
    fig, ax = plt.subplots(figsize=(4.5, 4.5), dpi=100)
    ax.plot([0, 1], [0, 1], color="grey", linestyle=":", label="calibrated")
    ax.plot([b["mean_p"] for b in bins], [b["observed"] for b in bins], marker="o", label="dev questions")
    for b in bins:
        ax.annotate(f"n={b['n']}", (b["mean_p"], b["observed"]), textcoords="offset points", xytext=(4, -10), fontsize=8)
    ax.axvline(stage.threshold, color="tab:red", linestyle="--", label=f"abstain below {stage.threshold:.2f}")
    ax.set_xlabel("P(first quote answers), predicted")
    ax.set_ylabel("share whose first quote answered")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.legend(loc="upper left", fontsize=8)
    ax.set_title("Reliability on the dev split")
    fig.tight_layout()
    fig.savefig(folder / "reliability.png")
    plt.close(fig)
