"""A crash mid-ingest leaves the previous index intact; damage is detected, not served.

Each kill is deterministic: a small child script (written to tmp_path) runs
:func:`index.folder.ingest` with a ``HashingEmbedder`` and SIGKILLs itself at one chosen
point — after the first paper is read, in the second embedding batch, or inside one step of
:func:`index.folder.write_version` (found by wrapping that step's library call). The test
then checks that ``current`` still points at the old version, that it opens with every
checksum verified, and that it answers exactly as before; then a normal run succeeds.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from conftest import (
    KENT_MINUTES,
    SEFTON_MEDIUM,
    SEFTON_SMALL,
    SEFTON_UPDATE,
    UPDATE_SENTENCE,
    cli_command,
    cli_env,
    results,
)

from index.embed import HashingEmbedder
from index.folder import current_version, ingest, open_index, read_manifest, writer_lock
from index.store import IndexCorrupt, IndexLocked, IndexMismatch
from qa.retrieve import search

QUESTIONS = [
    UPDATE_SENTENCE,
    "budget for children in care",
    "How many young people voted in the Kent Youth County Council elections?",
    "home to school transport",
]
OLD = [SEFTON_UPDATE, SEFTON_SMALL]
NEW = [SEFTON_MEDIUM, KENT_MINUTES]  # enough sentences for more than one embedding batch


def embedder() -> HashingEmbedder:
    return HashingEmbedder(dim=64)


CHILD = r'''
import os, signal, sys
from pathlib import Path

point, index_dir, papers = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])

import bm25s, faiss, numpy as np, shutil
import index.folder as ingest_mod
import index.folder as store
from index.embed import HashingEmbedder

writing = False


def die(where):
    print("KILLED AT", where, flush=True)
    os.kill(os.getpid(), signal.SIGKILL)


def truncate(path):
    path = Path(path)
    with path.open("r+b") as f:
        f.truncate(max(1, path.stat().st_size // 2))


class Embedder(HashingEmbedder):
    calls = 0

    def encode(self, texts, **kw):
        Embedder.calls += 1
        if point == "embed" and Embedder.calls == 2:
            die("embed: batch 2")
        return super().encode(texts, **kw)


def progress(stage, done, total):
    if point == "read" and stage == "read" and done == 1 and total > 1:
        die(f"read: {done} of {total}")


real_write_version = ingest_mod.write_version


def write_version(*args, **kw):
    global writing
    writing = True
    return real_write_version(*args, **kw)


ingest_mod.write_version = write_version


def hook(owner, name, make):
    real = getattr(owner, name)
    setattr(owner, name, make(real))


if point == "write-passages":  # passages.jsonl half written
    counter = [0]
    def make(real):
        def dumps(*a, **k):
            if writing:
                counter[0] += 1
                if counter[0] == 10:
                    die("write: passages.jsonl line 10")
            return real(*a, **k)
        return dumps
    hook(store.json, "dumps", make)
elif point == "write-embeddings":  # embeddings.npy torn
    def make(real):
        def save(file, arr, *a, **k):
            real(file, arr, *a, **k)
            if writing and str(file).endswith("embeddings.npy"):
                truncate(file)
                die("write: embeddings.npy torn")
        return save
    hook(np, "save", make)
elif point == "write-faiss":  # dense.faiss torn
    def make(real):
        def write_index(index, path):
            real(index, path)
            truncate(path)
            die("write: dense.faiss torn")
        return write_index
    hook(faiss, "write_index", make)
elif point == "write-bm25":
    def make(real):
        def save(self, *a, **k):
            die("write: bm25 save")
        return save
    hook(bm25s.BM25, "save", make)
elif point == "write-originals":  # a copied original torn, left as .part
    def make(real):
        def copyfile(src, dst, *a, **k):
            real(src, dst, *a, **k)
            truncate(dst)
            die("write: copying an original")
        return copyfile
    hook(store.shutil, "copyfile", make)
elif point == "write-fsync":  # every file written, none synced
    def make(real):
        def fsync(fd):
            if writing:
                die("write: first fsync")
            return real(fd)
        return fsync
    hook(store.os, "fsync", make)
elif point == "write-rename":  # the version folder in place, `current` not yet swapped
    def make(real):
        def rename(src, dst, *a, **k):
            real(src, dst, *a, **k)
            if writing:
                die("write: version renamed, before the swap")
        return rename
    hook(store.os, "rename", make)
elif point == "write-symlink":  # the new link made, not yet renamed over `current`
    def make(real):
        def symlink(src, dst, *a, **k):
            real(src, dst, *a, **k)
            if writing:
                die("write: new link made, before the swap")
        return symlink
    hook(store.os, "symlink", make)
elif point == "after-swap":  # swapped, old versions not yet dropped
    def make(real):
        def drop(*a, **k):
            die("after the swap, before dropping old versions")
        return drop
    hook(store, "_drop_old_versions", make)
elif point not in ("read", "embed", "none"):
    raise SystemExit(f"unknown kill point {point}")

report = ingest_mod.ingest([papers], index_dir, Embedder(64), progress=progress)
print("FINISHED", report.version, flush=True)
'''

BEFORE_SWAP = [
    "read",
    "embed",
    "write-passages",
    "write-embeddings",
    "write-faiss",
    "write-bm25",
    "write-originals",
    "write-fsync",
    "write-rename",
    "write-symlink",
]


@pytest.fixture(scope="module")
def v1(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Index v1 of the OLD papers, and what it answers."""
    root = tmp_path_factory.mktemp("v1")
    papers = root / "papers"
    papers.mkdir()
    for p in OLD:
        shutil.copyfile(p, papers / p.name)
    index_dir = root / "index"
    ingest([papers], index_dir, embedder())
    index = open_index(index_dir, embedder())
    return {
        "root": root,
        "papers": papers,
        "index": index_dir,
        "results": results(index, QUESTIONS),
        "sources": sorted(p.name for p in OLD),
        "passages": index.passages,
    }


