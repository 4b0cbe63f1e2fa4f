"""What every engine that holds an index gives the question-answering code: the ``Store``
protocol, the records it hands out, and the errors it raises.

An engine is one module (index.folder, index.postgres) with four functions —
``open_store``, ``ingest``, ``version_of`` and ``printable`` — and a store class with the members below. The engine finds
candidates and hands out data; ranking them happens once, above it (qa.retrieve), the same
for every engine. index.engines picks the engine from an index's location.

    >>> Units(spans=((10, 42),), vectors=np.zeros((1, 3), dtype=np.float32)).relative_to(10)
    [(0, 32)]
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, Sequence

import numpy as np

from index.embed import Embedder
from index.ingest import IngestReport, Progress
from index.model import Filters, Paper, Passage
from index.pdfread import ReadLimits


class IndexError_(Exception):
    """Base for problems with an index; messages say what to do next."""


class IndexMissing(IndexError_):
    pass


class IndexCorrupt(IndexError_):
    pass


class IndexMismatch(IndexError_):
    """Built with another model or an older format."""


class IndexLocked(IndexError_):
    pass


class NoMatchingPassages(LookupError):
    """The filters leave nothing to search."""

    def __init__(self, message: str = "no indexed passage matches these filters (committee, dates, kind or paper); "
                 "widen or clear them") -> None:
        super().__init__(message)


@dataclass(frozen=True)
class Candidates:
    """First-stage candidates for a question: passages with their full-text score and their
    dense score (the best sentence unit's cosine), ``nan`` where a path did not find them.
    In the engine's own stable order (the folder's row order, PostgreSQL's passage key), so
    ties rank alike run after run."""

    passages: tuple[Passage, ...]
    lexical: np.ndarray
    dense: np.ndarray

    def __len__(self) -> int:
        return len(self.passages)


@dataclass(frozen=True)
class Units:
    """A passage's embedded sentence units: spans (offsets into its paper) and vectors."""

    spans: tuple[tuple[int, int], ...]
    vectors: np.ndarray

    def relative_to(self, start: int) -> list[tuple[int, int]]:
        return [(s - start, e - start) for s, e in self.spans]


@dataclass(frozen=True)
class Frequencies:
    """Document frequencies of (stemmed) words, and how many passages there are in all."""

    df: dict[str, int]
    passages: int

    def idf(self, token: str) -> float:
        """BM25's inverse document frequency (0 for a word the papers never use: it cannot
        be matched, so it weighs nothing).

        >>> Frequencies({"care": 1}, 3).idf("care") == math.log(1 + 2.5 / 1.5)
        True
        """
        df = self.df.get(token, 0)
        return math.log(1 + (self.passages - df + 0.5) / (df + 0.5)) if df else 0.0


@dataclass(frozen=True)
class PaperEntry:
    """One paper as a library lists it."""

    source: str
    doc: str
    content_hash: str
    kind: str
    committee: str | None
    meeting_date: str | None
    title: str | None
    pages: int
    passages: int


@dataclass(frozen=True)
class Catalogue:
    """What an index holds: its papers, when it was written, the model that embedded it, and
    the kinds of paper and dates of meetings and packs its passages carry."""

    papers: tuple[PaperEntry, ...]
    created: str | None
    model: str
    kinds: tuple[str, ...]
    dates: tuple[str, ...]


class Store(Protocol):
    """An opened index, whichever engine holds it. Read-only and safe to share between threads."""

    location: str
    embedder: Embedder | None
    committees: list[str]
    acronyms: dict[str, str]

    def candidates(self, text: str | None, vector: np.ndarray | None, filters: Filters, n: int) -> Candidates:
        """Up to ``n`` passages by full text (``text``; None: skip) and up to ``n`` by dense
        similarity (``vector``; None: skip), within ``filters`` (NoMatchingPassages when the
        filters admit none)."""
        ...

    def units(self, passages: Sequence[Passage]) -> dict[str, Units]:
        """The stored sentence units of ``passages``, by passage id."""
        ...

    def frequencies(self, tokens: Sequence[str]) -> Frequencies:
        """Document frequencies of stemmed words (index.tokens.bm25_tokens)."""
        ...

    def version(self) -> str:
        """A key that changes whenever the index is written."""
        ...

    def catalogue(self) -> Catalogue: ...

    def paper(self, source: str) -> Paper | None:
        """A paper's text, pages and layout (for citing a quote's pages and "show in paper")."""
        ...

    def file_for(self, source: str) -> Path | None:
        """The paper's original file, if the index can still reach it."""
        ...

    def close(self) -> None: ...


class Engine(Protocol):
    """An engine module: index.folder, index.postgres."""

    def open_store(self, location: str, embedder: Embedder | None = None) -> Store: ...

    def ingest(self, paths: list[Path], location: str, embedder: Embedder, *, prune: bool = False,
               limits: ReadLimits = ReadLimits(), progress: Progress | None = None) -> IngestReport: ...

    def version_of(self, location: str) -> str: ...

    def printable(self, location: str) -> str:
        """The location fit to print (a database URL without its password)."""
        ...


def remember(cache: dict, key, make, cap: int):
    """``cache[key]``, made by ``make()`` the first time it is asked for. A full cache starts
    over: what repeats is the last few keys (one session's filters, one question's vector).

    >>> cache = {}
    >>> remember(cache, "a", lambda: 1, 2), remember(cache, "a", lambda: 9, 2), remember(cache, "b", lambda: 2, 2)
    (1, 1, 2)
    >>> remember(cache, "c", lambda: 3, 2), sorted(cache)
    (3, ['c'])
    """
    found = cache.get(key)
    if found is None:
        found = make()
        if len(cache) >= cap:
            cache.clear()
        cache[key] = found
    return found
