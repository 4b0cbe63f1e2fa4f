"""The PostgreSQL + pgvector engine: the schema, connecting, an incremental ingest, and the
store that hands out candidates, sentence units and word frequencies (index.store.Store).

    >>> report = ingest_pg([Path("papers")], "postgresql://committee_qa@127.0.0.1:5432/committee_qa",
    ...                    SentenceTransformerEmbedder())  # doctest: +SKIP
    >>> idx = open_pg("postgresql://committee_qa@127.0.0.1:5432/committee_qa", SentenceTransformerEmbedder())  # doctest: +SKIP

Papers are read, chunked and embedded exactly as for the embedded store (index.read,
index.chunk, index.ingest.passage_units), so both engines hold the same passages and the
same sentence-unit vectors. Each changed paper is written in its own transaction: a killed
ingest leaves every paper committed before it intact, and the next run carries on from
there (papers are compared by the hash of their file's bytes, as in index.ingest).

Schema (version :data:`SCHEMA_VERSION`)::

    cqa_schema      one row: schema version, embedding model and dimension
    papers          one row per file: source, path, hash, kind, committee, meeting date,
                    title, page count, the read text and its layout (pages, agenda, spans)
    passages        every field of index.model.Passage, plus ``tsv``: a generated
                    tsvector (English; item_title and section weight A, context and text B)
                    with a GIN index
    lexicon         document frequency of each tsvector lexeme, and text_stats the number
                    of passages: the IDF of the full-text ranking, kept in step per paper
    units           the sentence units of each passage: offsets, a hash of the embedded
                    text (the embedding cache), and ``embedding vector(dim)``, unit length,
                    with an HNSW index (inner product = cosine)
    paper_acronyms  acronyms each paper spells out ("Multi-Agency Safeguarding Hub (MASH)")

Deleting a paper row cascades to its passages, units and acronyms.

Candidates for a question are one SQL statement; filters are WHERE clauses. A filtered
dense search over a small slice of the index (a committee, a year) is exact — every unit of
the admitted passages is scored, like the folder engine's mask — because an HNSW walk that
discards most of what it finds runs out of candidates; a broad filter uses HNSW with
pgvector's iterative scan. Ranking the candidates is qa.retrieve's, the same as for folders.
"""

from __future__ import annotations

import json
import threading
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import date, timezone
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from index.chunk import chunk_paper
from index.embed import Embedder
from index.ingest import (
    IngestReport,
    Progress,
    embed_key,
    embed_units,
    file_hash,
    find_files,
    inherit_item,
    inherit_meeting,
    learn_acronyms,
    passage_units,
    read_or_reason,
)
from index.model import Filters, Paper, Passage
from index.pdfread import ReadLimits
from index.store import (
    Candidates,
    Catalogue,
    Frequencies,
    IndexCorrupt,
    IndexLocked,
    IndexMismatch,
    IndexMissing,
    NoMatchingPassages,
    PaperEntry,
    Units,
    remember,
)
from index.tokens import STOP_WORDS, words

SCHEMA_VERSION = 1
TS_CONFIG = "english"
HNSW_M = 16
HNSW_EF_CONSTRUCTION = 64
_LOCK_KEY = 0x6371615F7067  # pg_advisory_lock key: one writer per database


class PgUnavailable(IndexMissing):
    """The server cannot be reached, refuses the credentials, or the DSN is malformed."""


class PgSchemaMissing(IndexMissing):
    """The database holds no committee-qa index (yet)."""


class PgSchemaMismatch(IndexMismatch):
    """Another schema version, or another embedding model."""


class PgCorrupt(IndexCorrupt):
    """The schema is there but broken (tables or extension missing)."""


# --- connecting ---------------------------------------------------------------------


def redact(dsn: str) -> str:
    """``user@host:port/dbname`` for messages: never the password."""
    try:
        from psycopg.conninfo import conninfo_to_dict

        d = conninfo_to_dict(dsn)
    except Exception:  # noqa: BLE001 - a malformed DSN is reported by connect()
        return "<malformed DSN>"
    user = f"{d['user']}@" if d.get("user") else ""
    port = f":{d['port']}" if d.get("port") else ""
    return f"{user}{d.get('host') or 'localhost'}{port}/{d.get('dbname') or d.get('user') or ''}"


