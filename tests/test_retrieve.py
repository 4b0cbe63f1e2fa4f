"""Index round trips, incremental ingest, filters, de-duplication and fusion — on real papers
with the deterministic HashingEmbedder (the real model is exercised in test_integration.py)."""

import json
import math
import shutil
from pathlib import Path

import numpy as np
import pytest

from index import folder as store
from index.embed import HashingEmbedder
from index.folder import Index, current_version, ingest, ivf_lists, ivf_probes, open_index
from index.ingest import learn_acronyms
from index.model import Filters, Passage
from index.store import IndexMismatch, IndexMissing, NoMatchingPassages
from index.tokens import bm25_tokens
from qa import retrieve
from qa.fusion import convex, fusion, minmax, rrf
from qa.retrieve import Question, idf, search

REPO = Path(__file__).resolve().parent.parent
UPDATE = REPO / "samples" / "sefton" / "004_ef26fe128a3892ff.txt"
REPORT = REPO / "samples" / "sefton" / "002_5b7ea09f819c7cd5.txt"
ADOPTION = "This year to date 14 children have been adopted"


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    papers = tmp_path_factory.mktemp("papers")
    shutil.copy(UPDATE, papers / UPDATE.name)
    shutil.copy(REPORT, papers / REPORT.name)
    index_dir = tmp_path_factory.mktemp("index") / "idx"
    report = ingest([papers], index_dir, HashingEmbedder(64))
    return papers, index_dir, report


def test_ingest_summary_and_manifest(built):
    papers, index_dir, report = built
    assert report.papers == 2 and not report.skipped
    manifest = json.loads((index_dir / "current" / "manifest.json").read_text())
    assert manifest["model"] == {"name": "hashing-64", "dim": 64}
    assert {p["source"] for p in manifest["papers"]} == {UPDATE.name, REPORT.name}
    assert manifest["counts"]["passages"] == report.passages
    # Every file in the version is listed with a checksum.
    listed = set(manifest["files"])
    assert {"passages.jsonl", "embeddings.npy", "units.npy", "dense.faiss", "papers.jsonl"} <= listed


def test_save_load_gives_the_same_results(built):
    _, index_dir, _ = built
    questions = ["How many children have been adopted?", "Children's Services Commissioner recommendations"]
    first = open_index(index_dir, HashingEmbedder(64))
    again = open_index(index_dir, HashingEmbedder(64))
    for q in questions:
        for r in ("bm25", "dense", "hybrid", "rerank"):
            a = [(h.passage.id, round(h.score, 6)) for h in search(first, q, k=5, retriever=r)]
            b = [(h.passage.id, round(h.score, 6)) for h in search(again, q, k=5, retriever=r)]
            assert a == b and a


def test_a_flat_index_serves_its_vectors_in_place(built):
    _, index_dir, _ = built
    idx = open_index(index_dir, HashingEmbedder(64))
    assert np.array_equal(idx.embeddings, store.load_embeddings(idx.version_dir))
    assert not idx.embeddings.flags.writeable and not idx.embeddings.flags.owndata  # FAISS's own array, not a copy


def test_exact_sentence_comes_first_with_bm25_and_hybrid(built):
    _, index_dir, _ = built
    idx = open_index(index_dir, HashingEmbedder(64))
    for r in ("bm25", "hybrid"):
        hits = search(idx, ADOPTION + " an increase on last year's 7 children", k=3, retriever=r)
        assert ADOPTION in hits[0].passage.text


def test_reingest_unchanged_embeds_nothing_and_prune_drops_gone_files(built, tmp_path):
    papers, index_dir, first = built
    again = ingest([papers], index_dir, HashingEmbedder(64))
    assert again.embedded == 0 and again.unchanged == 2 and again.passages == first.passages
    # Prune needs its own copy: the module's index stays as it was.
    copy = tmp_path / "idx"
    shutil.copytree(index_dir, copy, symlinks=True)
    extra = tmp_path / "more"
    extra.mkdir()
    shutil.copy(UPDATE, extra / "copy-of-update.txt")
    grown = ingest([extra], copy, HashingEmbedder(64))
    assert grown.papers == 3 and grown.added == ["copy-of-update.txt"]
    assert grown.embedded == 0  # identical text: every vector is in the cache
    (extra / "copy-of-update.txt").unlink()
    pruned = ingest([extra], copy, HashingEmbedder(64), prune=True)
    assert pruned.removed == ["copy-of-update.txt"] and pruned.papers == 2


