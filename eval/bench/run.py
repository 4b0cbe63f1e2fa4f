"""``committee-qa bench``: how fast, how big, and how we compare with the obvious peers.

One run measures, into one JSON-ready tree (:func:`run_bench`; eval.bench.report writes
it out):

- **Ingest** of a real corpus (``--corpus``, ``samples/`` by default) with the real model in
  a fresh process: pages/s, passages/s, seconds per stage, the bare encoder on the very
  sentence units ingest embedded (the ceiling), words embedded against words in the
  corpus, a re-ingest of the unchanged papers, peak RSS (eval.bench.workers).
- **Query latency** (p50/p95) of ``bm25``, ``dense``, ``hybrid``, ``rerank`` and a full
  ``qa.answer.answer`` at 10k / 100k / 1M passages. Those indexes are *synthetic*
  (eval.bench.synth): passages recombine the corpus's own sentences and each sentence
  vector is a perturbed copy of a real one. Question vectors are computed once with the
  real model; their encoding time is reported separately.
- **Peers** on the same passages in the same run: ``rank_bm25.BM25Okapi`` and a plain
  NumPy dot-product scan.
- **Approximate search** (the IVF index the store ships above ``index.store.ANN_ABOVE``
  units, where flat FAISS breaks the latency target): build time, latency, and recall@10
  against flat at several ``nprobe``.
- **Serving memory**: the 100k index written with ``index.store`` and opened by
  ``qa.retrieve.open_index`` in a fresh process with the real model; disk per 1,000 passages.
- Optionally (``--pg DSN``) hybrid search through ``index.engines.open_store(DSN)`` on whatever
  the PostgreSQL index holds.

    committee-qa bench --quick   # under 3 minutes at 100k; last stdout line is a JSON summary
    committee-qa bench           # 10k, 100k, 1M; writes docs/BENCHMARKS.md and docs/bench/
"""

from __future__ import annotations

import cProfile
import gc
import os
import pstats
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from eval.bench.measure import (
    current_rss_mb,
    faiss_threads,
    load_avg,
    log,
    machine,
    peak_rss_mb,
    reset_peak_rss,
    round_robin,
)
from eval.bench.synth import (
    NOISE,
    TWO_UNITS_FROM,
    LookupEmbedder,
    Material,
    build_synthetic,
    recall,
)
from eval.bench.workers import WorkerFailed, run_worker

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_CORPUS = ROOT / "samples"
DEFAULT_QUESTIONS = ROOT / "eval" / "questions" / "sefton-dev.jsonl"
DEFAULT_OUT = ROOT / "docs" / "BENCHMARKS.md"
DEFAULT_SIZES = (10_000, 100_000, 1_000_000)
QUICK_SIZES = (100_000,)
QUICK_CORPUS_BYTES = 300_000  # --quick ingests the smallest file of each kind, and more up to this (enough papers to repeat each other)
QUICK_QUESTIONS = 10
QUICK_SERVE_QUESTIONS = 5
SERVE_SIZE = 100_000
RANK_BM25_MAX = 200_000  # rank_bm25 keeps a Python dict per passage: not run above this
NPROBE_SHARES = (64, 32, 16, 8)  # recall and speed of the FAISS call alone at nprobe = nlist / each
RETRIEVERS = ("bm25", "dense", "hybrid", "rerank", "learned")


@dataclass(frozen=True)
class RunConfig:
    quick: bool = False
    repeats: int = 2
    noise: float = NOISE
    seed: int = 0
    ann_from: int = 100_000  # IVF is measured from this size up (with --quick only where it ships)
    serve: bool = True
    serve_size: int = SERVE_SIZE  # the size written to disk and served from a fresh process
    profile: bool = True  # where a hybrid search and an ask spend their time (full run)


def dig(d: Any, *keys, default=None):
    """``d[k1][k2]...`` or ``default`` where a level is missing or None."""
    for k in keys:
        if not isinstance(d, dict) or d.get(k) is None:
            return default
        d = d[k]
    return d


# --- what is timed ----------------------------------------------------------------------


def dense_depth(index) -> int:
    """How many sentence units dense search asks FAISS for (as index.folder's dense_scores)."""
    from index.folder import unit_depth
    from qa.settings import DEFAULTS

    return unit_depth(len(index.unit_table), DEFAULTS.retrieval.candidates)


def product_fns(index, retrievers=RETRIEVERS, ask: bool = True) -> dict[str, Callable[[str], Any]]:
    """``qa.retrieve.search`` per retriever and ``qa.answer.answer``, k = 10."""
    from qa.answer import answer
    from qa.retrieve import search

    fns: dict[str, Callable] = {r: (lambda q, r=r: search(index, q, k=10, retriever=r)) for r in retrievers}
    if ask:
        fns["ask"] = lambda q: answer(index, q, k=10)
    return fns


