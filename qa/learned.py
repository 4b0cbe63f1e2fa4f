"""The learned second stage: three small logistic models over features the project already
computes, their weights a plain JSON file shipped inside the package.

- ``passage``: P(this passage answers | question) for the first stage's top candidates;
- ``span``: P(this quote answers | question) for the sentences of the top passages;
- ``answer``: P(the first quote answers) from the best quote and the question as a whole.
  It is the probability an answer abstains on, under a threshold chosen on the dev split.

``committee-qa train`` (eval/train.py) learns the weights on the train split, chooses the
regularisation, the quote margin and the threshold on dev, and writes
``qa/models/second_stage.json`` with ``manifest.json`` beside it (its SHA-256 and the
training set's hash), checked on load.

    >>> m = LogisticModel(names=("a", "b"), mean=(0.0, 1.0), scale=(1.0, 2.0), weights=(2.0, -1.0), bias=0.5)
    >>> round(float(m.probability(np.array([[0.5, 3.0]]))[0]), 4)  # 0.5 + 2*0.5 - 1*(3-1)/2 = 0.5
    0.6225
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from index.model import Passage
from index.store import Units
from index.tokens import bm25_tokens
from qa.answertype import TYPES, answer_types, has_type
from qa.rerank import NUMBER, QuestionSide, features, rerank_score

MODEL_DIR = Path(__file__).parent / "models"
MODEL_FILE = "second_stage.json"
FORMAT = 2


class NoSecondStage(ValueError):
    """No trained second stage ships or it does not match its manifest."""


@dataclass(frozen=True)
class LogisticModel:
    """Standardised features, one weight each, a bias: ``sigmoid(w · (x - mean) / scale + b)``."""

    names: tuple[str, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    weights: tuple[float, ...]
    bias: float

    def on(self, x: np.ndarray, names: tuple[str, ...]) -> np.ndarray:
        """The columns of ``x`` (one per name of ``names``) that this model reads.

        >>> LogisticModel(("b",), (0.0,), (1.0,), (1.0,), 0.0).on(np.array([[1.0, 2.0]]), ("a", "b"))
        array([[2.]])
        """
        return np.asarray(x)[:, [names.index(n) for n in self.names]]

    def logit(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64).reshape(-1, len(self.names))
        z = (x - np.asarray(self.mean)) / np.asarray(self.scale)
        return z @ np.asarray(self.weights) + self.bias

    def probability(self, x: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-np.clip(self.logit(x), -40, 40)))

    def to_json(self) -> dict:
        return {"names": list(self.names), "mean": list(self.mean), "scale": list(self.scale),
                "weights": list(self.weights), "bias": self.bias}

    @classmethod
    def from_json(cls, data: dict) -> LogisticModel:
        return cls(tuple(data["names"]), tuple(data["mean"]), tuple(data["scale"]), tuple(data["weights"]), float(data["bias"]))


def fit_logistic(x: np.ndarray, y: np.ndarray, names: tuple[str, ...], l2: float = 1.0, iterations: int = 50) -> LogisticModel:
    """L2-regularised logistic regression by Newton's method: deterministic, numpy only.

    With one yes/no feature and no penalty, the fit reproduces the observed shares: 1 in 4
    positive where x = 0, 3 in 4 where x = 1.

    >>> x = np.array([[0.0]] * 4 + [[1.0]] * 4); y = np.array([1, 0, 0, 0, 1, 1, 1, 0])
    >>> [round(float(p), 3) for p in fit_logistic(x, y, ("x",), l2=0.0).probability(np.array([[0.0], [1.0]]))]
    [0.25, 0.75]
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale < 1e-9] = 1.0
    z = np.hstack([(x - mean) / scale, np.ones((len(x), 1))])
    w = np.zeros(z.shape[1])
    penalty = np.full(z.shape[1], l2)
    penalty[-1] = 0.0  # the bias is not shrunk
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-np.clip(z @ w, -40, 40)))
        grad = z.T @ (p - y) + penalty * w
        hess = (z * (p * (1 - p))[:, None]).T @ z + np.diag(penalty + 1e-9)
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return LogisticModel(names, tuple(mean.tolist()), tuple(scale.tolist()), tuple(w[:-1].tolist()), float(w[-1]))


