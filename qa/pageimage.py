"""A cited PDF page as a picture, with the quote's words boxed: what *Show in paper* and the
Word briefing show, so a reader sees the words where they stand on the page.

The page is drawn by PDFium (pypdfium2). The quote's place on it comes from PDFium's own
text of the page, matched against the quote: the quote is our pypdf text, and the two
readers differ in spaces, line breaks, hyphenation, ligatures, quotation marks and
sometimes in the order of a table's cells. So both are reduced to their letters and digits
(case folded) with a map back to PDFium's characters, and the quote is found piece by
piece: each piece the longest run of the quote the page holds, so a quote whose end runs
onto the next page, or whose words PDFium reads in another order, is still boxed where it
stands.

    >>> folded("Co-operation “ﬁnal”\\n£1.2m")
    'cooperationfinal12m'
    >>> pieces("abcdefghijXYZklmnopqrst", "zzabcdefghijklmnopqrstzz", min_chars=5)
    ((2, 12), (12, 22))

pypdfium2 and Pillow are imported inside the functions that use them: importing this
module costs nothing.
"""

from __future__ import annotations

import io
import threading
import unicodedata
from dataclasses import dataclass
from pathlib import Path

DEFAULT_WIDTH = 1100  # pixels: sharp enough to read a page's text, small enough to send
MAX_HEIGHT = 2000  # a tall page (a plan, a long table) is scaled down to this instead
MIN_PIECE = 24  # letters and digits: a shorter run is too likely to stand anywhere by chance
# Of the quote's letters and digits, the share that must be found before any is boxed: a
# committee's name or a stock heading stands on many pages, and boxing it alone would point
# at the wrong words. Quotes are clipped to one page (qa.answer) and the app passes only the
# part of a passage on the page, so the words found are nearly all of them when right.
MIN_SHARE = 0.5
NOT_FOUND = "the quote's words were not found on this page of the PDF"
FILL = (255, 196, 0, 80)  # translucent amber: the words stay readable under it
OUTLINE = (230, 120, 0, 255)


class PageNotRendered(Exception):
    """The page cannot be drawn; the message is one line, fit to show the reader."""


@dataclass(frozen=True)
class Box:
    """A rectangle on the page image, in pixels from its top-left corner."""

    left: int
    top: int
    right: int
    bottom: int


@dataclass(frozen=True)
class PageImage:
    """A page drawn as a PNG, with the quote boxed line by line. ``reason`` says why there
    are no boxes (the quote's words were not found on the page); empty when there are."""

    png: bytes
    width: int
    height: int
    page: int  # 1-based page index in the PDF
    boxes: tuple[Box, ...]
    reason: str = ""


# --- matching: pure functions ---------------------------------------------------------


def _fold(ch: str) -> str:
    """The letters and digits a character stands for: ligatures opened (NFKC), case folded;
    spaces, hyphens, dashes, quotation marks, bullets and other punctuation dropped, since
    those are what the two text readers disagree on."""
    return "".join(c for c in unicodedata.normalize("NFKC", ch).casefold() if c.isalnum())


def fold_with_map(chars: list[str]) -> tuple[str, list[int]]:
    """``chars`` folded (see :func:`_fold`), and for each folded character the index of the
    character it came from."""
    out: list[str] = []
    where: list[int] = []
    for i, ch in enumerate(chars):
        f = _fold(ch)
        out.append(f)
        where.extend([i] * len(f))
    return "".join(out), where


def folded(text: str) -> str:
    return fold_with_map(list(text))[0]


def _longest_prefix_at(page: str, quote: str, start: int, frm: int) -> tuple[int, int]:
    """(length, position) of the longest prefix of ``quote[start:]`` that ``page`` holds at
    or after ``frm``. If a prefix stands somewhere, every shorter one does too, so the
    length is found by bisection."""
    lo, hi, pos = 0, len(quote) - start, -1
    while lo < hi:
        mid = (lo + hi + 1) // 2
        found = page.find(quote[start : start + mid], frm)
        if found >= 0:
            lo, pos = mid, found
        else:
            hi = mid - 1
    return lo, pos


