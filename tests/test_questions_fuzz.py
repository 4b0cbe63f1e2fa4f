"""Any question at all: hits, or a BadQuestion that says what is wrong — never a crash.

Property tests run on a small HashingEmbedder index (built once for the module). The
command-line tests need the real model, since ``committee-qa search`` embeds questions with
it and refuses an index built with another model (which is tested too).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import SEFTON_SMALL, SEFTON_UPDATE, UPDATE_SENTENCE, cli_command, cli_env
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from index.embed import HashingEmbedder
from index.folder import ingest, open_index
from qa.query import MAX_QUESTION_CHARS, BadQuestion
from qa.retrieve import retriever_names, search

LONG = (" ".join(["How many children were waiting for an assessment?"] * 250))[:9_999] + "?"
assert len(" ".join(LONG.split())) == 10_000
WHITESPACE = " \t\n\r\x0b\x0c\x1c\x1d\x1e\x1f\x85\xa0\u1680\u2000\u2003\u2028\u2029\u202f\u205f\u3000"
# Pieces that have tripped question parsers: dates in odd scripts and case forms (ſ folds
# to s, K to k, İ to i under re.IGNORECASE), Unicode digits, tags, quotes, regex syntax.
TRICKY = [
    "1", "31st", "4", "2023", "٢٠٢٣", "٣", "𝟐𝟎𝟐𝟑", "²", "½", "March", "MARCH", "ſeptember",
    "ſep", "Sept", "DEC", "İ", "\u212a", "since", "after", "from", "and", "Cabinet",
    "Overview and Scrutiny Committee", "MASH", "(", ")", "[", "\\", "*", "?", "<b>", "</p>",
    "’s", "'", "\x00", "\u200b", "\u202e", "e\u0301", "🙂", "-", "–", ",", "budget",
]


def check(index, question: str, retriever: str = "hybrid") -> None:
    try:
        hits = search(index, question, k=5, retriever=retriever)
    except BadQuestion as err:
        message = str(err)
        assert message and "\n" not in message and len(message) < 300, message
        assert "question" in message
        return
    assert isinstance(hits, list) and len(hits) <= 5
    if hits:
        assert all(h.passage.text for h in hits)


@pytest.fixture(scope="module")
def small_index(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("fuzz")
    papers = root / "papers"
    papers.mkdir()
    for p in (SEFTON_UPDATE, SEFTON_SMALL):
        shutil.copyfile(p, papers / p.name)
    ingest([papers], root / "index", HashingEmbedder(dim=64))
    return open_index(root / "index", HashingEmbedder(dim=64))


FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@FUZZ
@given(question=st.text(), retriever=st.sampled_from(retriever_names()))
@example(question="", retriever="hybrid")
@example(question="   \t\n ", retriever="hybrid")
@example(question=LONG, retriever="hybrid")
@example(question="?!…", retriever="hybrid")
def test_any_unicode_question(small_index, question: str, retriever: str) -> None:
    check(small_index, question, retriever)


@FUZZ
@given(question=st.text(st.characters(exclude_categories=()), max_size=50))
@example(question="caf\udce9 budget")  # what Python makes of a Latin-1 byte in argv
@example(question="\ud800")
def test_any_code_point_even_lone_surrogates(small_index, question: str) -> None:
    check(small_index, question)


@FUZZ
@given(question=st.lists(st.sampled_from(TRICKY), max_size=8).map(" ".join))
@example(question="What did Cabinet decide on 1 ſeptember 2023?")
@example(question="minutes of ſep 2023")
@example(question="since ٢٠٢٣")
def test_tricky_pieces(small_index, question: str) -> None:
    check(small_index, question)


@FUZZ
@given(question=st.text(alphabet=WHITESPACE))
def test_whitespace_only_is_an_empty_question(small_index, question: str) -> None:
    with pytest.raises(BadQuestion, match="empty"):
        search(small_index, question)


@FUZZ
@given(n=st.integers(MAX_QUESTION_CHARS + 1, 10_000), words=st.sampled_from(["budget ", "é", "x" * 50 + " "]))
def test_too_long_is_refused_with_the_limit(small_index, n: int, words: str) -> None:
    question = (words * n)[:n]
    with pytest.raises(BadQuestion) as info:
        search(small_index, question)
    assert f"{MAX_QUESTION_CHARS:,}" in str(info.value)


def test_a_real_question_finds_its_paper(small_index) -> None:
    assert search(small_index, UPDATE_SENTENCE, k=1)[0].passage.source == SEFTON_UPDATE.name


# --- with the real model ------------------------------------------------------------------------

NASTY = [
    "",
    " \u3000\n",
    LONG,
    "caf\udce9 budget",  # a lone surrogate, as from a non-UTF-8 byte in argv
    "What did Cabinet decide on 1 ſeptember 2023?",
    "budget\x00care",
    "\u202ebudget",
    "🙂🙂🙂 children in care 🙂",
    "e\u0301" * 600,
    "(((((" * 100,
]


@pytest.mark.integration
@pytest.mark.parametrize("question", NASTY, ids=range(len(NASTY)))
def test_nasty_questions_real_model(real_index_dir: Path, real_embedder, question: str) -> None:
    index = open_index(real_index_dir, real_embedder)
    check(index, question)


def cli_search(*args, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*cli_command(), "search", *args],
        capture_output=True,
        timeout=timeout,
        env=cli_env(),
        stdin=subprocess.DEVNULL,
    )


def one_line_error(proc: subprocess.CompletedProcess) -> str:
    err = proc.stderr.decode("utf-8", "replace")
    assert "Traceback" not in err, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("committee-qa: "), err
    return lines[0]


@pytest.mark.integration
@pytest.mark.parametrize(
    "question, says",
    [("", "empty"), ("   ", "empty"), (LONG, "10,000 characters")],
    ids=["empty", "whitespace", "10000-chars"],
)
def test_cli_bad_question_exits_1_with_one_line(real_index_dir: Path, question: str, says: str) -> None:
    proc = cli_search(question, "--index", str(real_index_dir))
    assert proc.returncode == 1, proc.stderr
    assert says in one_line_error(proc)
    assert proc.stdout == b""


@pytest.mark.integration
@pytest.mark.parametrize(
    "question",
    ["What did Cabinet decide on 1 ſeptember 2023?".encode(), b"caf\xe9 budget"],
    ids=["long-s-date", "latin1-byte-in-argv"],
)
def test_cli_odd_question_answers_or_explains(real_index_dir: Path, question: bytes) -> None:
    proc = cli_search(question, "--index", str(real_index_dir), "--k", "3")
    err = proc.stderr.decode("utf-8", "replace")
    assert "Traceback" not in err, err
    assert proc.returncode in (0, 1), err
    if proc.returncode == 1:
        one_line_error(proc)


@pytest.mark.integration
def test_cli_question_file_reports_bad_lines_and_goes_on(real_index_dir: Path, tmp_path: Path) -> None:
    questions = tmp_path / "q.jsonl"
    rows = [("empty", ""), ("blank", " \t "), ("long", LONG), ("good", UPDATE_SENTENCE)]
    questions.write_text("".join(json.dumps({"id": i, "question": q}) + "\n" for i, q in rows))
    proc = cli_search("--index", str(real_index_dir), "--questions", str(questions), "--k", "3", timeout=180)
    assert proc.returncode == 0, proc.stderr
    out = {a["id"]: a for a in map(json.loads, proc.stdout.decode().splitlines())}
    assert list(out) == [i for i, _ in rows]
    for i in ("empty", "blank", "long"):
        assert out[i]["passages"] == [] and out[i]["error"] and "\n" not in out[i]["error"]
    assert out["good"]["passages"][0]["source"] == SEFTON_UPDATE.name and "error" not in out["good"]


def test_cli_refuses_index_built_with_another_model(small_index) -> None:
    proc = cli_search(UPDATE_SENTENCE, "--index", str(small_index.path))
    assert proc.returncode == 3, proc.stderr
    line = one_line_error(proc)
    assert "hashing-64" in line and "all-MiniLM-L6-v2" in line
