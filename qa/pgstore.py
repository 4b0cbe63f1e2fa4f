"""Searching the PostgreSQL + pgvector index: the same PassageStore as the embedded folder.

    >>> idx = open_pg("postgresql://committee_qa@127.0.0.1:5432/committee_qa", SentenceTransformerEmbedder())  # doctest: +SKIP
    >>> hits = idx.search("How many children were waiting to be adopted?", k=5)  # doctest: +SKIP

Each search is one SQL statement: full-text candidates found by the question's rarest words
(GIN index, at most about CANDIDATE_BUDGET passages) and ranked by IDF-weighted ``ts_rank``
of every question word, dense candidates from the HNSW index over
sentence units (a passage scores by its best unit, as in qa.retrieve.dense_scores), fused
by reciprocal rank fusion, and joined to the passages with all their provenance. Filters
are WHERE clauses. Question understanding (qa.query.understand), the date/committee boosts
and de-duplication (qa.retrieve.dedupe) are the embedded store's own functions, so the two
engines rank alike and the evaluation runs unchanged against either.

A filtered dense search over a small slice of the index (a committee, a year) is exact —
every unit of the admitted passages is scored, like the embedded store's mask — because an
HNSW walk that discards most of what it finds runs out of candidates; a broad filter uses
HNSW with pgvector's iterative scan.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from datetime import date, timezone
from functools import cached_property, lru_cache
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Callable, Sequence

import numpy as np

from index.embed import Embedder
from index.model import Filters, Hit, Paper, Passage
from index.pgwrite import (
    TS_CONFIG,
    PgSchemaMissing,
    PgUnavailable,
    check_model,
    connect,
    parse_vector,
    read_paper_row,
    read_schema,
    redact,
    vector_literal,
)
from index.tokens import STOP_WORDS, bm25_tokens, words
from qa.query import Query, understand
from qa.retrieve import (
    CANDIDATES,
    HybridSettings,
    NoMatchingPassages,
    _boosts,
    _ranked,
    dedupe,
    default_retriever,
    remember,
)

RETRIEVERS = ("bm25", "dense", "hybrid", "rerank", "learned")
SECOND_STAGES = ("rerank", "learned")  # re-score the hybrid candidates in Python
EXACT_BELOW = 20_000  # filtered dense search is exact when at most this many passages are admitted
EF_SEARCH = 200
TS_NORMALIZATION = 0  # no length normalisation: best on the development questions (docs/SCALING.md)
TS_WEIGHTS = "'{0.1, 0.2, 1.0, 1.0}'"  # D, C, B, A: headings (A) and text (B) count alike, as in BM25
# The full-text side ranks only passages holding the question's rarest words: words are
# taken rarest first while their passages number at most this many in all (the rarest two
# together, ANDed, when even the rarest alone has more). Commoner words still add to the
# score of those candidates. This bounds a search's full-text work at any corpus size
# (docs/SCALING.md); an index of fewer passages than this uses every word.
CANDIDATE_BUDGET = 2000

# Hybrid fuses by reciprocal rank: no score normalisation, so it stays one plain SQL query.
# k = 20 rather than the usual 60: better on the development questions of both corpora
# (docs/SCALING.md). The second stage (rerank) weighs the first stage's *score* among its
# features, with weights set on the embedded store's convex fusion, so its first stage fuses
# the same way (still one query: min/max are window functions).
PG_SETTINGS = HybridSettings(fusion="rrf", rrf_k=20.0)
RERANK_FUSION = "convex"


def query_words(text: str) -> list[str]:
    """The question's words as BM25 cuts them (index.tokens: [a-z0-9] only, stop words out),
    each once. PostgreSQL stems them with its English configuration."""
    seen: dict[str, None] = {}
    for w in words(text):
        if w not in STOP_WORDS and len(w) < 100:
            seen.setdefault(w, None)
    return list(seen)


def or_tsquery(text: str) -> str:
    """The question's words as an OR query for to_tsquery: 'adopt | children | wait'.

    plainto_tsquery ANDs every word, so a passage missing any one of them is never a
    candidate; the search ORs them (and ranks by IDF-weighted matches)."""
    return " | ".join(query_words(text))


def filter_sql(filters: Filters, alias: str = "p") -> tuple[str, dict[str, Any]]:
    """WHERE conditions (joined by AND, empty if none) and their parameters."""
    conds: list[str] = []
    params: dict[str, Any] = {}
    if filters.committees:
        params["f_committees"] = ["%" + _like_escape(c) + "%" for c in filters.committees]
        conds.append(f"{alias}.committee ILIKE ANY (%(f_committees)s)")
    if filters.kinds:
        params["f_kinds"] = list(filters.kinds)
        conds.append(f"{alias}.kind = ANY (%(f_kinds)s)")
    if filters.docs:
        params["f_docs"] = list(filters.docs)
        conds.append(f"({alias}.doc = ANY (%(f_docs)s) OR {alias}.source = ANY (%(f_docs)s))")
    if filters.date_from:
        params["f_from"] = _iso(filters.date_from, "from")
        conds.append(f"coalesce({alias}.meeting_date, {alias}.pack_date) >= %(f_from)s")
    if filters.date_to:
        params["f_to"] = _iso(filters.date_to, "to")
        conds.append(f"coalesce({alias}.meeting_date, {alias}.pack_date) <= %(f_to)s")
    return " AND ".join(conds), params


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _iso(value: str, name: str) -> date:
    try:
        return date.fromisoformat(value)
    except (TypeError, ValueError):
        raise ValueError(f"the {name} date {value!r} is not a date: write it as YYYY-MM-DD") from None


_PASSAGE_SELECT = """p.pid, p.id, p.doc, p.source, p.text, p.start_char, p.end_char, p.page, p.page_end,
    p.printed_page, p.printed_page_end, p.committee, p.meeting_date, p.pack_date, p.kind,
    p.agenda_item, p.item_title, p.section, p.context, p.is_table, p.content_hash"""


def _passage(row: tuple, offset: int) -> Passage:
    (_pid, pid_text, doc, source, text, start, end, page, page_end, printed, printed_end, committee,
     meeting, pack, kind, item, item_title, section, context, is_table, content_hash) = row[offset : offset + 21]
    return Passage(
        id=pid_text, doc=doc, source=source, text=text, start=start, end=end, page=page, page_end=page_end,
        printed_page=printed, printed_page_end=printed_end, committee=committee,
        meeting_date=meeting.isoformat() if meeting else None, pack_date=pack.isoformat() if pack else None,
        kind=kind, agenda_item=item, item_title=item_title, section=section, context=context,
        is_table=is_table, content_hash=content_hash,
    )


class CorpusRows(Sequence):
    """Candidate passages by row, with the length of the corpus they were drawn from: what
    qa.rerank reads from an embedded Index's ``passages`` (rows and the passage count)."""

    def __init__(self, rows: list[Passage], corpus_size: int) -> None:
        self.rows, self.corpus_size = rows, corpus_size

    def __getitem__(self, row):  # type: ignore[override]
        return self.rows[row]

    def __len__(self) -> int:
        return self.corpus_size


