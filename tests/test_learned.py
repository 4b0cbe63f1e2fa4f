"""The learned second stage: its arithmetic by hand, its file round trip, and training on
real papers (with the deterministic hashing embedder, so it runs in seconds)."""

from __future__ import annotations

import doctest
import json
import shutil

import numpy as np
import pytest
from conftest import SEFTON_SMALL, SEFTON_UPDATE, UPDATE_SENTENCE

import eval.train as train_mod
import qa.learned as learned
from index.embed import HashingEmbedder


def test_doctests_hold():
    for module in (learned, train_mod):
        failed, tried = doctest.testmod(module)
        assert tried > 0 and failed == 0, module.__name__


def test_probability_worked_by_hand():
    # z = ((1 - 0) / 2, (5 - 3) / 1) = (0.5, 2); logit = 1.0 * 0.5 - 0.25 * 2 + 0.2 = 0.2
    m = learned.LogisticModel(("a", "b"), (0.0, 3.0), (2.0, 1.0), (1.0, -0.25), 0.2)
    assert m.logit(np.array([[1.0, 5.0]]))[0] == pytest.approx(0.2)
    assert m.probability(np.array([[1.0, 5.0]]))[0] == pytest.approx(1 / (1 + np.exp(-0.2)))


def test_a_penalty_shrinks_the_weight_towards_zero():
    # Without a penalty the weight is logit(3/4) - logit(1/4) = 2 ln 3 in the feature's own
    # units (standardised: the feature's spread is 0.5, so 2 ln 3 * 0.5 = ln 3).
    x = np.array([[0.0]] * 4 + [[1.0]] * 4)
    y = np.array([1, 0, 0, 0, 1, 1, 1, 0])
    free = learned.fit_logistic(x, y, ("x",), l2=0.0)
    assert free.weights[0] == pytest.approx(np.log(3), abs=1e-6)
    shrunk = learned.fit_logistic(x, y, ("x",), l2=10.0)
    assert 0.0 < shrunk.weights[0] < free.weights[0]


def _stage(threshold: float = 0.5) -> learned.SecondStage:
    def model(names):
        n = len(names)
        return learned.LogisticModel(names, (0.0,) * n, (1.0,) * n, tuple(1.0 if i == 0 else 0.0 for i in range(n)), 0.0)

    return learned.SecondStage(
        model(learned.PASSAGE_FEATURES), model(learned.SPAN_FEATURES), model(learned.ANSWER_FEATURES),
        threshold=threshold, quote_margin=0.1, depth=30, info={"note": "by hand"},
    )


def test_save_and_load_round_trip_and_checksum(tmp_path):
    stage = _stage(0.37)
    learned.save(stage, tmp_path, "abc")
    loaded = learned.load(tmp_path)
    assert loaded == stage
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["training_set_sha256"] == "abc" and manifest["sha256"] == learned.sha256(tmp_path / "second_stage.json")
    # A weights file changed after training is refused, with what to do next.
    data = json.loads((tmp_path / "second_stage.json").read_text())
    data["threshold"] = 0.0
    (tmp_path / "second_stage.json").write_text(json.dumps(data))
    learned._load.cache_clear()
    with pytest.raises(learned.NoSecondStage, match="checksum"):
        learned.load(tmp_path)
    with pytest.raises(learned.NoSecondStage, match="committee-qa train"):
        learned.load(tmp_path / "missing")


def test_a_model_trained_on_other_features_is_refused(tmp_path):
    data = _stage().to_json()
    data["span"]["names"] = ["similarity"]
    with pytest.raises(learned.NoSecondStage, match="other features"):
        learned.SecondStage.from_json(data)


@pytest.fixture(scope="module")
def small_index(tmp_path_factory):
    from index.folder import ingest, open_index

    root = tmp_path_factory.mktemp("learned")
    papers = root / "papers"
    papers.mkdir()
    for p in (SEFTON_UPDATE, SEFTON_SMALL):
        shutil.copyfile(p, papers / p.name)
    embedder = HashingEmbedder()
    ingest([papers], root / "index", embedder)
    return open_index(root / "index", embedder)