def pieces(quote: str, page: str, *, min_chars: int = MIN_PIECE) -> tuple[tuple[int, int], ...]:
    """Where the folded ``quote`` stands in the folded ``page``: (start, end) offsets into
    ``page``, one per piece, in the quote's order. A quote shorter than ``min_chars`` must
    stand whole; a longer one in pieces of at least ``min_chars``. Where the quote has
    something the page lacks, one character is skipped and the search goes on."""
    need = min(min_chars, len(quote))
    if not need:
        return ()
    found: list[tuple[int, int]] = []
    i, after = 0, 0
    while len(quote) - i >= need:
        # Prefer the run that follows the last piece: the same words may stand twice.
        n_after, at_after = _longest_prefix_at(page, quote, i, after)
        n_any, at_any = _longest_prefix_at(page, quote, i, 0) if after else (n_after, at_after)
        n, at = (n_after, at_after) if n_after >= n_any else (n_any, at_any)
        if n >= need:
            found.append((at, at + n))
            i, after = i + n, at + n
        else:
            i += 1
    return tuple(found)


def locate(quote: str, page: str) -> tuple[tuple[int, int], ...]:
    """:func:`pieces`, or none when they cover less than ``MIN_SHARE`` of the quote.

    >>> page = "minutesoftheoverviewandscrutinycommittee"
    >>> quote = "overviewandscrutinycommitteereceivedthereportonschooltransport"
    >>> locate(quote, page), locate(quote[:40], page)
    ((), ((12, 40),))
    """
    found = pieces(quote, page)
    return found if sum(b - a for a, b in found) >= MIN_SHARE * len(quote) else ()


@dataclass(frozen=True)
class Rect:
    """A rectangle in PDF user space: y grows upwards."""

    left: float
    bottom: float
    right: float
    top: float


def _same_line(a: Rect, b: Rect) -> bool:
    overlap = min(a.top, b.top) - max(a.bottom, b.bottom)
    return overlap >= 0.5 * min(a.top - a.bottom, b.top - b.bottom)


def lines(rects: list[Rect]) -> list[Rect]:
    """Rectangles in reading order merged into one per line: each joins the one before when
    they share most of their height (the words of a line, the cells of a table row).

    >>> lines([Rect(0, 0, 10, 10), Rect(12, 1, 30, 10), Rect(0, -20, 5, -10)])
    [Rect(left=0, bottom=0, right=30, top=10), Rect(left=0, bottom=-20, right=5, top=-10)]
    """
    merged: list[Rect] = []
    for r in rects:
        if r.right <= r.left or r.top <= r.bottom:
            continue  # an empty rectangle (a space PDFium made up) says nothing
        if merged and _same_line(merged[-1], r):
            m = merged[-1]
            merged[-1] = Rect(min(m.left, r.left), min(m.bottom, r.bottom), max(m.right, r.right), max(m.top, r.top))
        else:
            merged.append(r)
    return merged


# --- drawing --------------------------------------------------------------------------


def _open(path: Path):
    """The PDF at ``path`` opened by PDFium, or PageNotRendered saying why not."""
    import pypdfium2 as pdfium
    import pypdfium2.raw as raw

    try:
        with path.open("rb") as fh:
            head = fh.read(1024)
    except FileNotFoundError:
        raise PageNotRendered(f"the paper's file is no longer at {path}; ingest it again to see its pages") from None
    except OSError as err:
        raise PageNotRendered(f"the paper's file cannot be read ({err.strerror or err}); check {path}") from None
    if b"%PDF-" not in head:  # the PDF reference allows junk before the header, up to 1 KB
        raise PageNotRendered("the paper's file is not a PDF, so its pages cannot be drawn")
    try:
        return pdfium.PdfDocument(str(path))
    except pdfium.PdfiumError as err:
        # PDFium's error code is process-wide and can be left over from another file, so a
        # password is blamed only when the file is encrypted at all.
        if err.err_code == raw.FPDF_ERR_PASSWORD and b"/Encrypt" in path.read_bytes():
            raise PageNotRendered("the PDF is password-protected, so its pages cannot be drawn") from None
        raise PageNotRendered("the PDF is damaged and PDFium cannot open it; download the paper again and re-ingest it") from None