def peer_fns(index, tokens: list[list[str]] | None, vectors: dict[str, np.ndarray]) -> tuple[dict[str, Callable], dict[str, Any]]:
    """The peers over the same passages: BM25Okapi over the very tokens bm25s indexed (top
    100, as deep as our BM25 path goes) and ``embeddings @ q`` + the top units, as deep as
    dense search asks FAISS."""
    from index.tokens import bm25_tokens

    emb, depth = index.embeddings, dense_depth(index)
    info: dict[str, Any] = {"scan_depth": depth}

    def scan(q: str) -> np.ndarray:
        return np.argpartition(-(emb @ vectors[q]), depth - 1)[:depth]

    fns: dict[str, Callable] = {"numpy_scan": scan}
    if tokens is not None:
        from rank_bm25 import BM25Okapi

        t = time.perf_counter()
        okapi = BM25Okapi(tokens)
        info["rank_bm25_build_s"] = round(time.perf_counter() - t, 1)
        top = min(100, len(tokens))
        fns["rank_bm25"] = lambda q: np.argpartition(-okapi.get_scores(bm25_tokens(q)), top - 1)[:top]
    return fns, info


def faiss_call(faiss_index, vectors: dict[str, np.ndarray], k: int) -> Callable[[str], Any]:
    return lambda q: faiss_index.search(vectors[q][None, :].astype(np.float32), k)


def breakdown(index, questions: list[str], vectors: dict[str, np.ndarray]) -> dict[str, Any]:
    """Where a hybrid search's time goes, stage by stage, with qa.retrieve's own functions;
    and the FAISS call alone with FAISS's default threads and with one thread."""

    from index.model import Filters
    from qa.retrieve import Question, dedupe, run_hybrid
    from qa.settings import DEFAULTS

    n = DEFAULTS.retrieval.candidates
    state: dict[str, Any] = {}

    def step_understand(q):
        state["question"] = Question(index, q)

    def step_bm25(q):
        state["bm"] = index.bm25_scores(state["question"].query.expanded, None, n)

    def step_dense(q):
        state["de"] = index.dense_scores(vectors[q], None, n)

    def step_hybrid(q):  # both paths again, then fusion
        state["ranked"] = run_hybrid(index, state["question"], Filters(), n, DEFAULTS)

    def step_dedupe(q):
        dedupe(state["ranked"][: max(n, 50)], 10, "hybrid")

    steps = {"understand": step_understand, "bm25_scores": step_bm25, "dense_scores": step_dense,
             "run_hybrid": step_hybrid, "dedupe": step_dedupe}
    timed, errors = round_robin(steps, questions, 1)
    out: dict[str, Any] = {name: timed.get(name) for name in steps}
    out.update({f"{k}_error": v for k, v in errors.items()})
    # dense_scores left this thread on one FAISS thread: set each count explicitly.
    threads = os.cpu_count() or 1
    call = faiss_call(index.faiss_index, vectors, dense_depth(index))
    with faiss_threads(threads):
        out["faiss_call"] = round_robin({"t": call}, questions, 1)[0]["t"]
    with faiss_threads(1):
        out["faiss_call_1_thread"] = round_robin({"t": call}, questions, 1)[0]["t"]
    out["faiss_threads"], out["faiss_depth"] = threads, dense_depth(index)
    return out


