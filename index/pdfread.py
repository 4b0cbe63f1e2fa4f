"""Robust, sandboxed text extraction from committee papers (PDF and plain-text exports).

Council websites serve all sorts of things as ``.pdf``: error pages, Word files, scans,
truncated downloads, password-protected files, and now and then something hostile. pypdf
is pure Python, so a pathological file can spin or allocate without end, and a loop in
Python cannot be interrupted from another thread. :func:`extract_pages` therefore runs
pypdf in a separate worker process with a memory cap (``RLIMIT_AS``) and kills it after a
wall-clock timeout. Every way a paper can fail becomes an :class:`UnreadablePaper` whose
``reason`` is one readable line saying what is wrong and, where it helps, what to do.

Usage::

    from pathlib import Path
    from index.pdfread import ReadLimits, UnreadablePaper, extract_pages, read_text_file

    try:
        pages = extract_pages(Path("papers/minutes.pdf"), ReadLimits(timeout_s=30))
    except UnreadablePaper as err:
        print(f"skipped {err.path}: {err.reason}")
    else:
        print(f"{len(pages)} pages; page 1 starts {pages[0][:60]!r}")

    text = read_text_file(Path("papers/minutes.txt"))

The worker is this same file and can be run by hand; it prints one JSON object,
``{"ok": true, "pages": [...]}`` or ``{"ok": false, "reason": "..."}``::

    python -m index.pdfread papers/minutes.pdf

This module imports only the standard library at the top (pypdf is imported inside the
worker), so the worker starts fast and never drags in the embedding stack.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["ReadLimits", "UnreadablePaper", "extract_pages", "read_text_file"]

_MB = 1024 * 1024


@dataclass(frozen=True)
class ReadLimits:
    """Resource limits for reading one PDF. The defaults fit the largest real agenda
    packs (hundreds of pages, tens of MB) with a wide margin."""

    timeout_s: float = 60.0
    max_memory_mb: int = 1536
    max_pages: int = 2000
    max_file_mb: float = 200.0
    # No real page holds this much text (a dense A4 page is ~5,000 characters); more is a
    # sign of a decompression bomb or generated junk, so the paper is rejected, not cut.
    max_chars_per_page: int = 200_000
    # Bounds the JSON the worker sends back: 2000 pages x 200,000 characters would be
    # 400 MB in the parent. Real packs stay far below (1000 pages x 5,000 = 5 million).
    max_total_chars: int = 50_000_000

    def __post_init__(self) -> None:
        for name in (
            "timeout_s",
            "max_memory_mb",
            "max_pages",
            "max_file_mb",
            "max_chars_per_page",
            "max_total_chars",
        ):
            if not getattr(self, name) > 0:
                raise ValueError(f"ReadLimits.{name} must be positive, got {getattr(self, name)!r}")


class UnreadablePaper(Exception):
    """A paper that cannot be turned into text. ``reason`` is one human-readable line."""

    def __init__(self, reason: str, path: Path | None = None) -> None:
        self.reason = reason
        self.path = path
        super().__init__(f"{path}: {reason}" if path is not None else reason)


# --- messages ----------------------------------------------------------------------------
# Kept in one place so the parent and the worker word things the same way.


def _timeout_reason(timeout_s: float) -> str:
    return (
        f"reading took longer than {timeout_s:g} s (a decompression bomb or a pathological file?)"
    )


def _memory_reason(max_memory_mb: int) -> str:
    return (
        f"reading needed more than {max_memory_mb} MB of memory (a decompression bomb?); "
        "raise ReadLimits.max_memory_mb only if the file is known to be genuine"
    )


_NO_TEXT = "has no text layer (scanned images?); it would need OCR"
_NEEDS_PASSWORD = (
    "encrypted with a password (the empty password does not open it); "
    "ask the council for an unprotected copy"
)
_NEEDS_CRYPTOGRAPHY = (
    "encrypted with AES, which pypdf can only decrypt with the optional "
    "'cryptography' package; install it (pip install cryptography)"
)
_NESTED = (
    "has objects nested too deeply or referring to themselves in a loop "
    "(circular references?), so pypdf gave up"
)


# --- cheap checks in the parent ----------------------------------------------------------

_MAGIC_HINTS: tuple[tuple[bytes, str], ...] = (
    (
        b"\xd0\xcf\x11\xe0",
        "an old Microsoft Office file (.doc/.xls) renamed .pdf; convert it to PDF",
    ),
    (b"PK\x03\x04", "a ZIP-based file such as .docx/.xlsx renamed .pdf; convert it to PDF"),
    (b"{\\rtf", "an RTF document renamed .pdf; convert it to PDF"),
    (b"\x89PNG", "an image, not a document; it would need OCR"),
    (b"\xff\xd8\xff", "an image, not a document; it would need OCR"),
    (b"GIF8", "an image, not a document; it would need OCR"),
    (b"II*\x00", "an image, not a document; it would need OCR"),
    (b"MM\x00*", "an image, not a document; it would need OCR"),
)


def _describe_start(head: bytes) -> str:
    """The first bytes of a file, readable in an error message."""
    start = head[:16]
    if all(32 <= b < 127 or b in b"\t\r\n" for b in start):
        return repr(start.decode("ascii"))
    return "bytes " + start.hex(" ")


def _not_pdf_reason(head: bytes) -> str:
    hint = ""
    lowered = head.lstrip()[:512].lower()
    if lowered.startswith((b"<!doctype html", b"<html", b"<head", b"<?xml")) or b"<html" in lowered:
        hint = "; looks like a web page (an error or login page?) saved as .pdf; download it again"
    else:
        for magic, what in _MAGIC_HINTS:
            if head.startswith(magic):
                hint = f"; looks like {what}"
                break
    return f"not a PDF (starts with {_describe_start(head)}){hint}"


def _check_file(path: Path, limits: ReadLimits) -> None:
    """Reject empty, oversized and non-PDF files without starting a worker."""
    size = path.stat().st_size  # OSError (missing file, etc.) propagates: not the paper's fault
    if size == 0:
        raise UnreadablePaper("empty file (0 bytes); download it again", path)
    if size > limits.max_file_mb * _MB:
        raise UnreadablePaper(
            f"file too large ({size / _MB:,.1f} MB; the limit is {limits.max_file_mb:g} MB)", path
        )
    with path.open("rb") as fh:
        head = fh.read(1024)
    # The PDF spec lets %PDF- appear anywhere in the first 1024 bytes (junk before it).
    if b"%PDF-" not in head:
        raise UnreadablePaper(_not_pdf_reason(head), path)


# --- the parent side ---------------------------------------------------------------------

# Run this file by path rather than "-m index.pdfread": the worker then never imports the
# index package (whose __init__ may grow heavy imports) and does not depend on the cwd.
_WORKER_FILE = Path(__file__).resolve()


def extract_pages(path: Path, limits: ReadLimits = ReadLimits()) -> list[str]:
    """The text of each page of the PDF at ``path``, in order (pypdf ``extract_text()``,
    plain mode). Pages without text are ``""``.

    Raises :class:`UnreadablePaper` for anything wrong with the file, and ``OSError`` if
    the file cannot be opened at all (missing, permissions). Safe to call from threads.
    """
    path = Path(path)
    _check_file(path, limits)
    cmd = [
        sys.executable,
        "-P",  # keep the worker's directory (index/) off sys.path
        str(_WORKER_FILE),
        "--max-memory-mb",
        str(limits.max_memory_mb),
        "--max-pages",
        str(limits.max_pages),
        "--max-chars-per-page",
        str(limits.max_chars_per_page),
        "--max-total-chars",
        str(limits.max_total_chars),
        # CPU-time backstop in case this parent dies and can no longer enforce the timeout.
        "--max-file-mb",
        str(limits.max_file_mb),
        "--cpu-limit-s",
        str(math.ceil(limits.timeout_s) + 5),
        "--",  # a file name starting with "-" is still a file name
        str(path),
    ]
    try:
        proc = subprocess.run(
            cmd,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=limits.timeout_s,
            check=False,
        )
    except subprocess.TimeoutExpired:
        # run() has already killed and reaped the worker.
        raise UnreadablePaper(_timeout_reason(limits.timeout_s), path) from None
    return _pages_from_worker(proc, limits, path)


def _pages_from_worker(
    proc: subprocess.CompletedProcess[bytes], limits: ReadLimits, path: Path
) -> list[str]:
    result: Any = None
    try:
        result = json.loads(proc.stdout)
    except ValueError:
        pass  # crashed before it could answer; see below
    if (
        isinstance(result, dict)
        and result.get("ok") is True
        and isinstance(result.get("pages"), list)
    ):
        return [str(p) for p in result["pages"]]
    if (
        isinstance(result, dict)
        and result.get("ok") is False
        and isinstance(result.get("reason"), str)
    ):
        raise UnreadablePaper(result["reason"], path)

    stderr = proc.stderr.decode("utf-8", "replace")
    if proc.returncode < 0:
        sig = -proc.returncode
        if sig == signal.SIGKILL:
            # Nobody but the kernel's OOM killer (or an operator) sends SIGKILL here.
            raise UnreadablePaper(
                f"the PDF reader was killed (SIGKILL), probably for using too much memory "
                f"(limit {limits.max_memory_mb} MB; a decompression bomb?)",
                path,
            )
        if sig == signal.SIGXCPU:
            raise UnreadablePaper(_timeout_reason(limits.timeout_s), path)
        try:
            name = signal.Signals(sig).name
        except ValueError:
            name = f"signal {sig}"
        raise UnreadablePaper(f"the PDF reader crashed ({name})", path)
    if "MemoryError" in stderr:
        raise UnreadablePaper(_memory_reason(limits.max_memory_mb), path)
    last = next(
        (line.strip() for line in reversed(stderr.splitlines()) if line.strip()), "no output"
    )
    raise UnreadablePaper(
        f"the PDF reader failed (exit code {proc.returncode}): {last[:200]}", path
    )


# --- the worker side ---------------------------------------------------------------------


def _one_line(exc: BaseException, limit: int = 160) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return f"{type(exc).__name__}: {text}"


def _exception_chain(exc: BaseException) -> list[BaseException]:
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in chain and len(chain) < 20:
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


_CYCLE_WORDS = re.compile(r"cycl|loop|circular|self.?referen", re.IGNORECASE)


def _reason_for(exc: BaseException, *, encrypted: bool, truncated: bool, max_memory_mb: int) -> str:
    """Turn whatever pypdf raised into one readable line."""
    from pypdf.errors import DependencyError, FileNotDecryptedError, LimitReachedError

    chain = _exception_chain(exc)
    if any(isinstance(e, MemoryError) for e in chain):
        return _memory_reason(max_memory_mb)
    if any(isinstance(e, RecursionError) for e in chain):
        return _NESTED
    if any(isinstance(e, FileNotDecryptedError) for e in chain):
        return _NEEDS_PASSWORD
    # AES-256 fails while opening (its password check itself needs AES), before the
    # reader could tell us the file is encrypted; hence the look at the message too.
    if any(isinstance(e, DependencyError) and (encrypted or "AES" in str(e)) for e in chain):
        return _NEEDS_CRYPTOGRAPHY
    if any(_CYCLE_WORDS.search(str(e)) for e in chain):
        return (
            "has a circular reference (part of its structure points back to itself), "
            f"so it cannot be read: {_one_line(exc)}"
        )
    if any(isinstance(e, LimitReachedError) and "decompress" in str(e).lower() for e in chain):
        return (
            "holds a compressed stream that expands beyond pypdf's safety limit "
            "(a decompression bomb?)"
        )
    if any(isinstance(e, LimitReachedError) for e in chain):
        return (
            f"exceeds one of pypdf's safety limits (a decompression bomb or a "
            f"pathological file?): {_one_line(exc)}"
        )
    if isinstance(exc, DependencyError):
        return f"needs an optional package that is not installed: {_one_line(exc)}"
    if truncated:
        return (
            f"truncated (no %%EOF at the end; an interrupted download?) and pypdf could not "
            f"recover it: {_one_line(exc)}; download it again"
        )
    return f"damaged, and pypdf could not read it: {_one_line(exc)}"


_SURROGATES = re.compile("[\ud800-\udfff]")


def _read_pdf(
    path: Path, *, max_pages: int, max_chars_per_page: int, max_total_chars: int, max_memory_mb: int
) -> dict[str, Any]:
    """Open and extract in this process; returns the worker's JSON answer as a dict."""
    import logging
    import warnings

    # pypdf reports every recovered oddity through logging/warnings; a damaged file can log
    # thousands of lines, which would only fill the parent's stderr buffer.
    logging.getLogger("pypdf").addHandler(logging.NullHandler())
    logging.getLogger("pypdf").propagate = False
    warnings.simplefilter("ignore")

    from pypdf import PasswordType, PdfReader

    with path.open("rb") as fh:
        fh.seek(0, os.SEEK_END)
        fh.seek(max(0, fh.tell() - 4096))
        truncated = b"%%EOF" not in fh.read()

    def fail(reason: str) -> dict[str, Any]:
        return {"ok": False, "reason": reason}

    encrypted = False
    try:
        reader = PdfReader(path, strict=False)  # lenient: let pypdf rebuild broken xrefs
        encrypted = reader.is_encrypted
        # pypdf already tries the empty password while opening; asking again tells us the
        # result. Many council PDFs are "encrypted" only to restrict printing or copying.
        if encrypted and reader.decrypt("") == PasswordType.NOT_DECRYPTED:
            return fail(_NEEDS_PASSWORD)
        n_pages = len(reader.pages)
    except Exception as exc:  # noqa: BLE001 - pypdf raises all sorts on damaged files
        return fail(
            _reason_for(exc, encrypted=encrypted, truncated=truncated, max_memory_mb=max_memory_mb)
        )

    if n_pages > max_pages:
        return fail(
            f"has {n_pages:,} pages, more than the limit of {max_pages:,}; "
            "raise ReadLimits.max_pages if the paper is genuine"
        )
    if n_pages == 0:
        return fail(
            (
                "truncated (no %%EOF at the end; an interrupted download?) and no pages "
                "could be recovered; download it again"
            )
            if truncated
            else "has no pages"
        )

    pages: list[str] = []
    total = 0
    for number in range(1, n_pages + 1):
        try:
            text = reader.pages[number - 1].extract_text()
        except Exception as exc:  # noqa: BLE001
            reason = _reason_for(
                exc, encrypted=encrypted, truncated=truncated, max_memory_mb=max_memory_mb
            )
            # Encryption is about the whole file; anything else is worth locating.
            return fail(
                reason
                if reason in (_NEEDS_PASSWORD, _NEEDS_CRYPTOGRAPHY)
                else f"page {number}: {reason}"
            )
        if len(text) > max_chars_per_page:
            return fail(
                f"page {number} has more text than any real page ({len(text):,} characters; "
                f"the limit is {max_chars_per_page:,}; a decompression bomb?)"
            )
        total += len(text)
        if total > max_total_chars:
            return fail(
                f"has more text than any real paper (over {max_total_chars:,} characters "
                f"by page {number}; a decompression bomb?)"
            )
        # Broken ToUnicode maps can yield lone surrogates, which cannot be encoded as UTF-8.
        pages.append(_SURROGATES.sub("\ufffd", text))

    if not any(page.strip() for page in pages):
        if truncated:
            return fail(
                "truncated (no %%EOF at the end; an interrupted download?) and no text "
                "could be recovered; download it again"
            )
        return fail(_NO_TEXT)
    return {"ok": True, "pages": pages}


