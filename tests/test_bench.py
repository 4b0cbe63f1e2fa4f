"""eval.bench: percentiles, timing, the synthetic index, the summary line, the report.

Unit tests use a hashing embedder and 2,000 synthetic passages; one integration test runs
the whole benchmark at tiny sizes with the real model. No timing assertions anywhere.
"""

from __future__ import annotations

import argparse
import json
import subprocess

import numpy as np
import pytest
from conftest import REPO, SAMPLES, SEFTON_SMALL, SEFTON_UPDATE, cli_command, cli_env

from eval import cli as eval_cli
from eval.bench import report as bench_report
from eval.bench import run as bench
from eval.bench.measure import latency, percentile, round_robin
from eval.bench.synth import LookupEmbedder, Material, build_synthetic, perturbed_copies, recall
from index.chunk import chunk_paper
from index.embed import HashingEmbedder
from index.read import read_paper
from index.tokens import bm25_tokens

QUESTIONS = [
    "How many children were waiting to be adopted?",
    "How often does the Improvement Board meet?",
    "What did the Ofsted monitoring visit find?",
    "Who is responsible for the Early Help service?",
]
DIM = 64


@pytest.fixture(scope="module")
def material() -> Material:
    from index.ingest import passage_units

    passages = [p for f in (SEFTON_UPDATE, SEFTON_SMALL) for p in chunk_paper(read_paper(f, f.parent))]
    _, texts = passage_units(passages)
    return Material.from_passages(passages, HashingEmbedder(DIM).encode(texts))


@pytest.fixture(scope="module")
def synthetic(material):
    embedder = LookupEmbedder({q: HashingEmbedder(DIM).encode([q])[0] for q in QUESTIONS}, fallback=HashingEmbedder(DIM))
    return build_synthetic(material, 2000, embedder=embedder, seed=1)


# --- measuring, worked by hand ----------------------------------------------------------------


def test_percentile_hand_computed():
    assert percentile([1, 2, 3, 4], 50) == 2.5  # halfway between 2 and 3
    assert percentile([4, 1, 3, 2], 50) == 2.5  # order does not matter
    assert percentile([1, 2, 3, 4], 95) == pytest.approx(3.85)  # position 3 × 0.95 = 2.85: 3 + 0.85
    assert percentile([10, 20, 30, 40, 50], 95) == pytest.approx(48.0)  # position 3.8: 40 + 0.8 × 10
    assert percentile([7], 95) == 7
    assert (percentile([1, 2, 3, 4], 0), percentile([1, 2, 3, 4], 100)) == (1, 4)
    values = [0.3, 9.1, 2.2, 5.5, 1.0, 7.7, 4.4]
    for q in (5, 50, 90, 95):
        assert percentile(values, q) == pytest.approx(float(np.percentile(values, q)))
    with pytest.raises(ValueError):
        percentile([], 50)
    with pytest.raises(ValueError):
        percentile([1], 101)


def test_latency_in_milliseconds():
    assert latency([0.001, 0.002, 0.003, 0.004]) == {"p50_ms": 2.5, "p95_ms": 3.85, "mean_ms": 2.5, "n": 4}


def test_round_robin_interleaves_and_reports_failures():
    calls: list[tuple[str, int]] = []

    def good(name):
        return lambda x: calls.append((name, x))

    def bad(x):
        raise KeyError("missing piece")

    timed, errors = round_robin({"a": good("a"), "b": good("b"), "broken": bad}, [1, 2, 3], repeats=2, warmup=1)
    assert set(timed) == {"a", "b"} and timed["a"]["n"] == 6
    assert set(timed["a"]) == {"p50_ms", "p95_ms", "mean_ms", "n", "cpu_p50_ms"}
    assert errors == {"broken": "KeyError: 'missing piece'"}
    # one warm-up call each, then item by item, a before b
    assert calls[:2] == [("a", 1), ("b", 1)]
    assert calls[2:8] == [("a", 1), ("b", 1), ("a", 2), ("b", 2), ("a", 3), ("b", 3)]


def test_recall_label_dig():
    assert recall([[1, 2]], [[2, 3]]) == 0.5
    assert recall([[1, 2, 3], [4]], [[1, 2, 3], [5]]) == 0.75  # pooled: 3 of 4
    assert (bench_report.label(10_000), bench_report.label(100_000), bench_report.label(1_000_000), bench_report.label(1500)) == ("10k", "100k", "1m", "1500")
    assert bench.dig({"a": {"b": {"c": 3}}}, "a", "b", "c") == 3
    assert bench.dig({"a": None}, "a", "b") is None


