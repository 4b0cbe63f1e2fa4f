"""Eight threads asking at once through one opened index get what one asker gets alone.

The index is opened once and shared (as the app does); each thread asks every question
with every retriever, in its own shuffled order, all released together by a barrier.
The answers are compared with those of a separately opened index asked one at a time.
"""

from __future__ import annotations

import random
import shutil
import threading
from pathlib import Path

import pytest
from conftest import SEFTON_SMALL, SEFTON_UPDATE, UPDATE_SENTENCE

from index.embed import HashingEmbedder
from index.folder import ingest, open_index
from index.model import Filters
from qa.retrieve import retriever_names, search

THREADS = 8
QUESTIONS = [
    UPDATE_SENTENCE,
    "How often does the Improvement Board meet?",
    "children missing or at risk of sexual exploitation",
    "What did the committee decide about the budget?",
    "foster carers association",
    "workforce development and social worker recruitment",
    "Ofsted inspection",
]
FILTERS = [Filters(), Filters(docs=(SEFTON_UPDATE.stem,))]


def outcome(index, question: str, retriever: str, filters: Filters):
    """What one search gives: the ranked ids and scores, or the error it raised."""
    try:
        hits = search(index, question, k=5, retriever=retriever, filters=filters)
    except Exception as err:  # noqa: BLE001 - an error must be the same error alone or at once
        return ("error", type(err).__name__, str(err))
    return ("hits", [(h.passage.id, h.score, tuple(loc.source for loc in h.also_in)) for h in hits])


def same(a, b, tol: float = 1e-5) -> bool:
    if a[0] != b[0] or a[0] == "error":
        return a == b
    return len(a[1]) == len(b[1]) and all(
        x[0] == y[0] and x[2] == y[2] and abs(x[1] - y[1]) <= tol for x, y in zip(a[1], b[1], strict=True)
    )


def tasks() -> list[tuple[str, str, Filters]]:
    return [(q, r, f) for q in QUESTIONS for r in retriever_names() for f in FILTERS]


def run_concurrently(index_dir: Path, embedder, rounds: int) -> None:
    alone_index = open_index(index_dir, embedder)
    alone = {t: outcome(alone_index, *t) for t in tasks()}
    assert all(o[0] == "hits" for o in alone.values()), [o for o in alone.values() if o[0] != "hits"]
    assert sum(1 for o in alone.values() if o[1]) >= len(alone) // 2

    shared = open_index(index_dir, embedder)  # fresh: caches fill under contention
    barrier = threading.Barrier(THREADS)
    got: list[list] = [[] for _ in range(THREADS)]
    crashed: list[BaseException] = []

    def asker(n: int) -> None:
        order = tasks() * rounds
        random.Random(n).shuffle(order)
        try:
            barrier.wait(timeout=60)
            for t in order:
                got[n].append((t, outcome(shared, *t)))
        except BaseException as err:  # noqa: BLE001 - reported below
            crashed.append(err)

    threads = [threading.Thread(target=asker, args=(n,)) for n in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(240)
    assert not any(t.is_alive() for t in threads), "a thread hung"
    assert not crashed, crashed
    differ = [(n, t) for n in range(THREADS) for t, o in got[n] if not same(o, alone[t])]
    assert sum(len(g) for g in got) == THREADS * rounds * len(tasks())
    assert not differ, f"{len(differ)} answers differ from asking alone, e.g. {differ[:3]}"


@pytest.fixture(scope="module")
def hashing_index_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("conc")
    papers = root / "papers"
    papers.mkdir()
    for p in (SEFTON_UPDATE, SEFTON_SMALL):
        shutil.copyfile(p, papers / p.name)
    ingest([papers], root / "index", HashingEmbedder(dim=64))
    return root / "index"


def test_eight_threads_same_as_one_hashing(hashing_index_dir: Path) -> None:
    run_concurrently(hashing_index_dir, HashingEmbedder(dim=64), rounds=3)


@pytest.mark.integration
def test_eight_threads_same_as_one_real_model(real_index_dir: Path, real_embedder) -> None:
    run_concurrently(real_index_dir, real_embedder, rounds=1)


def test_eight_threads_same_as_one_on_an_inverted_file_through_the_selector(tmp_path: Path, monkeypatch) -> None:
    """The large-index paths: an IVF index, and every filter through FAISS's selector."""
    from index import folder as retrieve
    from index import folder as store

    papers = tmp_path / "papers"
    papers.mkdir()
    for p in (SEFTON_UPDATE, SEFTON_SMALL):
        shutil.copyfile(p, papers / p.name)
    monkeypatch.setattr(store, "ANN_ABOVE", 10)
    monkeypatch.setattr(retrieve, "BRUTE_FORCE_UNITS_IVF", 0)
    ingest([papers], tmp_path / "index", HashingEmbedder(dim=64))
    assert type(open_index(tmp_path / "index", HashingEmbedder(dim=64)).faiss_index).__name__ == "IndexIVFFlat"
    run_concurrently(tmp_path / "index", HashingEmbedder(dim=64), rounds=2)
