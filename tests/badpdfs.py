"""Generators for good and bad input files used by ``test_pdfread.py``.

Each ``write_*`` function writes one file into the given folder and returns its path, so
the repository carries no binary fixtures except one real council paper in ``tests/data``.
Most PDFs are written by hand with :func:`assemble`, which gives exact control over the
structure (that is the point of a bad file) and keeps creation cheap.
"""

from __future__ import annotations

import re
import zlib
from pathlib import Path

from pypdf import PdfWriter

GOOD_TEXT = ("Hello from page one of the committee papers", "Second page: item 4, budget")


def stream(data: bytes, *, filters: int = 0) -> bytes:
    """A stream object body; ``filters`` nested /FlateDecode layers are applied to ``data``."""
    for _ in range(filters):
        data = zlib.compress(data, 9)
    flt = b""
    if filters:
        flt = b" /Filter [" + b" ".join([b"/FlateDecode"] * filters) + b"]"
    return b"<< /Length %d%s >>\nstream\n" % (len(data), flt) + data + b"\nendstream"


def assemble(objects: list[bytes], *, root: int = 1) -> bytes:
    """A complete PDF whose object ``i`` (1-based) has body ``objects[i - 1]``, with a correct
    classic xref table, so any breakage in a fixture is the intended one."""
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref_at = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root %d 0 R >>\n" % (len(objects) + 1, root)
    out += b"startxref\n%d\n%%%%EOF\n" % xref_at
    return bytes(out)


def _text_ops(text: str) -> bytes:
    escaped = text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
    return b"BT /F1 12 Tf 72 720 Td (" + escaped.encode("latin-1") + b") Tj ET"


def _pages_pdf(contents: list[bytes | None]) -> bytes:
    """Catalog, page tree, Helvetica and one page per entry of ``contents`` (None: no
    /Contents at all). Content streams come first and the catalog last, as many real
    writers do, so a file cut in half loses its catalog."""
    n = len(contents)
    objects: list[bytes] = []
    content_refs: list[int | None] = []
    for data in contents:
        if data is None:
            content_refs.append(None)
        else:
            objects.append(stream(data, filters=1))
            content_refs.append(len(objects))
    font = len(objects) + 1
    objects.append(
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"
    )
    pages = len(objects) + 1
    first_page = pages + 1
    kids = b" ".join(b"%d 0 R" % (first_page + i) for i in range(n))
    objects.append(b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, n))
    for ref in content_refs:
        contents_entry = b"" if ref is None else b" /Contents %d 0 R" % ref
        objects.append(
            b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 612 792]"
            b" /Resources << /Font << /F1 %d 0 R >> >>%s >>" % (pages, font, contents_entry)
        )
    objects.append(b"<< /Type /Catalog /Pages %d 0 R >>" % pages)
    return assemble(objects, root=len(objects))


def _write(folder: Path, name: str, data: bytes) -> Path:
    path = folder / name
    path.write_bytes(data)
    return path


# --- good files -------------------------------------------------------------------------


def write_good_pdf(folder: Path) -> Path:
    """Two pages of Helvetica text (BT/Tj/ET); their text is ``GOOD_TEXT``."""
    return _write(folder, "good.pdf", _pages_pdf([_text_ops(t) for t in GOOD_TEXT]))


def write_empty_password_pdf(folder: Path) -> Path:
    """Encrypted (RC4-128) with an owner password but an empty user password, like many
    council PDFs that only restrict printing or copying: it must open without asking."""
    writer = PdfWriter(clone_from=write_good_pdf(folder))
    writer.encrypt(user_password="", owner_password="owner-secret", algorithm="RC4-128")
    path = folder / "empty-password.pdf"
    writer.write(path)
    return path


def write_latin1_text(folder: Path) -> Path:
    """A Windows text export: cp1252/Latin-1 bytes (0xE9 = é) with CRLF line ends."""
    return _write(folder, "latin1.txt", "Café résumé\r\nNaïve £5\rend\r\n".encode("cp1252"))


# --- bad files --------------------------------------------------------------------------


def write_empty_file(folder: Path) -> Path:
    return _write(folder, "empty.pdf", b"")


def write_html_as_pdf(folder: Path) -> Path:
    """What a download script saves when the council's site answers with an error page."""
    html = b"<!DOCTYPE html>\n<html><head><title>Page not found</title></head><body>404</body></html>\n"
    return _write(folder, "not-found.pdf", html)


def write_word_as_pdf(folder: Path) -> Path:
    """An old Word .doc (OLE2 compound file signature) renamed to .pdf."""
    return _write(folder, "minutes.pdf", bytes.fromhex("d0cf11e0a1b11ae1") + bytes(504))