def connect(dsn: str, *, autocommit: bool = False, timeout: float = 10.0):
    """A psycopg connection, or a one-line error saying what is wrong and what to do."""
    try:
        import psycopg
    except ImportError as err:
        raise PgUnavailable("PostgreSQL support needs psycopg: pip install 'psycopg[binary]'") from err
    if not dsn or not isinstance(dsn, str):
        raise PgUnavailable("no PostgreSQL DSN given: pass postgresql://user@host:port/dbname "
                            "(`committee-qa pg start DIR` prints one)")
    where = redact(dsn)
    try:
        from psycopg.conninfo import conninfo_to_dict

        conninfo_to_dict(dsn)
    except psycopg.ProgrammingError as err:
        raise PgUnavailable(
            f"not a valid PostgreSQL DSN ({_first_line(err)}): write it as postgresql://user@host:port/dbname"
        ) from None
    try:
        conn = psycopg.connect(dsn, autocommit=autocommit, connect_timeout=max(1, int(timeout)))
    except psycopg.OperationalError as err:
        text = _first_line(err)
        low = str(err).lower()
        if "connection option" in low or "invalid uri" in low or "invalid connection" in low:
            raise PgUnavailable(
                f"not a valid PostgreSQL DSN ({text.removeprefix('connection is bad: ')}): "
                "write it as postgresql://user@host:port/dbname"
            ) from None
        if "password authentication failed" in low or "no password supplied" in low or (
            "role" in low and "does not exist" in low
        ):
            hint = "check the user name and password in the DSN"
        elif "database" in low and "does not exist" in low:
            hint = "check the database name in the DSN, or create it (`committee-qa pg start DIR` does)"
        elif "connection refused" in low or "timeout" in low or "could not connect" in low or "no such file" in low:
            hint = "is the server running? start one with `committee-qa pg start DIR`, or check host and port"
        else:
            hint = "check the DSN and that the server is running"
        raise PgUnavailable(f"cannot connect to PostgreSQL at {where}: {text}; {hint}") from None
    except psycopg.Error as err:
        raise PgUnavailable(f"cannot connect to PostgreSQL at {where}: {_first_line(err)}") from None
    return conn


def _first_line(err: BaseException) -> str:
    lines = [ln.strip() for ln in str(err).strip().splitlines() if ln.strip()]
    # libpq prefixes "connection to server at ... failed:"; the reason is what matters.
    text = lines[-1] if lines else type(err).__name__
    if len(lines) > 1 and not lines[-1].lower().startswith(("fatal", "could not", "connection")):
        text = lines[0]
    # psycopg also prefixes "connection failed: connection to server at "host", port N failed:".
    if "FATAL:" in text:
        text = text.rsplit("FATAL:", 1)[1]
    elif " failed: " in text:
        text = text.rsplit(" failed: ", 1)[1]
    return text.strip().rstrip(".")


# --- the schema ---------------------------------------------------------------------


def schema_sql(dim: int) -> list[str]:
    tsv = (
        f"setweight(to_tsvector('{TS_CONFIG}', coalesce(item_title, '') || ' ' || coalesce(section, '')), 'A') || "
        f"setweight(to_tsvector('{TS_CONFIG}', coalesce(context, '') || ' ' || text), 'B')"
    )
    return [
        "CREATE EXTENSION IF NOT EXISTS vector",
        """CREATE TABLE cqa_schema (
            version integer NOT NULL,
            model text NOT NULL,
            dim integer NOT NULL,
            created timestamptz NOT NULL DEFAULT now(),
            one_row boolean PRIMARY KEY DEFAULT true CHECK (one_row)
        )""",
        """CREATE TABLE papers (
            paper_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            source text NOT NULL UNIQUE,
            path text NOT NULL DEFAULT '',
            doc text NOT NULL,
            format text NOT NULL,
            content_hash text NOT NULL,
            kind text NOT NULL,
            committee text,
            meeting_date date,
            title text,
            page_count integer NOT NULL DEFAULT 0,
            text text NOT NULL,
            layout jsonb NOT NULL,
            ingested_at timestamptz NOT NULL DEFAULT now()
        )""",
        "CREATE SEQUENCE passages_pid_seq AS bigint",
        f"""CREATE TABLE passages (
            pid bigint PRIMARY KEY DEFAULT nextval('passages_pid_seq'),
            paper_id bigint NOT NULL REFERENCES papers ON DELETE CASCADE,
            id text NOT NULL,
            doc text NOT NULL,
            source text NOT NULL,
            text text NOT NULL,
            start_char integer NOT NULL,
            end_char integer NOT NULL,
            page integer,
            page_end integer,
            printed_page text,
            printed_page_end text,
            committee text,
            meeting_date date,
            pack_date date,
            kind text NOT NULL,
            agenda_item text,
            item_title text,
            section text,
            context text NOT NULL DEFAULT '',
            is_table boolean NOT NULL DEFAULT false,
            content_hash text NOT NULL DEFAULT '',
            tsv tsvector GENERATED ALWAYS AS ({tsv}) STORED
        )""",
        "ALTER SEQUENCE passages_pid_seq OWNED BY passages.pid",
        "CREATE INDEX passages_tsv ON passages USING gin (tsv)",
        "CREATE INDEX passages_paper ON passages (paper_id)",
        "CREATE INDEX passages_id ON passages (id)",
        "CREATE INDEX passages_committee_date ON passages (committee, (coalesce(meeting_date, pack_date)))",
        f"""CREATE TABLE units (
            pid bigint NOT NULL REFERENCES passages ON DELETE CASCADE,
            start_char integer NOT NULL,
            end_char integer NOT NULL,
            text_key bytea NOT NULL,
            embedding vector({int(dim)}) NOT NULL
        )""",
        "CREATE INDEX units_pid ON units (pid)",
        f"CREATE INDEX units_hnsw ON units USING hnsw (embedding vector_ip_ops) "
        f"WITH (m = {HNSW_M}, ef_construction = {HNSW_EF_CONSTRUCTION})",
        # Document frequencies of the tsvector lexemes, kept in step with each paper's
        # transaction, for the IDF weights of the full-text ranking (qa.pgstore).
        """CREATE TABLE lexicon (
            lexeme text PRIMARY KEY,
            df bigint NOT NULL
        )""",
        """CREATE TABLE text_stats (
            passages bigint NOT NULL DEFAULT 0,
            one_row boolean PRIMARY KEY DEFAULT true CHECK (one_row)
        )""",
        "INSERT INTO text_stats (passages) VALUES (0)",
        """CREATE TABLE paper_acronyms (
            paper_id bigint NOT NULL REFERENCES papers ON DELETE CASCADE,
            acronym text NOT NULL,
            expansion text NOT NULL,
            PRIMARY KEY (paper_id, acronym)
        )""",
    ]


