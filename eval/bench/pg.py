"""Query latency of the PostgreSQL + pgvector store at 100k and 1M passages.

    python -m eval.bench.pg --index data/index --dsn postgresql://committee_qa@127.0.0.1:PORT/committee_qa \\
        [--sizes 100000,1000000] [--questions eval/questions/sefton-dev.jsonl] [--out docs/bench/pg.json]

The passages are synthetic, made exactly as ``committee-qa bench`` makes its embedded-store
indexes (eval.bench.synth: real sentence units of the ``--index`` corpus recombined, each
unit's vector a perturbed copy of its real one; two units a passage from 500k up), so the
two stores are timed on alike data. Each size gets its own database (``bench_<size>``,
dropped and created in the server of ``--dsn``), loaded by COPY in chunks with the HNSW and
GIN indexes built after the load, then searched through ``qa.pgstore.PgIndex.search`` —
the path the CLI and the evaluation take. Question vectors are computed before timing, so
timings exclude the model. Prints one JSON object: load and index-build seconds, table and
index sizes, p50/p95 per retriever, and the HNSW dense search's recall@10 against an
exact scan.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from eval.bench.measure import log, round_robin
from eval.bench.synth import NOISE, TWO_UNITS_FROM, Material, build_synthetic

CHUNK = 100_000  # passages generated and copied at a time (memory stays near 0.5 GB)
RETRIEVERS = ("bm25", "dense", "hybrid", "rerank")
RECALL_QUESTIONS = 10  # exact scans at 1M take seconds each


def _database_dsn(dsn: str, name: str) -> str:
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    return make_conninfo(**(conninfo_to_dict(dsn) | {"dbname": name}))


def fresh_database(dsn: str, name: str) -> str:
    """Drop and create ``name`` in the server of ``dsn``; returns its DSN."""
    from index.postgres import connect

    with connect(dsn, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return _database_dsn(dsn, name)


def load(dsn: str, folder_index: Path, size: int, *, seed: int = 0, model: str = "all-MiniLM-L6-v2") -> dict[str, Any]:
    """Fill the empty database at ``dsn`` with ``size`` synthetic passages made from the
    folder index's corpus; returns what it took."""
    from index.folder import current_version, load_embeddings, load_papers, load_passages
    from index.ingest import embed_key
    from index.postgres import connect, ensure_schema, write_passages, write_units

    version = current_version(folder_index)
    material = Material.from_passages(load_passages(version), load_embeddings(version))
    keys = np.array([bytes.fromhex(embed_key(t)) for t in material.texts], dtype="S20")
    papers = {p.source: p for p in load_papers(version)}
    dim = int(material.vectors.shape[1])
    seconds: dict[str, float] = {"generate": 0.0, "copy": 0.0}
    with connect(dsn, autocommit=True) as conn:
        ensure_schema(conn, model, dim, dsn)
        # Indexes are built once after the load: faster than keeping them up to date row by row.
        conn.execute("DROP INDEX units_hnsw, passages_tsv")
        paper_ids = {}
        for source, p in papers.items():
            paper_ids[source] = conn.execute(
                "INSERT INTO papers (source, doc, format, content_hash, kind, committee, meeting_date, title,"
                " page_count, text, layout) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, '', '{}') RETURNING paper_id",
                (source, p.doc, p.format, p.content_hash, p.kind, p.committee, p.meeting_date, p.title, p.page_count),
            ).fetchone()[0]
        units_each = 2 if size >= TWO_UNITS_FROM else None
        for n, start in enumerate(range(0, size, CHUNK)):
            t = time.perf_counter()
            count = min(CHUNK, size - start)
            syn = build_synthetic(material, count, units_per_passage=units_each, noise=NOISE, seed=seed + n,
                                  faiss_kind="none", keep_tokens=False)
            index = syn.index
            passages = [dataclasses.replace(p, id=f"syn-{start + i:07d}") for i, p in enumerate(index.passages)]
            seconds["generate"] += time.perf_counter() - t
            t = time.perf_counter()
            with conn.transaction():
                cur = conn.cursor()
                pids = np.zeros(len(passages), dtype=np.int64)
                by_source: dict[str, list[int]] = {}
                for i, p in enumerate(passages):
                    by_source.setdefault(p.source, []).append(i)
                for source, rows in by_source.items():
                    pids[rows] = write_passages(cur, paper_ids[source], [passages[i] for i in rows])
                units = index.unit_table
                write_units(cur, pids[units[:, 0]], units[:, 1], units[:, 2], list(keys[syn.source_units]),
                            index.embeddings)
            seconds["copy"] += time.perf_counter() - t
            log(f"{start + count:,} of {size:,} passages loaded")
            del syn, index, passages
        conn.execute("SET maintenance_work_mem = '4GB'")
        conn.execute("SET max_parallel_maintenance_workers = 1")
        for name, sql in _index_sql(dim):
            t = time.perf_counter()
            conn.execute(sql)
            seconds[name] = time.perf_counter() - t
            log(f"{name}: {seconds[name]:.0f} s")
        t = time.perf_counter()
        conn.execute("ANALYZE")
        seconds["analyze"] = time.perf_counter() - t
        conn.execute("CHECKPOINT")
        sizes = dict(conn.execute(
            """SELECT relname, pg_total_relation_size(oid) FROM pg_class
               WHERE relname IN ('passages', 'units', 'lexicon', 'papers')
               UNION ALL
               SELECT relname, pg_relation_size(oid) FROM pg_class
               WHERE relname IN ('units_hnsw', 'passages_tsv', 'units_pid', 'passages_paper', 'passages_pkey')"""
        ).fetchall())
        counts = conn.execute("SELECT (SELECT count(*) FROM passages), (SELECT count(*) FROM units)").fetchone()
    return {"passages": int(counts[0]), "units": int(counts[1]), "seconds": {k: round(v, 1) for k, v in seconds.items()},
            "bytes": {k: int(v) for k, v in sizes.items()}, "database_bytes": _database_bytes(dsn)}