def _grouped_units(rows: list[tuple]) -> dict[Any, tuple[list[tuple[int, int]], np.ndarray]]:
    """Rows of (key, start, end, vector text) as {key: (spans in order, their vectors)}."""
    spans: dict[Any, list[tuple[int, int]]] = {}
    vectors: dict[Any, list[np.ndarray]] = {}
    for key, start, end, vector in sorted(rows, key=lambda r: (r[0], r[1])):
        spans.setdefault(key, []).append((int(start), int(end)))
        vectors.setdefault(key, []).append(parse_vector(vector))
    return {key: (spans[key], np.stack(vectors[key])) for key in spans}


@dataclass
class RerankView:
    """The first stage's candidates laid out as qa.rerank reads an embedded Index: their
    sentence units (candidate row, start, end) and vectors, and the question words'
    document frequencies in the whole corpus in bm25s's shape (vocabulary and column
    pointers)."""

    passages: CorpusRows
    units: np.ndarray
    embeddings: np.ndarray
    bm25: Any
    embedder: Embedder | None

    def unit_rows(self, row: int) -> np.ndarray:
        return np.flatnonzero(self.units[:, 0] == row)


class PaperLookup:
    """Papers by source, read when asked for; the last few are kept."""

    def __init__(self, fetch: Callable[[str], Paper | None], keep: int = 64) -> None:
        self._fetch = lru_cache(maxsize=keep)(fetch)

    def get(self, source: str, default: Paper | None = None) -> Paper | None:
        paper = self._fetch(source)
        return default if paper is None else paper

    def __getitem__(self, source: str) -> Paper:
        paper = self._fetch(source)
        if paper is None:
            raise KeyError(source)
        return paper

    def __contains__(self, source: object) -> bool:
        return isinstance(source, str) and self._fetch(source) is not None


