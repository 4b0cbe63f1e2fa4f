"""What an evaluation reads: question sets (JSON Lines, shared/eval/README.md) and the run
files ``committee-qa search --json`` / ``ask --json`` print, one object a line.

The one reader of question files in ``eval``: the harness, ``eval.score``, the benchmark
and the trainers all read them here.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Any

__all__ = ["QuestionSetError", "load_jsonl", "load_run", "load_questions", "question_texts"]

Record = dict[str, Any]


def load_jsonl(path: str | Path) -> list[dict[str, Any]]:
    """Objects of a JSON Lines file, each with an id; blank lines skipped, errors name the line."""
    from qa.render import jsonl_objects

    return [obj for _, obj in jsonl_objects(path, "id")]


def load_run(path: str | Path) -> dict[str, dict[str, Any]]:
    """A run file as question id -> its record; a repeated id is an error."""
    run: dict[str, dict[str, Any]] = {}
    for rec in load_jsonl(path):
        qid = str(rec["id"])
        if qid in run:
            raise ValueError(f"{path}: question {qid!r} appears twice")
        run[qid] = rec
    return run


class QuestionSetError(ValueError):
    """A question file that cannot be evaluated; the message lists what to fix."""


def _iso(value: Any) -> bool:
    try:
        date.fromisoformat(value)
    except (TypeError, ValueError):
        return False
    return True


def _problems(q: Mapping[str, Any]) -> list[str]:
    """What is wrong with one question object (the README's format)."""
    out = []
    if not isinstance(q.get("question"), str) or not q["question"].strip():
        out.append("no 'question' text")
    if "type" in q and not isinstance(q["type"], str):
        out.append("'type' must be a string")
    if "meeting_date" in q and q["meeting_date"] is not None and not _iso(q["meeting_date"]):
        out.append(f"'meeting_date' {q['meeting_date']!r} is not an ISO date (YYYY-MM-DD)")
    gold = q.get("answers")
    if not isinstance(gold, list):
        return [*out, "no 'answers' list (give [] for an unanswerable question)"]
    for i, a in enumerate(gold):
        if not isinstance(a, Mapping) or not isinstance(a.get("quote"), str) or not a["quote"].strip():
            out.append(f"answers[{i}] needs a non-empty 'quote'")
            continue
        page = a.get("page")
        if page is not None and (isinstance(page, bool) or not isinstance(page, int) or page < 1):
            out.append(f"answers[{i}]: 'page' must be a 1-based page number, got {page!r}")
        if a.get("meeting_date") is not None and not _iso(a["meeting_date"]):
            out.append(f"answers[{i}]: 'meeting_date' {a['meeting_date']!r} is not an ISO date")
    return out


def load_questions(path: str | Path) -> list[Record]:
    """A question set (JSON Lines, shared/eval/README.md), checked whole before anything
    runs: every problem is listed at once, so a long evaluation never dies half-way."""
    path = Path(path)
    if not path.is_file():
        raise QuestionSetError(f"no question set at {path}: pass --questions FILE (JSON Lines, one question a line)")
    try:
        questions = load_jsonl(path)
    except (ValueError, UnicodeDecodeError) as err:
        raise QuestionSetError(f"{err}; each line must be one JSON object with an 'id'") from None
    if not questions:
        raise QuestionSetError(f"{path} holds no questions")
    problems, seen = [], set()
    for n, q in enumerate(questions, start=1):
        qid = str(q["id"])
        problems += [f"question {qid!r} (object {n}): {p}" for p in _problems(q)]
        if qid in seen:
            problems.append(f"question id {qid!r} appears twice (object {n})")
        seen.add(qid)
    if problems:
        shown = "\n  ".join(problems[:10]) + (f"\n  … and {len(problems) - 10} more" if len(problems) > 10 else "")
        raise QuestionSetError(f"{path}: {len(problems)} problem(s); fix them and run again:\n  {shown}")
    return questions


def question_texts(path: Path) -> list[str]:
    """The question texts of a question set, whitespace-normalised as ``qa.query`` does."""
    from qa.query import clean_question

    with path.open(encoding="utf-8") as f:
        return [clean_question(json.loads(line)["question"]) for line in f if line.strip()]