@dataclass(frozen=True)
class SecondStage:
    passage: LogisticModel
    span: LogisticModel
    answer: LogisticModel
    threshold: float  # abstain when P(first quote answers) is below this
    quote_margin: float  # further quotes: span probability within this of the best
    depth: int  # first-stage candidates re-scored
    info: dict  # how it was trained: sets, hashes, figures on dev
    # Sentences either side of the best one a quote may take (qa.answer._extend; at most
    # three sentences, 80 words): 0 quotes the sentence alone, with the next only when the
    # answer runs on. Chosen on dev.
    context: int = 1

    def to_json(self) -> dict:
        return {"format": FORMAT, "passage": self.passage.to_json(), "span": self.span.to_json(),
                "answer": self.answer.to_json(), "threshold": self.threshold,
                "quote_margin": self.quote_margin, "depth": self.depth, "context": self.context, "info": self.info}

    @classmethod
    def from_json(cls, data: dict) -> SecondStage:
        if data.get("format") != FORMAT:
            raise NoSecondStage(f"second stage format {data.get('format')!r}, expected {FORMAT}: run committee-qa train again")
        models = {k: LogisticModel.from_json(data[k]) for k in ("passage", "span", "answer")}
        # The passage model may read a subset of the passage features (the calibrated
        # hand-weighted score alone, when that did better on dev); the others read all.
        for key, names in (("passage", PASSAGE_FEATURES), ("span", SPAN_FEATURES), ("answer", ANSWER_FEATURES)):
            got = models[key].names
            if not got or (not set(got) <= set(names) if key == "passage" else got != names):
                raise NoSecondStage(f"the {key} model was trained on other features: run committee-qa train again")
        return cls(**models, threshold=float(data["threshold"]), quote_margin=float(data["quote_margin"]),
                   depth=int(data["depth"]), info=data.get("info", {}), context=int(data["context"]))


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def save(stage: SecondStage, folder: Path, training_set_sha256: str) -> Path:
    """Write the weights and a manifest with their checksum (plain JSON, no pickle)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / MODEL_FILE
    path.write_text(json.dumps(stage.to_json(), indent=1, sort_keys=True) + "\n")
    manifest = {"format": FORMAT, "file": MODEL_FILE, "sha256": sha256(path), "training_set_sha256": training_set_sha256}
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    _load.cache_clear()
    return path


def load(folder: Path | None = None) -> SecondStage:
    """The second stage in ``folder``: by default the one shipped in the package, or the
    folder named by $COMMITTEE_QA_SECOND_STAGE (to evaluate another training run)."""
    return _load(model_folder(folder))


def model_folder(folder: Path | None = None) -> Path:
    return Path(folder or os.environ.get("COMMITTEE_QA_SECOND_STAGE") or MODEL_DIR)


@lru_cache(maxsize=4)
def _load(folder: Path) -> SecondStage:
    path, manifest_path = folder / MODEL_FILE, folder / "manifest.json"
    if not path.exists() or not manifest_path.exists():
        raise NoSecondStage(f"no trained second stage in {folder}: run `committee-qa train` (see README) or use --retriever rerank")
    manifest = json.loads(manifest_path.read_text())
    if manifest.get("sha256") != sha256(path):
        raise NoSecondStage(f"{path} does not match its manifest's checksum: reinstall the package or run committee-qa train")
    stage = SecondStage.from_json(json.loads(path.read_text()))
    return stage


def available(folder: Path | None = None) -> bool:
    try:
        load(folder)
    except NoSecondStage:
        return False
    return True


def fits(embedding_model: str, folder: Path | None = None) -> bool:
    """Whether a second stage is installed and was trained on indexes embedded with
    ``embedding_model``: its features are that model's similarities, whose scale another
    model does not share."""
    try:
        return load(folder).info.get("embedding_model") == embedding_model
    except NoSecondStage:
        return False


# --- passages ------------------------------------------------------------------------

PASSAGE_FEATURES = (
    "best", "second", "coverage", "local", "bigrams", "numbers", "first", "fit",
    "rank", "title", "best_gap", "coverage_gap", "local_gap", "words", "table",
    "minutes", "report", "appendix", "agenda", "decision_asked_resolved",
    "hand",  # qa.rerank's hand-weighted score of the first eight
)
_DECISION_WORDS = ("resolved", "agreed", "decision", "approved", "noted")


def passage_matrix(head: list[tuple[Passage, float]], units: dict[str, Units], side: QuestionSide, qvec: np.ndarray) -> np.ndarray:
    """One row of PASSAGE_FEATURES per candidate (passage, first-stage score), in order."""
    if not head:
        return np.zeros((0, len(PASSAGE_FEATURES)))
    top = head[0][1] or 1.0
    total = sum(side.weights.values()) or 1.0
    rows = []
    for rank, (p, score) in enumerate(head):
        f = features(p, units.get(p.id), qvec, score / top, side)
        f["hand"] = rerank_score(f)
        heading = set(bm25_tokens(f"{p.item_title or ''} {p.section or ''}"))
        lower = p.text[:4000].lower()
        f.update(
            rank=1.0 / (1 + rank),
            title=sum(w for t, w in side.weights.items() if t in heading) / total,
            words=math.log1p(len(p.text.split())),
            table=float(p.is_table),
            minutes=float(p.kind == "minutes"),
            report=float(p.kind in ("report", "update", "plan")),
            appendix=float(p.kind == "appendix"),
            agenda=float(p.kind in ("agenda", "agenda_pack")),
            decision_asked_resolved=float("decision" in side.wanted and any(w in lower for w in _DECISION_WORDS)),
        )
        rows.append(f)
    for name in ("best", "coverage", "local"):
        peak = max(r[name] for r in rows)
        for r in rows:
            r[f"{name}_gap"] = r[name] - peak
    return np.array([[r[n] for n in PASSAGE_FEATURES] for r in rows])


def rescore(stage: SecondStage, first_stage: list[tuple[Passage, float]], units: dict[str, Units],
            side: QuestionSide, qvec: np.ndarray) -> list[tuple[Passage, float]]:
    """The first stage's top ``stage.depth`` in order of P(answers); the rest below them."""
    head, tail = first_stage[: stage.depth], first_stage[stage.depth :]
    if not head:
        return first_stage
    probs = stage.passage.probability(stage.passage.on(passage_matrix(head, units, side, qvec), PASSAGE_FEATURES))
    rescored = sorted(((p, float(pr)) for (p, _), pr in zip(head, probs)), key=lambda rp: -rp[1])
    floor = rescored[-1][1]
    return rescored + [(p, floor * 0.5 ** (n + 1)) for n, (p, _) in enumerate(tail)]