def profile(fn: Callable[[str], Any], questions: list[str], top: int = 12) -> list[dict[str, Any]]:
    """The functions a call spends the most cumulative time in, per call, by cProfile."""
    prof = cProfile.Profile()
    prof.enable()
    for q in questions:
        fn(q)
    prof.disable()
    stats = pstats.Stats(prof)
    rows = []
    for (file, line, name), (_cc, calls, tottime, cumtime, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        rel = os.path.relpath(file, ROOT) if file.startswith(str(ROOT)) else os.path.basename(file)
        rows.append({"function": f"{rel}:{line}({name})", "calls_per_q": round(calls / len(questions), 1),
                     "cum_ms_per_q": round(cumtime * 1000 / len(questions), 2), "own_ms_per_q": round(tottime * 1000 / len(questions), 2)})
    rows.sort(key=lambda r: -r["cum_ms_per_q"])
    return rows[:top]


def ground_truth(index, questions: list[str], vectors: dict[str, np.ndarray]) -> dict[str, list]:
    """Exact (flat) results per question: the sentence units dense search asks FAISS for (in
    order), the top 10 dense passages and hybrid passages."""
    from qa.retrieve import search

    out: dict[str, list] = {"units": [], "dense": [], "hybrid": []}
    for q in questions:
        out["units"].append(index.faiss_index.search(vectors[q][None, :], dense_depth(index))[1][0].tolist())
        out["dense"].append(list(index.dense_scores(vectors[q], None, 10)))
        out["hybrid"].append([h.passage.id for h in search(index, q, k=10, retriever="hybrid")])
    return out


def measure_ann(index, questions: list[str], vectors: dict[str, np.ndarray], truth: dict[str, list], cfg: RunConfig) -> dict[str, Any]:
    """The inverted file the store ships above ANN_ABOVE units, over the same vectors: build
    time, size, the retrievers' latency on it, and recall against flat."""
    import faiss

    from index.folder import build_ivf
    from qa.retrieve import search

    t = time.perf_counter()
    with faiss_threads(os.cpu_count() or 1):
        ann = build_ivf(index.embeddings)
    shipped_nprobe = ann.nprobe
    res: dict[str, Any] = {"build_s": round(time.perf_counter() - t, 1), "bytes": int(faiss.serialize_index(ann).nbytes),
                           "params": {"nlist": ann.nlist, "nprobe": shipped_nprobe}}
    index.faiss_index = ann  # kept: where IVF ships, write_index writes this one
    fns = product_fns(index, ("dense", "hybrid") if cfg.quick else ("dense", "hybrid", "rerank", "learned"))
    depth = dense_depth(index)
    fns["faiss_call"] = faiss_call(ann, vectors, depth)
    timed, errors = round_robin(fns, questions, cfg.repeats)
    res.update(timed)
    res.update({f"{k}_error": v for k, v in errors.items()})
    res["recall_dense_passages@10"] = recall([list(index.dense_scores(vectors[q], None, 10)) for q in questions], truth["dense"])
    res["overlap_hybrid@10"] = recall([[h.passage.id for h in search(index, q, k=10, retriever="hybrid")] for q in questions], truth["hybrid"])
    res["recall_units@10"], res[f"recall_units@{depth}"] = {}, {}
    for share in NPROBE_SHARES:
        ann.nprobe = nprobe = max(1, ann.nlist // share)
        found = [ann.search(vectors[q][None, :], depth)[1][0].tolist() for q in questions]
        res["recall_units@10"][nprobe] = recall([f[:10] for f in found], [t[:10] for t in truth["units"]])
        res[f"recall_units@{depth}"][nprobe] = recall(found, truth["units"])
        res[f"faiss_call_np{nprobe}"] = round_robin({"t": faiss_call(ann, vectors, depth)}, questions, 1)[0]["t"]
    ann.nprobe = shipped_nprobe
    return res


# --- one size ---------------------------------------------------------------------------


def bench_size(size: int, material: Material, questions: list[str], vectors: dict[str, np.ndarray], embedder,
               cfg: RunConfig, workdir: Path) -> dict[str, Any]:
    """Everything measured at one synthetic size."""
    from index.folder import ANN_ABOVE

    res: dict[str, Any] = {"passages": size, "load_avg_start": load_avg()}
    reset_peak_rss()
    log(f"{size:,} passages: building the synthetic index")
    units_each = 2 if size >= TWO_UNITS_FROM else None
    syn = build_synthetic(material, size, units_per_passage=units_each, noise=cfg.noise, seed=cfg.seed,
                          embedder=embedder, keep_tokens=size <= RANK_BM25_MAX)
    index = syn.index
    n_units = int(len(index.unit_table))
    kind = "ivf" if n_units > ANN_ABOVE else "flat"
    res.update(units=n_units, units_per_passage=round(n_units / size, 2), build_s=syn.seconds, shipped_faiss=kind)

    # Flat FAISS is what ships up to ANN_ABOVE units; above, only bm25 and hybrid are timed
    # on it, once, to show why not (the rest is timed on the IVF index below).
    if kind == "ivf":
        fns = product_fns(index, ("bm25", "hybrid"), ask=False)
    else:
        fns = product_fns(index, RETRIEVERS if not cfg.quick else ("bm25", "dense", "hybrid"))
    peers, info = peer_fns(index, syn.tokens, vectors)
    syn.tokens = None
    log(f"{size:,} passages ({n_units:,} units): timing {', '.join(fns)} and the peers {', '.join(peers)}, interleaved")
    timed, errors = round_robin({**fns, **{f"peer:{k}": v for k, v in peers.items()}}, questions,
                                cfg.repeats if kind == "flat" else 1)
    del peers
    res["flat"] = {k: timed.get(k) for k in fns} | {f"{k}_error": v for k, v in errors.items()}
    res["peers"] = {k[5:]: v for k, v in timed.items() if k.startswith("peer:")} | info
    if not cfg.quick and cfg.profile:
        log(f"{size:,} passages: where the time goes")
        res["flat"]["breakdown"] = breakdown(index, questions, vectors)
        if size == cfg.serve_size:
            fns = product_fns(index, ("hybrid",))
            res["flat"]["profile"] = {name: profile(fn, questions) for name, fn in fns.items()}
    if kind == "ivf" or (not cfg.quick and size >= cfg.ann_from):
        with faiss_threads(1):
            truth = ground_truth(index, questions, vectors)
        index.faiss_index = None  # free flat's copy of the vectors before IVF makes another
        gc.collect()
        log(f"{size:,} passages: building the IVF index over {n_units:,} units and timing it")
        with faiss_threads(1):  # the raw FAISS calls it times, as a search runs them
            res["ann"] = measure_ann(index, questions, vectors, truth, cfg)
    res["peak_rss_mb_bench_process"] = peak_rss_mb()

    if size == cfg.serve_size and (cfg.serve or not cfg.quick):
        folder = workdir / f"index-{size}"
        log(f"{size:,} passages: writing the index with index.store.write_version")
        res["disk"] = write_index(index, folder, prebuilt=kind != "flat")
        del syn, index, fns  # the serving process must not share the machine's memory with these
        gc.collect()
        if cfg.serve:
            log(f"{size:,} passages: serving from disk in a fresh process")
            qs = questions[:QUICK_SERVE_QUESTIONS] if cfg.quick else questions
            try:
                res["serve"] = run_worker("serve", {"index": str(folder), "questions": qs, "ask": not cfg.quick}, workdir)
            except WorkerFailed as err:
                res["serve"] = {"error": str(err)}
        shutil.rmtree(folder, ignore_errors=True)
    res["load_avg_end"] = load_avg()
    return res


def write_index(index, folder: Path, prebuilt: bool = False) -> dict[str, Any]:
    """Write an in-memory index as ingest would (index.store.write_version); its files' sizes.
    ``prebuilt``: write the index's own FAISS index (already what build_faiss would build)."""
    from eval.bench.measure import folder_bytes
    from index.embed import DEFAULT_MODEL
    from index.folder import Settings, current_version, write_version, writer_lock

    t = time.perf_counter()
    with writer_lock(folder):
        write_version(folder, passages=index.passages, papers=[], embeddings=index.embeddings, units=index.unit_table,
                      model={"name": DEFAULT_MODEL, "dim": int(index.embeddings.shape[1])}, settings=Settings(),
                      acronyms={}, originals={}, faiss_index=index.faiss_index if prebuilt else None)
    files = folder_bytes(current_version(folder))
    return {"write_s": round(time.perf_counter() - t, 1), "files": files, "bytes": sum(files.values()),
            "passages": len(index.passages), "units": int(len(index.unit_table))}


def disk_estimates(results: dict[str, Any]) -> dict[int, dict[str, Any]]:
    """Bytes per 1,000 passages at each size, from the written 100k index: vector files scale
    with units, passage and BM25 files with passages; paper texts and original files (absent
    from synthetic indexes) at the real sample index's bytes per passage; where IVF ships,
    dense.faiss is the measured size of the IVF index built."""
    written = next((r["disk"] for r in results["sizes"].values() if r.get("disk")), None)
    ing = results.get("ingest")
    if not written or not ing:
        return {}
    real = ing["disk"]
    paper_bpp = (real["files"].get("papers.jsonl", 0) + real.get("originals_bytes", 0)) / max(1, real["passages"])
    out = {}
    for size, r in results["sizes"].items():
        total = paper_bpp * size
        for name, b in written["files"].items():
            if name == "dense.faiss" and r["shipped_faiss"] != "flat" and dig(r, "ann", "bytes"):
                total += r["ann"]["bytes"]
            elif name in ("embeddings.npy", "units.npy", "dense.faiss"):
                total += b / written["units"] * r["units"]
            elif name.startswith("bm25") or name == "passages.jsonl":
                total += b / written["passages"] * size
            else:
                total += b
        out[size] = {"bytes": round(total), "per_1k_passages": round(total / size * 1000)}
    return out


# --- PostgreSQL, optional ----------------------------------------------------------------------


def bench_pg(dsn: str, questions: list[str], embedder, repeats: int) -> dict[str, Any]:
    """bm25 / dense / hybrid latency through ``qa.stores.open_store(dsn)`` on whatever the
    PostgreSQL index at ``dsn`` holds (load it with ``committee-qa ingest PATH --store DSN``)."""
    try:
        from qa.stores import open_store

        store = open_store(dsn, embedder)
    except Exception as err:  # the engine is optional: say why it wasn't measured, go on
        return {"error": f"{type(err).__name__}: {err}"}
    try:
        res: dict[str, Any] = {}
        try:
            res["passages"] = int(store.conn.execute("SELECT count(*) FROM passages").fetchone()[0])
        except Exception as err:
            res["passages_error"] = str(err)
        fns = {r: (lambda q, r=r: store.search(q, k=10, retriever=r)) for r in ("bm25", "dense", "hybrid")}
        timed, errors = round_robin(fns, questions, repeats)
        return res | timed | {f"{k}_error": v for k, v in errors.items()}
    finally:
        getattr(store, "close", lambda: None)()


# --- the run ----------------------------------------------------------------------------------


def quick_files(corpus: Path, budget: int = QUICK_CORPUS_BYTES) -> list[Path]:
    """The smallest supported file of each kind in the corpus (a text export and a PDF, so
    both readers run), then the next smallest files while they fit in ``budget`` bytes."""
    from index.ingest import find_files

    files = sorted((f for f, _ in find_files([corpus])), key=lambda f: (f.stat().st_size, str(f)))
    out: list[Path] = []
    for f in files:
        if f.suffix.lower() not in {g.suffix.lower() for g in out}:
            out.append(f)
    used = sum(f.stat().st_size for f in out)
    for f in files:
        if f not in out and used + f.stat().st_size <= budget:
            out.append(f)
            used += f.stat().st_size
    return out


def run_bench(corpus: Path, questions: list[str], sizes: list[int], cfg: RunConfig, *, pg: str | None = None,
              keep: bool = False, save: Callable[[dict[str, Any]], None] | None = None) -> dict[str, Any]:
    """All measurements, as one JSON-ready tree (docs/bench/results.json); ``save`` is
    called with the tree after each size, so a long run stopped late keeps what it measured."""
    t_start = time.perf_counter()
    workdir = Path(tempfile.mkdtemp(prefix="committee-qa-bench-"))
    results: dict[str, Any] = {"quick": cfg.quick, "started": time.strftime("%Y-%m-%d %H:%M:%S"), "machine": machine(),
                               "config": cfg.__dict__, "corpus": str(corpus), "n_questions": len(questions), "sizes": {}}
    try:
        paths = quick_files(corpus) if cfg.quick else [corpus]
        results["ingest_paths"] = [os.path.relpath(p, ROOT) for p in paths]
        log(f"ingesting {len(paths)} path(s) with the real model in a fresh process")
        qvec_path = workdir / "question_vectors.npy"
        ing = run_worker("ingest", {"paths": [str(p) for p in paths], "index": str(workdir / "sample-index"),
                                    "questions": questions, "question_vectors": str(qvec_path),
                                    "encoder_runs": ["after"] if cfg.quick else ["before", "after"]}, workdir)
        results["ingest"] = ing
        log(f"ingest: {ing['ingest']['passages']} passages in {ing['ingest']['wall_s']} s; bare encoder {ing['encoder']['wall_s']} s")

        from index.embed import SentenceTransformerEmbedder
        from index.folder import load_embeddings, load_passages

        version = Path(ing["disk"]["version"])
        ing["disk"]["originals_bytes"] = sum(f.stat().st_size for f in (workdir / "sample-index" / "files").glob("*"))
        material = Material.from_passages(load_passages(version), load_embeddings(version))
        qvecs = np.load(qvec_path, allow_pickle=False)
        vectors = {q: qvecs[i] for i, q in enumerate(questions)}
        embedder = LookupEmbedder(dict(vectors), fallback=SentenceTransformerEmbedder())
        for size in sizes:
            results["sizes"][size] = bench_size(size, material, questions, vectors, embedder, cfg, workdir)
            gc.collect()
            if save:
                save(results)
        results["question_vectors_computed_in_run"] = embedder.misses  # e.g. rerank's or ask's own texts
        results["disk_estimates"] = disk_estimates(results)
        if pg:
            log("PostgreSQL: timing bm25/dense/hybrid through qa.stores.open_store")
            results["pg"] = bench_pg(pg, questions, embedder, cfg.repeats)
    finally:
        if keep:
            log(f"work files kept in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    results["seconds"] = round(time.perf_counter() - t_start, 1)
    results["rss_mb_end"] = current_rss_mb()
    return results