@dataclass
class PgIndex:
    """An open connection to a committee-qa index in PostgreSQL. Safe to share between
    threads (queries take turns on one connection); close it, or use it as a context manager."""

    dsn: str
    conn: Any
    meta: dict[str, Any]
    embedder: Embedder | None
    committees: list[str]
    acronyms: dict[str, str]
    settings: HybridSettings = PG_SETTINGS
    ef_search: int = EF_SEARCH
    exact_below: int = EXACT_BELOW
    candidate_budget: int = CANDIDATE_BUDGET

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._dfs: dict[str, tuple[int, int]] = {}
        self._admitted: dict[Filters, int] = {}  # passages each recent filter admits (capped)
        self._units_seen: dict[str, tuple[list[tuple[int, int]], np.ndarray]] = {}  # by passage id
        self.last_sql: str = ""

    # --- lifecycle -------------------------------------------------------------------

    def close(self) -> None:
        try:
            self.conn.close()
        except Exception:  # noqa: BLE001
            pass

    def __enter__(self) -> PgIndex:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def refresh(self) -> None:
        """Re-read committees and acronyms, and forget the document frequencies, filter
        counts and sentence units read so far (after an ingest into the same database)."""
        self.committees, self.acronyms = _committees(self.conn), _acronyms(self.conn)
        self._dfs.clear()
        self._admitted.clear()
        self._units_seen.clear()

    def _execute(self, sql: str, params: dict[str, Any] | tuple = ()) -> list[tuple]:
        import psycopg

        with self._lock:
            for attempt in (0, 1):
                try:
                    return self.conn.execute(sql, params).fetchall()
                except psycopg.OperationalError as err:
                    # The server restarted or the connection dropped: reconnect once.
                    if not (self.conn.closed or self.conn.broken):
                        raise
                    if attempt:
                        raise PgUnavailable(
                            f"lost the connection to PostgreSQL at {redact(self.dsn)} ({str(err).strip().splitlines()[0]}): "
                            "is the server still running?"
                        ) from None
                    self.conn = connect(self.dsn, autocommit=True)
                    _session_settings(self.conn, self.ef_search)
        raise AssertionError("unreachable")

    # --- reading ---------------------------------------------------------------------

    def count(self) -> dict[str, int]:
        papers, passages, units = self._execute(
            "SELECT (SELECT count(*) FROM papers), (SELECT count(*) FROM passages), (SELECT count(*) FROM units)"
        )[0]
        return {"papers": papers, "passages": passages, "units": units}

    def paper(self, source: str) -> Paper | None:
        """A paper's text and layout (for "show in paper")."""
        cols = ["source", "doc", "format", "text", "content_hash", "kind", "committee", "meeting_date",
                "title", "page_count", "layout"]
        rows = self._execute(f"SELECT {', '.join(cols)} FROM papers WHERE source = %s", (source,))
        return read_paper_row(dict(zip(cols, rows[0], strict=True))) if rows else None

    @cached_property
    def papers(self) -> PaperLookup:
        """``papers.get(source)`` as on the embedded Index (qa.answer cites a quote's own
        pages from it), fetched on demand rather than loaded whole."""
        return PaperLookup(self.paper)

    def _df(self, token: str) -> tuple[int, int]:
        """(passages holding the stemmed word, passages in all), from the lexicon the ingest
        keeps. PostgreSQL's English stemmer is the Snowball one index.tokens uses, so the
        lexicon holds the same stems as the embedded store's BM25 vocabulary."""
        found = self._dfs.get(token)
        return found if found is not None else self._read_dfs([token])[token]

    def _read_dfs(self, tokens: list[str]) -> dict[str, tuple[int, int]]:
        """``_df`` of each of ``tokens``; those not read before in one round trip. Returns
        them itself: another thread may clear the shared cache at any moment."""
        known = {t: self._dfs.get(t) for t in dict.fromkeys(tokens)}
        missing = [t for t, found in known.items() if found is None]
        if missing:
            rows = self._execute(
                """SELECT q.lexeme, coalesce(l.df, 0), s.passages
                   FROM unnest(%s::text[]) AS q(lexeme) LEFT JOIN lexicon l ON l.lexeme = q.lexeme CROSS JOIN text_stats s""",
                (missing,),
            )
            if len(self._dfs) + len(rows) > 4096:
                self._dfs.clear()
            for token, df, n in rows:
                known[token] = self._dfs[token] = (max(0, int(df)), int(n))
        return known

    def knows(self, token: str) -> bool:
        """Whether a (stemmed) word occurs anywhere in the indexed papers (qa.answer's
        "the papers never mention ...")."""
        return self._df(token)[0] > 0

    def idf(self, token: str) -> float:
        """BM25 inverse document frequency of a stemmed word, as the embedded store's (0 for
        one the papers never use: it cannot be matched, so it weighs nothing)."""
        df, n = self._df(token)
        return math.log(1 + (n - df + 0.5) / (df + 0.5)) if df else 0.0

    @property
    def manifest(self) -> dict[str, Any]:
        """The folder manifest's fields that describe the collection (model, counts, one
        entry per paper with the same keys), so a library view can list either store."""
        rows = self._execute(
            """SELECT p.source, p.path, p.doc, p.content_hash, p.kind, p.committee, p.meeting_date, p.title,
                      p.page_count, (SELECT count(*) FROM passages x WHERE x.paper_id = p.paper_id)
               FROM papers p ORDER BY p.source"""
        )
        keys = ("source", "path", "doc", "content_hash", "kind", "committee", "meeting_date", "title",
                "pages", "passages")
        papers = [dict(zip(keys, r, strict=True)) for r in rows]
        for entry in papers:
            entry["meeting_date"] = entry["meeting_date"].isoformat() if entry["meeting_date"] else None
        created = self._execute("SELECT created FROM cqa_schema")[0][0]
        return {
            "schema_version": self.meta["version"],
            "created": created.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "model": {"name": self.meta["model"], "dim": self.meta["dim"]},
            "counts": self.count() | {"pages": sum(e["pages"] for e in papers)},
            "papers": papers,
        }

    @property
    def last_ingest(self) -> str:
        """When a paper was last written (ISO, UTC; "" for none): with the DSN, a key for
        caches that must move on after an ingest, as a folder's version name is."""
        when = self._execute("SELECT max(ingested_at) FROM papers")[0][0]
        return when.astimezone(timezone.utc).isoformat() if when else ""

    def file_for(self, source: str) -> Path | None:
        """The paper's original file where it was ingested from, if it is still there (the
        database keeps the read text, not the file)."""
        rows = self._execute("SELECT path FROM papers WHERE source = %s", (source,))
        path = Path(rows[0][0]) if rows and rows[0][0] else None
        return path if path is not None and path.is_file() else None

    def question_vector(self, text: str) -> np.ndarray:
        """As the embedded store's (one cache, which ``qa.answer`` reads too)."""
        from qa.retrieve import question_vector

        return question_vector(self, text)

    # --- search ----------------------------------------------------------------------

    def search(
        self, question: str, k: int = 10, filters: Filters = Filters(), retriever: str | None = None
    ) -> list[Hit]:
        """The ``k`` best distinct passages for ``question`` (the PassageStore protocol)."""
        retriever = retriever or default_retriever(self)
        sql, params, query = self._plan(question, k, filters, retriever)
        rows = self._execute(sql, params)
        passages = [_passage(r, 1) for r in rows]
        scores = np.array([float(r[0]) for r in rows])
        if retriever in ("hybrid", *SECOND_STAGES) and len(rows):
            # The embedded store's boosts for meetings and committees the question names.
            view = SimpleNamespace(passages=passages, settings=self.settings)
            scores = scores + _boosts(view, query, np.arange(len(rows)))
        ranked = _ranked(np.arange(len(rows)), scores)
        if retriever in SECOND_STAGES:
            ranked = self._rerank(query, [int(r[1]) for r in rows], passages, ranked, learned=retriever == "learned")
        return dedupe(SimpleNamespace(passages=passages), ranked[: max(CANDIDATES, 5 * k)], k, retriever)

    def _rerank(self, query: Query, pids: list[int], passages: list[Passage],
                ranked: list[tuple[int, float]], learned: bool = False) -> list[tuple[int, float]]:
        """The embedded store's second stage (qa.rerank, or the learned qa.learned) over the
        hybrid candidates, fed from the units table and the lexicon."""
        from qa import learned as learned_stage
        from qa.rerank import rerank

        stage = learned_stage.load() if learned else None
        depth = stage.depth if stage else self.settings.rerank_depth
        head = [row for row, _ in ranked[:depth]]
        if not head:
            return ranked
        view = self.rerank_view(query, pids, passages, head)
        if stage is not None:
            return learned_stage.rescore(stage, view, query, ranked, self.question_vector(query.expanded))
        return rerank(view, query, ranked, depth=depth)

    def rerank_view(self, query: Query, pids: list[int], passages: list[Passage], head: list[int]) -> RerankView:
        """What qa.rerank reads for the candidate rows ``head`` (``pids[row]`` in the database)."""
        by_pid = _grouped_units(self._execute(
            "SELECT pid, start_char, end_char, embedding::text FROM units WHERE pid = ANY (%s)",
            ([pids[row] for row in head],),
        ))
        got = [(row, by_pid[pids[row]]) for row in head if pids[row] in by_pid]
        units = np.array([(row, s, e) for row, (spans, _) in got for s, e in spans], dtype=np.int64).reshape(-1, 3)
        vectors = (np.concatenate([vecs for _, (_, vecs) in got]) if got
                   else np.zeros((0, self.meta["dim"]), dtype=np.float32))
        # The answer that follows reads the units of its top passages again (units_for).
        if len(self._units_seen) > 256:
            self._units_seen.clear()
        self._units_seen.update({passages[row].id: found for row, found in got})
        known = self._read_dfs(bm25_tokens(query.expanded) + [""])  # "" counts the passages
        tokens = [t for t, (df, _) in known.items() if t and df > 0]
        dfs = [known[t][0] for t in tokens]
        view = RerankView(
            passages=CorpusRows(passages, known[""][1]),
            units=units,
            embeddings=vectors,
            bm25=SimpleNamespace(vocab_dict={t: i for i, t in enumerate(tokens)},
                                 scores={"indptr": np.concatenate([[0], np.cumsum(dfs)]).astype(np.int64)}),
            embedder=self.embedder,
        )
        # qa.rerank asks the view for this question's vector only: hand it over, embedded once.
        view.__dict__["_question_vectors"] = {query.expanded: self.question_vector(query.expanded)}
        return view

    def units_for(self, passages: list[Passage]) -> dict[str, tuple[list[tuple[int, int]], np.ndarray]]:
        """The stored sentence units of ``passages`` (offsets into their papers) and their
        vectors, by passage id: those the second stage just read, the rest in one query. An
        answer reads these rather than embedding the sentences of its passages again."""
        out = {p.id: self._units_seen.get(p.id) for p in passages}
        missing = [pid for pid, found in out.items() if found is None]
        if missing:
            out.update(_grouped_units(self._execute(
                """SELECT p.id, u.start_char, u.end_char, u.embedding::text
                   FROM passages p JOIN units u ON u.pid = p.pid WHERE p.id = ANY (%s)""",
                (missing,),
            )))
        return {pid: found for pid, found in out.items() if found is not None}

    def explain(self, question: str, k: int = 10, filters: Filters = Filters(), retriever: str = "hybrid") -> str:
        """EXPLAIN (ANALYZE, BUFFERS) of the statement a search runs, for tuning."""
        sql, params, _ = self._plan(question, k, filters, retriever)
        return "\n".join(r[0] for r in self._execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params))

    def _plan(self, question: str, k: int, filters: Filters, retriever: str) -> tuple[str, dict[str, Any], Any]:
        if retriever not in RETRIEVERS:
            raise ValueError(
                f"unknown retriever {retriever!r} for the PostgreSQL index; choose one of: {', '.join(RETRIEVERS)}"
            )
        if k < 1:
            raise ValueError("k must be at least 1")
        query = understand(question, self.acronyms, self.committees)
        n = max(CANDIDATES, 3 * k)
        where, params = filter_sql(filters)
        exact = False
        if where:
            # A session asks question after question under the same sidebar filters.
            admitted = remember(self._admitted, filters, lambda: self._execute(
                f"SELECT count(*) FROM (SELECT 1 FROM passages p WHERE {where} LIMIT %(cap)s) s",
                params | {"cap": self.exact_below + 1},
            )[0][0], 16)
            if admitted == 0:
                raise NoMatchingPassages(
                    "no indexed passage matches these filters (committee, dates, kind or paper); widen or clear them"
                )
            exact = admitted <= self.exact_below
        use_bm = retriever in ("bm25", "hybrid", *SECOND_STAGES)
        use_de = retriever in ("dense", "hybrid", *SECOND_STAGES)
        qwords = query_words(query.expanded) if use_bm else []
        params |= {"n": n, "depth": max(8 * n, 400), "qtext": " ".join(qwords),
                   "budget": self.candidate_budget, "rk": float(self.settings.rrf_k),
                   "wb": 1.0 - self.settings.dense_weight, "wd": float(self.settings.dense_weight)}
        if use_de:
            params["vec"] = vector_literal(self.question_vector(query.expanded))
        sql = build_sql(
            bm25=use_bm and bool(qwords), dense=use_de, where=where, exact=exact,
            fusion={"hybrid": self.settings.fusion, **dict.fromkeys(SECOND_STAGES, RERANK_FUSION)}.get(retriever, "single"),
        )
        self.last_sql = sql
        return sql, params, query


