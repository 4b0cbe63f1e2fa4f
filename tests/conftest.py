"""Shared test helpers: where things are, how to run the CLI, and results in a comparable form."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO / "samples"
# Small papers, fastest first: a 6 KB and a 17 KB text export, a 17-page PDF of minutes.
SEFTON_UPDATE = SAMPLES / "sefton" / "004_ef26fe128a3892ff.txt"
SEFTON_SMALL = SAMPLES / "sefton" / "002_5b7ea09f819c7cd5.txt"
SEFTON_MEDIUM = SAMPLES / "sefton" / "003_ad821aef673912d9.txt"
KENT_MINUTES = SAMPLES / "kent" / "cabinet" / "2025-01-30" / "Printed minutes 30th-Jan-2025 10.00 Cabinet.pdf"
# A sentence from SEFTON_UPDATE, word for word.
UPDATE_SENTENCE = (
    "The Improvement Board has convened four times since the last Group meeting "
    "and is now held monthly."
)


def cli_command() -> list[str]:
    """The installed console script, or the module when the venv has none."""
    script = Path(sys.executable).parent / "committee-qa"
    return [str(script)] if script.exists() else [sys.executable, "-m", "qa.cli"]


def cli_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", TOKENIZERS_PARALLELISM="false")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH", "")]))
    return env


def results(index, questions: list[str], retrievers=("bm25", "dense", "hybrid"), k: int = 5) -> list:
    """What an index answers, as plain data two runs can be compared on."""
    from qa.retrieve import search

    return [
        [(h.passage.id, h.passage.source, round(h.score, 6)) for h in search(index, q, k=k, retriever=r)]
        for q in questions
        for r in retrievers
    ]


@pytest.fixture(scope="session")
def real_embedder():
    """The bundled sentence-transformers model, loaded once for the whole run."""
    from index.embed import SentenceTransformerEmbedder

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    return SentenceTransformerEmbedder()


@pytest.fixture(scope="session")
def real_index_dir(tmp_path_factory: pytest.TempPathFactory, real_embedder) -> Path:
    """One small index built with the real model (two Sefton text exports, ~10 s), shared by
    every integration test that only reads it."""
    import shutil

    from index.folder import ingest

    root = tmp_path_factory.mktemp("real-index")
    papers = root / "papers"
    papers.mkdir()
    for p in (SEFTON_UPDATE, SEFTON_SMALL):
        shutil.copyfile(p, papers / p.name)
    ingest([papers], root / "index", real_embedder)
    return root / "index"


@pytest.fixture(scope="session", autouse=True)
def _tests_leave_no_published_papers():
    """The app publishes each index's PDFs in a folder of its own under static/papers; the
    tests' indexes live in temporary folders, so theirs are taken down when the run ends
    (what a `make run` app on the same checkout serves is left alone)."""
    import shutil

    papers = REPO / "static" / "papers"
    before = set(os.listdir(papers)) if papers.is_dir() else set()
    yield
    for name in (set(os.listdir(papers)) if papers.is_dir() else set()) - before:
        if (papers / name).is_dir():
            shutil.rmtree(papers / name, ignore_errors=True)