def _index_sql(dim: int) -> list[tuple[str, str]]:
    """The schema's own HNSW and GIN definitions (index.postgres.schema_sql), and the
    full-text statistics the ingest keeps per paper, computed once."""
    from index.postgres import schema_sql

    wanted = {"passages_tsv": "gin_build", "units_hnsw": "hnsw_build"}
    out = [(wanted[name], sql) for sql in schema_sql(dim) for name in wanted if f"INDEX {name} " in sql]
    out.append(("lexicon", """INSERT INTO lexicon (lexeme, df)
        SELECT lexeme, count(*) FROM passages, unnest(tsvector_to_array(tsv)) AS lexeme GROUP BY lexeme"""))
    out.append(("text_stats", "UPDATE text_stats SET passages = (SELECT count(*) FROM passages)"))
    return out


def _database_bytes(dsn: str) -> int:
    from index.postgres import connect

    with connect(dsn, autocommit=True) as conn:
        return int(conn.execute("SELECT pg_database_size(current_database())").fetchone()[0])


def measure(dsn: str, questions: list[str], embedder, *, repeats: int = 2) -> dict[str, Any]:
    """p50/p95 of each retriever, and of the default (rerank) with a date filter, through qa.retrieve.search."""
    from index.model import Filters
    from index.postgres import open_pg
    from qa.retrieve import Question, search

    with open_pg(dsn, embedder) as idx:
        for q in questions:  # question vectors now, so the model is not timed
            Question(idx, q).vector  # noqa: B018
        dates = [r[0] for r in idx.conn.execute(
            "SELECT DISTINCT coalesce(meeting_date, pack_date) FROM passages WHERE coalesce(meeting_date, pack_date)"
            " IS NOT NULL ORDER BY 1").fetchall()]
        fns = {r: (lambda q, r=r: search(idx, q, k=10, retriever=r)) for r in RETRIEVERS}
        if dates:
            # The later half of the meetings: a filter that admits a large share of the index.
            since = Filters(date_from=dates[len(dates) // 2].isoformat())
            fns["rerank+date"] = lambda q: search(idx, q, k=10, filters=since)
        timed, errors = round_robin(fns, questions, repeats)
        asked = Question(idx, questions[0])
        plan = idx.explain(asked.query.expanded, asked.vector)
        recall = dense_recall(idx, questions[:RECALL_QUESTIONS])
    return {"latency": timed, "errors": errors, "hybrid_plan": plan, "hnsw_vs_exact": recall}


def dense_recall(idx, questions: list[str]) -> dict[str, float]:
    """The HNSW dense search against an exact scan (every unit scored): the share of the
    exact top-10 passages it finds, and how much lower its top-10 cosines are on average
    (synthetic copies of one sentence are near-ties, so the share alone undersells it)."""
    from eval.bench.synth import recall
    from qa.retrieve import search

    found, truth, gaps = [], [], []
    for q in questions:
        walked = search(idx, q, k=10, retriever="dense")
        idx.conn.execute("SET enable_indexscan = off")
        try:
            exact = search(idx, q, k=10, retriever="dense")
        finally:
            idx.conn.execute("SET enable_indexscan = on")
        found.append([h.passage.id for h in walked])
        truth.append([h.passage.id for h in exact])
        gaps.append(np.mean([h.score for h in exact]) - np.mean([h.score for h in walked]))
    return {"recall@10": recall(found, truth), "cosine_gap@10": round(float(np.mean(gaps)), 4)}


def main(argv: list[str] | None = None) -> int:
    from eval.questionset import question_texts
    from index.embed import SentenceTransformerEmbedder

    p = argparse.ArgumentParser(prog="python -m eval.bench.pg", description=__doc__.split("\n\n")[0])
    p.add_argument("--index", required=True, type=Path, help="a folder index whose corpus the passages are made from")
    p.add_argument("--dsn", required=True, help="any database of the server to load into (`committee-qa pg start`)")
    p.add_argument("--sizes", default="100000,1000000")
    p.add_argument("--questions", type=Path, default=Path("eval/questions/sefton-dev.jsonl"))
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--keep", action="store_true", help="keep the databases (else dropped at the end)")
    p.add_argument("--reuse", action="store_true", help="time the databases a --keep run left, without loading")
    p.add_argument("--out", type=Path, help="also write the JSON here")
    args = p.parse_args(argv)
    questions = question_texts(args.questions)
    embedder = SentenceTransformerEmbedder()
    results: dict[str, Any] = {"questions": str(args.questions), "n_questions": len(questions), "sizes": {}}
    for size in (int(s) for s in args.sizes.split(",")):
        name = f"bench_{size}"
        if args.reuse:
            dsn, res = _database_dsn(args.dsn, name), {"reused": name}
        else:
            dsn = fresh_database(args.dsn, name)
            log(f"{size:,} passages: loading {name}")
            res = load(dsn, args.index, size, model=embedder.name)
        log(f"{size:,} passages: timing {', '.join(RETRIEVERS)}")
        res |= measure(dsn, questions, embedder, repeats=args.repeats)
        results["sizes"][str(size)] = res
        log(json.dumps({k: v for k, v in res["latency"].items()}))
        if args.out:
            args.out.parent.mkdir(parents=True, exist_ok=True)
            args.out.write_text(json.dumps(results, indent=1))
        if not (args.keep or args.reuse):
            from index.postgres import connect

            with connect(args.dsn, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