def test_repeated_text_comes_back_once_with_all_its_locations(tmp_path):
    papers = tmp_path / "p"
    (papers / "a").mkdir(parents=True)
    (papers / "b").mkdir()
    shutil.copy(UPDATE, papers / "a" / "update.txt")
    shutil.copy(UPDATE, papers / "b" / "update-again.txt")
    ingest([papers], tmp_path / "idx", HashingEmbedder(64))
    idx = open_index(tmp_path / "idx", HashingEmbedder(64))
    hits = search(idx, ADOPTION, k=5)
    top = [h for h in hits if ADOPTION in h.passage.text]
    assert len(top) == 1
    sources = {top[0].passage.source} | {loc.source for loc in top[0].also_in}
    assert sources == {"a/update.txt", "b/update-again.txt"}


def test_filters_narrow_and_an_empty_filter_says_so(built):
    _, index_dir, _ = built
    idx = open_index(index_dir, HashingEmbedder(64))
    hits = search(idx, "children", k=10, filters=Filters(docs=(REPORT.stem,)))
    assert hits and {h.passage.doc for h in hits} == {REPORT.stem}
    dated = search(idx, "children", k=10, filters=Filters(date_from="2022-01-01"))
    assert dated and all((h.passage.meeting_date or "") >= "2022-01-01" for h in dated)
    with pytest.raises(NoMatchingPassages, match="no indexed passage matches"):
        search(idx, "children", filters=Filters(committees=("Planning Committee",)))


def test_unknown_retriever_lists_the_valid_ones(built):
    _, index_dir, _ = built
    idx = open_index(index_dir, HashingEmbedder(64))
    with pytest.raises(ValueError, match="bm25, dense, hybrid, rerank"):
        search(idx, "children", retriever="magic")


def test_index_built_with_another_model_is_refused(built):
    _, index_dir, _ = built
    with pytest.raises(IndexMismatch, match="hashing-64"):
        open_index(index_dir, HashingEmbedder(32))


def test_missing_index_says_how_to_build_one(tmp_path):
    with pytest.raises(IndexMissing, match="committee-qa ingest"):
        open_index(tmp_path / "nothing", HashingEmbedder(64))


def test_rrf_by_hand():
    # Candidate 0: rank 1 in list a only → 1/61; candidate 1: rank 2 in a, rank 1 in b → 1/62 + 1/61.
    a = np.array([3.0, 1.0, np.nan])
    b = np.array([np.nan, 0.9, 0.8])
    assert rrf([a, b], k=60).tolist() == pytest.approx([1 / 61, 1 / 62 + 1 / 61, 1 / 62])


def test_convex_by_hand():
    # minmax(a) = [1, 0, 0(missing)], minmax(b) = [0(missing), 1, 0]; weights 0.25 / 0.75.
    a = np.array([3.0, 1.0, np.nan])
    b = np.array([np.nan, 0.9, 0.8])
    assert minmax(a).tolist() == [1.0, 0.0, 0.0]
    assert convex([a, b], weights=[0.25, 0.75]).tolist() == pytest.approx([0.25, 0.75, 0.0])
    with pytest.raises(ValueError, match="convex, rrf"):
        fusion("borda")


def test_acronyms_learned_from_the_papers():
    p = Passage(id="x", doc="d", source="d.txt", text="The Multi-Agency Safeguarding Hub (MASH) was set up.", start=0, end=10, page=None, page_end=None)
    assert learn_acronyms([p]) == {"MASH": "Multi-Agency Safeguarding Hub"}


def test_rerank_score_by_hand() -> None:
    from qa.rerank import rerank_score

    # 1.0*0.6 + 0.5*0.5 + 0.4*1.0 + 0.3*0.5 + 0.3*0 + 0.3*0 + 0.6*1.0 = 2.0, the docstring's example
    features = {"best": 0.6, "second": 0.5, "coverage": 1.0, "local": 0.5, "bigrams": 0.0, "numbers": 0.0, "first": 1.0}
    assert rerank_score(features) == pytest.approx(2.0)


