"""The engine that holds an index, chosen from where it is: a folder (the default, the
embedded store of index.folder) or a ``postgresql://`` URL (PostgreSQL + pgvector,
index.postgres). Nothing else knows which engine it talks to.

Adding an engine: one module with ``open_store``, ``ingest``, ``version_of`` and ``printable`` and a store
class that meets index.store.Store, and one line in ENGINES.

    >>> engine_name("postgresql://committee_qa@127.0.0.1:5432/committee_qa"), engine_name("data/index")
    ('postgres', 'folder')
"""

from __future__ import annotations

import importlib
from pathlib import Path

from index.embed import Embedder
from index.ingest import IngestReport, Progress
from index.pdfread import ReadLimits
from index.store import Engine, Store

# URL scheme → engine module; a location with none of these schemes is a folder.
ENGINES = {
    "postgresql://": "index.postgres",
    "postgres://": "index.postgres",
}
FOLDER = "index.folder"


def engine_name(location: str | Path) -> str:
    text = str(location)
    module = next((m for scheme, m in ENGINES.items() if text.startswith(scheme)), FOLDER)
    return module.rsplit(".", 1)[1]


def engine_for(location: str | Path) -> Engine:
    """The engine module for ``location``, imported when first needed (psycopg is only
    needed for PostgreSQL)."""
    return importlib.import_module(f"index.{engine_name(location)}")


def is_postgres_url(location: str | Path) -> bool:
    return engine_name(location) == "postgres"


def open_store(location: str | Path, embedder: Embedder | None = None) -> Store:
    """Open the index at ``location`` for reading, whichever engine holds it."""
    return engine_for(location).open_store(str(location), embedder)


def ingest_into(
    location: str | Path,
    paths: list[Path],
    embedder: Embedder,
    *,
    prune: bool = False,
    limits: ReadLimits = ReadLimits(),
    progress: Progress | None = None,
) -> IngestReport:
    """Bring the index at ``location`` up to date with the papers under ``paths``. Every
    engine reads, chunks and embeds alike (index.ingest) and reports the same way."""
    return engine_for(location).ingest(paths, str(location), embedder, prune=prune, limits=limits, progress=progress)


def version_of(location: str | Path) -> str:
    """A key that changes whenever the index at ``location`` is written: caches of an opened
    store use it to move on after an ingest made elsewhere."""
    return engine_for(location).version_of(str(location))


def printable(location: str | Path) -> str:
    """``location`` fit to print: a database URL without its password."""
    return engine_for(location).printable(str(location))
