"""The parts of ``committee-qa bench`` that run in a fresh process, so their peak memory is
their own: ingesting the real corpus with the real model, and serving a written index.

    python -m eval.bench.workers ingest|serve SPEC.json RESULT.json
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from eval.bench.measure import (
    cpu_seconds,
    current_rss_mb,
    folder_bytes,
    latency,
    load_avg,
    peak_rss_mb,
    reset_peak_rss,
)

ROOT = Path(__file__).resolve().parents[2]
ENCODE_BATCH = 64  # as index.ingest._embed


class WorkerFailed(RuntimeError):
    pass


def run_worker(kind: str, spec: dict[str, Any], workdir: Path) -> dict[str, Any]:
    """Run one worker in a fresh Python process; its JSON result."""
    if kind not in WORKERS:
        raise ValueError(f"unknown worker {kind!r}; choose one of: {', '.join(WORKERS)}")
    spec_path, result_path = workdir / f"{kind}-spec.json", workdir / f"{kind}-result.json"
    spec_path.write_text(json.dumps(spec))
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", TOKENIZERS_PARALLELISM="false")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH", "")]))
    cmd = [sys.executable, "-m", "eval.bench.workers", kind, str(spec_path), str(result_path)]
    proc = subprocess.run(cmd, cwd=ROOT, env=env, stdout=sys.stderr, stderr=sys.stderr)
    if proc.returncode != 0 or not result_path.exists():
        raise WorkerFailed(f"the {kind} worker failed (exit {proc.returncode}); its messages are above")
    return json.loads(result_path.read_text())


def _loaded_model(res: dict[str, Any]):
    from index.embed import SentenceTransformerEmbedder

    res["rss_mb_imports"] = current_rss_mb()
    embedder = SentenceTransformerEmbedder()
    t = time.perf_counter()
    embedder.encode(["warm-up sentence"])
    res["model_load_s"] = round(time.perf_counter() - t, 2)
    res["rss_mb_model"] = current_rss_mb()
    return embedder


def _words(texts) -> int:
    return sum(len(t.split()) for t in texts)


def _file_words(path: Path) -> int:
    from index.pdfread import extract_pages, read_text_file

    return _words(extract_pages(path)) if path.suffix.lower() == ".pdf" else _words([read_text_file(path)])


def worker_ingest(spec: dict[str, Any]) -> dict[str, Any]:
    """Ingest ``spec["paths"]`` into an empty index, time the bare encoder on exactly the
    distinct sentence units ingest embedded (before and/or after ingest, as
    ``spec["encoder_runs"]`` says), re-ingest the unchanged papers, and encode the
    benchmark questions with the real model (saved for the parent)."""
    import torch

    from index.chunk import chunk_paper
    from index.folder import current_version, ingest, load_papers, load_passages
    from index.ingest import find_files, passage_units
    from index.read import read_paper

    res: dict[str, Any] = {"load_avg_start": load_avg()}
    embedder = _loaded_model(res)
    res["torch_threads"] = torch.get_num_threads()
    paths, index_dir = [Path(p) for p in spec["paths"]], Path(spec["index"])
    runs: list[dict[str, Any]] = []

    def bare(when: str, texts: list[str]) -> None:
        cpu, t = cpu_seconds(), time.perf_counter()
        embedder.encode(texts, batch_size=ENCODE_BATCH)
        runs.append({"when": when, "wall_s": round(time.perf_counter() - t, 2), "cpu_s": round(cpu_seconds() - cpu, 2),
                     "load_avg": load_avg()})

    def distinct_units(passages) -> list[str]:
        return list(dict.fromkeys(passage_units(passages)[1]))

    if "before" in spec["encoder_runs"]:
        bare("before", distinct_units([p for f, root in find_files(paths) for p in chunk_paper(read_paper(f, root))]))

    reset_peak_rss()
    cpu, t = cpu_seconds(), time.perf_counter()
    report = ingest(paths, index_dir, embedder)
    wall = time.perf_counter() - t
    res["peak_rss_mb_ingest"] = peak_rss_mb()
    version = current_version(index_dir)
    passages = load_passages(version)
    texts = distinct_units(passages)
    res["ingest"] = {
        "wall_s": round(wall, 2), "cpu_s": round(cpu_seconds() - cpu, 2), "papers": report.papers, "pages": report.pages,
        "passages": report.passages, "skipped": report.skipped, "embedded": report.embedded, "reused": report.reused,
        "seconds": {k: round(v, 2) for k, v in report.seconds.items()},
        # Whitespace words: in the files as read (pypdf's text of every page, or the text
        # export), in the papers' text once running headers and footers are taken out, in the
        # passages kept, in the units embedded.
        "words_files": sum(_file_words(f) for f, _ in find_files(paths)),
        "words_corpus": _words(p.text for p in load_papers(version)),
        "words_passages": report.words_total,
        "words_embedded": report.words_embedded,
    }
    if "after" in spec["encoder_runs"]:
        bare("after", texts)
    res["encoder"] = {
        "units": len(texts), "words": _words(texts), "batch_size": ENCODE_BATCH, "runs": runs,
        "wall_s": round(sum(r["wall_s"] for r in runs) / len(runs), 2),
        "cpu_s": round(sum(r["cpu_s"] for r in runs) / len(runs), 2),
    }
    files = folder_bytes(version)
    res["disk"] = {"version": str(version), "files": files, "bytes": sum(files.values()), "passages": len(passages)}

    t = time.perf_counter()
    again = ingest(paths, index_dir, embedder)
    res["reingest"] = {"wall_s": round(time.perf_counter() - t, 2), "embedded": again.embedded, "reused": again.reused,
                       "unchanged": again.unchanged}
    res["disk"]["version"] = str(current_version(index_dir))  # the re-ingest wrote a new version

    vecs, times = [], []
    for q in spec["questions"]:
        t = time.perf_counter()
        vecs.append(embedder.encode([q])[0])
        times.append(time.perf_counter() - t)
    np.save(spec["question_vectors"], np.stack(vecs).astype(np.float32), allow_pickle=False)
    res["question_encode"] = latency(times)
    res["peak_rss_mb"] = peak_rss_mb()
    return res


def worker_serve(spec: dict[str, Any]) -> dict[str, Any]:
    """Open a written index with the real model and answer questions as the app would,
    each question encoded afresh; this process's peak RSS is the serving footprint."""
    from index.folder import open_index
    from qa.retrieve import search

    res: dict[str, Any] = {"load_avg_start": load_avg()}
    embedder = _loaded_model(res)
    t = time.perf_counter()
    index = open_index(Path(spec["index"]), embedder, verify=False)
    res["open_s"] = round(time.perf_counter() - t, 2)
    res["rss_mb_open"] = current_rss_mb()
    res["faiss"] = type(index.faiss_index).__name__
    # Index.embeddings reads FAISS's vectors in place (index.store.unit_vectors): one copy.
    res["arrays_mb"] = {"faiss_vectors": round(index.faiss_index.ntotal * index.faiss_index.d * 4 / 2**20, 1),
                        "units": round(index.unit_table.nbytes / 2**20, 1)}
    for q in ("Which committee approved the budget?", "Who chairs the board?", "What was decided in March?"):
        search(index, q, k=10)  # warm-up, not among the timed questions
    times = []
    for q in spec["questions"]:
        t = time.perf_counter()
        search(index, q, k=10, retriever="hybrid")
        times.append(time.perf_counter() - t)
    res["hybrid_with_encoding"] = latency(times)
    if spec.get("ask"):
        from qa.answer import answer

        times = []
        for q in spec["questions"]:
            q = q + " Please."  # a new text: the question-vector cache can't serve it
            t = time.perf_counter()
            answer(index, q, k=10)
            times.append(time.perf_counter() - t)
        res["ask_with_encoding"] = latency(times)
    res["peak_rss_mb"] = peak_rss_mb()
    return res


WORKERS = {"ingest": worker_ingest, "serve": worker_serve}


def main(argv: list[str]) -> int:
    kind, spec_path, result_path = argv
    result = WORKERS[kind](json.loads(Path(spec_path).read_text()))
    Path(result_path).write_text(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
