"""index.pdfread: good papers give their text; each kind of bad paper gives its own reason.

Bad files are generated at test time by ``badpdfs.py``. Every reading test goes through the
real worker process, with limits small enough that even the hostile files finish quickly.
"""

from __future__ import annotations

import importlib.util
import json
import signal
import subprocess
import sys
from pathlib import Path

import badpdfs
import pytest

from index.pdfread import (
    ReadLimits,
    UnreadablePaper,
    _pages_from_worker,
    extract_pages,
    read_text_file,
)

REPO = Path(__file__).resolve().parent.parent
KENT_MINUTES = REPO / "tests" / "data" / "kent-cabinet-printed-minutes-2025-01-30.pdf"
FAST = ReadLimits(timeout_s=20)  # generous for slow CI, far below the 60 s default


def unreadable(path: Path, limits: ReadLimits = FAST) -> str:
    with pytest.raises(UnreadablePaper) as info:
        extract_pages(path, limits)
    assert info.value.path == path
    assert "\n" not in info.value.reason  # one line, for logs and the ingest report
    return info.value.reason


# --- good papers ---------------------------------------------------------------------------


def test_good_pdf_gives_text_of_each_page(tmp_path: Path) -> None:
    pages = extract_pages(badpdfs.write_good_pdf(tmp_path), FAST)
    assert pages == list(badpdfs.GOOD_TEXT)


def test_real_council_minutes() -> None:
    pages = extract_pages(KENT_MINUTES)
    assert len(pages) == 17
    assert "MINUTES of a meeting of the Cabinet" in pages[0]


def test_empty_user_password_opens_without_asking(tmp_path: Path) -> None:
    # Owner password only (printing/copying restricted): pypdf opens it with "".
    pages = extract_pages(badpdfs.write_empty_password_pdf(tmp_path), FAST)
    assert pages == list(badpdfs.GOOD_TEXT)


def test_broken_xref_is_recovered(tmp_path: Path) -> None:
    # Damaged but recoverable: pypdf rebuilds the xref, and recovered text is fine.
    pages = extract_pages(badpdfs.write_broken_xref_pdf(tmp_path), FAST)
    assert pages == list(badpdfs.GOOD_TEXT)


def test_xref_prev_loop_is_survived(tmp_path: Path) -> None:
    # pypdf remembers which xref sections it has read, so a /Prev loop is harmless.
    pages = extract_pages(badpdfs.write_xref_prev_loop_pdf(tmp_path), FAST)
    assert pages == list(badpdfs.GOOD_TEXT)


def test_junk_before_pdf_header_is_allowed(tmp_path: Path) -> None:
    good = badpdfs.write_good_pdf(tmp_path).read_bytes()
    path = tmp_path / "junk-first.pdf"
    path.write_bytes(b"X" * 500 + b"\n" + good)  # %PDF- within the first 1024 bytes
    assert extract_pages(path, FAST) == list(badpdfs.GOOD_TEXT)


def test_worker_runs_standalone_and_prints_json(tmp_path: Path) -> None:
    def worker(*args: str) -> subprocess.CompletedProcess[bytes]:
        cmd = [sys.executable, "-m", "index.pdfread", *args]
        return subprocess.run(cmd, cwd=REPO, capture_output=True, timeout=60)

    proc = worker(str(badpdfs.write_good_pdf(tmp_path)))
    assert proc.returncode == 0
    assert json.loads(proc.stdout) == {"ok": True, "pages": list(badpdfs.GOOD_TEXT)}
    proc = worker(str(badpdfs.write_html_as_pdf(tmp_path)))
    assert proc.returncode == 2
    assert json.loads(proc.stdout)["reason"].startswith("not a PDF")


def test_worker_cpu_limit_backstop(tmp_path: Path) -> None:
    # If the parent died, nothing would enforce the wall-clock timeout: the worker's own
    # RLIMIT_CPU ends it with SIGXCPU (which the parent reports as a timeout).
    cmd = [sys.executable, "-m", "index.pdfread", "--cpu-limit-s", "1"]
    proc = subprocess.run(
        [*cmd, str(badpdfs.write_slow_pdf(tmp_path))], cwd=REPO, capture_output=True, timeout=60
    )
    assert proc.returncode == -signal.SIGXCPU


# --- not a PDF at all (checked in the parent, no worker) ------------------------------------


def test_empty_file(tmp_path: Path) -> None:
    assert (
        unreadable(badpdfs.write_empty_file(tmp_path)) == "empty file (0 bytes); download it again"
    )


def test_html_saved_as_pdf(tmp_path: Path) -> None:
    reason = unreadable(badpdfs.write_html_as_pdf(tmp_path))
    assert reason.startswith("not a PDF (starts with '<!DOCTYPE html>")
    assert "looks like a web page" in reason


