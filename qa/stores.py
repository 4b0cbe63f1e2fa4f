"""Choose the engine that holds an index from where it is: a folder (the default, embedded
store) or a ``postgresql://`` URL (PostgreSQL + pgvector). The rest of the code sees only the
``PassageStore`` interface and never knows which one it talks to.

    >>> is_postgres_url("postgresql://committee_qa@127.0.0.1:5432/committee_qa")
    True
    >>> is_postgres_url("data/index")
    False
"""

from __future__ import annotations

from pathlib import Path

from index.embed import Embedder
from index.ingest import IngestReport, Progress
from index.pdfread import ReadLimits
from qa.retrieve import PassageStore

POSTGRES_SCHEMES = ("postgresql://", "postgres://")


def is_postgres_url(location: str | Path) -> bool:
    return str(location).startswith(POSTGRES_SCHEMES)


def open_store(location: str | Path, embedder: Embedder | None = None) -> PassageStore:
    """Open the index at ``location`` for reading, whichever engine holds it."""
    if is_postgres_url(location):
        from qa.pgstore import open_pg  # psycopg is only needed for this engine

        return open_pg(str(location), embedder)
    from qa.retrieve import open_index

    return open_index(Path(location), embedder)


def ingest_into(
    location: str | Path,
    paths: list[Path],
    embedder: Embedder,
    *,
    prune: bool = False,
    limits: ReadLimits = ReadLimits(),
    progress: Progress | None = None,
) -> IngestReport:
    """Bring the index at ``location`` up to date with the papers under ``paths``: a new
    folder version (index.ingest), or paper-by-paper transactions in PostgreSQL
    (index.pgwrite). Both read, chunk and embed alike and report the same way."""
    if is_postgres_url(location):
        from index.pgwrite import ingest_pg

        return ingest_pg(paths, str(location), embedder, prune=prune, limits=limits, progress=progress)
    from index.ingest import ingest

    return ingest(paths, Path(location), embedder, prune=prune, limits=limits, progress=progress)


def version_of(location: str | Path) -> str:
    """A key that changes whenever the index at ``location`` is written: the folder's current
    version name, or the time of the database's last ingest. Caches of an opened store use it
    to move on after an ingest made elsewhere."""
    if is_postgres_url(location):
        from index.pgwrite import connect

        with connect(str(location), autocommit=True) as conn:
            when = conn.execute("SELECT max(ingested_at) FROM papers").fetchone()[0]
        return when.isoformat() if when else ""
    from index.store import current_version

    return current_version(Path(location)).name