def _quote_rects(page, quote: str) -> list[Rect]:
    """PDFium's rectangles around the part of ``quote`` on ``page``: for each piece found,
    one per run of characters sharing a line and a text object (count_rects/get_rect)."""
    import pypdfium2.raw as raw

    textpage = page.get_textpage()
    try:
        # Character by character (not get_text_range, whose text can skip or add characters),
        # so each folded character maps back to PDFium's own character index.
        chars = [chr(raw.FPDFText_GetUnicode(textpage, i)) for i in range(textpage.count_chars())]
        page_folded, where = fold_with_map(chars)
        rects: list[Rect] = []
        for a, b in locate(folded(quote), page_folded):
            first, last = where[a], where[b - 1]
            rects += [Rect(*textpage.get_rect(k)) for k in range(textpage.count_rects(first, last - first + 1))]
        return rects
    finally:
        textpage.close()


def _to_pixels(page, rect: Rect, width: int, height: int, pad: int) -> Box:
    """``rect`` on a ``width`` x ``height`` image of the page, by PDFium's own mapping (it
    knows the crop box and the page's rotation)."""
    import ctypes

    import pypdfium2.raw as raw

    xs, ys = [], []
    for px, py in ((rect.left, rect.top), (rect.right, rect.bottom)):
        x, y = ctypes.c_int(), ctypes.c_int()
        raw.FPDF_PageToDevice(page.raw, 0, 0, width, height, 0, px, py, x, y)
        xs.append(x.value)
        ys.append(y.value)
    return Box(
        left=max(0, min(xs) - pad),
        top=max(0, min(ys) - pad),
        right=min(width - 1, max(xs) + pad),
        bottom=min(height - 1, max(ys) + pad),
    )


# PDFium is not thread-safe, not even across documents, and the app serves every browser
# session from its own thread: one call into PDFium at a time.
_PDFIUM = threading.Lock()


def _render(path: Path, page: int, quote: str, width: int):
    """(PIL image, boxes) of the page, with every PDFium object closed before returning
    (left to the garbage collector, they would be closed from any thread, unlocked)."""
    import pypdfium2 as pdfium

    pdf = _open(path)
    try:
        if not 1 <= page <= len(pdf):
            raise PageNotRendered(f"page {page} is not in this PDF (it has {len(pdf)}); ingest the paper again")
        pdf_page = pdf[page - 1]
        try:
            w, h = pdf_page.get_size()
            scale = min(width / w, MAX_HEIGHT / h) if w > 0 and h > 0 else 1.0
            bitmap = pdf_page.render(scale=scale)
            try:
                image = bitmap.to_pil().convert("RGB")  # a copy: the bitmap's memory goes with it
            finally:
                bitmap.close()
            pad = max(2, round(2 * scale))
            rects = lines(_quote_rects(pdf_page, quote))
            boxes = tuple(_to_pixels(pdf_page, r, image.width, image.height, pad) for r in rects)
        except pdfium.PdfiumError as err:
            raise PageNotRendered(f"page {page} of the PDF could not be drawn ({err})") from None
        finally:
            pdf_page.close()
        return image, boxes
    finally:
        pdf.close()


def _draw(image, boxes: tuple[Box, ...]):
    from PIL import Image, ImageDraw

    overlay = Image.new("RGBA", image.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay)
    for b in boxes:
        draw.rectangle((b.left, b.top, b.right, b.bottom), fill=FILL, outline=OUTLINE, width=2)
    return Image.alpha_composite(image.convert("RGBA"), overlay).convert("RGB")


def render_page(path: Path, page: int, quote: str, *, width: int = DEFAULT_WIDTH) -> PageImage:
    """Page ``page`` (1-based) of the PDF at ``path`` as a PNG about ``width`` pixels wide
    (less for a page taller than it is wide by far), with the part of ``quote`` that stands
    on it boxed line by line. When the words are not found, the page comes without boxes
    and with the reason. PageNotRendered (one line) when the page cannot be drawn: no file,
    not a PDF, password-protected or damaged, or no such page."""
    with _PDFIUM:
        image, boxes = _render(Path(path), page, quote, width)
    buf = io.BytesIO()
    _draw(image, boxes).save(buf, format="PNG")
    return PageImage(
        png=buf.getvalue(),
        width=image.width,
        height=image.height,
        page=page,
        boxes=boxes,
        reason="" if boxes else NOT_FOUND,
    )