def write_truncated_pdf(folder: Path, source: Path | None = None) -> Path:
    """A real PDF (``source``, by default the good one) cut in half, like an interrupted
    download: the end, with the xref table, trailer and ``%%EOF``, is missing."""
    data = (source or write_good_pdf(folder)).read_bytes()
    return _write(folder, "truncated.pdf", data[: len(data) // 2])


def write_broken_xref_pdf(folder: Path) -> Path:
    """The good PDF with ``startxref`` pointing past the end of the file and every xref
    offset off by 7 bytes: damaged, but pypdf (strict=False) rebuilds the table by scanning
    for ``N 0 obj`` and recovers all the text."""
    good = write_good_pdf(folder).read_bytes()
    body, _ = good.rsplit(b"startxref\n", 1)
    body = re.sub(rb"(\d{10}) 00000 n", lambda m: b"%010d 00000 n" % (int(m.group(1)) + 7), body)
    return _write(folder, "broken-xref.pdf", body + b"startxref\n987654\n%%EOF\n")


def write_user_password_pdf(folder: Path) -> Path:
    """Encrypted with a user password: cannot be opened without it. RC4 so that pypdf can
    write it without the optional ``cryptography`` package."""
    writer = PdfWriter(clone_from=write_good_pdf(folder))
    writer.encrypt(user_password="letmein", owner_password="owner-secret", algorithm="RC4-128")
    path = folder / "password.pdf"
    writer.write(path)
    return path


def write_flate_bomb_pdf(folder: Path, *, gib: int = 1) -> Path:
    """A page whose content stream is ``gib`` GiB of zeros under three nested /FlateDecode
    filters; the file is under 1 KB.

    Compressing a GiB would take seconds, so the innermost layer is built from one
    compressed 1 MiB block: after a Z_FULL_FLUSH the compressor's state is reset, so every
    further 1 MiB of zeros compresses to the same bytes and can simply be repeated."""
    mib = 1 << 20
    compressor = zlib.compressobj(9)
    head = compressor.compress(bytes(mib)) + compressor.flush(zlib.Z_FULL_FLUSH)
    block = compressor.compress(bytes(mib)) + compressor.flush(zlib.Z_FULL_FLUSH)
    assert block == compressor.compress(bytes(mib)) + compressor.flush(zlib.Z_FULL_FLUSH)
    tail = compressor.flush()  # final empty block and the Adler-32 of 3 MiB of zeros
    # Adler-32 of n zero bytes is ((n mod 65521) << 16) | 1, so fix it up for the full size.
    total = gib * 1024 * mib
    adler = (((total % 65521) << 16) | 1).to_bytes(4, "big")
    layer = head + block * (gib * 1024 - 1) + tail[:-4] + adler
    # Two more layers of Flate shrink ~1 MB of repeated blocks to a few KB.
    for _ in range(2):
        layer = zlib.compress(layer, 9)
    content = b"<< /Length %d /Filter [/FlateDecode /FlateDecode /FlateDecode] >>\nstream\n" % len(
        layer
    )
    objects = [
        content + layer + b"\nendstream",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        # With no /Resources pypdf skips the page (no font, no text), so give it a font.
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 1 0 R"
        b" /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    return _write(folder, "flate-bomb.pdf", assemble(objects, root=4))


def write_big_content_pdf(folder: Path, *, mb: int = 60) -> Path:
    """One page with ``mb`` MB of (compressed) content: under pypdf's own 75 MB
    decompression limit, so only the worker's memory limit stops it when that is small."""
    return _write(folder, "big-content.pdf", _pages_pdf([b" " * (mb * 1_000_000)]))


def write_long_text_page_pdf(folder: Path, *, chars: int) -> Path:
    """One page showing ``chars`` characters of text: far more than fits on a real page."""
    line = "x" * 1000
    ops = (
        b"BT /F1 1 Tf 0 0 Td "
        + b"".join(b"(" + line.encode() + b") Tj 0 -1 Td " for _ in range(chars // 1000))
        + b"ET"
    )
    return _write(folder, "long-text.pdf", _pages_pdf([ops]))


def write_slow_pdf(folder: Path, *, pages: int = 50, operators: int = 900_000) -> Path:
    """``pages`` pages sharing one content stream of ``operators`` empty ``() Tj``: under
    pypdf's own parsing budget (2 million tokens per stream), so it does not give up, and
    each page takes seconds of pure-Python parsing: minutes in all on any machine, for a
    file of about 16 KB. It tests the wall-clock timeout."""
    objects = [
        stream(b"BT /F1 12 Tf " + b"() Tj " * operators + b"ET", filters=1),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    kids = b" ".join(b"%d 0 R" % (4 + i) for i in range(pages))
    objects.append(b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, pages))
    page = (
        b"<< /Type /Page /Parent 3 0 R /MediaBox [0 0 612 792]"
        b" /Resources << /Font << /F1 2 0 R >> >> /Contents 1 0 R >>"
    )
    objects += [page] * pages
    objects.append(b"<< /Type /Catalog /Pages 3 0 R >>")
    return _write(folder, "slow.pdf", assemble(objects, root=len(objects)))


def write_image_only_pdf(folder: Path) -> Path:
    """Three pages with nothing to extract: a blank page, filled rectangles, and a 2x2
    image XObject scaled to the page (what a scanner produces, in miniature)."""
    image = (
        b"<< /Type /XObject /Subtype /Image /Width 2 /Height 2 /ColorSpace /DeviceGray"
        b" /BitsPerComponent 8 /Length 4 >>\nstream\n\x00\xff\xff\x00\nendstream"
    )
    rects = b"0 0 1 rg 72 600 200 100 re f 1 0 0 rg 300 300 100 50 re f"
    draw_image = b"q 468 0 0 648 72 72 cm /Im1 Do Q"
    return _write(folder, "image-only.pdf", _image_pages(image, [None, rects, draw_image]))


def _image_pages(image: bytes, contents: list[bytes | None]) -> bytes:
    """Like :func:`_pages_pdf`, with ``image`` as object 1 and ``/Im1`` on every page."""
    n = len(contents)
    objects: list[bytes] = [image]
    refs: list[int | None] = []
    for data in contents:
        if data is None:
            refs.append(None)
        else:
            objects.append(stream(data))
            refs.append(len(objects))
    pages = len(objects) + 1
    kids = b" ".join(b"%d 0 R" % (pages + 1 + i) for i in range(n))
    objects.append(b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, n))
    for ref in refs:
        contents_entry = b"" if ref is None else b" /Contents %d 0 R" % ref
        objects.append(
            b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 612 792]"
            b" /Resources << /XObject << /Im1 1 0 R >> >>%s >>" % (pages, contents_entry)
        )
    objects.append(b"<< /Type /Catalog /Pages %d 0 R >>" % pages)
    return assemble(objects, root=len(objects))


def write_many_blank_pages_pdf(folder: Path, *, pages: int = 3000) -> Path:
    """``pages`` blank pages (no /Contents) in one flat page tree; about 420 KB."""
    return _write(folder, "blank-%d.pdf" % pages, _pages_pdf([None] * pages))


def write_pages_cycle_pdf(folder: Path) -> Path:
    """The page tree's /Kids contains the page tree itself: walking it never ends."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [2 0 R 3 0 R] /Count 2 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>",
    ]
    return _write(folder, "pages-cycle.pdf", assemble(objects))


def write_self_reference_pdf(folder: Path) -> Path:
    """The catalog's /Pages is object 2, and object 2 is just ``2 0 R``: resolving it
    points back to itself forever."""
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"2 0 R"]
    return _write(folder, "self-reference.pdf", assemble(objects))


def write_xref_prev_loop_pdf(folder: Path) -> Path:
    """The good PDF with a trailer whose /Prev points at its own xref table: a
    cross-reference loop that a naive reader follows forever (pypdf notices it)."""
    good = write_good_pdf(folder).read_bytes()
    xref_at = int(good.rsplit(b"startxref\n", 1)[1].split(b"\n", 1)[0])
    looped = good.replace(b" >>\nstartxref", b" /Prev %d >>\nstartxref" % xref_at)
    assert looped != good
    return _write(folder, "xref-loop.pdf", looped)


def write_parent_loop_pdf(folder: Path) -> Path:
    """A page whose /Parent chain loops (2 -> 5 -> 2), so looking up an inherited
    attribute such as /Resources climbs forever."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 /Parent 5 0 R >>",
        b"<< /Type /Page /Parent 2 0 R /Contents 4 0 R >>",
        stream(b"BT /F1 12 Tf 72 720 Td (Hello) Tj ET"),
        b"<< /Type /Pages /Kids [2 0 R] /Count 1 /Parent 2 0 R >>",
    ]
    return _write(folder, "parent-loop.pdf", assemble(objects))


def write_deeply_nested_pdf(folder: Path, *, depth: int = 5000) -> Path:
    """A page dictionary holding an array nested ``depth`` deep: a recursive-descent
    parser runs out of stack (RecursionError) long before the end."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Junk "
        + b"[" * depth
        + b"]" * depth
        + b" >>",
    ]
    return _write(folder, "deeply-nested.pdf", assemble(objects))


def write_aes_pdf(folder: Path) -> Path:
    """An AES-128 encrypted PDF with an empty user password (printing/copying restricted
    only), the kind that needs the optional ``cryptography`` package to read.

    pypdf cannot *write* AES without ``cryptography`` either, so for the duration of the
    write its AES cipher is swapped for a stand-in that only adds an IV and padding. The
    /Encrypt dictionary (AESV2, /O and /U computed the standard way with MD5 and RC4) is
    genuine; the streams are not really enciphered, which pypdf cannot notice without
    ``cryptography``: it stops at the first stream it must decrypt. With ``cryptography``
    installed this file would decrypt to garbage, so use it only when that is absent."""
    from pypdf import _encryption
    from pypdf._crypt_providers._base import CryptBase

    class FakeAES(CryptBase):
        def __init__(self, key: bytes) -> None:
            pass

        def encrypt(self, data: bytes) -> bytes:
            pad = 16 - len(data) % 16
            return bytes(16) + data + bytes([pad]) * pad

    writer = PdfWriter(clone_from=write_good_pdf(folder))
    real_aes = _encryption.CryptAES
    _encryption.CryptAES = FakeAES  # type: ignore[misc,assignment]
    try:
        writer.encrypt(user_password="", owner_password="owner-secret", algorithm="AES-128")
        path = folder / "aes.pdf"
        writer.write(path)
    finally:
        _encryption.CryptAES = real_aes  # type: ignore[misc]
    return path