TABLES = ("cqa_schema", "papers", "passages", "units", "lexicon", "text_stats", "paper_acronyms")


def read_schema(conn) -> dict[str, Any] | None:
    """The cqa_schema row, or None for a database with no committee-qa tables at all."""
    import psycopg

    present = {
        r[0]
        for r in conn.execute(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') AND c.relname = ANY(%s)",
            (list(TABLES),),
        )
    }
    if not present:
        return None
    if "cqa_schema" not in present:
        raise PgCorrupt(
            f"the database has committee-qa tables ({', '.join(sorted(present))}) but no cqa_schema table: "
            "it was not written by this committee-qa; use an empty database"
        )
    try:
        row = conn.execute("SELECT version, model, dim FROM cqa_schema").fetchone()
    except psycopg.Error as err:
        raise PgCorrupt(f"cannot read the cqa_schema table ({_first_line(err)}): use an empty database") from None
    if row is None:
        raise PgCorrupt("the cqa_schema table is empty (an interrupted setup?): drop the committee-qa tables and ingest again")
    version, model, dim = row
    if version != SCHEMA_VERSION:
        raise PgSchemaMismatch(
            f"the database holds a committee-qa index of schema version {version} but this committee-qa "
            f"reads version {SCHEMA_VERSION}: ingest into a new database (or drop its tables and ingest again)"
        )
    missing = set(TABLES) - present
    if missing:
        raise PgCorrupt(
            f"the committee-qa index is missing its {', '.join(sorted(missing))} table(s): "
            "drop the committee-qa tables and ingest again"
        )
    return {"version": version, "model": model, "dim": dim}


def check_model(meta: dict[str, Any], model: str, where: str) -> None:
    if meta["model"] != model:
        raise PgSchemaMismatch(
            f"the index at {where} was built with the model {meta['model']!r}, not {model!r}: "
            "use the same --model, or ingest into a new database"
        )


def ensure_schema(conn, model: str, dim: int, where: str = "") -> dict[str, Any]:
    """Create the schema in an empty database (once, under a lock), else check it."""
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_KEY + 1,))
        meta = read_schema(conn)
        if meta is None:
            try:
                for stmt in schema_sql(dim):
                    conn.execute(stmt)
            except Exception as err:
                import psycopg

                if isinstance(err, psycopg.Error) and "vector" in str(err):
                    raise PgCorrupt(
                        f"cannot enable pgvector in {where} ({_first_line(err)}): install the extension "
                        "or use a server that has it (`committee-qa pg start DIR`)"
                    ) from None
                raise
            conn.execute(
                "INSERT INTO cqa_schema (version, model, dim) VALUES (%s, %s, %s)", (SCHEMA_VERSION, model, dim)
            )
            meta = {"version": SCHEMA_VERSION, "model": model, "dim": dim}
    check_model(meta, model, where)
    if meta["dim"] != dim:
        raise PgSchemaMismatch(
            f"the index at {where} holds {meta['dim']}-dimensional vectors but the model gives {dim}: "
            "ingest into a new database"
        )
    return meta


@contextmanager
def writer_lock(conn, where: str) -> Iterator[None]:
    """One ingest at a time per database (a session-level advisory lock)."""
    got = conn.execute("SELECT pg_try_advisory_lock(%s)", (_LOCK_KEY,)).fetchone()[0]
    conn.commit()
    if not got:
        raise IndexLocked(f"another ingest is writing {where}; wait for it to finish and try again")
    try:
        yield
    finally:
        try:
            conn.rollback()
            conn.execute("SELECT pg_advisory_unlock(%s)", (_LOCK_KEY,))
            conn.commit()
        except Exception:  # noqa: BLE001 - a dead connection releases the lock anyway
            pass