def test_word_file_saved_as_pdf(tmp_path: Path) -> None:
    reason = unreadable(badpdfs.write_word_as_pdf(tmp_path))
    assert reason.startswith("not a PDF (starts with bytes d0 cf 11 e0")
    assert "Microsoft Office" in reason


def test_file_too_large(tmp_path: Path) -> None:
    path = tmp_path / "huge.pdf"
    path.write_bytes(b"%PDF-1.7\n" + bytes(3 * 1024 * 1024))
    assert (
        unreadable(path, ReadLimits(max_file_mb=2)) == "file too large (3.0 MB; the limit is 2 MB)"
    )


# --- damaged ----------------------------------------------------------------------------------


def test_truncated_pdf(tmp_path: Path) -> None:
    reason = unreadable(badpdfs.write_truncated_pdf(tmp_path))
    assert reason.startswith("truncated (no %%EOF at the end; an interrupted download?)")
    assert reason.endswith("download it again")


def test_truncated_real_council_pdf(tmp_path: Path) -> None:
    reason = unreadable(badpdfs.write_truncated_pdf(tmp_path, KENT_MINUTES))
    assert reason.startswith("truncated (no %%EOF at the end; an interrupted download?)")


def test_self_referencing_object(tmp_path: Path) -> None:
    # Object 2 is "2 0 R". pypdf 7.1 trips over it with an AttributeError, which can only
    # be reported as damage; a future pypdf may detect the loop or find no pages instead.
    reason = unreadable(badpdfs.write_self_reference_pdf(tmp_path))
    assert reason.startswith(
        ("damaged, and pypdf could not read it", "has a circular reference", "has no pages")
    )


# --- circular / nested structures ---------------------------------------------------------------


def test_page_tree_that_contains_itself(tmp_path: Path) -> None:
    reason = unreadable(badpdfs.write_pages_cycle_pdf(tmp_path))
    assert reason.startswith(
        "has a circular reference (part of its structure points back to itself)"
    )


def test_parent_chain_loop(tmp_path: Path) -> None:
    reason = unreadable(badpdfs.write_parent_loop_pdf(tmp_path))
    assert reason.startswith("page 1: has a circular reference")


def test_deep_nesting_recursion_error(tmp_path: Path) -> None:
    reason = unreadable(badpdfs.write_deeply_nested_pdf(tmp_path))
    assert reason.startswith("has objects nested too deeply or referring to themselves in a loop")


# --- encrypted ----------------------------------------------------------------------------------


def test_user_password(tmp_path: Path) -> None:
    reason = unreadable(badpdfs.write_user_password_pdf(tmp_path))
    assert reason == (
        "encrypted with a password (the empty password does not open it); "
        "ask the council for an unprotected copy"
    )


@pytest.mark.skipif(
    importlib.util.find_spec("cryptography") is not None
    or importlib.util.find_spec("Crypto") is not None,
    reason="the AES fixture is only meaningful when pypdf has no AES provider",
)
def test_aes_without_cryptography_package(tmp_path: Path) -> None:
    reason = unreadable(badpdfs.write_aes_pdf(tmp_path))
    assert reason.startswith("encrypted with AES")
    assert "pip install cryptography" in reason


# --- no text --------------------------------------------------------------------------------------


def test_image_only_pdf(tmp_path: Path) -> None:
    assert unreadable(badpdfs.write_image_only_pdf(tmp_path)) == (
        "has no text layer (scanned images?); it would need OCR"
    )


def test_3000_blank_pages_is_too_many_pages_first(tmp_path: Path) -> None:
    # The page count is checked before any text is extracted, so with the default limit
    # (2,000) the reason is "too many pages", not "no text layer".
    path = badpdfs.write_many_blank_pages_pdf(tmp_path, pages=3000)
    assert unreadable(path, ReadLimits(timeout_s=20)) == (
        "has 3,000 pages, more than the limit of 2,000; raise ReadLimits.max_pages if the paper is genuine"
    )
    # Allowed that many pages, the same file is simply one without text.
    assert unreadable(path, ReadLimits(timeout_s=20, max_pages=5000)).startswith(
        "has no text layer"
    )


# --- hostile: bombs, memory, time ------------------------------------------------------------------


def test_nested_flate_bomb(tmp_path: Path) -> None:
    path = badpdfs.write_flate_bomb_pdf(tmp_path)  # 1 GiB of zeros in under 1 KB
    assert path.stat().st_size < 2000
    reason = unreadable(path, ReadLimits(timeout_s=10))
    assert (
        reason
        == "page 1: holds a compressed stream that expands beyond pypdf's safety limit (a decompression bomb?)"
    )


def test_memory_limit(tmp_path: Path) -> None:
    # 60 MB of content is under pypdf's own 75 MB decompression limit, so here it is the
    # worker's address-space limit that stops it.
    path = badpdfs.write_big_content_pdf(tmp_path, mb=60)
    reason = unreadable(path, ReadLimits(timeout_s=20, max_memory_mb=100))
    assert "reading needed more than 100 MB of memory (a decompression bomb?)" in reason