QUESTIONS = [
    {"id": "a", "type": "lexical", "question": "How often does the Improvement Board meet now?",
     "answers": [{"doc": "004_ef26fe128a3892ff", "quote": UPDATE_SENTENCE}], "answer": "monthly"},
    {"id": "b", "type": "lexical", "question": "How many times has the Improvement Board convened?",
     "answers": [{"doc": "004_ef26fe128a3892ff", "quote": UPDATE_SENTENCE}], "answer": "four"},
    {"id": "c", "type": "unanswerable", "question": "How many potholes were filled on the seafront last year?",
     "answers": [], "answer": ""},
]


def test_training_is_deterministic_and_its_stage_answers(small_index, tmp_path, monkeypatch):
    from qa.answer import answer
    from qa.retrieve import search

    corpora = [(small_index, QUESTIONS, QUESTIONS)]
    first = train_mod.train(corpora, log=lambda m: None)
    second = train_mod.train(corpora, log=lambda m: None)
    assert first.to_json() == second.to_json()
    assert first.info["trained_on"] == 3 and first.info["chosen_on"] == 3

    learned.save(first, tmp_path, "test")
    monkeypatch.setenv("COMMITTEE_QA_SECOND_STAGE", str(tmp_path))
    hits = search(small_index, QUESTIONS[0]["question"], k=5, retriever="learned")
    scores = [h.score for h in hits]
    assert scores == sorted(scores, reverse=True) and all(0.0 <= s <= 1.0 for s in scores)
    ans = answer(small_index, QUESTIONS[0]["question"], retriever="learned")
    assert ans.confidence is not None and 0.0 <= ans.confidence <= 1.0
    # The threshold decides: nothing clears 1.0, everything clears 0.0.
    for threshold, abstains in ((1.0, True), (0.0, False)):
        stage = learned.SecondStage(**{**first.__dict__, "threshold": threshold})
        learned.save(stage, tmp_path, "test")
        got = answer(small_index, QUESTIONS[0]["question"], retriever="learned")
        assert got.abstained is abstains
        assert bool(got.nearest) is abstains
    best = got.quotes[0]
    assert best.start <= best.best_start < best.best_end <= best.end


def test_the_shipped_stage_loads_offline_and_says_what_it_was_trained_on():
    """qa/models ships inside the package: it loads, matches its manifest's checksum, and
    names the embedding model and the split its figures come from."""
    learned._load.cache_clear()
    stage = learned.load(learned.MODEL_DIR)
    manifest = json.loads((learned.MODEL_DIR / "manifest.json").read_text())
    assert manifest["sha256"] == learned.sha256(learned.MODEL_DIR / learned.MODEL_FILE)
    assert len(manifest["training_set_sha256"]) == 64
    assert stage.info["embedding_model"] == "all-MiniLM-L6-v2"
    assert stage.info["trained_on"] > 300 and stage.info["chosen_on"] > 100
    assert 0.0 < stage.threshold < 1.0 and stage.depth == 30
    assert set(stage.passage.names) <= set(learned.PASSAGE_FEATURES)


def test_the_default_is_the_learned_stage_only_for_the_model_it_was_trained_on(small_index, real_index_dir, real_embedder):
    from index.folder import open_index
    from qa.retrieve import default_retriever

    assert learned.fits("all-MiniLM-L6-v2") and not learned.fits("hashing-64")
    assert default_retriever(small_index) == "rerank"  # hashing vectors: another scale
    assert default_retriever(open_index(real_index_dir, real_embedder)) == "learned"


@pytest.mark.integration
def test_the_shipped_stage_answers_real_papers(real_index_dir, real_embedder):
    """With the real model: the default search is the learned stage (probabilities, best
    first), and the answer carries its confidence and quotes the sentence about adoption."""
    from index.folder import open_index
    from qa.answer import answer
    from qa.retrieve import search

    idx = open_index(real_index_dir, real_embedder)
    hits = search(idx, "How many children have been adopted this year?", k=5)
    assert hits[0].retriever == "learned"
    scores = [h.score for h in hits]
    assert scores == sorted(scores, reverse=True) and all(0.0 <= s <= 1.0 for s in scores)
    ans = answer(idx, "How many children have been adopted this year?")
    assert not ans.abstained and 0.0 < ans.confidence < 1.0
    assert "14 children have been adopted" in ans.quotes[0].text
    assert ans.quotes[0].start <= ans.quotes[0].best_start < ans.quotes[0].best_end <= ans.quotes[0].end