# --- binary COPY of vectors ----------------------------------------------------------

_COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + (0).to_bytes(4, "big") + (0).to_bytes(4, "big")
_COPY_TRAILER = (-1).to_bytes(2, "big", signed=True)


def units_copy_payload(pids: np.ndarray, starts: np.ndarray, ends: np.ndarray, keys: list[bytes], vectors: np.ndarray) -> bytes:
    """``COPY units (pid, start_char, end_char, text_key, embedding) FROM STDIN (FORMAT BINARY)``
    data, packed by numpy: pgvector's binary form is int16 dim, int16 0, then float4s."""
    n, dim = vectors.shape
    dt = np.dtype(
        [
            ("nfields", ">i2"),
            ("l_pid", ">i4"), ("pid", ">i8"),
            ("l_start", ">i4"), ("start", ">i4"),
            ("l_end", ">i4"), ("end", ">i4"),
            ("l_key", ">i4"), ("key", "S20"),
            ("l_vec", ">i4"), ("dim", ">i2"), ("unused", ">i2"), ("vec", ">f4", (dim,)),
        ]
    )
    rows = np.zeros(n, dtype=dt)
    rows["nfields"] = 5
    rows["l_pid"], rows["pid"] = 8, pids
    rows["l_start"], rows["start"] = 4, starts
    rows["l_end"], rows["end"] = 4, ends
    rows["l_key"], rows["key"] = 20, np.array(keys, dtype="S20") if n else np.zeros(0, "S20")
    rows["l_vec"], rows["dim"] = 4 + 4 * dim, dim
    rows["vec"] = vectors
    return _COPY_HEADER + rows.tobytes() + _COPY_TRAILER