def test_timeout(tmp_path: Path) -> None:
    # 50 pages of 900,000 operators each: minutes of pure-Python parsing; killed after 1 s.
    reason = unreadable(badpdfs.write_slow_pdf(tmp_path), ReadLimits(timeout_s=1))
    assert reason == "reading took longer than 1 s (a decompression bomb or a pathological file?)"


def test_page_with_more_text_than_any_real_page(tmp_path: Path) -> None:
    path = badpdfs.write_long_text_page_pdf(tmp_path, chars=20_000)
    reason = unreadable(path, ReadLimits(timeout_s=20, max_chars_per_page=10_000))
    assert reason.startswith("page 1 has more text than any real page (20,")
    assert reason.endswith("the limit is 10,000; a decompression bomb?)")


def test_paper_with_more_text_than_any_real_paper(tmp_path: Path) -> None:
    reason = unreadable(
        badpdfs.write_good_pdf(tmp_path), ReadLimits(timeout_s=20, max_total_chars=50)
    )
    assert (
        reason
        == "has more text than any real paper (over 50 characters by page 2; a decompression bomb?)"
    )


# --- how a crashed worker is reported -------------------------------------------------------------


@pytest.mark.parametrize(
    ("returncode", "stderr", "expected"),
    [
        (-9, b"", "the PDF reader was killed (SIGKILL), probably for using too much memory"),
        (-11, b"", "the PDF reader crashed (SIGSEGV)"),
        (-24, b"", "reading took longer than 60 s"),  # SIGXCPU: the CPU-time backstop
        (1, b"Traceback...\nMemoryError\n", "reading needed more than 1536 MB of memory"),
        (
            1,
            b"Traceback...\nValueError: boom\n",
            "the PDF reader failed (exit code 1): ValueError: boom",
        ),
    ],
)
def test_worker_crash_reasons(returncode: int, stderr: bytes, expected: str) -> None:
    proc = subprocess.CompletedProcess(args=[], returncode=returncode, stdout=b"", stderr=stderr)
    with pytest.raises(UnreadablePaper) as info:
        _pages_from_worker(proc, ReadLimits(), Path("x.pdf"))
    assert info.value.reason.startswith(expected)


def test_limits_must_be_positive() -> None:
    with pytest.raises(ValueError, match="timeout_s"):
        ReadLimits(timeout_s=0)


def test_unreadable_paper_message_names_the_file() -> None:
    err = UnreadablePaper("empty file (0 bytes)", Path("a/b.pdf"))
    assert str(err) == "a/b.pdf: empty file (0 bytes)"
    assert err.reason == "empty file (0 bytes)"


# --- plain-text exports ----------------------------------------------------------------------------


def test_latin1_text_file(tmp_path: Path) -> None:
    assert read_text_file(badpdfs.write_latin1_text(tmp_path)) == "Café résumé\nNaïve £5\nend\n"


def test_utf8_with_and_without_bom(tmp_path: Path) -> None:
    for name, data in (
        ("plain.txt", "Café\r\n".encode()),
        ("bom.md", b"\xef\xbb\xbf" + "Café\r\n".encode()),
    ):
        (tmp_path / name).write_bytes(data)
        assert read_text_file(tmp_path / name) == "Café\n"


def test_cp1252_smart_quotes_beat_latin1(tmp_path: Path) -> None:
    path = tmp_path / "quotes.txt"
    path.write_bytes(b"the Council\x92s \x93plan\x94 \x96 2025")
    assert read_text_file(path) == "the Council’s “plan” – 2025"


def test_bytes_undefined_in_cp1252_fall_back_to_latin1(tmp_path: Path) -> None:
    path = tmp_path / "odd.txt"
    path.write_bytes(b"a\x81b \xe9")  # 0x81 is unassigned in cp1252
    assert read_text_file(path) == "a\x81b é"


def test_utf16_with_bom(tmp_path: Path) -> None:
    path = tmp_path / "notepad-unicode.txt"
    path.write_bytes("Café\r\n".encode("utf-16"))  # BOM + UTF-16-LE: NUL bytes, but text
    assert read_text_file(path) == "Café\n"


def test_binary_file_is_not_text(tmp_path: Path) -> None:
    path = tmp_path / "image.txt"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    with pytest.raises(UnreadablePaper) as info:
        read_text_file(path)
    assert info.value.reason == "binary file, not text"


def test_text_file_too_large_or_empty(tmp_path: Path) -> None:
    big = tmp_path / "big.txt"
    big.write_bytes(b"a" * (2 * 1024 * 1024))
    with pytest.raises(UnreadablePaper, match=r"file too large \(2\.0 MB; the limit is 1 MB\)"):
        read_text_file(big, max_file_mb=1)
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    with pytest.raises(UnreadablePaper, match="empty file"):
        read_text_file(empty)