def copy_v1(v1: dict, dest: Path, *, with_new: bool = True) -> tuple[Path, Path]:
    """A private copy of v1's index and papers folder (plus the NEW papers)."""
    index_dir, papers = dest / "index", dest / "papers"
    shutil.copytree(v1["index"], index_dir, symlinks=True)
    shutil.copytree(v1["papers"], papers)
    if with_new:
        for p in NEW:
            shutil.copyfile(p, papers / p.name)
    return index_dir, papers


def run_child(tmp_path: Path, point: str, index_dir: Path, papers: Path) -> subprocess.CompletedProcess:
    script = tmp_path / "child_ingest.py"
    script.write_text(CHILD)
    return subprocess.run(
        [sys.executable, str(script), point, str(index_dir), str(papers)],
        capture_output=True,
        text=True,
        timeout=180,
        env=cli_env(),
        stdin=subprocess.DEVNULL,
    )


def manifest_sources(index_dir: Path) -> list[str]:
    return sorted(p["source"] for p in read_manifest(current_version(index_dir))["papers"])


def check_rerun(index_dir: Path, papers: Path) -> None:
    """After a crash, a normal run succeeds, adds the new papers and leaves one clean version."""
    report = ingest([papers], index_dir, embedder())
    assert sorted(report.added) == sorted(p.name for p in NEW)
    assert report.unchanged == len(OLD)
    assert manifest_sources(index_dir) == sorted(p.name for p in OLD + NEW)
    index = open_index(index_dir, embedder())  # checksums verified
    hits = search(index, "How many young people voted in the Kent Youth County Council elections?", k=3)
    assert hits[0].passage.source == KENT_MINUTES.name
    assert [v.name for v in (index_dir / "versions").iterdir()] == [current_version(index_dir).name]
    assert not list((index_dir / "files").glob("*.part"))


@pytest.mark.parametrize("point", BEFORE_SWAP)
def test_kill_before_swap_leaves_previous_index(v1: dict, tmp_path: Path, point: str) -> None:
    index_dir, papers = copy_v1(v1, tmp_path)
    before = current_version(index_dir)
    proc = run_child(tmp_path, point, index_dir, papers)
    assert proc.returncode == -9, f"kill point {point} not reached:\n{proc.stdout}\n{proc.stderr}"
    assert f"KILLED AT {point.split('-')[0]}" in proc.stdout, proc.stdout  # killed where meant

    assert current_version(index_dir) == before
    index = open_index(index_dir, embedder(), verify=True)
    assert results(index, QUESTIONS) == v1["results"]
    assert manifest_sources(index_dir) == v1["sources"]
    check_rerun(index_dir, papers)


