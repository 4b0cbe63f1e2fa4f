"""The index on disk: a folder of plain files, swapped in atomically, never unpickled.

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
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from index.model import AgendaItem, PageSpan, Paper, Passage, Span

FORMAT_VERSION = 1
# Flat FAISS costs about 70 ms per million sentence vectors on one thread, and the rest of a
# hybrid search about 10 ms: past ~250k vectors exact search breaks the 30 ms target
# (docs/BENCHMARKS.md), so larger indexes are built as an inverted file (IVF). IVF rather
# than HNSW: at 584k vectors it builds in ~25 s against ~3 min, and every ingest rebuilds it.
ANN_ABOVE = 250_000
TRAIN_PER_LIST = 16  # k-means sample per list: recall as good as 32 per list on the benchmark, half the time


class IndexError_(Exception):
    """Base for problems with an index folder; messages say what to do next."""


class IndexMissing(IndexError_):
    pass


class IndexCorrupt(IndexError_):
    pass


class IndexMismatch(IndexError_):
    """Built with another model or an older format."""


class IndexLocked(IndexError_):
    pass


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


def paper_to_json(paper: Paper) -> dict[str, Any]:
    return dataclasses.asdict(paper)


def paper_from_json(data: dict[str, Any]) -> Paper:
    return Paper(
        **{
            **data,
            "pages": tuple(PageSpan(**p) for p in data["pages"]),
            "agenda": tuple(AgendaItem(**a) for a in data["agenda"]),
            "items": tuple(Span(**s) for s in data["items"]),
            "records": tuple(Span(**s) for s in data["records"]),
            "headers": tuple(Span(**s) for s in data["headers"]),
        }
    )


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
                f.write(json.dumps(paper_to_json(paper), ensure_ascii=False) + "\n")
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
        return [paper_from_json(json.loads(line)) for line in f if line.strip()]


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
