"""Check a question set (JSON Lines) against the papers it quotes.

Every line of the question file must be a JSON object with ``id``, ``type``,
``question``, ``answers`` and ``answer``.  The script checks that:

- the line is valid JSON with the required fields, of the right kinds;
- ``type`` is one of ``paraphrase``, ``lexical``, ``numeric``, ``decision``,
  ``multi``, ``unanswerable``;
- ids are unique;
- a question is ``unanswerable`` exactly when its ``answers`` list is empty;
- every answer's ``doc`` resolves to a paper under the corpus folder
  (``doc`` + ``.pdf`` / ``.txt`` / ``.md``, or, when ``doc`` has no slash, a file
  with that stem anywhere under the folder);
- every answer's ``quote`` stands in that paper: for a PDF on the given 1-based
  ``page`` (anywhere in the PDF when no page is given), for a text file anywhere.

Quotes and paper text are compared after normalisation (NFKC, curly quotes and
dashes folded to ASCII, lowercase, all runs of whitespace collapsed to one
space).  Because pypdf sometimes drops or inserts spaces, a match after removing
all whitespace is accepted as well.  PDF text is extracted with
``pypdf.PdfReader(path).pages[i].extract_text()``.

Usage::

    python eval/validate_questions.py eval/questions/kent-dev.jsonl \\
        --corpus /work/shared/corpus/kent

It prints one line per problem and a summary line, and exits 1 when there is
any problem, 0 otherwise.
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import sys
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from pypdf import PdfReader

QUESTION_TYPES: frozenset[str] = frozenset(
    {"paraphrase", "lexical", "numeric", "decision", "multi", "unanswerable"}
)
REQUIRED_FIELDS: tuple[str, ...] = ("id", "type", "question", "answers", "answer")
PAPER_SUFFIXES: tuple[str, ...] = (".pdf", ".txt", ".md")

_FOLD = str.maketrans(
    {
        "\u2018": "'",  # left single quotation mark
        "\u2019": "'",  # right single quotation mark
        "\u201a": "'",  # single low-9 quotation mark
        "\u201b": "'",  # single high-reversed-9 quotation mark
        "\u2032": "'",  # prime
        "\u00b4": "'",  # acute accent
        "`": "'",
        "\u201c": '"',  # left double quotation mark
        "\u201d": '"',  # right double quotation mark
        "\u201e": '"',  # double low-9 quotation mark
        "\u201f": '"',  # double high-reversed-9 quotation mark
        "\u2033": '"',  # double prime
        "\u00ab": '"',
        "\u00bb": '"',
        "\u2010": "-",  # hyphen
        "\u2011": "-",  # non-breaking hyphen
        "\u2012": "-",  # figure dash
        "\u2013": "-",  # en dash
        "\u2014": "-",  # em dash
        "\u2015": "-",  # horizontal bar
        "\u2212": "-",  # minus sign
        "\u00ad": None,  # soft hyphen
        "\u200b": None,  # zero-width space
        "\ufeff": None,  # byte order mark
    }
)
_WHITESPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class Problem:
    """One problem found in a question file."""

    line: int
    qid: str | None
    message: str

    def __str__(self) -> str:
        where = f"line {self.line}"
        if self.qid is not None:
            where += f" ({self.qid})"
        return f"{where}: {self.message}"


@dataclass
class Report:
    """The outcome of checking one question file."""

    path: Path
    questions: int = 0
    answers: int = 0
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        verdict = "OK" if self.ok else "FAILED"
        return (
            f"{verdict}: {self.path}: {self.questions} questions, {self.answers} answers, "
            f"{len(self.problems)} problem(s)"
        )


def normalise(text: str) -> str:
    """NFKC, fold curly quotes and dashes to ASCII, lowercase, collapse whitespace."""
    text = unicodedata.normalize("NFKC", text).translate(_FOLD).lower()
    return _WHITESPACE.sub(" ", text).strip()


def squash(text: str) -> str:
    """Normalise and then remove all whitespace."""
    return _WHITESPACE.sub("", normalise(text))


def quote_in_text(quote: str, text: str) -> bool:
    """True when ``quote`` stands in ``text`` after normalisation, or after squashing."""
    if normalise(quote) in normalise(text):
        return True
    squashed = squash(quote)
    return bool(squashed) and squashed in squash(text)


class PaperCache:
    """Reads papers once: a PDF as a list of page texts, a text file as one page."""

    def __init__(self) -> None:
        self._pages: dict[Path, list[str]] = {}

    def pages(self, path: Path) -> list[str]:
        if path not in self._pages:
            self._pages[path] = read_pages(path)
        return self._pages[path]


def read_pages(path: Path) -> list[str]:
    """The text of a paper, one string per PDF page (a text file is one page)."""
    if path.suffix.lower() == ".pdf":
        reader = PdfReader(path)
        return [page.extract_text() or "" for page in reader.pages]
    return [path.read_text(encoding="utf-8", errors="replace")]


def resolve_doc(doc: str, corpus: Path) -> Path | None:
    """The paper file ``doc`` names under ``corpus``, or None.

    ``doc`` is a path relative to ``corpus`` without extension (or with one), or,
    when it has no slash, a file stem that may stand anywhere under ``corpus``.
    """
    if not doc.strip():
        return None
    exact = corpus / doc
    for suffix in PAPER_SUFFIXES:
        candidate = corpus / (doc + suffix)
        if candidate.is_file():
            return candidate
    if exact.is_file() and exact.suffix.lower() in PAPER_SUFFIXES:
        return exact
    if "/" not in doc:
        matches = sorted(
            p
            for p in corpus.rglob("*")
            if p.is_file()
            and p.suffix.lower() in PAPER_SUFFIXES
            and (p.stem == doc or p.name == doc)
        )
        if matches:
            # Prefer a PDF, then a text export, when the same stem appears twice.
            matches.sort(key=lambda p: PAPER_SUFFIXES.index(p.suffix.lower()))
            return matches[0]
    return None


def check_answer(answer: object, index: int, corpus: Path, cache: PaperCache) -> list[str]:
    """Problems with one entry of a question's ``answers`` list (messages only)."""
    label = f"answers[{index}]"
    if not isinstance(answer, dict):
        return [f"{label} is not an object"]
    problems: list[str] = []
    doc = answer.get("doc")
    quote = answer.get("quote")
    page = answer.get("page")
    if not isinstance(doc, str) or not doc.strip():
        problems.append(f"{label}: missing or empty 'doc'")
    if not isinstance(quote, str) or not quote.strip():
        problems.append(f"{label}: missing or empty 'quote'")
    if page is not None and (isinstance(page, bool) or not isinstance(page, int) or page < 1):
        problems.append(f"{label}: 'page' must be a positive integer, got {page!r}")
        page = None
    if problems:
        return problems
    assert isinstance(doc, str) and isinstance(quote, str)
    path = resolve_doc(doc, corpus)
    if path is None:
        return [f"{label}: doc {doc!r} not found under {corpus}"]
    try:
        pages = cache.pages(path)
    except Exception as exc:  # noqa: BLE001 - report unreadable papers, do not crash
        return [f"{label}: cannot read {path}: {exc}"]
    is_pdf = path.suffix.lower() == ".pdf"
    if is_pdf and page is not None:
        if page > len(pages):
            return [f"{label}: page {page} out of range ({doc!r} has {len(pages)} pages)"]
        if quote_in_text(quote, pages[page - 1]):
            return []
        elsewhere = [i + 1 for i, text in enumerate(pages) if quote_in_text(quote, text)]
        hint = f" (found on page(s) {elsewhere})" if elsewhere else ""
        return [f"{label}: quote not on page {page} of {doc!r}{hint}: {quote[:80]!r}"]
    if any(quote_in_text(quote, text) for text in pages):
        return []
    return [f"{label}: quote not found in {doc!r}: {quote[:80]!r}"]