def test_local_coverage_wants_the_words_together() -> None:
    from qa.rerank import local_coverage, windows

    weights = {"older": 1.0, "peopl": 1.0, "residenti": 2.0}  # stems, IDF-like weights: total 4
    text = "Older People - Community 35.4 41.7\nAdult - Residential Care 24.5 28.8\nOlder People - Residential Care 97.5 124.9"
    # One unit over the whole table holds all three words; the lines tell the rows apart.
    assert windows(text, [(0, len(text))])[1:] == text.split("\n")
    assert local_coverage(text.split("\n"), weights) == pytest.approx(1.0)  # the third row: 4/4
    assert local_coverage(text.split("\n")[:2], weights) == pytest.approx(0.5)  # 2/4 in either row
    assert local_coverage([], weights) == 0.0


def test_rerank_fit_is_whether_the_best_sentence_holds_the_answer_type(built):
    """A "how many" question: the best-matching sentence of the adoption passage has figures
    (14 children, 7, 16), so it supplies the one type asked for; a question of no type gets 0."""
    from qa.rerank import features
    from qa.retrieve import question_side

    _, index_dir, _ = built
    index = open_index(index_dir, HashingEmbedder(64))
    passage = next(p for p in index.passages if ADOPTION in p.text)
    for question, fit in (("How many children have been adopted this year to date?", 1.0), ("children adopted this year", 0.0)):
        asked = Question(index, question)
        side = question_side(index, asked)
        assert features(passage, index.units([passage])[passage.id], asked.vector, 1.0, side)["fit"] == fit


def test_ivf_sizes_by_hand():
    # 4·√584,202 = 3,057 → nearest power of two 4,096 (2^11.58 rounds to 2^12); 4·√250,001 = 2,000 → 2,048.
    assert ivf_lists(584_202) == 4096 and ivf_lists(250_001) == 2048
    # Below 256 × 16 vectors the lists halve until each has 16 to train on: 159 / 16 = 9.9 → 8.
    assert ivf_lists(4096) == 256 and ivf_lists(4095) == 128 and ivf_lists(159) == 8 and ivf_lists(10) == 1
    assert ivf_probes(4096) == 256 and ivf_probes(2048) == 128 and ivf_probes(256) == 16 and ivf_probes(8) == 8


def test_a_large_index_is_an_inverted_file_searched_as_deep_as_set(built, tmp_path, monkeypatch):
    papers, _, _ = built
    monkeypatch.setattr(store, "ANN_ABOVE", 10)  # these two papers stand in for a large corpus
    ingest([papers], tmp_path / "idx", HashingEmbedder(64))
    idx = open_index(tmp_path / "idx", HashingEmbedder(64))
    assert type(idx.faiss_index).__name__ == "IndexIVFFlat"
    n = len(idx.unit_table)
    assert idx.faiss_index.ntotal == n and idx.faiss_index.nlist == ivf_lists(n) > 1
    assert idx.faiss_index.nprobe == ivf_probes(idx.faiss_index.nlist)
    # The vectors are read out of FAISS by unit id: the rows ingest wrote to embeddings.npy.
    written = store.load_embeddings(idx.version_dir)
    assert np.array_equal(idx.embeddings[[5, 0, n - 1]], written[[5, 0, n - 1]])
    assert np.array_equal(idx.embeddings[2:4], written[2:4]) and idx.embeddings[[]].shape == (0, 64)
    assert ADOPTION in search(idx, ADOPTION, k=3, retriever="dense")[0].passage.text


def test_a_broad_filter_goes_through_faiss_and_agrees_with_scoring_every_unit(built, monkeypatch):
    _, index_dir, _ = built
    idx = open_index(index_dir, HashingEmbedder(64))
    mask = np.array([p.doc == REPORT.stem for p in idx.passages])
    vector = Question(idx, "children in care placements").vector
    every_unit = idx.dense_scores(vector, mask, 20)
    every_passage = idx.dense_scores(vector, mask, len(idx.passages))
    monkeypatch.setattr(store, "BRUTE_FORCE_UNITS", 0)  # any filter now goes through FAISS's selector
    through_faiss = idx.dense_scores(vector, mask, 20)
    # The same 20 best scores (passages tied in score may come in either order), each passage
    # with its own best unit's score, and only passages the filter admits.
    assert len(through_faiss) == len(every_unit) == 20
    assert np.allclose(sorted(through_faiss.values()), sorted(every_unit.values()), atol=1e-5)
    assert all(abs(s - every_passage[i]) < 1e-5 for i, s in through_faiss.items())
    assert all(idx.passages[i].doc == REPORT.stem for i in through_faiss)