def _set_limits(max_memory_mb: int, cpu_limit_s: int) -> None:
    import resource

    def lower(kind: int, soft: int, hard: int) -> None:
        _, current_hard = resource.getrlimit(kind)
        if current_hard != resource.RLIM_INFINITY:
            # An unprivileged process cannot raise its hard limit.
            soft, hard = min(soft, current_hard), min(hard, current_hard)
        resource.setrlimit(kind, (soft, hard))

    if max_memory_mb > 0:
        lower(resource.RLIMIT_AS, max_memory_mb * _MB, max_memory_mb * _MB)
    if cpu_limit_s > 0:
        # SIGXCPU at the soft limit; the hard limit sends SIGKILL, which the parent would
        # read as the OOM killer, so it is set a little higher.
        lower(resource.RLIMIT_CPU, cpu_limit_s, cpu_limit_s + 5)


def _worker_main(argv: list[str] | None = None) -> int:
    """Entry point of the worker: read one PDF, print one JSON object on stdout."""
    defaults = ReadLimits()
    parser = argparse.ArgumentParser(
        prog="python -m index.pdfread",
        description="Extract the text of each page of a PDF as JSON (the worker of index.pdfread).",
    )
    parser.add_argument("file", type=Path)
    parser.add_argument(
        "--max-memory-mb",
        type=int,
        default=defaults.max_memory_mb,
        help="address-space limit for this process; 0 for none",
    )
    parser.add_argument("--max-pages", type=int, default=defaults.max_pages)
    parser.add_argument("--max-chars-per-page", type=int, default=defaults.max_chars_per_page)
    parser.add_argument("--max-total-chars", type=int, default=defaults.max_total_chars)
    parser.add_argument("--max-file-mb", type=float, default=defaults.max_file_mb)
    parser.add_argument("--cpu-limit-s", type=int, default=0, help="CPU-time limit; 0 for none")
    args = parser.parse_args(argv)

    _set_limits(args.max_memory_mb, args.cpu_limit_s)
    out = sys.stdout.buffer
    sys.stdout = sys.stderr  # nothing but the answer may reach stdout
    answer: dict[str, Any] | None = None
    try:
        # The parent has checked already; repeated so that running this by hand agrees.
        _check_file(args.file, ReadLimits(max_file_mb=args.max_file_mb))
        answer = _read_pdf(
            args.file,
            max_pages=args.max_pages,
            max_chars_per_page=args.max_chars_per_page,
            max_total_chars=args.max_total_chars,
            max_memory_mb=args.max_memory_mb,
        )
    except UnreadablePaper as err:
        answer = {"ok": False, "reason": err.reason}
    except OSError as err:  # e.g. the file vanished after the parent's checks
        answer = {"ok": False, "reason": f"cannot be opened: {err.strerror or err}"}
    except MemoryError:
        answer = None  # leave the except block first so the traceback's memory is freed
    except RecursionError:
        answer = {"ok": False, "reason": _NESTED}
    if answer is None:
        answer = {"ok": False, "reason": _memory_reason(args.max_memory_mb)}
    out.write(json.dumps(answer, ensure_ascii=False).encode("utf-8"))
    out.flush()
    return 0 if answer["ok"] else 2


