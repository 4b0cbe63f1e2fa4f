"""A cited PDF page drawn with the quote's words boxed (qa.pageimage), on a real council paper.

Where the boxes must be is worked out here without PDFium: from pypdf's own reading of the
page's text positions (``extract_text(visitor_text=...)``), written down below, and from the
content streams of the hand-written PDFs of tests/badpdfs.py.
"""

from __future__ import annotations

import doctest
import io
from datetime import date
from pathlib import Path

import pytest
from badpdfs import (
    GOOD_TEXT,
    assemble,
    stream,
    write_good_pdf,
    write_html_as_pdf,
    write_truncated_pdf,
    write_user_password_pdf,
    write_word_as_pdf,
)
from conftest import REPO

pytest.importorskip("pypdfium2")
from PIL import Image, ImageStat  # noqa: E402

import qa.pageimage as pageimage  # noqa: E402
from index.model import Citation  # noqa: E402
from qa import briefing as bf  # noqa: E402
from qa.pageimage import NOT_FOUND, PageNotRendered, render_page  # noqa: E402

MINUTES = REPO / "tests" / "data" / "kent-cabinet-printed-minutes-2025-01-30.pdf"
PAGE = 3
# Page 3 is A4, 595.45 x 841.9 points; drawn 1100 pixels wide.
SCALE = 1100 / 595.45
HEIGHT = 1556  # ceil(841.9 * SCALE)

# Near the top of page 3, as pypdf reads it (its line breaks and trailing spaces kept).
TOP = (
    "The Kent Youth County Council (KYCC) elections which were held at the \n"
    "end of 2024 saw a significant increase in youth engagement, with 22,866 \n"
    "young people voting, over 3,000 more than the previous year. This result \n"
    "exhibited a growing interest in local democracy among Kent's youth. In \n"
    "December 2024, over 100 young people, including new members and \n"
    "those concluding their term, attended a meeting to connect and share \n"
    "experiences. The KYCC met regularly, and the dates were available for \n"
    "anyone interested."
)
# pypdf's text positions: the lines start at x = 106.9 + 18.0; the first line's baseline
# is at y = 716.2 - 11.3, the last's at 716.2 - 107.8 (PDF y grows upwards).
TOP_LEFT_X = 124.9
TOP_FIRST_BASELINE = 704.9
TOP_LAST_BASELINE = 608.4

# The last paragraph of page 3, which runs on to page 4 ("for Education and the Prime ...").
BOTTOM = (
    "In December Mr Love ran a competition for the best Christmas card design \n"
    "by a Kent Primary School pupil. The winning design was created by \n"
    "Sophie, a year five pupil from Minster and Sheppey Primary School, who \n"
    "was also the Arts Ambassador. The card was sent to education partners, \n"
    "key personnel, and government officials, including the Secretary of State \n"
)
ON_PAGE_4 = "for Education and the Prime Minister. The card also featured designs of the two runners-up"
BOTTOM_FIRST_BASELINE = 136.6 - 11.3
BOTTOM_LAST_BASELINE = 136.6 - 66.5

# On page 1 only.
PAGE_1 = "MINUTES of a meeting of the Cabinet held in the Council Chamber, Sessions House, County Hall, Maidstone"


def row(y: float) -> float:
    """The pixel row of PDF height ``y`` on the drawn page."""
    return (841.9 - y) * SCALE


def pixels(png: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(png))
    image.load()
    return image.convert("RGB")


@pytest.fixture(scope="module")
def top():
    return render_page(MINUTES, PAGE, TOP)


@pytest.fixture(scope="module")
def unboxed():
    return render_page(MINUTES, PAGE, PAGE_1)


def test_the_pure_helpers_do_what_their_examples_say() -> None:
    failed, tried = doctest.testmod(pageimage)
    assert tried >= 5 and failed == 0


def test_a_quote_is_boxed_line_by_line_where_it_stands(top) -> None:
    assert (top.page, top.width, top.height, top.reason) == (PAGE, 1100, HEIGHT, "")
    assert pixels(top.png).size == (1100, HEIGHT)
    # Eight lines of text, one box each, in reading order, all on the image.
    assert len(top.boxes) == 8
    assert [b.top for b in top.boxes] == sorted(b.top for b in top.boxes)
    for b in top.boxes:
        assert 0 <= b.left < b.right < top.width and 0 <= b.top < b.bottom < top.height
        assert 15 < b.bottom - b.top < 40  # one line of 12-point text, about 22 pixels
    # Where pypdf says the lines stand: the first box holds the first baseline, the last
    # box the last; every line starts at the paragraph's left edge; all in the top third.
    first, last = top.boxes[0], top.boxes[-1]
    assert first.top < row(TOP_FIRST_BASELINE) < first.bottom
    assert last.top < row(TOP_LAST_BASELINE) < last.bottom
    assert all(abs(b.left - TOP_LEFT_X * SCALE) < 8 for b in top.boxes)
    assert all(b.bottom < top.height / 3 for b in top.boxes)
    # A full line reaches the right margin; the last line ("anyone interested.") does not.
    assert first.right > 0.8 * top.width and last.right < 0.5 * top.width