def test_a_filter_is_tested_once_per_index_and_its_mask_reused(built):
    _, index_dir, _ = built
    idx = open_index(index_dir, HashingEmbedder(64))
    report_only = Filters(docs=(REPORT.stem,))
    first = idx.mask(report_only)
    assert idx.mask(Filters(docs=(REPORT.stem,))) is first  # an equal filter: the same mask
    assert first.sum() == sum(p.doc == REPORT.stem for p in idx.passages) and not first.flags.writeable
    assert idx.mask(Filters(date_from="2022-01-01")) is not first


def test_the_vectors_outlive_the_index_they_were_read_from(built):
    import gc

    _, index_dir, _ = built
    idx = open_index(index_dir, HashingEmbedder(64))
    vectors, rows = idx.embeddings, idx.embeddings[3:5]
    del idx
    gc.collect()  # the FAISS index must stay alive behind the arrays (else this reads freed memory)
    written = store.load_embeddings(current_version(index_dir))
    assert np.array_equal(vectors, written) and np.array_equal(rows, written[3:5])


def test_an_hnsw_index_of_an_older_version_still_opens_and_searches(built, tmp_path, monkeypatch):
    import faiss

    papers, _, _ = built

    def hnsw(embeddings):  # what build_faiss made above 1M units before the inverted file
        index = faiss.IndexHNSWFlat(embeddings.shape[1], 32, faiss.METRIC_INNER_PRODUCT)
        index.add(np.ascontiguousarray(embeddings, dtype=np.float32))
        return index

    monkeypatch.setattr(store, "build_faiss", hnsw)
    ingest([papers], tmp_path / "idx", HashingEmbedder(64))
    idx = open_index(tmp_path / "idx", HashingEmbedder(64))
    assert idx.faiss_index.hnsw.efSearch == 128
    assert np.array_equal(idx.embeddings[[0, 2]], store.load_embeddings(idx.version_dir)[[0, 2]])
    assert ADOPTION in search(idx, ADOPTION, k=3, retriever="dense")[0].passage.text


def test_unit_vectors_index_like_an_array():
    vectors = np.random.default_rng(0).standard_normal((5000, 8)).astype(np.float32)
    rows = store.unit_vectors(store.build_ivf(vectors))
    mask = np.zeros(5000, dtype=bool)
    mask[[7, 4999]] = True
    assert np.array_equal(rows[mask], vectors[[7, 4999]]) and np.array_equal(rows[-1], vectors[-1])
    assert np.array_equal(rows[[3, 1]], vectors[[3, 1]]) and np.array_equal(rows[10:12], vectors[10:12])


def test_a_filter_searches_proportionally_more_lists_of_an_inverted_file():
    vectors = np.random.default_rng(0).standard_normal((70_000, 16)).astype(np.float32)
    ivf = store.build_ivf(vectors)  # 4·√70,000 = 1,058 → 1,024 lists, 64 searched
    assert (ivf.nlist, ivf.nprobe) == (1024, 64)
    idx = type("FakeIndex", (), {"faiss_index": ivf})()
    tenth = np.arange(70_000) % 10 == 0  # admits 7,000 units, a tenth: 64 × 10 lists
    assert Index._selector(idx, tenth).nprobe == 640
    assert Index._selector(idx, np.arange(70_000) % 100 == 0).nprobe == 1024  # capped at every list


def test_faiss_searches_on_one_thread_in_whichever_thread_asks(built):
    import threading

    import faiss

    _, index_dir, _ = built
    idx = open_index(index_dir, HashingEmbedder(64))
    seen = []

    def ask():  # a new thread starts with OpenMP's default (every core) until it searches
        search(idx, "children adopted", k=3, retriever="dense")
        seen.append(faiss.omp_get_max_threads())

    worker = threading.Thread(target=ask)
    worker.start()
    worker.join()
    assert seen == [1]