def test_kill_after_swap_gives_the_new_index(v1: dict, tmp_path: Path) -> None:
    """Killed after `current` was swapped: the new version is complete and served; the old
    version's folder is left behind until the next run drops it."""
    index_dir, papers = copy_v1(v1, tmp_path)
    before = current_version(index_dir)
    proc = run_child(tmp_path, "after-swap", index_dir, papers)
    assert proc.returncode == -9, f"kill point not reached:\n{proc.stdout}\n{proc.stderr}"
    assert current_version(index_dir) != before and before.exists()
    open_index(index_dir, embedder(), verify=True)
    assert manifest_sources(index_dir) == sorted(p.name for p in OLD + NEW)
    report = ingest([papers], index_dir, embedder())
    assert report.unchanged == len(OLD + NEW) and report.embedded == 0
    assert [v.name for v in (index_dir / "versions").iterdir()] == [current_version(index_dir).name]


def test_child_without_kill_finishes(v1: dict, tmp_path: Path) -> None:
    """The harness itself: with no kill point the child ingests normally."""
    index_dir, papers = copy_v1(v1, tmp_path)
    proc = run_child(tmp_path, "none", index_dir, papers)
    assert proc.returncode == 0, proc.stderr
    assert "FINISHED" in proc.stdout
    assert manifest_sources(index_dir) == sorted(p.name for p in OLD + NEW)


# --- damage is detected ------------------------------------------------------------------------


def flip_bytes(path: Path, at: float = 0.5, n: int = 4) -> None:
    data = bytearray(path.read_bytes())
    start = int(len(data) * at)
    for i in range(start, min(start + n, len(data))):
        data[i] ^= 0xFF
    path.write_bytes(bytes(data))


def change_a_word(path: Path) -> None:
    """Still valid JSON Lines, one passage's text changed: only the checksum can tell."""
    lines = path.read_text(encoding="utf-8").splitlines()
    row = json.loads(lines[0])
    row["text"] = row["text"].replace("the", "THE", 1) + " tampered"
    lines[0] = json.dumps(row, ensure_ascii=False)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def first_bm25_file(version: Path) -> Path:
    return sorted((version / "bm25").glob("*.npy"))[0]


DAMAGE = {
    "passages-bytes": lambda v: flip_bytes(v / "passages.jsonl"),
    "passages-word": lambda v: change_a_word(v / "passages.jsonl"),
    "embeddings-bytes": lambda v: flip_bytes(v / "embeddings.npy", at=0.7),
    "units-bytes": lambda v: flip_bytes(v / "units.npy", at=0.7),
    "faiss-truncated": lambda v: (v / "dense.faiss").write_bytes((v / "dense.faiss").read_bytes()[:100]),
    "bm25-missing": lambda v: first_bm25_file(v).unlink(),
    "papers-bytes": lambda v: flip_bytes(v / "papers.jsonl"),
    "acronyms-bytes": lambda v: (v / "acronyms.json").write_text('{"X": "tampered"}'),
    "manifest-not-json": lambda v: (v / "manifest.json").write_text("{not json"),
}


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_damaged_file_is_refused_with_rebuild_advice(v1: dict, tmp_path: Path, damage: str) -> None:
    index_dir, _ = copy_v1(v1, tmp_path, with_new=False)
    DAMAGE[damage](current_version(index_dir))
    with pytest.raises(IndexCorrupt) as info:
        open_index(index_dir, embedder())
    assert "rebuild" in str(info.value)


def set_format_version(version: Path, value: object) -> None:
    manifest = json.loads((version / "manifest.json").read_text())
    manifest["format_version"] = value
    (version / "manifest.json").write_text(json.dumps(manifest))


def test_other_format_version_is_a_mismatch(v1: dict, tmp_path: Path) -> None:
    index_dir, _ = copy_v1(v1, tmp_path, with_new=False)
    set_format_version(current_version(index_dir), 0)
    with pytest.raises(IndexMismatch) as info:
        open_index(index_dir, embedder())
    assert "format" in str(info.value) and "rebuild" in str(info.value)


def test_other_model_is_a_mismatch(v1: dict) -> None:
    with pytest.raises(IndexMismatch) as info:
        open_index(v1["index"], HashingEmbedder(dim=32))
    assert "hashing-64" in str(info.value) and "hashing-32" in str(info.value)
    with pytest.raises(IndexMismatch):
        ingest([v1["papers"]], v1["index"], HashingEmbedder(dim=32))
    open_index(v1["index"], embedder())  # the refused ingest changed nothing