# --- quotes --------------------------------------------------------------------------

SPAN_FEATURES = (
    "similarity", "similarity_gap", "coverage", "coverage_gap", "local", "local_gap", "fit",
    "rank", "passage", "passage_gap", "words", "numbers", "capitals", "first_unit", "table",
    "novelty", "before", "after", *(f"gives_{t}" for t in TYPES), "asked_missing",
)


def span_matrix(candidates, question: str, idf: dict[str, float], passage_prob: dict[str, float]) -> np.ndarray:
    """One row of SPAN_FEATURES per qa.answer Candidate.

    Beside how close the sentence is to the question, what a reader would look for: words
    the question does not already have (``novelty``: an answer adds to the question, a
    restatement of its topic does not), how close the sentences either side are (``before``,
    ``after``: in an action plan the cell next to the objective answers it), and whether the
    quote holds each kind of thing the question asks for (``gives_number`` … ``gives_reason``)
    or none of them (``asked_missing``).
    """
    if not candidates:
        return np.zeros((0, len(SPAN_FEATURES)))
    q_numbers = {n.strip(".,").replace(",", "") for n in NUMBER.findall(question)}
    q_tokens = set(bm25_tokens(question)) | set(idf)
    wanted = answer_types(question)
    total = sum(idf.values()) or 1.0
    peak_p = max(passage_prob.values(), default=0.0)
    unit_sim = {(c.passage.id, c.unit): c.similarity for c in candidates}
    rows = []
    for c in candidates:
        text = c.passage.text[c.start - c.passage.start : c.end - c.passage.start]
        best = c.passage.text[c.best_start - c.passage.start : c.best_end - c.passage.start] if c.best_end > c.best_start else text
        toks = set(bm25_tokens(text))
        best_toks = set(bm25_tokens(best))
        letters = [ch for ch in text if ch.isalpha()]
        numbers = {n.strip(".,").replace(",", "") for n in NUMBER.findall(text)}
        pp = passage_prob.get(c.passage.id, 0.0)
        gives = {t: float(t in wanted and has_type(text, t)) for t in TYPES}
        rows.append({
            "similarity": c.similarity, "coverage": c.coverage,
            "local": sum(w for t, w in idf.items() if t in toks) / total,
            "fit": c.fit, "rank": 1.0 / (1 + c.rank), "passage": pp, "passage_gap": pp - peak_p,
            "words": math.log1p(len(text.split())),
            "numbers": len(q_numbers & numbers) / len(q_numbers) if q_numbers else 0.0,
            "capitals": sum(ch.isupper() for ch in letters) / len(letters) if letters else 1.0,
            "first_unit": float(c.unit == 0), "table": float(c.passage.is_table),
            "novelty": len(best_toks - q_tokens) / len(best_toks) if best_toks else 0.0,
            "before": unit_sim.get((c.passage.id, c.unit - 1), 0.0),
            "after": unit_sim.get((c.passage.id, c.unit + 1), 0.0),
            **{f"gives_{t}": v for t, v in gives.items()},
            "asked_missing": float(bool(wanted) and not any(gives.values())),
        })
    for name in ("similarity", "coverage", "local"):
        peak = max(r[name] for r in rows)
        for r in rows:
            r[f"{name}_gap"] = r[name] - peak
    return np.array([[r[n] for n in SPAN_FEATURES] for r in rows])


# Measured on dev and left out, each separating unanswerable questions no better than chance
# (ROC AUC 0.38-0.55): the widest word coverage, the mean of the top passages, answer-type
# fit, whether the question asks a type, the best quote's IDF coverage and type, and the
# share of the question's words the top passage lacks.
ANSWER_FEATURES = ("best_span", "span_gap", "best_passage", "closest", "unknown")


def answer_vector(span_probs: np.ndarray, candidates, hits, unknown: list[str]) -> np.ndarray:
    """The question-level evidence P(first quote answers) is read from: how sure the span
    model is of its best quote and how far ahead of the next, how sure the passage model
    is of its best passage, how close in meaning the closest sentence is, and how many of
    the question's words the papers never use."""
    order = np.sort(np.asarray(span_probs))[::-1]
    best = float(order[0]) if len(order) else 0.0
    return np.array([
        best,
        best - (float(order[1]) if len(order) > 1 else 0.0),
        float(hits[0].score) if hits else 0.0,
        max((c.similarity for c in candidates), default=0.0),
        float(len(unknown)),
    ])