def test_rarity_is_the_idf_of_the_stem_and_a_word_never_used_is_rarest(built):
    _, index_dir, _ = built
    index = open_index(index_dir, HashingEmbedder(64))
    n = len(index.passages)
    df = sum("adopt" in bm25_tokens(p.search_text()) for p in index.passages)
    assert 0 < df < n
    # "Adopted" stems to "adopt": BM25's IDF of that stem, counted by hand over the passages.
    assert retrieve.rarity(index, "Adopted") == pytest.approx(math.log(1 + (n - df + 0.5) / (df + 0.5)))
    assert retrieve.rarity(index, "potholes") == math.inf and idf(index, "pothol") == 0.0
    assert retrieve.rarity(index, "the") == 0.0  # a stop word has no stem to weigh


def test_papers_filed_beside_the_agenda_take_the_item_their_file_names_point_to(tmp_path):
    """Kent publishes each item's report, decision and appendices as files beside the
    agenda frontsheet: '24-00108 - Revenue and Capital ...' is item 5, '24/00108 - Revenue
    and Capital Budget Monitoring Report – November 2024-25' on the agenda."""
    meeting = REPO / "samples" / "kent" / "cabinet" / "2025-01-30"
    folder = tmp_path / "papers" / "cabinet" / "2025-01-30"
    folder.mkdir(parents=True)
    names = [
        "Agenda frontsheet 30th-Jan-2025 10.00 Cabinet.pdf",
        "24-00108 - Revenue and Capital Budget Monitoring Report November 2024-25.pdf",
        "24-00096 - PRoD.pdf",
        "Appendix I Budget Risk Register 22.01.25.pdf",
    ]
    for name in names:
        shutil.copy(meeting / name, folder / name)
    ingest([tmp_path / "papers"], tmp_path / "idx", HashingEmbedder(64))
    index = open_index(tmp_path / "idx", HashingEmbedder(64))

    def items(stem):
        return {(p.agenda_item, p.item_title) for p in index.passages if p.doc == stem}

    assert items("24-00108 - Revenue and Capital Budget Monitoring Report November 2024-25") == {
        ("5", "24/00108 - Revenue and Capital Budget Monitoring Report – November 2024-25")
    }
    assert items("24-00096 - PRoD") == {("9", "24/00096 - Commissioning Plan for Education Provision in Kent 2025-29")}
    # Nothing in an appendix's name says which item it belongs to: it is left without one.
    assert {item for item, _ in items("Appendix I Budget Risk Register 22.01.25")} == {None}


def test_reingest_reuses_a_vector_only_for_the_text_it_was_made_from(tmp_path, monkeypatch):
    """Chunking that heads a table row differently (say a newer release) keeps the same
    units in the same places but embeds other texts: their old vectors must not be reused."""
    import index.ingest as ingest_module

    papers = tmp_path / "papers"
    papers.mkdir()
    table = "Table 6.2 Tax base changes\nDistrict Taxbase % change\nAshford 49,832.00 49,332.00 -1.00%\nDover 38,000.00 38,500.00 1.30%\n"
    (papers / "taxbase.txt").write_text("Cabinet budget report.\n\n" + table)
    emb = HashingEmbedder(64)
    ingest([papers], tmp_path / "idx", emb)
    monkeypatch.setattr(ingest_module, "row_header", lambda text, offset, fallback="": "Another heading")
    report = ingest([papers], tmp_path / "idx", emb)
    assert report.embedded == 2  # the two rows, now read under another heading
    idx = open_index(tmp_path / "idx", emb)
    _, texts = ingest_module.passage_units(idx.passages)
    assert np.allclose(np.asarray(idx.embeddings[np.arange(len(texts))]), emb.encode(texts))
    # Unchanged, nothing is embedded again.
    assert ingest([papers], tmp_path / "idx", emb).embedded == 0


def test_unit_keys_keep_their_trailing_zero_bytes():
    key = "ab" * 19 + "00"  # as numpy bytes strings ("S20") it would come back 19 bytes long
    assert store.keys_of(store.keys_array([key, "00" * 20])) == [key, "00" * 20]


def test_docstring_examples():
    import doctest

    from index import engines
    from index import store as protocol

    for module in (protocol, engines):
        result = doctest.testmod(module)
        assert result.attempted > 0 and result.failed == 0, module.__name__