def check_question(record: object, corpus: Path, cache: PaperCache) -> list[str]:
    """Problems with one parsed question object (messages only; ids checked elsewhere)."""
    if not isinstance(record, dict):
        return ["line is not a JSON object"]
    problems: list[str] = []
    missing = [name for name in REQUIRED_FIELDS if name not in record]
    if missing:
        problems.append(f"missing field(s): {', '.join(missing)}")
    qid = record.get("id")
    if "id" in record and (not isinstance(qid, str) or not qid.strip()):
        problems.append("'id' must be a non-empty string")
    qtype = record.get("type")
    if "type" in record and qtype not in QUESTION_TYPES:
        problems.append(f"type {qtype!r} not one of {sorted(QUESTION_TYPES)}")
    question = record.get("question")
    if "question" in record and (not isinstance(question, str) or not question.strip()):
        problems.append("'question' must be a non-empty string")
    if "answer" in record and not isinstance(record.get("answer"), str):
        problems.append("'answer' must be a string")
    meeting_date = record.get("meeting_date")
    if meeting_date is not None:
        if not isinstance(meeting_date, str):
            problems.append(f"'meeting_date' must be an ISO date string, got {meeting_date!r}")
        else:
            try:
                date.fromisoformat(meeting_date)
            except ValueError:
                problems.append(f"'meeting_date' {meeting_date!r} is not an ISO date")
    answers = record.get("answers")
    if "answers" in record and not isinstance(answers, list):
        problems.append("'answers' must be a list")
        answers = None
    if isinstance(answers, list) and qtype in QUESTION_TYPES:
        if qtype == "unanswerable" and answers:
            problems.append("unanswerable question has answers")
        if qtype != "unanswerable" and not answers:
            problems.append(f"{qtype} question has no answers")
    if isinstance(answers, list):
        for index, answer in enumerate(answers):
            problems.extend(check_answer(answer, index, corpus, cache))
    return problems


def validate_file(path: Path, corpus: Path, cache: PaperCache | None = None) -> Report:
    """Check every line of a question file against the papers under ``corpus``."""
    cache = cache if cache is not None else PaperCache()
    report = Report(path=path)
    seen: dict[str, int] = {}
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        report.problems.append(Problem(0, None, f"cannot read question file: {exc}"))
        return report
    if not corpus.is_dir():
        report.problems.append(Problem(0, None, f"corpus folder {corpus} not found"))
        return report
    for lineno, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        report.questions += 1
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            report.problems.append(Problem(lineno, None, f"invalid JSON: {exc}"))
            continue
        qid = record.get("id") if isinstance(record, dict) else None
        qid_text = qid if isinstance(qid, str) else None
        if qid_text is not None:
            if qid_text in seen:
                report.problems.append(
                    Problem(lineno, qid_text, f"duplicate id (first on line {seen[qid_text]})")
                )
            else:
                seen[qid_text] = lineno
        if isinstance(record, dict) and isinstance(record.get("answers"), list):
            report.answers += len(record["answers"])
        for message in check_question(record, corpus, cache):
            report.problems.append(Problem(lineno, qid_text, message))
    return report


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Check a question set's format and that every quote stands in its paper."
    )
    parser.add_argument("questions", type=Path, help="question file (JSON Lines)")
    parser.add_argument(
        "--corpus", type=Path, required=True, help="folder the answers' doc paths are relative to"
    )
    args = parser.parse_args(argv)
    logging.getLogger("pypdf").setLevel(logging.ERROR)
    report = validate_file(args.questions, args.corpus)
    for problem in report.problems:
        print(problem)
    print(report.summary())
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
