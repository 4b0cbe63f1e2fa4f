"""The folder engine (the default): an index as a folder of plain files, swapped in
atomically, never unpickled; BM25 (bm25s) and FAISS over sentence vectors, in memory.

    DIR/
      current -> versions/20261124T130501-3f2a   (a symlink, replaced in one rename)
      versions/<id>/
        manifest.json     format, model, dimension, settings, papers with hashes, file checksums
        passages.jsonl    one Passage per line
        papers.jsonl      each paper's text, pages and layout (for "show in paper")
        embeddings.npy    float32, one row per sentence unit (allow_pickle=False)
        units.npy         int64 (passage row, start, end) of each sentence unit
        dense.faiss       FAISS's own format
        bm25/             bm25s's JSON and .npy files
        acronyms.json     "MASH" -> "Multi-Agency Safeguarding Hub", learned from the papers
      files/<sha256>.pdf  the original papers, by content, for the app to serve
      .lock               one writer at a time

A crash before the rename leaves ``current`` on the previous version; readers that opened
the old version keep their files (Linux keeps unlinked files open).
"""

from __future__ import annotations

import dataclasses
import fcntl
import hashlib
import json
import math
import os
import shutil
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
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
from index.tokens import bm25_tokens

FORMAT_VERSION = 1
# Flat FAISS costs about 70 ms per million sentence vectors on one thread, and the rest of a
# hybrid search about 10 ms: past ~250k vectors exact search breaks the 30 ms target
# (docs/BENCHMARKS.md), so larger indexes are built as an inverted file (IVF). IVF rather
# than HNSW: at 584k vectors it builds in ~25 s against ~3 min, and every ingest rebuilds it.
ANN_ABOVE = 250_000
TRAIN_PER_LIST = 16  # k-means sample per list: recall as good as 32 per list on the benchmark, half the time


@dataclass(frozen=True)
class Settings:
    target_words: int = 150
    min_words: int = 80
    max_words: int = 250


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


@contextmanager
def writer_lock(index_dir: Path, wait: bool = False) -> Iterator[None]:
    """One writer at a time; a second ingest is told, not left to corrupt the first."""
    index_dir.mkdir(parents=True, exist_ok=True)
    with open(index_dir / ".lock", "w") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError as err:
            raise IndexLocked(f"another ingest is writing {index_dir}; wait for it to finish and try again") from err
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def current_version(index_dir: Path) -> Path:
    link = index_dir / "current"
    if not link.exists():
        if not index_dir.exists():
            raise IndexMissing(f"no index at {index_dir}: build one with `committee-qa ingest PATH --index {index_dir}`")
        raise IndexMissing(
            f"{index_dir} holds no finished index (an ingest may have been stopped): "
            f"run `committee-qa ingest PATH --index {index_dir}` again"
        )
    return link.resolve()


