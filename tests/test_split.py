"""The labelled train / dev / test split (eval/questions/split): split by paper, well formed,
and every Sefton gold quote word for word in the paper shipped in samples/."""

from __future__ import annotations

import json
from collections import Counter

import pytest
from conftest import REPO, SAMPLES

from eval.validate_questions import PaperCache, check_question

SPLIT = REPO / "eval" / "questions" / "split"
KINDS = {"figure", "decision", "date", "person", "reason", "paraphrase", "multi", "unanswerable"}


def questions(council: str, split: str) -> list[dict]:
    return [json.loads(line) for line in (SPLIT / f"{council}-{split}.jsonl").read_text().splitlines() if line.strip()]


def home(doc: str, council: str) -> str:
    return f"{council}/{doc}"


def test_a_paper_belongs_to_one_split_and_its_questions_stay_there():
    papers = json.loads((SPLIT / "papers.json").read_text())
    seen: dict[str, str] = {}
    for split, docs in papers.items():
        for doc in docs:
            assert doc not in seen, f"{doc} is in both {seen[doc]} and {split}"
            seen[doc] = split
    for split in papers:
        for council in ("sefton", "kent"):
            for q in questions(council, split):
                # The first answer is the place the writer quoted; later ones may be copies
                # of the same words in another split's paper (minutes reprinted).
                if q["answers"]:
                    assert seen[home(q["answers"][0]["doc"], council)] == split, q["id"]


def test_the_set_is_large_and_balanced():
    everything = [q for c in ("sefton", "kent") for s in ("train", "dev", "test") for q in questions(c, s)]
    kinds = Counter(q["kind"] for q in everything)
    assert len(everything) >= 400
    assert set(kinds) == KINDS
    assert kinds["unanswerable"] / len(everything) >= 0.15
    assert len({q["id"] for q in everything}) == len(everything)
    for q in everything:
        assert (q["kind"] == "unanswerable") == (q["type"] == "unanswerable") == (q["answers"] == []), q["id"]
        if q["kind"] == "multi":
            assert len(q["answers"]) >= 2, q["id"]


@pytest.mark.parametrize("split", ["train", "dev", "test"])
def test_every_sefton_quote_stands_in_its_paper(split):
    cache = PaperCache()
    problems = [p for q in questions("sefton", split) for p in check_question(q, SAMPLES / "sefton", cache)]
    assert problems == []
