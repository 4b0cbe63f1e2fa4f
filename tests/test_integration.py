"""The command line that evaluation scripts use, end to end with the real model on real papers."""

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from conftest import cli_command, cli_env

REPO = Path(__file__).resolve().parent.parent
UPDATE = REPO / "samples" / "sefton" / "004_ef26fe128a3892ff.txt"
MINUTES = REPO / "tests" / "data" / "kent-cabinet-printed-minutes-2025-01-30.pdf"
FIELDS = {"text", "source", "doc", "page", "page_end", "printed_page", "committee", "meeting_date", "agenda_item", "item_title", "score"}

pytestmark = pytest.mark.integration


def run(*args, stdin=None):
    return subprocess.run(cli_command() + list(args), capture_output=True, text=True, env=cli_env(), input=stdin, timeout=600)


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory):
    papers = tmp_path_factory.mktemp("papers")
    shutil.copy(UPDATE, papers / UPDATE.name)
    (papers / "kent").mkdir()
    shutil.copy(MINUTES, papers / "kent" / MINUTES.name)
    out = tmp_path_factory.mktemp("index") / "idx"
    done = run("ingest", str(papers), "--index", str(out))
    assert done.returncode == 0, done.stderr
    assert "2 papers" in done.stderr
    return out


@pytest.fixture
def questions(tmp_path):
    path = tmp_path / "q.jsonl"
    lines = [
        {"id": "a", "question": "How many children had been adopted by November 2021 and how many were waiting?"},
        {"id": "b", "question": "Is the council having to find more money for the Oracle finance system?"},
        {"id": "c", "question": ""},
    ]
    path.write_text("".join(json.dumps(q) + "\n" for q in lines))
    return path


def test_search_json_lines_in_input_order_with_every_field(index_dir, questions):
    done = run("search", "--index", str(index_dir), "--questions", str(questions), "--k", "5", "--json")
    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    assert [r["id"] for r in rows] == ["a", "b", "c"]
    assert all(FIELDS <= set(p) for r in rows[:2] for p in r["passages"])
    assert len(rows[0]["passages"]) == 5
    top_a = rows[0]["passages"][0]
    assert "14 children have been adopted" in top_a["text"] and top_a["doc"] == UPDATE.stem
    oracle = [p for p in rows[1]["passages"] if "Oracle" in p["text"]]
    assert oracle and oracle[0]["source"] == f"kent/{MINUTES.name}" and oracle[0]["committee"] == "Cabinet"
    assert oracle[0]["meeting_date"] == "2025-01-30" and oracle[0]["page"] is not None
    # An empty question in a batch is answered with an error, not a crash of the batch.
    assert rows[2]["passages"] == [] and "empty" in rows[2]["error"]


def test_ask_json_contract(index_dir, questions):
    done = run("ask", "--index", str(index_dir), "--questions", str(questions), "--json")
    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    assert [r["id"] for r in rows] == ["a", "b", "c"]
    first = rows[0]
    assert first["abstained"] is False
    assert "14 children have been adopted" in first["quotes"][0]["text"]
    assert FIELDS - {"score"} <= set(first["quotes"][0])


def test_ask_for_a_person_reads_quotes_with_citations(index_dir):
    done = run("ask", "--index", str(index_dir), "How many children were waiting to be adopted?")
    assert done.returncode == 0
    assert "“" in done.stdout and "16 November 2021" in done.stdout


def test_exit_codes_scripts_rely_on(index_dir, tmp_path):
    empty = run("search", "--index", str(index_dir), "   ")
    assert empty.returncode == 1 and "empty" in empty.stderr and "Traceback" not in empty.stderr
    long = run("search", "--index", str(index_dir), "word " * 2500)
    assert long.returncode == 1 and "characters long" in long.stderr
    missing = run("search", "--index", str(tmp_path / "none"), "children")
    assert missing.returncode == 3 and "committee-qa ingest" in missing.stderr
    nothing = run("search", "--index", str(index_dir), "children", "--committee", "Planning Committee")
    assert nothing.returncode == 1 and "no indexed passage matches" in nothing.stderr


def test_chat_follow_up(index_dir):
    done = run("chat", "--index", str(index_dir), stdin="How many children were adopted?\nonly Cabinet\n")
    assert done.returncode == 0, done.stderr
    assert "16 November 2021" in done.stdout
    assert "Cabinet" in done.stdout.split("16 November 2021")[-1]


@pytest.mark.integration
def test_a_question_encodes_on_one_thread_to_the_same_vector(real_embedder):
    import torch

    threads = torch.get_num_threads()
    questions = ["How many children were adopted?", "What did Cabinet decide about the budget?"] * 3
    one_by_one = np.stack([real_embedder.encode([q])[0] for q in questions])  # one thread each
    batch = real_embedder.encode(questions)  # six texts: every thread
    assert torch.get_num_threads() == threads  # restored after each short encode
    assert np.allclose(one_by_one, batch, atol=1e-5)