def normalise(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return vectors / norms


def vector_literal(vector: np.ndarray) -> str:
    return "[" + ",".join(f"{x:.7g}" for x in np.asarray(vector, dtype=np.float32).tolist()) + "]"


def parse_vector(text: str) -> np.ndarray:
    return np.array(json.loads(text), dtype=np.float32)


PASSAGE_COLUMNS = (
    "pid", "paper_id", "id", "doc", "source", "text", "start_char", "end_char", "page", "page_end",
    "printed_page", "printed_page_end", "committee", "meeting_date", "pack_date", "kind",
    "agenda_item", "item_title", "section", "context", "is_table", "content_hash",
)


def passage_row(pid: int, paper_id: int, p: Passage) -> tuple:
    return (
        pid, paper_id, p.id, p.doc, p.source, _no_nul(p.text), p.start, p.end, p.page, p.page_end,
        p.printed_page, p.printed_page_end, p.committee, p.meeting_date, p.pack_date, p.kind,
        p.agenda_item, p.item_title, p.section, _no_nul(p.context), p.is_table, p.content_hash,
    )


def _no_nul(text: str) -> str:
    # PostgreSQL text cannot hold NUL; a space keeps every character offset valid.
    return text.replace("\x00", " ")


def write_passages(cur, paper_id: int, passages: list[Passage]) -> list[int]:
    """COPY the passages in; returns their pids in order."""
    if not passages:
        return []
    pids = [r[0] for r in cur.execute(
        "SELECT nextval('passages_pid_seq') FROM generate_series(1, %s)", (len(passages),)
    ).fetchall()]
    with cur.copy(f"COPY passages ({', '.join(PASSAGE_COLUMNS)}) FROM STDIN") as copy:
        for pid, p in zip(pids, passages):
            copy.write_row(passage_row(pid, paper_id, p))
    return pids


def write_units(cur, pids: np.ndarray, starts: np.ndarray, ends: np.ndarray, keys: list[bytes], vectors: np.ndarray) -> None:
    if not len(pids):
        return
    with cur.copy("COPY units (pid, start_char, end_char, text_key, embedding) FROM STDIN (FORMAT BINARY)") as copy:
        step = 20_000
        for i in range(0, len(pids), step):
            sl = slice(i, i + step)
            payload = units_copy_payload(pids[sl], starts[sl], ends[sl], keys[sl], vectors[sl])
            # One COPY stream: header on the first block only, trailer on the last.
            if i > 0:
                payload = payload[len(_COPY_HEADER):]
            if i + step < len(pids):
                payload = payload[: -len(_COPY_TRAILER)]
            copy.write(payload)


# --- ingest -------------------------------------------------------------------------


@dataclass(frozen=True)
class KnownPaper:
    """A paper already in the database, as the next ingest compares it."""

    paper_id: int
    content_hash: str
    path: str
    source: str
    committee: str | None
    meeting_date: str | None


def embedder_dim(embedder: Embedder) -> int:
    if embedder.dim:
        return int(embedder.dim)
    return int(embedder.encode(["dimension probe"]).shape[1])


def ingest_pg(paths: list[Path], dsn: str, embedder: Embedder, *, prune: bool = False,
              limits: ReadLimits = ReadLimits(), progress: Progress | None = None,
              workers: int = 2) -> IngestReport:
    """Bring the PostgreSQL index at ``dsn`` up to date with the papers under ``paths``.

    Folder by folder, so memory stays bounded and an appendix can take its meeting from the
    papers filed beside it (as index.ingest does); each changed paper is one transaction."""
    run = _PgIngest(embedder=embedder, limits=limits, workers=workers,
                    tick=progress or (lambda stage, done, total: None))
    t_start = time.perf_counter()
    where = redact(dsn)
    with connect(dsn, autocommit=True) as conn:
        ensure_schema(conn, embedder.name, embedder_dim(embedder), where)
        with writer_lock(conn, where):
            run.conn = conn
            run.known = _known_papers(conn)
            for k in run.known.values():
                run.siblings[str(Path(k.source).parent)][k.source] = k
            files = find_files(paths)
            run.total = len(files)
            by_folder: dict[Path, list[tuple[Path, Path]]] = defaultdict(list)
            for f, root in files:
                by_folder[f.parent].append((f, root))
            for folder in sorted(by_folder):
                run.folder(by_folder[folder])
            run.prune_missing(prune)
            if run.report.added or run.report.updated or run.report.removed:
                conn.execute("ANALYZE papers, passages, units")
            totals = conn.execute(
                "SELECT (SELECT count(*) FROM papers), (SELECT coalesce(sum(page_count), 0) FROM papers), "
                "(SELECT count(*) FROM passages)"
            ).fetchone()
    report = run.report
    report.papers, report.pages, report.passages = (int(x) for x in totals)
    report.seconds = dict(run.timings) | {"total": time.perf_counter() - t_start}
    report.version = f"postgresql schema {SCHEMA_VERSION}"
    return report


def _known_papers(conn) -> dict[str, KnownPaper]:
    return {
        r[0]: KnownPaper(paper_id=r[1], content_hash=r[2], path=r[3], source=r[0], committee=r[4],
                         meeting_date=r[5].isoformat() if r[5] else None)
        for r in conn.execute("SELECT source, paper_id, content_hash, path, committee, meeting_date FROM papers")
    }


@dataclass
class _PgIngest:
    """The state of one ingest_pg run, folder by folder."""

    embedder: Embedder
    limits: ReadLimits
    workers: int
    tick: Progress
    conn: Any = None
    known: dict[str, KnownPaper] = field(default_factory=dict)
    report: IngestReport = field(default_factory=IngestReport)
    timings: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    cache: dict[str, np.ndarray] = field(default_factory=dict)  # embed_key → unit vector
    seen: set[str] = field(default_factory=set)
    # Papers by folder (of their source), stored or just read: an appendix takes its meeting
    # and its agenda item from the papers filed beside it (index.ingest._inherit_meeting,
    # _inherit_item).
    siblings: dict[str, dict[str, Any]] = field(default_factory=lambda: defaultdict(dict))
    total: int = 0
    done: int = 0

    def folder(self, files: list[tuple[Path, Path]]) -> None:
        t0 = time.perf_counter()
        to_read = [item for item in files if self._changed(*item)]
        papers: list[tuple[Path, Paper]] = []
        with ThreadPoolExecutor(max_workers=max(1, self.workers)) as pool:
            for f, paper, reason in pool.map(lambda item: read_or_reason(item, self.limits), to_read):
                self._step("read")
                if paper is None:
                    self.report.skipped.append((str(f), reason))
                else:
                    papers.append((f, paper))
        self.timings["read"] += time.perf_counter() - t0
        for _, paper in papers:
            self.siblings[str(Path(paper.source).parent)][paper.source] = paper
        for f, paper in papers:
            self._write(f, paper, self.siblings[str(Path(paper.source).parent)])

    def _step(self, stage: str) -> None:
        self.done += 1
        self.tick(stage, self.done, self.total)

    def _changed(self, f: Path, root: Path) -> bool:
        """Whether the file must be read; unchanged ones are counted and only their path updated."""
        if not f.exists():
            self.report.skipped.append((str(f), "no such file"))
            self._step("read")
            return False
        source = str(f.relative_to(root)) if f.is_relative_to(root) else f.name
        self.seen.add(source)
        old = self.known.get(source)
        if old is None or old.content_hash != file_hash(f):
            return True
        self.report.unchanged += 1
        self._step("read")
        if old.path != str(f.resolve()):
            self.conn.execute("UPDATE papers SET path = %s WHERE paper_id = %s", (str(f.resolve()), old.paper_id))
        return False

    def _write(self, f: Path, paper: Paper, siblings: dict[str, Any]) -> None:
        t1 = time.perf_counter()
        passages = chunk_paper(paper)
        inherit_meeting(siblings, passages)
        inherit_item(siblings, passages)
        t2 = time.perf_counter()
        old = self.known.get(paper.source)
        if old is not None:
            _load_cache(self.conn, old.paper_id, self.cache)
        units, texts = passage_units(passages)
        keys = [embed_key(t) for t in texts]
        vectors = self._vectors(keys, texts)
        t3 = time.perf_counter()
        paper_id = _write_paper(self.conn, paper, f, passages, units, keys, vectors, old)
        self.timings["chunk"] += t2 - t1
        self.timings["embed"] += t3 - t2
        self.timings["write"] += time.perf_counter() - t3
        (self.report.updated if old is not None else self.report.added).append(paper.source)
        self.known[paper.source] = KnownPaper(paper_id=paper_id, content_hash=paper.content_hash,
                                              path=str(f.resolve()), source=paper.source,
                                              committee=paper.committee, meeting_date=paper.meeting_date)
        if len(self.cache) > 200_000:
            self.cache.clear()

    def _vectors(self, keys: list[str], texts: list[str]) -> np.ndarray:
        """Unit length, so inner product is cosine; each distinct text embedded once."""
        if not texts:
            return np.zeros((0, embedder_dim(self.embedder)), dtype=np.float32)
        part = IngestReport()
        vectors = embed_units(keys, texts, self.embedder, self.cache, part, self.tick)
        self.report.embedded += part.embedded
        self.report.reused += part.reused
        self.report.words_embedded += part.words_embedded
        return normalise(vectors)

    def prune_missing(self, prune: bool) -> None:
        """Papers not seen this time stay, unless pruned because their file is gone."""
        for source, k in sorted(self.known.items()):
            if source in self.seen or not prune or Path(k.path or "").exists():
                continue
            with self.conn.transaction():
                delete_paper(self.conn.cursor(), k.paper_id)
            self.report.removed.append(source)


def _load_cache(conn, paper_id: int, cache: dict[str, np.ndarray]) -> None:
    """The previous version's unit vectors, keyed by the hash of their text."""
    for key, vec in conn.execute(
        "SELECT u.text_key, u.embedding::text FROM units u JOIN passages p USING (pid) WHERE p.paper_id = %s",
        (paper_id,),
    ):
        cache.setdefault(bytes(key).hex(), parse_vector(vec))


def _write_paper(conn, paper: Paper, path: Path, passages: list[Passage], units: np.ndarray,
                 keys: list[str], vectors: np.ndarray, old: KnownPaper | None) -> int:
    """Replace one paper, its passages, units and acronyms, in one transaction."""
    from psycopg.types.json import Jsonb

    layout = {k: v for k, v in asdict(paper).items() if k in ("pages", "agenda", "items", "records", "headers")}
    with conn.transaction():
        cur = conn.cursor()
        if old is not None:
            delete_paper(cur, old.paper_id)
        paper_id = cur.execute(
            """INSERT INTO papers (source, path, doc, format, content_hash, kind, committee, meeting_date,
                                   title, page_count, text, layout)
               VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING paper_id""",
            (paper.source, str(path.resolve()), paper.doc, paper.format, paper.content_hash, paper.kind,
             paper.committee, paper.meeting_date, paper.title, paper.page_count, _no_nul(paper.text),
             Jsonb(layout)),
        ).fetchone()[0]
        pids = np.array(write_passages(cur, paper_id, passages), dtype=np.int64)
        if len(units):
            write_units(cur, pids[units[:, 0]], units[:, 1], units[:, 2],
                        [bytes.fromhex(k) for k in keys], vectors)
        add_to_lexicon(cur, paper_id, +1)
        acronyms = learn_acronyms(passages)
        if acronyms:
            cur.executemany(
                "INSERT INTO paper_acronyms (paper_id, acronym, expansion) VALUES (%s, %s, %s)",
                [(paper_id, a, e) for a, e in acronyms.items()],
            )
    return paper_id


def add_to_lexicon(cur, paper_id: int, sign: int) -> None:
    """Count a paper's passages into (+1) or out of (-1) the document frequencies."""
    cur.execute(
        """INSERT INTO lexicon AS l (lexeme, df)
           SELECT lexeme, %(sign)s * count(*) FROM passages p, unnest(tsvector_to_array(p.tsv)) AS lexeme
           WHERE p.paper_id = %(paper)s GROUP BY lexeme
           ON CONFLICT (lexeme) DO UPDATE SET df = l.df + EXCLUDED.df""",
        {"sign": sign, "paper": paper_id},
    )
    cur.execute(
        "UPDATE text_stats SET passages = passages + %(sign)s * (SELECT count(*) FROM passages WHERE paper_id = %(paper)s)",
        {"sign": sign, "paper": paper_id},
    )


def delete_paper(cur, paper_id: int) -> None:
    """Remove a paper; its passages, units and acronyms go with it (ON DELETE CASCADE)."""
    add_to_lexicon(cur, paper_id, -1)
    cur.execute("DELETE FROM papers WHERE paper_id = %s", (paper_id,))


def read_paper_row(row: dict[str, Any]) -> Paper:
    """A papers row back as an index.model.Paper (for "show in paper")."""
    layout = row["layout"]
    return Paper.from_json(
        {
            "source": row["source"], "doc": row["doc"], "format": row["format"], "text": row["text"],
            "content_hash": row["content_hash"], "kind": row["kind"], "committee": row["committee"],
            "meeting_date": row["meeting_date"].isoformat() if row["meeting_date"] else None,
            "title": row["title"], "page_count": row["page_count"],
            "pages": layout["pages"], "agenda": layout["agenda"], "items": layout["items"],
            "records": layout["records"], "headers": layout["headers"],
        }
    )


# --- reading ------------------------------------------------------------------------

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


def _grouped_units(rows: list[tuple]) -> dict[Any, Units]:
    """Rows of (key, start, end, vector text) as {key: (spans in order, their vectors)}."""
    spans: dict[Any, list[tuple[int, int]]] = {}
    vectors: dict[Any, list[np.ndarray]] = {}
    for key, start, end, vector in sorted(rows, key=lambda r: (r[0], r[1])):
        spans.setdefault(key, []).append((int(start), int(end)))
        vectors.setdefault(key, []).append(parse_vector(vector))
    return {key: Units(tuple(spans[key]), np.stack(vectors[key])) for key in spans}


@dataclass
class PgIndex:
    """An open connection to a committee-qa index in PostgreSQL (index.store.Store). Safe to
    share between threads (queries take turns on one connection); close it, or use it as a
    context manager."""

    dsn: str
    conn: Any
    meta: dict[str, Any]
    embedder: Embedder | None
    committees: list[str]
    acronyms: dict[str, str]
    ef_search: int = EF_SEARCH
    exact_below: int = EXACT_BELOW
    candidate_budget: int = CANDIDATE_BUDGET

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._dfs: dict[str, tuple[int, int]] = {}
        self._admitted: dict[Filters, int] = {}  # passages each recent filter admits (capped)
        self._units_seen: dict[str, Units] = {}  # by passage id
        self._papers = lru_cache(maxsize=64)(self._read_paper)  # the last few papers cited
        self.last_sql: str = ""

    @property
    def location(self) -> str:
        return redact(self.dsn)

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

    # --- the Store protocol ----------------------------------------------------------

    def candidates(self, text: str | None, vector: np.ndarray | None, filters: Filters, n: int) -> Candidates:
        """One SQL statement: full-text candidates found by the question's rarest words (GIN
        index, at most about CANDIDATE_BUDGET passages) and ranked by IDF-weighted
        ``ts_rank`` of every question word, and dense candidates from the HNSW index over
        sentence units (a passage scores by its best unit), joined to their passages."""
        sql, params = self._plan(text, vector, filters, n)
        rows = self._execute(sql, params)
        return Candidates(
            passages=tuple(_passage(r, 2) for r in rows),
            lexical=np.array([np.nan if r[0] is None else float(r[0]) for r in rows], dtype=np.float64),
            dense=np.array([np.nan if r[1] is None else float(r[1]) for r in rows], dtype=np.float64),
        )

    def units(self, passages) -> dict[str, Units]:
        """The stored sentence units of ``passages`` and their vectors, by passage id: those
        read for this question before (the second stage's, then the answer's), the rest in
        one query."""
        out = {p.id: self._units_seen.get(p.id) for p in passages}
        missing = [pid for pid, found in out.items() if found is None]
        if missing:
            got = _grouped_units(self._execute(
                """SELECT p.id, u.start_char, u.end_char, u.embedding::text
                   FROM passages p JOIN units u ON u.pid = p.pid WHERE p.id = ANY (%s)""",
                (missing,),
            ))
            if len(self._units_seen) > 256:
                self._units_seen.clear()
            self._units_seen.update(got)
            out.update(got)
        return {pid: found for pid, found in out.items() if found is not None}

    def frequencies(self, tokens) -> Frequencies:
        """From the lexicon the ingest keeps. PostgreSQL's English stemmer is the Snowball one
        index.tokens uses, so the lexicon holds the same stems as the folder's BM25 vocabulary."""
        known = self._read_dfs(list(tokens) + [""])  # "" counts the passages
        return Frequencies({t: known[t][0] for t in tokens}, known[""][1])

    def _read_dfs(self, tokens: list[str]) -> dict[str, tuple[int, int]]:
        """(passages holding each word, passages in all); those not read before in one round
        trip. Returns them itself: another thread may clear the shared cache at any moment."""
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

    def version(self) -> str:
        return _as_version(self._execute(LAST_INGEST)[0][0])

    def catalogue(self) -> Catalogue:
        rows = self._execute(
            """SELECT p.source, p.doc, p.content_hash, p.kind, p.committee, p.meeting_date, p.title,
                      p.page_count, (SELECT count(*) FROM passages x WHERE x.paper_id = p.paper_id)
               FROM papers p ORDER BY p.source"""
        )
        papers = tuple(
            PaperEntry(source=r[0], doc=r[1], content_hash=r[2], kind=r[3], committee=r[4],
                       meeting_date=r[5].isoformat() if r[5] else None, title=r[6], pages=int(r[7] or 0),
                       passages=int(r[8]))
            for r in rows
        )
        created = self._execute("SELECT created FROM cqa_schema")[0][0]
        return Catalogue(
            papers=papers,
            created=created.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            model=self.meta["model"],
            kinds=tuple(sorted({p.kind for p in papers})),
            dates=tuple(sorted({p.meeting_date for p in papers if p.meeting_date})),
        )

    def paper(self, source: str) -> Paper | None:
        """A paper's text and layout, fetched on demand rather than loaded whole."""
        return self._papers(source)

    def _read_paper(self, source: str) -> Paper | None:
        cols = ["source", "doc", "format", "text", "content_hash", "kind", "committee", "meeting_date",
                "title", "page_count", "layout"]
        rows = self._execute(f"SELECT {', '.join(cols)} FROM papers WHERE source = %s", (source,))
        return read_paper_row(dict(zip(cols, rows[0], strict=True))) if rows else None

    def file_for(self, source: str) -> Path | None:
        """The paper's original file where it was ingested from, if it is still there (the
        database keeps the read text, not the file)."""
        rows = self._execute("SELECT path FROM papers WHERE source = %s", (source,))
        path = Path(rows[0][0]) if rows and rows[0][0] else None
        return path if path is not None and path.is_file() else None

    # --- for tuning and the benchmark ------------------------------------------------

    def count(self) -> dict[str, int]:
        papers, passages, units = self._execute(
            "SELECT (SELECT count(*) FROM papers), (SELECT count(*) FROM passages), (SELECT count(*) FROM units)"
        )[0]
        return {"papers": papers, "passages": passages, "units": units}

    def explain(self, text: str | None, vector: np.ndarray | None, filters: Filters = Filters(), n: int = 100) -> str:
        """EXPLAIN (ANALYZE, BUFFERS) of the statement ``candidates`` runs."""
        sql, params = self._plan(text, vector, filters, n)
        return "\n".join(r[0] for r in self._execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params))

    def _plan(self, text: str | None, vector: np.ndarray | None, filters: Filters, n: int) -> tuple[str, dict[str, Any]]:
        where, params = filter_sql(filters)
        exact = False
        if where:
            # A session asks question after question under the same sidebar filters.
            admitted = remember(self._admitted, filters, lambda: self._execute(
                f"SELECT count(*) FROM (SELECT 1 FROM passages p WHERE {where} LIMIT %(cap)s) s",
                params | {"cap": self.exact_below + 1},
            )[0][0], 16)
            if admitted == 0:
                raise NoMatchingPassages()
            exact = admitted <= self.exact_below
        qwords = query_words(text) if text is not None else []
        params |= {"n": n, "depth": max(8 * n, 400), "qtext": " ".join(qwords), "budget": self.candidate_budget}
        if vector is not None:
            params["vec"] = vector_literal(vector)
        sql = build_sql(bm25=bool(qwords), dense=vector is not None, where=where, exact=exact)
        self.last_sql = sql
        return sql, params