def build_sql(*, bm25: bool, dense: bool, where: str, exact: bool, fusion: str) -> str:
    """One statement: candidate CTEs, their ranks, the fusion, the passages' columns.

    Output: score, then the passage columns of _PASSAGE_SELECT, best first."""
    and_where = f" AND {where}" if where else ""
    ctes: list[str] = []
    if bm25:
        # IDF-weighted ts_rank, one single-lexeme query per question word: ts_rank alone has no
        # IDF, and an OR query ranked as a whole lets common words swamp rare ones. Candidates
        # come from the GIN index, for the selective words only when there are enough of them.
        ctes.append(f"""ql AS MATERIALIZED (
    SELECT l.lexeme, l.df, ln(1 + (s.passages - l.df + 0.5) / (l.df + 0.5)) AS idf
    FROM lexicon l, text_stats s
    WHERE l.df > 0 AND l.lexeme = ANY (tsvector_to_array(to_tsvector('{TS_CONFIG}', %(qtext)s)))),
rare AS MATERIALIZED (
    SELECT lexeme, row_number() OVER w AS rn, sum(df) OVER w AS cum FROM ql
    WINDOW w AS (ORDER BY df, lexeme)),
cq AS MATERIALIZED (
    SELECT (CASE WHEN min(cum) <= %(budget)s
                 THEN (SELECT string_agg(quote_literal(lexeme), ' | ') FROM rare WHERE cum <= %(budget)s)
                 ELSE (SELECT string_agg(quote_literal(lexeme), ' & ') FROM rare WHERE rn <= 2) END)::tsquery AS q
    FROM rare),
bm AS (
    SELECT p.pid, (SELECT sum(ql.idf * ts_rank({TS_WEIGHTS}, p.tsv, quote_literal(ql.lexeme)::tsquery, {TS_NORMALIZATION}))
                   FROM ql) AS score
    FROM passages p
    WHERE p.tsv @@ (SELECT q FROM cq){and_where}
    ORDER BY score DESC, p.pid LIMIT %(n)s)""")
    else:
        ctes.append("bm AS (SELECT NULL::bigint AS pid, NULL::real AS score WHERE false)")
    if dense and exact:
        # A small slice: score every unit of every admitted passage (no index walk).
        ctes.append(f"""de AS (
    SELECT u.pid, -min(u.embedding <#> %(vec)s::vector) AS score
    FROM passages p JOIN units u ON u.pid = p.pid
    WHERE {where or 'true'}
    GROUP BY u.pid ORDER BY score DESC, u.pid LIMIT %(n)s)""")
    elif dense:
        join = f"JOIN passages p ON p.pid = u.pid WHERE {where}" if where else ""
        ctes.append(f"""nn AS MATERIALIZED (
    SELECT u.pid, u.embedding <#> %(vec)s::vector AS d
    FROM units u {join}
    ORDER BY u.embedding <#> %(vec)s::vector LIMIT %(depth)s),
de AS (
    SELECT pid, -min(d) AS score FROM nn GROUP BY pid ORDER BY score DESC, pid LIMIT %(n)s)""")
    else:
        ctes.append("de AS (SELECT NULL::bigint AS pid, NULL::double precision AS score WHERE false)")
    ctes.append("""ranks AS (
    SELECT pid, b.score AS bs, d.score AS ds,
           row_number() OVER (ORDER BY b.score DESC NULLS LAST, pid) AS br,
           row_number() OVER (ORDER BY d.score DESC NULLS LAST, pid) AS dr
    FROM bm b FULL JOIN de d USING (pid))""")
    if fusion == "rrf":
        score = ("%(rk)s * (CASE WHEN bs IS NULL THEN 0 ELSE %(wb)s / (%(rk)s + br) END"
                 " + CASE WHEN ds IS NULL THEN 0 ELSE %(wd)s / (%(rk)s + dr) END)")
    elif fusion == "convex":
        def mm(col: str) -> str:
            lo, hi = f"min({col}) OVER ()", f"max({col}) OVER ()"
            return (f"CASE WHEN {col} IS NULL THEN 0 WHEN {hi} > {lo} "
                    f"THEN ({col} - {lo}) / ({hi} - {lo}) ELSE 1 END")
        score = f"(%(wb)s * {mm('bs')} + %(wd)s * {mm('ds')}) / (%(wb)s + %(wd)s)"
    elif fusion == "single":
        score = "coalesce(bs, ds)"
    else:
        raise ValueError(f"unknown fusion {fusion!r} for the PostgreSQL index; choose rrf or convex")
    ctes.append(f"fused AS (SELECT pid, ({score})::double precision AS score FROM ranks)")
    return (
        "WITH " + ",\n".join(ctes)
        + f"\nSELECT f.score, {_PASSAGE_SELECT}\nFROM fused f JOIN passages p ON p.pid = f.pid\n"
        "ORDER BY f.score DESC, p.pid LIMIT %(n)s * 2"
    )


