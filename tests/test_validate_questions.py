"""Tests for eval/validate_questions.py on a tiny question file and a tiny text paper."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from eval.validate_questions import (
    PaperCache,
    check_question,
    main,
    normalise,
    quote_in_text,
    resolve_doc,
    validate_file,
)

PAPER = (
    "MINUTES of the Cabinet held on 30 January 2025.\n"
    "RESOLVED that Cabinet agree the  Commissioning Plan\n"
    "for Education Provision in Kent 2025\u201329.\n"
    "The Leader said the council\u2019s reserves were \u201cadequate\u201d.\n"
)

GOOD = {
    "id": "t001",
    "type": "decision",
    "question": "Did Cabinet approve the school places plan?",
    "answers": [
        {
            "doc": "minutes",
            "quote": "RESOLVED that Cabinet agree the Commissioning Plan for Education Provision in Kent 2025-29",
        }
    ],
    "answer": "Yes.",
    "meeting_date": "2025-01-30",
}
MISSING_QUOTE = {
    "id": "t002",
    "type": "paraphrase",
    "question": "What did the Leader say about debt?",
    "answers": [
        {"doc": "minutes", "quote": "The Leader said the council's debt was unsustainable"}
    ],
    "answer": "That it was unsustainable.",
}
UNANSWERABLE_WITH_ANSWERS = {
    "id": "t003",
    "type": "unanswerable",
    "question": "How many potholes were filled?",
    "answers": [{"doc": "minutes", "quote": "MINUTES of the Cabinet held on 30 January 2025."}],
    "answer": "",
}


@pytest.fixture()
def corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "corpus" / "cabinet"
    folder.mkdir(parents=True)
    (folder / "minutes.txt").write_text(PAPER, encoding="utf-8")
    return tmp_path / "corpus"


def write_questions(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def test_normalise_folds_quotes_dashes_case_and_whitespace() -> None:
    assert (
        normalise("  The \u201cLeader\u2019s\u201d\n plan 2025\u201329 ")
        == 'the "leader\'s" plan 2025-29'
    )


def test_quote_matches_after_removing_whitespace() -> None:
    assert quote_in_text("Commissioning Plan", "Commis sioning\nPlan")
    assert not quote_in_text("Commissioning Plan", "Commissioning Policy")


def test_resolve_doc_by_stem_and_by_relative_path(corpus: Path) -> None:
    assert resolve_doc("minutes", corpus) == corpus / "cabinet" / "minutes.txt"
    assert resolve_doc("cabinet/minutes", corpus) == corpus / "cabinet" / "minutes.txt"
    assert resolve_doc("agenda", corpus) is None


def test_each_question_gets_the_expected_verdict(tmp_path: Path, corpus: Path) -> None:
    cache = PaperCache()
    assert check_question(GOOD, corpus, cache) == []

    missing = check_question(MISSING_QUOTE, corpus, cache)
    assert len(missing) == 1 and "quote not found" in missing[0]

    unanswerable = check_question(UNANSWERABLE_WITH_ANSWERS, corpus, cache)
    assert unanswerable == ["unanswerable question has answers"]


def test_validate_file_reports_problems_by_id(tmp_path: Path, corpus: Path) -> None:
    questions = write_questions(
        tmp_path / "questions.jsonl", [GOOD, MISSING_QUOTE, UNANSWERABLE_WITH_ANSWERS]
    )
    report = validate_file(questions, corpus)
    assert report.questions == 3
    assert report.answers == 3
    assert not report.ok
    assert {p.qid for p in report.problems} == {"t002", "t003"}
    assert all(p.line in (2, 3) for p in report.problems)


def test_validate_file_flags_duplicate_ids_bad_type_and_bad_json(
    tmp_path: Path, corpus: Path
) -> None:
    bad_type = dict(GOOD, id="t004", type="trivia")
    path = tmp_path / "questions.jsonl"
    path.write_text(
        json.dumps(GOOD) + "\n" + json.dumps(GOOD) + "\n" + json.dumps(bad_type) + "\n{oops\n",
        encoding="utf-8",
    )
    messages = [str(p) for p in validate_file(path, corpus).problems]
    assert any("duplicate id" in m for m in messages)
    assert any("type 'trivia'" in m for m in messages)
    assert any(m.startswith("line 4") and "invalid JSON" in m for m in messages)


def test_main_exit_codes(tmp_path: Path, corpus: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = write_questions(tmp_path / "good.jsonl", [GOOD])
    assert main([str(good), "--corpus", str(corpus)]) == 0
    assert capsys.readouterr().out.startswith("OK:")

    bad = write_questions(tmp_path / "bad.jsonl", [GOOD, MISSING_QUOTE])
    assert main([str(bad), "--corpus", str(corpus)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("line 2 (t002):")
    assert out[-1].startswith("FAILED:")