def write_version(
    index_dir: Path,
    *,
    passages: list[Passage],
    papers: list[Paper],
    embeddings: np.ndarray,
    units: np.ndarray,
    model: dict[str, Any],
    settings: Settings,
    acronyms: dict[str, str],
    originals: dict[str, Path],
    paths: dict[str, str] | None = None,
    faiss_index=None,
    unit_keys: list[str] | None = None,
) -> Path:
    """Write a complete new version and swap it in. Call inside :func:`writer_lock`.
    ``faiss_index``: one already built over ``embeddings`` by :func:`build_faiss` (else built here).
    ``unit_keys``: each unit's embedded text's key (index.ingest.embed_key), so the next ingest
    reuses a vector only for the very text it was made from."""
    import bm25s
    import faiss

    from index.tokens import bm25_tokens

    versions = index_dir / "versions"
    versions.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".building-", dir=versions))
    try:
        with (tmp / "passages.jsonl").open("w", encoding="utf-8") as f:
            for p in passages:
                f.write(json.dumps(p.to_json(), ensure_ascii=False) + "\n")
        with (tmp / "papers.jsonl").open("w", encoding="utf-8") as f:
            for paper in papers:
                f.write(json.dumps(paper.to_json(), ensure_ascii=False) + "\n")
        np.save(tmp / "embeddings.npy", np.ascontiguousarray(embeddings, dtype=np.float32), allow_pickle=False)
        np.save(tmp / "units.npy", np.ascontiguousarray(units, dtype=np.int64), allow_pickle=False)
        if unit_keys is not None:
            np.save(tmp / "unit_keys.npy", keys_array(unit_keys), allow_pickle=False)
        if faiss_index is not None and faiss_index.ntotal != len(embeddings):
            raise ValueError(f"the FAISS index given holds {faiss_index.ntotal} vectors, not the {len(embeddings)} embeddings")
        faiss.write_index(build_faiss(embeddings) if faiss_index is None else faiss_index, str(tmp / "dense.faiss"))
        retriever = bm25s.BM25()
        corpus_tokens = [bm25_tokens(p.search_text()) or [""] for p in passages]
        retriever.index(corpus_tokens, show_progress=False)
        retriever.save(str(tmp / "bm25"), show_progress=False)
        (tmp / "acronyms.json").write_text(json.dumps(acronyms, ensure_ascii=False, indent=0))

        files_dir = index_dir / "files"
        files_dir.mkdir(exist_ok=True)
        for content_hash, path in originals.items():
            target = files_dir / f"{content_hash}{path.suffix.lower()}"
            if not target.exists():
                part = target.with_suffix(target.suffix + ".part")
                shutil.copyfile(path, part)
                os.replace(part, target)

        checksums = {
            str(f.relative_to(tmp)): _sha256(f) for f in sorted(tmp.rglob("*")) if f.is_file()
        }
        manifest = {
            "format_version": FORMAT_VERSION,
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "model": model,
            "settings": dataclasses.asdict(settings),
            "counts": {
                "papers": len(papers),
                "passages": len(passages),
                "sentences": int(len(units)),
                "pages": sum(p.page_count for p in papers),
            },
            "papers": [
                {
                    "source": p.source,
                    "path": (paths or {}).get(p.source, ""),
                    "doc": p.doc,
                    "content_hash": p.content_hash,
                    "kind": p.kind,
                    "committee": p.committee,
                    "meeting_date": p.meeting_date,
                    "title": p.title,
                    "pages": p.page_count,
                    "passages": sum(1 for x in passages if x.doc == p.doc and x.source == p.source),
                }
                for p in papers
            ],
            "files": checksums,
        }
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=1, ensure_ascii=False))
        for f in tmp.rglob("*"):
            if f.is_file():
                with f.open("rb") as fh:
                    os.fsync(fh.fileno())
        final = versions / (time.strftime("%Y%m%dT%H%M%S-") + tmp.name[-6:])
        os.rename(tmp, final)
        # The swap: a new symlink renamed over the old one is atomic.
        link_tmp = index_dir / f".current-{os.getpid()}"
        if link_tmp.is_symlink() or link_tmp.exists():
            link_tmp.unlink()
        os.symlink(Path("versions") / final.name, link_tmp)
        os.replace(link_tmp, index_dir / "current")
        _fsync_dir(index_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _drop_old_versions(index_dir, keep=final)
    return final


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _drop_old_versions(index_dir: Path, keep: Path) -> None:
    for old in (index_dir / "versions").iterdir():
        if old != keep:
            shutil.rmtree(old, ignore_errors=True)


def ivf_lists(n: int) -> int:
    """Inverted lists for ``n`` vectors: the power of two nearest 4·√n (FAISS's guideline is
    4–16·√n), at least 256, halved while there are fewer than TRAIN_PER_LIST vectors a list
    to train on. ``ivf_lists(584_202) == 4096``; ``ivf_lists(159) == 8``."""
    nlist = 1 << max(8, round(math.log2(4 * math.sqrt(max(n, 1)))))
    while nlist > 1 and nlist * TRAIN_PER_LIST > n:
        nlist //= 2
    return nlist


def ivf_probes(nlist: int) -> int:
    """Lists searched per question: 1/16 of them, at least 16. On the benchmark's 584k
    vectors (4,096 lists) that finds 100% of flat's top 10 and 99.6% of its top 800 in ~4 ms."""
    return min(nlist, max(16, nlist // 16))


def build_faiss(embeddings: np.ndarray):
    """Flat inner product while exact search is fast enough; an inverted file beyond."""

    n, dim = embeddings.shape if embeddings.ndim == 2 and embeddings.size else (0, embeddings.shape[-1] if embeddings.ndim == 2 else 384)
    if n > ANN_ABOVE:
        return build_ivf(embeddings)
    return build_flat(embeddings, dim)


def build_flat(embeddings: np.ndarray, dim: int | None = None):
    """Exact inner-product search over the unit vectors."""
    import faiss

    index = faiss.IndexFlatIP(dim or embeddings.shape[1])
    if len(embeddings):
        index.add(np.ascontiguousarray(embeddings, dtype=np.float32))
    return index


def build_ivf(embeddings: np.ndarray):
    """An inverted file over unit vectors: ``ivf_lists(n)`` k-means lists trained on a fixed
    sample, searched ``ivf_probes`` lists deep (``qa.retrieve.open_index`` sets it again)."""
    import faiss

    n, dim = embeddings.shape
    vectors = np.ascontiguousarray(embeddings, dtype=np.float32)
    nlist = ivf_lists(n)
    index = faiss.IndexIVFFlat(faiss.IndexFlatIP(dim), dim, nlist, faiss.METRIC_INNER_PRODUCT)
    index.cp.min_points_per_centroid = TRAIN_PER_LIST  # else FAISS warns below 39 a list
    sample = np.random.default_rng(0).choice(n, size=min(n, TRAIN_PER_LIST * nlist), replace=False)
    index.train(vectors[np.sort(sample)])
    index.add(vectors)
    index.nprobe = ivf_probes(nlist)
    index.make_direct_map()  # rows by unit id (UnitVectors); saved with the index
    return index


class UnitVectors:
    """The rows of an inverted file's vectors by unit id, copied out of FAISS on demand:
    serving keeps one copy of the vectors, FAISS's. ``vectors[rows]`` as for an array
    (ids, slices or a boolean mask)."""

    def __init__(self, ivf) -> None:
        if ivf.direct_map.type == 0:  # an index written without its map
            ivf.make_direct_map()
        self.ivf = ivf
        self.shape = (int(ivf.ntotal), int(ivf.d))
        self.dtype = np.dtype(np.float32)

    def __len__(self) -> int:
        return self.shape[0]

    def _ids(self, rows) -> np.ndarray:
        """Unit ids as numpy would index an array of them (slices, masks, negatives, bounds),
        without building every id for the few rows a question reads."""
        n = self.shape[0]
        if isinstance(rows, slice):
            return np.arange(*rows.indices(n))
        ids = np.asarray(rows)
        if ids.dtype == bool:
            return np.arange(n)[ids]
        if ids.size and (ids.min() < -n or ids.max() >= n):
            raise IndexError(f"unit ids out of range for {n} units")
        return np.where(ids < 0, ids + n, ids)

    def __getitem__(self, rows) -> np.ndarray:
        ids = self._ids(rows)
        if np.ndim(ids) == 0:
            return self.ivf.reconstruct(int(ids))
        if not len(ids):
            return np.zeros((0, self.shape[1]), dtype=np.float32)
        return self.ivf.reconstruct_batch(np.ascontiguousarray(ids, dtype=np.int64))


class _FlatVectors:
    """Owner of a zero-copy array over a flat FAISS index's vectors: the array's base keeps
    the index alive, so no view outlives the memory it reads."""

    def __init__(self, flat) -> None:
        import faiss

        n, d = int(flat.ntotal), int(flat.d)
        address = faiss.rev_swig_ptr(flat.get_xb(), n * d).__array_interface__["data"][0]
        self.flat = flat
        self.__array_interface__ = {"shape": (n, d), "typestr": "<f4", "data": (address, True), "version": 3}


def unit_vectors(faiss_index) -> np.ndarray | UnitVectors | None:
    """The sentence vectors a search needs row by row, without a second copy beside FAISS's:
    a flat index's own array, viewed in place; an inverted file's rows, read by id. None for
    another kind (an HNSW index of an older version): read embeddings.npy then. (Loading
    embeddings.npy beside FAISS cost 858 MB at 100k passages, or as much again in
    page-cache pages mapped as rows were read.)"""
    if hasattr(faiss_index, "nlist"):
        return UnitVectors(faiss_index)
    if not hasattr(faiss_index, "get_xb"):
        return None
    if not faiss_index.ntotal:
        return np.zeros((0, int(faiss_index.d)), dtype=np.float32)
    return np.asarray(_FlatVectors(faiss_index))


def read_manifest(version: Path) -> dict[str, Any]:
    path = version / "manifest.json"
    try:
        manifest = json.loads(path.read_text())
    except FileNotFoundError as err:
        raise IndexCorrupt(f"{version} has no manifest.json: rebuild it with `committee-qa ingest`") from err
    except json.JSONDecodeError as err:
        raise IndexCorrupt(f"{path} is not valid JSON ({err}): rebuild the index with `committee-qa ingest`") from err
    if manifest.get("format_version") != FORMAT_VERSION:
        raise IndexMismatch(
            f"index format {manifest.get('format_version')} but this committee-qa reads format {FORMAT_VERSION}: "
            "rebuild it with `committee-qa ingest PATH --index DIR`"
        )
    return manifest


def verify_files(version: Path, manifest: dict[str, Any]) -> None:
    """Every file the manifest lists is there with the checksum it had when written."""
    for name, expected in manifest.get("files", {}).items():
        path = version / name
        if not path.exists():
            raise IndexCorrupt(f"index file {name} is missing: rebuild the index with `committee-qa ingest`")
        if _sha256(path) != expected:
            raise IndexCorrupt(
                f"index file {name} is damaged (checksum differs from the manifest): "
                "rebuild the index with `committee-qa ingest`"
            )


def load_passages(version: Path) -> list[Passage]:
    with (version / "passages.jsonl").open(encoding="utf-8") as f:
        return [Passage.from_json(json.loads(line)) for line in f if line.strip()]


def load_papers(version: Path) -> list[Paper]:
    with (version / "papers.jsonl").open(encoding="utf-8") as f:
        return [Paper.from_json(json.loads(line)) for line in f if line.strip()]


def load_embeddings(version: Path, *, mapped: bool = False) -> np.ndarray:
    """The sentence vectors; ``mapped`` reads them through the page cache instead of into
    memory (a server touches a few rows a question, and FAISS holds its own copy)."""
    return np.load(version / "embeddings.npy", allow_pickle=False, mmap_mode="r" if mapped else None)


def load_units(version: Path) -> np.ndarray:
    return np.load(version / "units.npy", allow_pickle=False)


def load_unit_keys(version: Path) -> list[str] | None:
    """The key of the text each unit's vector was made from; None for a version written
    before units carried their keys."""
    path = version / "unit_keys.npy"
    if not path.exists():
        return None
    return keys_of(np.load(path, allow_pickle=False))


def keys_array(keys: list[str]) -> np.ndarray:
    """Hex SHA-1 keys as raw bytes, a row of 20 each (numpy's "S" strings would drop a key's
    trailing zero bytes).

    >>> keys_of(keys_array(["ab" * 19 + "00"])) == ["ab" * 19 + "00"]
    True
    """
    return np.frombuffer(b"".join(bytes.fromhex(k) for k in keys), dtype=np.uint8).reshape(-1, 20)


def keys_of(array: np.ndarray) -> list[str]:
    return [row.tobytes().hex() for row in array]


# --- writing ------------------------------------------------------------------------


def ingest(
    paths: list[Path],
    index_dir: Path,
    embedder: Embedder,
    *,
    prune: bool = False,
    limits: ReadLimits = ReadLimits(),
    settings: Settings = Settings(),
    progress: Progress | None = None,
    workers: int = 2,
) -> IngestReport:
    index_dir = Path(index_dir)
    report = IngestReport()
    tick = progress or (lambda stage, done, total: None)
    with writer_lock(index_dir):
        t0 = time.perf_counter()
        old_papers: dict[str, Paper] = {}
        old_passages: dict[str, list[Passage]] = {}
        cache: dict[str, np.ndarray] = {}
        old_paths: dict[str, str] = {}
        try:
            version = current_version(index_dir)
        except IndexMissing:
            version = None
        if version is not None:
            try:
                manifest = read_manifest(version)
                verify_files(version, manifest)
            except (IndexCorrupt, IndexMismatch) as err:
                # A damaged index is rebuilt from the papers rather than extended.
                report.rebuilt = str(err)
                version = None
        if version is not None:
            model = manifest["model"]
            if model["name"] != embedder.name:
                raise IndexMismatch(
                    f"{index_dir} was built with the model {model['name']!r}, not {embedder.name!r}: "
                    "ingest into a new --index folder, or use the same --model"
                )
            passages = load_passages(version)
            # Each vector under the key of the text it was made from. A version written
            # before units carried their keys is embedded again: today's chunking may cut
            # or head its units differently, and pairing by position would mismatch them.
            keys = load_unit_keys(version)
            if keys is not None:
                cache.update(zip(keys, load_embeddings(version)))
            for p in passages:
                old_passages.setdefault(p.source, []).append(p)
            for paper in load_papers(version):
                old_papers[paper.source] = paper
            old_paths = {e["source"]: e.get("path", "") for e in manifest["papers"]}

        files = find_files(paths)
        new_papers: dict[str, Paper] = {}
        originals: dict[str, Path] = {}
        paths_by_source: dict[str, str] = dict(old_paths)
        to_read: list[tuple[Path, Path]] = []
        for f, root in files:
            if not f.exists():
                report.skipped.append((str(f), "no such file"))
                continue
            source = str(f.relative_to(root)) if f.is_relative_to(root) else f.name
            old = old_papers.get(source)
            if old is not None and old.content_hash == file_hash(f):
                new_papers[source] = old
                originals[old.content_hash] = f
                paths_by_source[source] = str(f.resolve())
                report.unchanged += 1
            else:
                to_read.append((f, root))

        done = 0
        with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            for f, paper, reason in pool.map(lambda item: read_or_reason(item, limits), to_read):
                done += 1
                tick("read", done, len(to_read))
                if paper is None:
                    report.skipped.append((str(f), reason))
                    continue
                (report.updated if paper.source in old_papers else report.added).append(paper.source)
                new_papers[paper.source] = paper
                originals[paper.content_hash] = f
                paths_by_source[paper.source] = str(f.resolve())
        t1 = time.perf_counter()

        # Papers indexed before but not seen this time stay, unless pruned because their file is gone.
        for source, paper in old_papers.items():
            if source in new_papers:
                continue
            gone = not Path(old_paths.get(source, "")).exists()
            if prune and gone:
                report.removed.append(source)
            else:
                new_papers[source] = paper

        all_passages: list[Passage] = []
        for source, paper in sorted(new_papers.items()):
            if source in old_passages and old_papers.get(source) is paper:
                all_passages.extend(old_passages[source])
            else:
                all_passages.extend(chunk_paper(paper))
        inherit_meeting(new_papers, all_passages)
        inherit_item(new_papers, all_passages)
        t2 = time.perf_counter()

        units, unit_texts = passage_units(all_passages)
        unit_keys = [embed_key(t) for t in unit_texts]
        vectors = embed_units(unit_keys, unit_texts, embedder, cache, report, tick)
        t3 = time.perf_counter()

        papers = [new_papers[s] for s in sorted(new_papers)]
        final = write_version(
            index_dir,
            passages=all_passages,
            papers=papers,
            embeddings=vectors,
            units=units,
            model={"name": embedder.name, "dim": int(vectors.shape[1]) if vectors.size else embedder.dim},
            settings=settings,
            acronyms=learn_acronyms(all_passages),
            originals=originals,
            paths=paths_by_source,
            unit_keys=unit_keys,
        )
        t4 = time.perf_counter()
    report.papers = len(papers)
    report.pages = sum(p.page_count for p in papers)
    report.passages = len(all_passages)
    report.words_total = sum(len(p.text.split()) for p in all_passages)
    report.seconds = {"read": t1 - t0, "chunk": t2 - t1, "embed": t3 - t2, "write": t4 - t3}
    report.version = final.name
    return report


def printable(location: str | Path) -> str:
    return str(location)


def version_of(location: str | Path) -> str:
    """The name of the folder's current version: it changes with every ingest."""
    return current_version(Path(location)).name


# --- reading ------------------------------------------------------------------------


@dataclass
class Index:
    """An opened index version: passages, BM25, FAISS, acronyms. Read-only after open."""

    path: Path
    version_dir: Path
    manifest: dict
    passages: list[Passage]
    embeddings: np.ndarray | UnitVectors  # one row per sentence unit (FAISS's own copy when opened)
    unit_table: np.ndarray  # (passage row, start, end) per unit
    faiss_index: object
    bm25: object
    acronyms: dict[str, str]
    embedder: Embedder | None

    @property
    def location(self) -> str:
        return str(self.path)

    @cached_property
    def _unit_starts(self) -> np.ndarray:
        # Units are written passage by passage: each passage's units are one run.
        return np.searchsorted(self.unit_table[:, 0], np.arange(len(self.passages) + 1))

    def unit_rows(self, passage_row: int) -> np.ndarray:
        return np.arange(self._unit_starts[passage_row], self._unit_starts[passage_row + 1])

    @cached_property
    def _row_of(self) -> dict[str, int]:
        return {p.id: i for i, p in enumerate(self.passages)}

    @cached_property
    def committees(self) -> list[str]:
        return sorted({p.committee for p in self.passages if p.committee})

    @cached_property
    def papers(self) -> dict[str, Paper]:
        return {p.source: p for p in load_papers(self.version_dir)}

    # --- the Store protocol ----------------------------------------------------------

    def candidates(self, text: str | None, vector: np.ndarray | None, filters: Filters, n: int) -> Candidates:
        mask = self.mask(filters)
        lexical = self.bm25_scores(text, mask, n) if text is not None else {}
        dense = self.dense_scores(vector, mask, n) if vector is not None else {}
        rows = sorted(set(lexical) | set(dense))
        return Candidates(
            passages=tuple(self.passages[i] for i in rows),
            lexical=np.array([lexical.get(i, np.nan) for i in rows], dtype=np.float64),
            dense=np.array([dense.get(i, np.nan) for i in rows], dtype=np.float64),
        )

    def units(self, passages) -> dict[str, Units]:
        out = {}
        for p in passages:
            row = self._row_of.get(p.id)
            if row is not None:
                rows = self.unit_rows(row)
                out[p.id] = Units(tuple((int(s), int(e)) for _, s, e in self.unit_table[rows]), self.embeddings[rows])
        return out

    def frequencies(self, tokens) -> Frequencies:
        # Document frequency: non-zero entries in the token's column of BM25's score matrix.
        vocab, indptr = self.bm25.vocab_dict, self.bm25.scores["indptr"]
        df = {}
        for t in tokens:
            tid = vocab.get(t)
            df[t] = 0 if tid is None else int(indptr[tid + 1] - indptr[tid])
        return Frequencies(df, len(self.passages))

    def version(self) -> str:
        return self.version_dir.name

    def catalogue(self) -> Catalogue:
        m = self.manifest
        return Catalogue(
            papers=tuple(paper_entry(e) for e in m["papers"]),
            created=m.get("created"),
            model=m["model"]["name"],
            kinds=tuple(sorted({p.kind for p in self.passages})),
            dates=tuple(sorted({d for p in self.passages for d in (p.meeting_date, p.pack_date) if d})),
        )

    def paper(self, source: str) -> Paper | None:
        return self.papers.get(source)

    def file_for(self, source: str) -> Path | None:
        """The original file of a paper, from the index's own store."""
        for entry in self.manifest["papers"]:
            if entry["source"] == source:
                for candidate in (self.path / "files").glob(f"{entry['content_hash']}.*"):
                    return candidate
        return None

    def close(self) -> None:
        pass  # nothing held open: FAISS and BM25 live in memory, the files are read at open

    # --- the two paths ---------------------------------------------------------------

    def mask(self, filters: Filters) -> np.ndarray | None:
        if filters.is_empty():
            return None

        # A session asks question after question under the same sidebar filters, and testing
        # every passage in Python costs tens of ms at 100k passages: keep the last few masks.
        def build() -> np.ndarray:
            built = np.fromiter((filters.admits(p) for p in self.passages), dtype=bool, count=len(self.passages))
            built.flags.writeable = False
            return built

        mask = remember(self.__dict__.setdefault("_masks", {}), filters, build, 16)
        if not mask.any():
            raise NoMatchingPassages()
        return mask

    def bm25_scores(self, text: str, mask: np.ndarray | None, n: int) -> dict[int, float]:
        vocab = self.bm25.vocab_dict
        tokens = [t for t in bm25_tokens(text) if t in vocab]
        if not tokens:
            return {}
        scores = self.bm25.get_scores(tokens)
        if mask is not None:
            scores = np.where(mask, scores, 0.0)
        n = min(n, len(scores))
        top = np.argpartition(-scores, n - 1)[:n]
        return {int(i): float(scores[i]) for i in top if scores[i] > 0}

    def dense_scores(self, vector: np.ndarray, mask: np.ndarray | None, n: int) -> dict[int, float]:
        """Passages scored by their best-matching sentence unit."""
        if not len(self.unit_table):
            return {}
        _one_faiss_thread()
        owner = self.unit_table[:, 0]
        depth = unit_depth(len(self.unit_table), n)
        query = vector[None, :].astype(np.float32)
        unit_mask = None if mask is None else mask[owner]
        limit = BRUTE_FORCE_UNITS if isinstance(self.embeddings, np.ndarray) else BRUTE_FORCE_UNITS_IVF
        if unit_mask is not None and unit_mask.sum() <= limit:
            unit_ids = np.flatnonzero(unit_mask)
            sims = self.embeddings[unit_ids] @ vector
        else:
            # A broad filter goes through FAISS with a selector: gathering hundreds of
            # thousands of rows to score them would cost more than the search.
            sims, unit_ids = self.faiss_index.search(query, depth, params=self._selector(unit_mask))
            sims, unit_ids = sims[0], unit_ids[0]
            keep = unit_ids >= 0
            sims, unit_ids = sims[keep], unit_ids[keep]
        best: dict[int, float] = {}
        for uid, sim in zip(owner[unit_ids].tolist(), sims.tolist()):
            if sim > best.get(uid, -2.0):
                best[uid] = sim
        top = sorted(best.items(), key=lambda kv: -kv[1])[:n]
        return dict(top)

    def _selector(self, unit_mask: np.ndarray | None):
        """FAISS search parameters admitting only the units in ``unit_mask`` (None: all)."""
        if unit_mask is None:
            return None
        import faiss

        bits = np.packbits(unit_mask, bitorder="little")
        sel = faiss.IDSelectorBitmap(len(bits), faiss.swig_ptr(bits))  # its size is in bytes
        ivf = self.faiss_index
        if hasattr(ivf, "nprobe"):
            # The selector only drops units from the lists probed: a filter admitting a share s
            # of units needs about 1/s times the lists for the same recall.
            nprobe = min(ivf.nlist, math.ceil(ivf.nprobe / max(unit_mask.mean(), 1e-9)))
            params = faiss.SearchParametersIVF(sel=sel, nprobe=nprobe)
        else:
            params = faiss.SearchParameters(sel=sel)
        params._keep = (bits, sel)  # FAISS holds raw pointers: keep the buffers alive with the params
        return params


def paper_entry(entry: dict[str, Any]) -> PaperEntry:
    """A manifest's paper entry as the record a library lists."""
    return PaperEntry(
        source=entry["source"], doc=entry.get("doc", entry["source"]), content_hash=entry["content_hash"],
        kind=entry.get("kind", "other"), committee=entry.get("committee"), meeting_date=entry.get("meeting_date"),
        title=entry.get("title"), pages=int(entry.get("pages", 0)), passages=int(entry.get("passages", 0)),
    )


def _one_faiss_thread() -> None:
    """One thread a search: on a shared 2-core server, FAISS's threads contend (flat search
    at 585k vectors: 78 ms on 1 thread against 389 ms on 2; docs/BENCHMARKS.md), and
    concurrent questions are spread over threads by the caller. OpenMP's count is per
    thread, so it is set in whichever thread searches (the app's script threads too)."""
    import faiss

    if faiss.omp_get_max_threads() != 1:
        faiss.omp_set_num_threads(1)


def unit_depth(n_units: int, n: int) -> int:
    """How many sentence units dense search asks FAISS for to rank ``n`` passages: enough
    that ``n`` distinct passages almost always come back."""
    return min(n_units, max(8 * n, 400))


BRUTE_FORCE_UNITS = 50_000  # a filter leaving fewer units than this scores them directly
# Rows of an inverted file are copied out of FAISS one by one: past a few thousand, its
# selector search is faster (16% of 300k units: 3 ms against 32-61 ms gathered).
BRUTE_FORCE_UNITS_IVF = 5_000


def open_index(index_dir: Path, embedder: Embedder | None = None, *, verify: bool = True) -> Index:
    """Open the current version of an index. Refuses an index built with another model."""
    import bm25s
    import faiss

    index_dir = Path(index_dir)
    version = current_version(index_dir)
    manifest = read_manifest(version)
    if verify:
        verify_files(version, manifest)
    if embedder is not None and manifest["model"]["name"] != embedder.name:
        raise IndexMismatch(
            f"{index_dir} was built with the model {manifest['model']['name']!r} but the question would be "
            f"embedded with {embedder.name!r}: use the same --model, or rebuild the index with this one"
        )
    passages = load_passages(version)
    units = load_units(version)
    faiss_index = faiss.read_index(str(version / "dense.faiss"))
    if faiss_index.ntotal != len(units):
        raise IndexCorrupt(f"{version} has {faiss_index.ntotal} vectors for {len(units)} sentence units: rebuild it with `committee-qa ingest`")
    embeddings = unit_vectors(faiss_index)
    if embeddings is None:  # an HNSW index written by an older version: its vectors are not addressable
        embeddings = load_embeddings(version, mapped=True)
    if hasattr(faiss_index, "nprobe"):  # an inverted file (build_faiss)
        faiss_index.nprobe = ivf_probes(faiss_index.nlist)
    if hasattr(faiss_index, "hnsw"):  # built by an older version above 1M units
        faiss_index.hnsw.efSearch = 128
    bm25 = bm25s.BM25.load(str(version / "bm25"), load_corpus=False)
    acronyms = json.loads((version / "acronyms.json").read_text())
    index = Index(
        path=index_dir,
        version_dir=version,
        manifest=manifest,
        passages=passages,
        embeddings=embeddings,
        unit_table=units,
        faiss_index=faiss_index,
        bm25=bm25,
        acronyms=acronyms,
        embedder=embedder,
    )
    # Loaded now, while the version is known to exist: a reader must not find it swapped out later.
    index.papers  # noqa: B018
    return index


def open_store(location: str | Path, embedder: Embedder | None = None) -> Index:
    return open_index(Path(location), embedder)