REBUILD_AFTER = {
    "passages-word": DAMAGE["passages-word"],
    "passages-bytes": DAMAGE["passages-bytes"],
    "embeddings-bytes": DAMAGE["embeddings-bytes"],
    "manifest-not-json": DAMAGE["manifest-not-json"],
    "format-version": lambda v: set_format_version(v, 0),
}


@pytest.mark.parametrize("damage", list(REBUILD_AFTER))
def test_following_the_rebuild_advice_repairs_the_index(v1: dict, tmp_path: Path, damage: str) -> None:
    """The errors say "rebuild the index with `committee-qa ingest`". Doing just that, on
    the same papers and the same --index, must give a sound index that answers as before:
    not fail on the damaged version, and not carry its damaged passages or vectors over
    into the new version under fresh checksums."""
    index_dir, papers = copy_v1(v1, tmp_path, with_new=False)
    REBUILD_AFTER[damage](current_version(index_dir))
    ingest([papers], index_dir, embedder())
    index = open_index(index_dir, embedder(), verify=True)
    assert results(index, QUESTIONS) == v1["results"]
    assert index.passages == v1["passages"]


# --- one writer, many readers ----------------------------------------------------------------------


def test_second_writer_is_told_the_index_is_locked(v1: dict, tmp_path: Path) -> None:
    index_dir, papers = copy_v1(v1, tmp_path)
    before = current_version(index_dir)
    with writer_lock(index_dir):
        with pytest.raises(IndexLocked) as info:
            ingest([papers], index_dir, embedder())
        assert "another ingest" in str(info.value)
        proc = subprocess.run(
            [*cli_command(), "ingest", str(papers), "--index", str(index_dir)],
            capture_output=True,
            text=True,
            timeout=120,
            env=cli_env(),
            stdin=subprocess.DEVNULL,
        )
        assert proc.returncode == 4, proc.stderr
        assert proc.stderr.strip().count("\n") == 0 and "another ingest" in proc.stderr
        assert "Traceback" not in proc.stderr
    assert current_version(index_dir) == before
    check_rerun(index_dir, papers)  # the lock is free again


def test_readers_answer_from_old_index_while_new_one_is_written(v1: dict, tmp_path: Path) -> None:
    index_dir, papers = copy_v1(v1, tmp_path)
    old = open_index(index_dir, embedder())
    seen: list = []
    opened_mid_write: list = []
    stop = threading.Event()
    errors: list[BaseException] = []

    def reader() -> None:
        try:
            while not stop.is_set():
                seen.append(results(old, QUESTIONS))
        except BaseException as err:  # noqa: BLE001 - reported below
            errors.append(err)

    def progress(stage: str, done: int, total: int) -> None:
        if stage == "embed" and not opened_mid_write:
            # A reader opening now, mid-ingest, gets the old version.
            opened_mid_write.append(results(open_index(index_dir, embedder()), QUESTIONS))

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        ingest([papers], index_dir, embedder(), progress=progress)
    finally:
        stop.set()
        thread.join(60)
    assert not errors, errors
    assert seen and all(r == v1["results"] for r in seen), f"{len(seen)} reads"
    assert opened_mid_write == [v1["results"]]
    assert results(old, QUESTIONS) == v1["results"]  # still, after the swap

    new = open_index(index_dir, embedder())
    assert sorted({p.source for p in new.passages}) == sorted(p.name for p in OLD + NEW)
    hits = search(new, "How many young people voted in the Kent Youth County Council elections?", k=3)
    assert hits[0].passage.source == KENT_MINUTES.name


def test_reader_opened_before_an_ingest_can_still_show_its_papers(v1: dict, tmp_path: Path) -> None:
    """``Index.papers`` (the full text behind "show in paper") is read lazily from the
    version folder, which the next ingest deletes: a reader that opened the old version
    then fails with FileNotFoundError instead of showing the paper it just quoted."""
    index_dir, papers = copy_v1(v1, tmp_path)
    old = open_index(index_dir, embedder())
    ingest([papers], index_dir, embedder())
    hit = search(old, UPDATE_SENTENCE, k=1)[0]
    assert hit.passage.source in old.papers
    assert old.papers[hit.passage.source].text[hit.passage.start : hit.passage.end] == hit.passage.text