# --- the synthetic index ----------------------------------------------------------------------


def test_perturbed_copies():
    rng = np.random.default_rng(0)
    base = np.eye(4, dtype=np.float32)
    exact = perturbed_copies(base, np.array([2, 0, 2]), 0.0, rng)
    assert np.array_equal(exact, base[[2, 0, 2]])
    noisy = perturbed_copies(base, np.array([1, 3]), 0.05, rng)
    assert np.allclose(np.linalg.norm(noisy, axis=1), 1.0, atol=1e-5)
    assert (noisy[:, [1, 3]].diagonal() > 0.9).all() and not np.array_equal(noisy, base[[1, 3]])


def test_lookup_embedder_uses_precomputed_vectors_then_the_fallback():
    emb = LookupEmbedder({"known": np.ones(DIM, dtype=np.float32)}, fallback=HashingEmbedder(DIM))
    out = emb.encode(["known", "new text"])
    assert out.shape == (2, DIM) and np.array_equal(out[0], np.ones(DIM))
    assert emb.misses == 1 and np.allclose(out[1], HashingEmbedder(DIM).encode(["new text"])[0])
    with pytest.raises(KeyError):
        LookupEmbedder({"known": np.ones(DIM)}).encode(["other"])


def test_synthetic_shapes_are_consistent(synthetic, material):
    index = synthetic.index
    n_units = len(index.unit_table)
    assert len(index.passages) == 2000 and len({p.id for p in index.passages}) == 2000
    assert index.embeddings.shape == (n_units, DIM) and index.embeddings.dtype == np.float32
    assert index.unit_table.shape == (n_units, 3) and index.faiss_index.ntotal == n_units
    # Units run passage by passage; every passage has at least one.
    rows = index.unit_table[:, 0]
    assert (np.diff(rows) >= 0).all() and set(np.unique(rows).tolist()) == set(range(2000))
    # Each unit's text is the real sentence it copies, its vector a perturbed copy of that sentence's.
    for u in range(0, n_units, max(1, n_units // 50)):
        row, start, end = index.unit_table[u].tolist()
        assert index.passages[row].text[start:end] == material.texts[synthetic.source_units[u]]
        assert float(index.embeddings[u] @ material.vectors[synthetic.source_units[u]]) > 0.8
    # BM25 sees bm25_tokens of each passage's search text, as index.store builds it.
    for p, toks in list(zip(index.passages, synthetic.tokens, strict=True))[:50]:
        assert toks == (bm25_tokens(p.search_text()) or [""])
    assert int(index.bm25.scores["num_docs"]) == 2000


def test_synthetic_fixed_units_and_unknown_faiss(material):
    syn = build_synthetic(material, 300, units_per_passage=2, faiss_kind="none", keep_tokens=False, embedder=HashingEmbedder(DIM))
    assert np.bincount(syn.index.unit_table[:, 0]).tolist() == [2] * 300
    assert syn.index.faiss_index is None and syn.tokens is None
    with pytest.raises(ValueError, match="flat, ivf, none"):
        build_synthetic(material, 10, faiss_kind="hnsw")


def test_synthetic_index_answers_through_the_product(synthetic):
    fns = bench.product_fns(synthetic.index)
    assert set(fns) == {"bm25", "dense", "hybrid", "rerank", "learned", "ask"}
    for name, fn in fns.items():
        out = fn(QUESTIONS[0])
        assert out is not None, name
    assert 0 < len(fns["hybrid"](QUESTIONS[0])) <= 10
    assert synthetic.index.embedder.misses == 0  # question vectors came from the lookup


# --- summary and targets, with hand values ----------------------------------------------------


def _fake_ingest() -> dict:
    return {
        "ingest": {"wall_s": 10.0, "cpu_s": 18.0, "papers": 2, "pages": 20, "passages": 100, "embedded": 480, "reused": 20,
                   "words_corpus": 12000, "words_passages": 10000, "words_embedded": 9000,
                   "seconds": {"read": 1.0, "chunk": 0.5, "embed": 8.0, "write": 0.5}},
        "encoder": {"units": 480, "words": 9000, "wall_s": 8.0, "cpu_s": 15.0, "batch_size": 64, "runs": [{"when": "after", "wall_s": 8.0}]},
        "reingest": {"embedded": 0, "reused": 500, "wall_s": 1.0},
        "question_encode": latency([0.02, 0.03]),
        "peak_rss_mb_ingest": 900.0,
        "disk": {"files": {"papers.jsonl": 50_000}, "bytes": 400_000, "originals_bytes": 50_000, "passages": 100},
    }


def _size(hybrid_ms: float, rank_ms: float, units: int = 300_000) -> dict:
    lat = {"p50_ms": hybrid_ms, "p95_ms": hybrid_ms * 2, "mean_ms": hybrid_ms, "n": 4}
    return {"passages": 100_000, "units": units, "shipped_faiss": "flat",
            "flat": {"bm25": dict(lat, p50_ms=10.0), "hybrid": lat, "ask": dict(lat, p50_ms=250.0)},
            "peers": {"rank_bm25": dict(lat, p50_ms=rank_ms), "numpy_scan": dict(lat, p50_ms=40.0)},
            "serve": {"peak_rss_mb": 1234.5},
            "disk": {"files": {"embeddings.npy": 3_000_000, "passages.jsonl": 1_000_000, "manifest.json": 1000},
                     "passages": 100_000, "units": units}}


def test_summary_and_targets_from_hand_values():
    results = {"quick": True, "seconds": 1.0, "ingest": _fake_ingest(), "sizes": {100_000: _size(25.0, 150.0)}}
    line = json.loads(json.dumps(bench_report.summary(results)))  # one JSON object, as printed
    assert all(key in line for key in bench_report.SUMMARY_KEYS)
    assert (line["hybrid_p50_ms_100k"], line["rank_bm25_p50_ms_100k"], line["numpy_scan_p50_ms_100k"]) == (25.0, 150.0, 40.0)
    assert line["ask_p50_ms_100k"] == 250.0 and line["peak_rss_mb_100k"] == 1234.5
    assert line["ingest_passages_per_s"] == 10.0  # 100 passages / 10 s
    assert line["encoder_passages_per_s"] == 12.5  # 100 passages / 8 s
    assert line["ingest_vs_encoder"] == 0.8 and line["words_embedded_vs_corpus"] == 0.75  # 9,000 / 12,000
    met = {t.name: t.met for t in bench_report.targets(results)}
    assert met["hybrid p50 ≤ 30 ms at 100k (first stage, no rerank)"] is True
    assert met["hybrid p50 ≤ 150 ms at 1m (first stage, no rerank)"] is None  # not run
    assert met["≥ 5× faster than rank_bm25 at 100k (our hybrid vs BM25Okapi)"] is True  # 150 / 25 = 6×
    assert met["ingest ≥ 80% of the bare encoder's throughput"] is True  # exactly 80%
    assert met["re-ingest of unchanged papers embeds nothing"] is True
    assert met["peak RSS ≤ 2 GB serving 100k"] is True
    assert line["targets_missed"] == []
    slow = {"ingest": _fake_ingest(), "sizes": {100_000: _size(40.0, 150.0)}}
    assert bench_report.summary(slow)["targets_missed"] == ["hybrid p50 ≤ 30 ms at 100k (first stage, no rerank)",
                                                     "≥ 5× faster than rank_bm25 at 100k (our hybrid vs BM25Okapi)"]


def test_summary_of_nothing_still_has_the_keys():
    out = bench_report.summary({"sizes": {}})
    assert all(out[k] is None for k in bench_report.SUMMARY_KEYS)


def test_disk_estimates_scale_file_by_file():
    results = {"ingest": _fake_ingest(), "sizes": {100_000: _size(25.0, 150.0, units=300_000),
                                                  10_000: dict(_size(25.0, 150.0, units=20_000), disk=None)}}
    est = bench.disk_estimates(results)
    # papers + originals: 100,000 bytes / 100 passages = 1,000 bytes per passage
    assert est[100_000]["bytes"] == 100_000 * 1000 + 3_000_000 + 1_000_000 + 1000
    # embeddings by units (10 bytes/unit), passages by passages (10 bytes each), manifest as is
    assert est[10_000]["bytes"] == 10_000 * 1000 + 20_000 * 10 + 10_000 * 10 + 1000
    assert est[10_000]["per_1k_passages"] == est[10_000]["bytes"] // 10


def test_report_renders(synthetic, tmp_path):
    vectors = synthetic.index.embedder.vectors
    timed, _ = round_robin(bench.product_fns(synthetic.index, ("bm25", "dense", "hybrid"), ask=False), QUESTIONS, 1)
    peers, info = bench.peer_fns(synthetic.index, synthetic.tokens, vectors)
    peer_timed, _ = round_robin(peers, QUESTIONS, 1)
    size = {"passages": 2000, "units": int(len(synthetic.index.unit_table)), "shipped_faiss": "flat", "flat": timed,
            "peers": peer_timed | info, "peak_rss_mb_bench_process": 100.0, "load_avg_start": [1.0]}
    size["flat"]["breakdown"] = bench.breakdown(synthetic.index, QUESTIONS, vectors)
    assert not [k for k in size["flat"]["breakdown"] if k.endswith("_error")]
    results = {"quick": False, "seconds": 60.0, "started": "now", "machine": {"cpus": 2}, "n_questions": 4,
               "config": bench.RunConfig(repeats=1).__dict__, "ingest": None, "sizes": {2000: size}}
    written = bench_report.write_report(results, tmp_path / "BENCHMARKS.md")
    text = written[0].read_text()
    assert "| 2,000 | " in text and "## Targets" in text and "## Where a hybrid search's time goes" in text
    assert written[1].stat().st_size > 0
    assert json.loads(written[2].read_text())["sizes"]["2000"]["passages"] == 2000


# --- the subcommand ---------------------------------------------------------------------------


def test_register_adds_bench_subcommand():
    parser = argparse.ArgumentParser(prog="committee-qa")
    eval_cli.register_bench(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["bench", "--quick", "--sizes", "2000,5000", "--pg", "postgresql://x@h/db"])
    assert args.func is eval_cli.cmd_bench and args.quick and args.sizes == "2000,5000" and args.pg == "postgresql://x@h/db"
    assert args.corpus == str(bench.DEFAULT_CORPUS) and args.out is None


def test_quick_files_take_the_smallest_of_each_kind_then_fill_the_budget():
    files = bench.quick_files(SAMPLES, budget=25_000)
    # The smallest text export (5,816 bytes) and the smallest PDF (76,425 bytes); the next
    # smallest text export (17,574) would take the total past the 25,000-byte budget.
    assert [f.name for f in files] == ["004_ef26fe128a3892ff.txt", "24-00108 - Revenue and Capital Budget Monitoring Report November 2024-25.pdf"]
    assert bench.quick_files(SAMPLES, budget=100_000)[2].name == "002_5b7ea09f819c7cd5.txt"
    default = bench.quick_files(SAMPLES)
    assert {f.suffix for f in default} == {".txt", ".pdf"} and sum(f.stat().st_size for f in default) <= bench.QUICK_CORPUS_BYTES


@pytest.mark.integration
def test_tiny_end_to_end_run(tmp_path):
    """The whole benchmark at tiny sizes with the real model: the summary line and the report."""
    corpus = tmp_path / "papers"
    corpus.mkdir()
    (corpus / SEFTON_UPDATE.name).write_bytes(SEFTON_UPDATE.read_bytes())
    questions = tmp_path / "q.jsonl"
    questions.write_text("".join(json.dumps({"question": q}) + "\n" for q in QUESTIONS))
    out = tmp_path / "docs" / "BENCHMARKS.md"
    cmd = cli_command() + ["bench", "--corpus", str(corpus), "--questions", str(questions), "--sizes", "300,600",
                           "--ann-from", "600", "--serve-size", "600", "--repeats", "1", "--out", str(out)]
    proc = subprocess.run(cmd, cwd=REPO, env=cli_env(), capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    line = json.loads(proc.stdout.strip().splitlines()[-1])
    assert all(key in line for key in bench_report.SUMMARY_KEYS)
    assert line["reingest_embedded"] == 0 and line["ingest_passages_per_s"] > 0 and line["encoder_passages_per_s"] > 0
    assert isinstance(line["hybrid_p50_ms_600"], float)
    raw = json.loads((out.parent / "bench" / "results.json").read_text())
    s600 = raw["sizes"]["600"]
    assert s600["serve"]["peak_rss_mb"] > 0 and s600["ann"]["recall_dense_passages@10"] > 0
    assert set(s600["flat"]) >= {"bm25", "dense", "hybrid", "rerank", "ask", "breakdown", "profile"}
    assert "rank_bm25" in s600["peers"] and "numpy_scan" in s600["peers"]
    assert (out.parent / "bench" / "latency.png").stat().st_size > 0 and "## Targets" in out.read_text()