def test_a_quote_near_the_foot_of_the_page_is_boxed_there() -> None:
    shown = render_page(MINUTES, PAGE, BOTTOM)
    assert len(shown.boxes) == 5
    assert all(b.top > 0.75 * shown.height for b in shown.boxes)
    assert shown.boxes[0].top < row(BOTTOM_FIRST_BASELINE) < shown.boxes[0].bottom
    assert shown.boxes[-1].top < row(BOTTOM_LAST_BASELINE) < shown.boxes[-1].bottom


def test_the_boxes_are_drawn_on_the_page(top, unboxed) -> None:
    boxed, plain = pixels(top.png), pixels(unboxed.png)
    assert boxed.size == plain.size
    b = top.boxes[0]
    inside = (b.left + 4, b.top + 4, b.right - 4, b.bottom - 4)
    # Paper under the box is tinted amber (less blue); the same place unboxed is white.
    assert ImageStat.Stat(plain.crop(inside)).median[2] > 240
    assert ImageStat.Stat(boxed.crop(inside)).median[2] < 200
    # The outline is drawn on the box's edge.
    r, g, bl = boxed.getpixel((b.left, (b.top + b.bottom) // 2))
    assert r > 200 and bl < 100
    # Away from the boxes the page is untouched.
    below = (0, top.boxes[-1].bottom + 10, top.width, top.height)
    assert boxed.crop(below).tobytes() == plain.crop(below).tobytes()


def test_a_quote_with_other_spaces_breaks_quotes_and_hyphens_is_still_found(top) -> None:
    respaced = " ".join(TOP.split())
    retyped = (
        respaced.replace("Kent's", "Kent’s")
        .replace("engagement", "engage-\nment")
        .replace("KYCC) elections", "KYCC)\n\n  elections")
        .replace("fi", "ﬁ")  # a ligature, as some PDFs' text has it
    )
    assert retyped != TOP
    for text in (respaced, retyped, TOP.upper()):
        assert render_page(MINUTES, PAGE, text).boxes == top.boxes


def test_the_part_of_a_quote_on_its_page_is_boxed() -> None:
    whole = render_page(MINUTES, PAGE, BOTTOM)
    running_on = render_page(MINUTES, PAGE, BOTTOM + ON_PAGE_4)
    assert running_on.boxes == whole.boxes and running_on.reason == ""
    # A fragment cut mid-word at both ends ("ections which … Kent's yo") boxes its own four
    # lines, the first from where it starts, mid-line.
    fragment = render_page(MINUTES, PAGE, TOP[TOP.index("ections which") : TOP.index("youth.") + 2])
    assert len(fragment.boxes) == 4
    assert fragment.boxes[0].left > TOP_LEFT_X * SCALE + 100


def test_a_quote_not_on_the_page_gives_the_page_and_the_reason(unboxed) -> None:
    assert unboxed.boxes == () and unboxed.reason == NOT_FOUND
    assert pixels(unboxed.png).size == (unboxed.width, unboxed.height) == (1100, HEIGHT)
    # The same words on their own page are found.
    assert render_page(MINUTES, 1, PAGE_1).boxes
    # A heading the quote shares with the page is not enough to box it.
    shared = "Cabinet Member for Education and Skills, and then many words that stand nowhere on the page at all"
    assert render_page(MINUTES, PAGE, shared).boxes == ()


def test_a_hand_written_page_boxes_its_line_where_its_content_stream_puts_it(tmp_path: Path) -> None:
    # badpdfs' good PDF: Helvetica 12 at x=72, baseline y=720 on a 612 x 792 page.
    scale = 1100 / 612
    shown = render_page(write_good_pdf(tmp_path), 1, GOOD_TEXT[0])
    assert shown.width == 1100 and len(shown.boxes) == 1
    b = shown.boxes[0]
    assert abs(b.left - 72 * scale) < 6
    assert b.top < (792 - 720) * scale < b.bottom  # the baseline
    assert b.top < (792 - 720 - 8) * scale  # and the capitals above it (cap height ~8.6 pt)
    assert render_page(tmp_path / "good.pdf", 2, GOOD_TEXT[1]).boxes


def test_a_tall_page_is_drawn_at_a_bounded_size(tmp_path: Path) -> None:
    objects = [
        stream(b"BT /F1 12 Tf 20 4000 Td (A very tall plan of the depot, drawn to scale) Tj ET"),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Type /Pages /Kids [4 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 3 0 R /MediaBox [0 0 400 4200] /Resources << /Font << /F1 2 0 R >> >> /Contents 1 0 R >>",
        b"<< /Type /Catalog /Pages 3 0 R >>",
    ]
    path = tmp_path / "plan.pdf"
    path.write_bytes(assemble(objects, root=5))
    shown = render_page(path, 1, "A very tall plan of the depot, drawn to scale")
    assert shown.height <= pageimage.MAX_HEIGHT and shown.width <= 1100
    assert shown.boxes and shown.boxes[0].bottom < 0.1 * shown.height  # near the top


@pytest.mark.parametrize("rotate", [0, 90, 180, 270])
def test_a_rotated_cropped_page_boxes_the_words_where_they_are_drawn(tmp_path: Path, rotate: int) -> None:
    objects = [
        stream(b"BT /F1 12 Tf 72 700 Td (Rotated pages keep their boxes on the words) Tj ET"),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Type /Pages /Kids [4 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 3 0 R /MediaBox [0 0 612 792] /CropBox [10 20 600 780] /Rotate %d"
        b" /Resources << /Font << /F1 2 0 R >> >> /Contents 1 0 R >>" % rotate,
        b"<< /Type /Catalog /Pages 3 0 R >>",
    ]
    path = tmp_path / "rotated.pdf"
    path.write_bytes(assemble(objects, root=5))
    shown = render_page(path, 1, "Rotated pages keep their boxes on the words")
    assert len(shown.boxes) == 1
    b = shown.boxes[0]
    # Every dark (text) pixel of the page lies in the box: it is where the words are drawn.
    gray = pixels(shown.png).convert("L")
    dark = [(n % gray.width, n // gray.width) for n, v in enumerate(gray.tobytes()) if v < 100]
    assert len(dark) > 300
    assert all(b.left <= x <= b.right and b.top <= y <= b.bottom for x, y in dark)
    # A quarter turn stands the line on end.
    tall = b.bottom - b.top > b.right - b.left
    assert tall == (rotate in (90, 270))


@pytest.mark.parametrize(
    "make, says",
    [
        (lambda d: d / "gone.pdf", "no longer at"),
        (write_html_as_pdf, "not a PDF"),
        (write_word_as_pdf, "not a PDF"),
        (write_truncated_pdf, "damaged"),
        (write_user_password_pdf, "password-protected"),
    ],
    ids=["missing", "html", "word", "truncated", "password"],
)
def test_a_file_that_cannot_be_drawn_says_why_in_one_line(tmp_path: Path, make, says: str) -> None:
    with pytest.raises(PageNotRendered) as err:
        render_page(make(tmp_path), 1, GOOD_TEXT[0])
    assert says in str(err.value) and "\n" not in str(err.value)


def test_a_page_past_the_end_says_how_many_there_are() -> None:
    with pytest.raises(PageNotRendered, match="page 18 is not in this PDF \\(it has 17\\)"):
        render_page(MINUTES, 18, TOP)
    with pytest.raises(PageNotRendered, match="page 0 is not in this PDF"):
        render_page(MINUTES, 0, TOP)


def test_a_word_briefing_carries_the_page_images(top) -> None:
    from docx import Document

    citation = Citation(
        doc="minutes", source=MINUTES.name, committee="Cabinet", meeting_date="2025-01-30", pack_date="2025-01-30",
        agenda_item="3", item_title="Cabinet Member updates", page=PAGE, page_end=PAGE, printed_page="3",
    )
    with_image = bf.BriefingItem(id="a", text=TOP, citation=citation)
    without = bf.BriefingItem(id="b", text="Agreed.", citation=citation)
    briefing = bf.Briefing(title="Youth", items=(with_image, without))
    data = bf.to_docx(briefing, prepared=date(2025, 2, 3), page_images={"a": top.png})
    doc = Document(io.BytesIO(data))
    assert len(doc.inline_shapes) == 1
    blip = doc.inline_shapes[0]._inline.graphic.graphicData.pic.blipFill.blip
    assert doc.part.related_parts[blip.embed].blob == top.png
    # The picture stands after the first quote's words and before the second quote.
    body = list(doc.paragraphs)
    at = next(n for n, p in enumerate(body) if p._p.xpath(".//pic:pic"))
    texts = [p.text for p in body]
    assert texts.index("1. Cabinet, 30 January 2025") < at < texts.index("2. Cabinet, 30 January 2025")
    # Without images the document is as before: no pictures.
    assert len(Document(io.BytesIO(bf.to_docx(briefing, prepared=date(2025, 2, 3)))).inline_shapes) == 0
