"""Lay text exports out again as PDFs of another shape, to test that quotes and citations
hold on a layout nobody tuned for.

    python -m eval.relayout ../shared/corpus/sefton/text /tmp/sefton-letter

Each export becomes a US Letter PDF set in Times 10 pt with wide side margins: a new page
at each page stamp ("Agenda Item 5", kept as the page's first line, as a pack prints it)
and at each blank-page note, long pages running on over as many pages as they need, and a
centred "– N –" footer (the shared layout is A4, Helvetica, "Page N"). The words are the
export's, line for line; only the page breaks and the look differ.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

STAMP = re.compile(r"^\s*Agenda\s+Item\s+\d{1,3}[A-Za-z]?\s*$", re.IGNORECASE)
BLANK_NOTE = re.compile(r"^\s*This page (?:is )?intentionally (?:been )?left blank\.?\s*$", re.IGNORECASE)


def pages_of(text: str) -> list[list[str]]:
    """The export's lines, cut before each stamp and after each blank-page note.

    >>> pages_of("Front\\nAgenda Item 3\\nReport\\nThis page is intentionally left blank\\nMinutes")
    [['Front'], ['Agenda Item 3', 'Report', 'This page is intentionally left blank'], ['Minutes']]
    """
    pages: list[list[str]] = [[]]
    for line in text.splitlines():
        if STAMP.match(line) and any(s.strip() for s in pages[-1]):
            pages.append([])
        pages[-1].append(line)
        if BLANK_NOTE.match(line):
            pages.append([])
    return [p for p in pages if any(s.strip() for s in p)]


def relayout(src: Path, dest: Path) -> int:
    """Write ``src`` (a text export) as the PDF ``dest``; returns the number of PDF pages."""
    from reportlab.lib.pagesizes import letter
    from reportlab.lib.units import inch
    from reportlab.pdfbase.pdfmetrics import stringWidth
    from reportlab.pdfgen import canvas

    font, size, leading = "Times-Roman", 10, 12.5
    width, height = letter
    left, right, top, bottom = 1.25 * inch, 1.25 * inch, 0.9 * inch, 1.0 * inch
    usable = width - left - right
    c = canvas.Canvas(str(dest), pagesize=letter, pageCompression=1)
    c.setTitle(src.stem)
    number = 0

    def new_page() -> float:
        nonlocal number
        if number:
            c.showPage()
        number += 1
        c.setFont(font, 9)
        c.drawCentredString(width / 2, 0.55 * inch, f"– {number} –")
        c.setFont(font, size)
        return height - top

    def wrapped(line: str) -> list[str]:
        # Tabs (table cells) become spaces; Times has no glyph for them.
        words, out, cur = line.replace("\t", "    ").split(" "), [], ""
        for w in words:
            trial = f"{cur} {w}" if cur else w
            if stringWidth(trial, font, size) <= usable or not cur:
                cur = trial
            else:
                out.append(cur)
                cur = w
        out.append(cur)
        return out

    for page in pages_of(src.read_text(encoding="utf-8", errors="replace")):
        y = new_page()
        for line in page:
            for piece in wrapped(line) if line.strip() else [""]:
                if y < bottom:
                    y = new_page()
                c.drawString(left, y, piece)
                y -= leading
    c.save()
    return number


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eval.relayout", description=__doc__.split("\n\n")[0])
    parser.add_argument("src", type=Path, help="a folder of text exports (.txt)")
    parser.add_argument("out", type=Path, help="folder for the PDFs")
    args = parser.parse_args(argv)
    try:
        import reportlab  # noqa: F401
    except ImportError:
        print("relayout needs reportlab: pip install -e '.[dev]'", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    for src in sorted(args.src.glob("*.txt")):
        n = relayout(src, args.out / f"{src.stem}.pdf")
        print(f"{src.name}: {n} pages")
    return 0


if __name__ == "__main__":
    sys.exit(main())