def build_sql(*, bm25: bool, dense: bool, where: str, exact: bool) -> str:
    """One statement: the full-text and dense candidates, joined to their passages.

    Output: full-text score, dense score (NULL where a path did not find the passage), then
    the passage columns of _PASSAGE_SELECT, in passage-key order."""
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
    ctes.append("cand AS (SELECT pid, b.score AS bs, d.score AS ds FROM bm b FULL JOIN de d USING (pid))")
    return (
        "WITH " + ",\n".join(ctes)
        + f"\nSELECT c.bs, c.ds, {_PASSAGE_SELECT}\nFROM cand c JOIN passages p ON p.pid = c.pid\nORDER BY p.pid"
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


def open_pg(dsn: str, embedder: Embedder | None = None, *, ef_search: int = EF_SEARCH) -> PgIndex:
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
                       acronyms=_acronyms(conn), ef_search=ef_search)
    except BaseException:
        conn.close()
        raise


def open_store(location: str, embedder: Embedder | None = None) -> PgIndex:
    return open_pg(location, embedder)


def ingest(paths: list[Path], location: str, embedder: Embedder, *, prune: bool = False,
           limits: ReadLimits = ReadLimits(), progress: Progress | None = None) -> IngestReport:
    return ingest_pg(paths, location, embedder, prune=prune, limits=limits, progress=progress)


def printable(location: str) -> str:
    return "postgresql://" + redact(location)


def version_of(location: str) -> str:
    """The time of the database's last ingest: it changes with every ingest."""
    with connect(location, autocommit=True) as conn:
        return _last_ingest(conn)


def _last_ingest(conn) -> str:
    return _as_version(conn.execute(LAST_INGEST).fetchone()[0])


LAST_INGEST = "SELECT max(ingested_at) FROM papers"


def _as_version(when) -> str:
    return when.isoformat() if when else ""