# --- plain-text exports ------------------------------------------------------------------

_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


def read_text_file(path: Path, max_file_mb: float = 50) -> str:
    """The text of a ``.txt``/``.md`` export, with newlines normalised to ``\\n``.

    Decodes UTF-8 (with or without BOM), else Windows cp1252, else Latin-1 (which always
    succeeds); UTF-16 with a BOM (Notepad's "Unicode") is accepted too. Raises
    :class:`UnreadablePaper` for an empty, oversized or binary file.
    """
    path = Path(path)
    size = path.stat().st_size
    if size == 0:
        raise UnreadablePaper("empty file (0 bytes); export it again", path)
    if size > max_file_mb * _MB:
        raise UnreadablePaper(
            f"file too large ({size / _MB:,.1f} MB; the limit is {max_file_mb:g} MB)", path
        )
    data = path.read_bytes()
    text: str | None = None
    if data.startswith(_UTF16_BOMS):
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError:
            text = None
    if text is None:
        if b"\x00" in data:
            raise UnreadablePaper("binary file, not text", path)
        for encoding in ("utf-8-sig", "cp1252"):
            try:
                text = data.decode(encoding)
                break
            except UnicodeDecodeError:
                continue
        else:
            text = data.decode("latin-1")  # cp1252 leaves 5 bytes undefined; Latin-1 has all 256
    return text.replace("\r\n", "\n").replace("\r", "\n")


if __name__ == "__main__":
    sys.exit(_worker_main())
