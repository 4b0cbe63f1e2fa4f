"""Ingest survives a folder of bad papers: each is skipped with its reason, the good ones
are indexed and found.

The folder is made at test time: bad files from ``badpdfs.py`` and two real papers from
``samples/``. The integration test runs the installed ``committee-qa`` with the real model;
the fast variant runs :func:`index.ingest.ingest` in-process with a ``HashingEmbedder``.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import badpdfs
import pytest
from conftest import KENT_MINUTES, SEFTON_UPDATE, UPDATE_SENTENCE, cli_command, cli_env

from index.embed import HashingEmbedder
from index.folder import current_version, ingest, open_index, read_manifest
from index.pdfread import ReadLimits
from qa.retrieve import search

KENT_SENTENCE = (
    "The Kent Youth County Council (KYCC) elections which were held at the end of 2024 saw a "
    "significant increase in youth engagement, with 22,866 young people voting, over 3,000 more "
    "than the previous year."
)

# Each bad file, and what its reason must say (the wording is index.pdfread's).
BAD = {
    "truncated.pdf": (badpdfs.write_truncated_pdf, r"truncated"),
    "empty.pdf": (badpdfs.write_empty_file, r"empty file"),
    "not-found.pdf": (badpdfs.write_html_as_pdf, r"not a PDF.*web page"),
    "minutes.pdf": (badpdfs.write_word_as_pdf, r"not a PDF.*Microsoft Office"),
    "password.pdf": (badpdfs.write_user_password_pdf, r"encrypted with a password"),
    "flate-bomb.pdf": (badpdfs.write_flate_bomb_pdf, r"decompression bomb"),
    "image-only.pdf": (badpdfs.write_image_only_pdf, r"no text layer"),
    # Over ReadLimits.max_pages (2,000) by default; with a higher limit, no text at all.
    "blank-3000.pdf": (badpdfs.write_many_blank_pages_pdf, r"3,000 pages|no text layer"),
    "pages-cycle.pdf": (badpdfs.write_pages_cycle_pdf, r"circular|loop"),
    "self-reference.pdf": (badpdfs.write_self_reference_pdf, r"damaged|circular|loop|nested"),
    "deeply-nested.pdf": (badpdfs.write_deeply_nested_pdf, r"nested|damaged"),
}
# Odd but readable: Latin-1 text with CR/CRLF line ends, and a PDF whose cross-reference
# /Prev points at itself (pypdf notices the loop and reads it).
ODD_GOOD = {
    "latin1.txt": badpdfs.write_latin1_text,
    "xref-loop.pdf": badpdfs.write_xref_prev_loop_pdf,
}
GOOD = {SEFTON_UPDATE.name: SEFTON_UPDATE, KENT_MINUTES.name: KENT_MINUTES}
READABLE = sorted([*ODD_GOOD, *GOOD])


def make_bad_folder(root: Path) -> Path:
    """The papers folder. Generators that write helper files (``good.pdf``) write into a
    scratch folder; only the file each one returns is moved into the papers folder."""
    folder, scratch = root / "papers", root / "scratch"
    folder.mkdir()
    for name, make in [*((n, m) for n, (m, _) in BAD.items()), *ODD_GOOD.items()]:
        scratch.mkdir()
        made = make(scratch)
        assert made.name == name
        shutil.move(made, folder / name)
        shutil.rmtree(scratch)
    for name, source in GOOD.items():
        shutil.copyfile(source, folder / name)
    return folder


@pytest.fixture(scope="module")
def bad_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_bad_folder(tmp_path_factory.mktemp("robust"))


def skipped_lines(stderr: str) -> dict[str, str]:
    """``  /path/name.pdf: reason`` lines of the ingest summary, by file name."""
    out: dict[str, str] = {}
    for line in stderr.splitlines():
        m = re.match(r"^\s+(\S.*?\.(?:pdf|txt|md)): (.+)$", line)
        if m:
            out[Path(m.group(1)).name] = m.group(2)
    return out


def check_reasons(reasons: dict[str, str]) -> None:
    assert set(reasons) == set(BAD), f"skipped {sorted(reasons)}, expected {sorted(BAD)}"
    for name, (_, pattern) in BAD.items():
        assert re.search(pattern, reasons[name], re.IGNORECASE), f"{name}: {reasons[name]!r}"
        assert "\n" not in reasons[name]


def check_manifest(index_dir: Path) -> dict:
    manifest = read_manifest(current_version(index_dir))
    assert sorted(p["source"] for p in manifest["papers"]) == READABLE
    assert all(p["passages"] >= 1 for p in manifest["papers"]), manifest["papers"]
    return manifest


def same_words(a: str, b: str) -> bool:
    return " ".join(a.split()) in " ".join(b.split())


# --- with the real model, through the command line -------------------------------------------


@pytest.mark.integration
def test_cli_ingest_of_bad_folder(bad_folder: Path, tmp_path: Path) -> None:
    index_dir = tmp_path / "index"
    proc = subprocess.run(
        [*cli_command(), "ingest", str(bad_folder), "--index", str(index_dir), "--timeout", "60"],
        capture_output=True,
        text=True,
        timeout=300,  # bounded: a hang fails here instead of stalling the suite
        env=cli_env(),
        stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    assert f"{len(BAD)} skipped:" in proc.stderr, proc.stderr
    check_reasons(skipped_lines(proc.stderr))
    assert not set(skipped_lines(proc.stderr)) & set(READABLE)
    check_manifest(index_dir)

    questions = tmp_path / "q.jsonl"
    questions.write_text(
        json.dumps({"id": "sefton", "question": UPDATE_SENTENCE})
        + "\n"
        + json.dumps({"id": "kent", "question": KENT_SENTENCE})
        + "\n"
        + json.dumps({"id": "latin1", "question": "Café résumé"})
        + "\n",
        encoding="utf-8",
    )
    proc = subprocess.run(
        [*cli_command(), "search", "--index", str(index_dir), "--questions", str(questions), "--json", "--k", "3"],
        capture_output=True,
        text=True,
        timeout=300,
        env=cli_env(),
        stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 0, proc.stderr
    answers = {a["id"]: a for a in map(json.loads, proc.stdout.splitlines())}
    sefton, kent, latin1 = answers["sefton"]["passages"], answers["kent"]["passages"], answers["latin1"]["passages"]
    assert sefton[0]["source"] == SEFTON_UPDATE.name and same_words(UPDATE_SENTENCE, sefton[0]["text"])
    assert kent[0]["source"] == KENT_MINUTES.name and same_words("22,866 young people voting", kent[0]["text"])
    # Decoded as Windows text, not mojibake.
    assert latin1[0]["source"] == "latin1.txt" and "Café résumé" in latin1[0]["text"]


# --- fast: in-process, hashing embedder ---------------------------------------------------------


def test_ingest_of_bad_folder_in_process(bad_folder: Path, tmp_path: Path) -> None:
    index_dir = tmp_path / "index"
    embedder = HashingEmbedder(dim=64)
    report = ingest([bad_folder], index_dir, embedder, limits=ReadLimits(timeout_s=30))
    reasons = {Path(path).name: reason for path, reason in report.skipped}
    assert len(report.skipped) == len(reasons)  # each bad file once
    check_reasons(reasons)
    assert sorted(report.added) == READABLE
    assert report.papers == len(READABLE)
    summary = skipped_lines(report.summary())
    assert summary == reasons  # the summary names every skipped file with its reason
    check_manifest(index_dir)

    index = open_index(index_dir, embedder)
    for retriever in ("bm25", "hybrid"):
        hits = search(index, UPDATE_SENTENCE, k=3, retriever=retriever)
        assert hits[0].passage.source == SEFTON_UPDATE.name, retriever
        assert same_words(UPDATE_SENTENCE, hits[0].passage.text)
        hits = search(index, KENT_SENTENCE, k=3, retriever=retriever)
        assert hits[0].passage.source == KENT_MINUTES.name, retriever
    latin1 = [p for p in index.passages if p.source == "latin1.txt"]
    assert latin1 and "Café résumé" in latin1[0].text and "Naïve £5" in latin1[0].text


def test_reingest_of_bad_folder_skips_them_again_and_changes_nothing(bad_folder: Path, tmp_path: Path) -> None:
    """A second run over the same folder: the good papers are unchanged, the bad ones are
    reported again (not silently forgotten), nothing is embedded."""
    index_dir = tmp_path / "index"
    embedder = HashingEmbedder(dim=64)
    limits = ReadLimits(timeout_s=30)
    ingest([bad_folder], index_dir, embedder, limits=limits)
    again = ingest([bad_folder], index_dir, embedder, limits=limits)
    assert again.unchanged == len(READABLE) and not again.added and not again.updated
    assert again.embedded == 0
    check_reasons({Path(p).name: r for p, r in again.skipped})
    check_manifest(index_dir)


def test_a_paper_that_trips_the_parser_does_not_sink_the_ingest(tmp_path: Path) -> None:
    """A text export whose meeting date is spelt with a long s ("ſeptember", as in old
    typesetting or OCR output). The date patterns match it case-insensitively (Unicode
    folds ſ to s), but the month table is then looked up with ``.lower()``, which keeps
    the ſ: KeyError 'ſep', and before the fix the whole ingest died with a traceback and
    wrote no index. One odd paper must at worst be skipped with a reason."""
    folder = tmp_path / "papers"
    folder.mkdir()
    shutil.copyfile(SEFTON_UPDATE, folder / SEFTON_UPDATE.name)
    (folder / "long-s.txt").write_text(
        "CABINET\n\nDate of Meeting: 1 ſeptember 2023\n\n"
        "The Cabinet agreed the budget for children in care.\n",
        encoding="utf-8",
    )
    report = ingest([folder], tmp_path / "index", HashingEmbedder(dim=64))
    assert SEFTON_UPDATE.name in report.added
    assert "long-s.txt" in report.added or any(Path(p).name == "long-s.txt" for p, _ in report.skipped)
    if "long-s.txt" in report.added:
        papers = {p["source"]: p for p in read_manifest(current_version(tmp_path / "index"))["papers"]}
        assert papers["long-s.txt"]["meeting_date"] == "2023-09-01"