def _committees(conn) -> list[str]:
    # A loose index scan over passages (committee, date): one probe per distinct committee,
    # not a pass over every passage.
    rows = conn.execute(
        """WITH RECURSIVE c AS (
             (SELECT committee FROM passages WHERE committee IS NOT NULL ORDER BY committee LIMIT 1)
             UNION ALL
             SELECT (SELECT committee FROM passages WHERE committee > c.committee ORDER BY committee LIMIT 1)
             FROM c WHERE c.committee IS NOT NULL)
           SELECT committee FROM c WHERE committee IS NOT NULL"""
    ).fetchall()
    return [r[0] for r in rows]


def _acronyms(conn) -> dict[str, str]:
    """Each acronym's expansion that most papers agree on."""
    rows = conn.execute(
        """SELECT DISTINCT ON (acronym) acronym, expansion
           FROM (SELECT acronym, expansion, count(*) AS n FROM paper_acronyms GROUP BY 1, 2) a
           ORDER BY acronym, n DESC, expansion"""
    ).fetchall()
    return dict(rows)


def _session_settings(conn, ef_search: int) -> None:
    conn.execute(f"SET hnsw.ef_search = {int(ef_search)}")
    conn.execute("SET hnsw.iterative_scan = relaxed_order")
    conn.execute("SET jit = off")


def open_pg(dsn: str, embedder: Embedder | None = None, *, settings: HybridSettings = PG_SETTINGS,
            ef_search: int = EF_SEARCH) -> PgIndex:
    """Open the index at ``dsn``. Refuses one built with another embedding model, another
    schema version, or none at all, with a message saying what to do."""
    conn = connect(dsn, autocommit=True)
    try:
        meta = read_schema(conn)
        if meta is None:
            raise PgSchemaMissing(
                f"the database {redact(dsn)} holds no committee-qa index: "
                f"build one with `committee-qa ingest PATH --store postgresql://{redact(dsn)}`"
            )
        if embedder is not None:
            check_model(meta, embedder.name, redact(dsn))
        _session_settings(conn, ef_search)
        return PgIndex(dsn=dsn, conn=conn, meta=meta, embedder=embedder, committees=_committees(conn),
                       acronyms=_acronyms(conn), settings=settings, ef_search=ef_search)
    except BaseException:
        conn.close()
        raise
