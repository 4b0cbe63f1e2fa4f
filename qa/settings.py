"""Every tuned number of retrieval and answering in one object, passed down explicitly.

Chosen on the development questions (docs/EVAL.md); the same for every engine, since the
engines hand out candidates and ranking happens once, above them. The CLI (``--settings
FILE``) and the app ($COMMITTEE_QA_SETTINGS) read overrides from a JSON file:

    >>> load_settings_json('{"retrieval": {"dense_weight": 0.6}, "answer": {"quote_margin": 0.1}}').retrieval.dense_weight
    0.6
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

# The second stage's hand weights (qa.rerank): a handful of weights, not a learned model, so
# they carry to other councils' papers.
RERANK_WEIGHTS = (("best", 1.0), ("second", 0.5), ("coverage", 0.4), ("local", 0.3), ("bigrams", 0.3),
                  ("numbers", 0.3), ("first", 0.6), ("fit", 0.4))


@dataclass(frozen=True)
class RetrievalSettings:
    candidates: int = 100  # per path (full text, dense), before fusion
    fusion: str = "convex"  # qa.fusion, by name
    dense_weight: float = 0.5
    rrf_k: float = 60.0
    date_boost: float = 0.15  # meetings a question names lift the passages that record them
    committee_boost: float = 0.05  # and committees
    rerank_depth: int = 30  # first-stage candidates the hand-weighted second stage re-scores
    rerank_weights: tuple[tuple[str, float], ...] = RERANK_WEIGHTS

    @property
    def weights(self) -> dict[str, float]:
        return dict(self.rerank_weights)


@dataclass(frozen=True)
class AnswerSettings:
    # Abstain when the best sentence's similarity is below this AND its share of the
    # question's content words is below ``min_coverage``.
    min_similarity: float = 0.45
    min_coverage: float = 0.6
    # A question whose key word the papers never use is unanswered unless a sentence
    # matches it closely in meaning all the same.
    unknown_word_similarity: float = 0.7
    # Further quotes must score within this of the best one.
    quote_margin: float = 0.12
    # A sentence's score: similarity + coverage_weight * shared words + rank_weight / (1 + rank)
    # of its passage in the retriever's ranking (which sees more than one sentence).
    coverage_weight: float = 0.25
    rank_weight: float = 0.05
    # Added when the quote holds the kind of thing the question asks for (qa.answertype).
    type_weight: float = 0.15
    # Sentences either side of the best one taken into the quote (at most three sentences).
    context_sentences: int = 1
    max_quotes: int = 5
    passages_read: int = 8  # quotes are drawn from this many top passages


@dataclass(frozen=True)
class DecisionSettings:
    """How qa.decisions judges a decision on topic: a weighted sum of the topic's words found
    (IDF-weighted share) in the decision's heading, its words and the narrative before it,
    and the closest sentence in meaning; kept when it reaches ``threshold``. Chosen on the
    odd-numbered topics of eval/questions/decisions (python -m eval.decisions --split dev)."""

    heading_weight: float = 0.25
    words_weight: float = 1.0
    context_weight: float = 0.0
    similarity_weight: float = 1.0
    discussed_weight: float = 0.25
    discussed_depth: int = 20  # the topic's search results read for where it is discussed
    threshold: float = 0.95
    # …and within this share of the best decision's score: topics differ in how many of
    # their words the papers use, so a fixed bar alone keeps too much or too little.
    relative: float = 0.85
    dense_candidates: int = 400  # passages of the decisions' papers read for sentence similarity
    nearest: int = 3  # passages shown, labelled as nearest matches, when no decision is on topic


@dataclass(frozen=True)
class Settings:
    retrieval: RetrievalSettings = field(default_factory=RetrievalSettings)
    answer: AnswerSettings = field(default_factory=AnswerSettings)
    decisions: DecisionSettings = field(default_factory=DecisionSettings)


DEFAULTS = Settings()


def load_settings_json(text: str, base: Settings = DEFAULTS) -> Settings:
    """``base`` with the values a JSON object overrides; an unknown name is an error that
    lists the valid ones."""
    data = json.loads(text)
    out = base
    for part, values in data.items():
        if part not in ("retrieval", "answer", "decisions"):
            raise ValueError(f"unknown settings section {part!r}; choose retrieval, answer or decisions")
        current = getattr(out, part)
        valid = {f.name for f in fields(current)}
        unknown = sorted(set(values) - valid)
        if unknown:
            raise ValueError(f"unknown {part} setting(s) {', '.join(unknown)}; valid: {', '.join(sorted(valid))}")
        if "rerank_weights" in values:
            values = values | {"rerank_weights": tuple((k, float(v)) for k, v in dict(values["rerank_weights"]).items())}
        out = replace(out, **{part: replace(current, **values)})
    return out


def load_settings(path: str | Path | None, base: Settings = DEFAULTS) -> Settings:
    if not path:
        return base
    try:
        return load_settings_json(Path(path).read_text(encoding="utf-8"), base)
    except FileNotFoundError:
        raise ValueError(f"no settings file at {path}") from None
    except json.JSONDecodeError as err:
        raise ValueError(f"{path} is not valid JSON ({err.msg}, line {err.lineno})") from None
