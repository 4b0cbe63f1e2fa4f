"""Read a paper (PDF or text export) into a :class:`~index.model.Paper` with its layout.

Both formats become a list of page-like *segments*: a PDF has one per page; a text export
is cut at its page stamps ("Agenda Item 3") and blank-page notes. Then, for both:

- stamps, printed page numbers, blank-page notes and running headers/footers are taken out
  of the text and kept as provenance;
- each segment gets its agenda item (the agenda's page ranges, then the stamps);
- a text export's segments get the pack pages they can lie on, from the agenda's
  "(Pages 5 - 18)" ranges — a range where the export doesn't pin the page down;
- minutes get the meeting they record.

    >>> paper = read_paper(Path("samples/sefton/000_74252e79d0a85765.txt"))  # doctest: +SKIP
    >>> paper.committee, paper.meeting_date, paper.kind
    ("Overview and Scrutiny Committee (Children's Services and Safeguarding)", '2023-01-31', 'agenda_pack')
"""

from __future__ import annotations

import hashlib
import math
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from index import layout
from index.model import AgendaItem, PageSpan, Paper, Span
from index.pdfread import ReadLimits, UnreadablePaper, extract_pages, read_text_file

PDF_SUFFIXES = {".pdf"}
TEXT_SUFFIXES = {".txt", ".md", ".text"}
SUPPORTED_SUFFIXES = PDF_SUFFIXES | TEXT_SUFFIXES

STAMP = re.compile(r"^\s*Agenda\s+Item\s+(\d{1,3}[A-Za-z]?)\s*$", re.IGNORECASE)
BLANK_NOTE = re.compile(r"^\s*This page (?:is )?intentionally (?:been )?left blank\.?\s*$", re.IGNORECASE)
# "Page 23", "Page 2 of 54", "- 7 -", or a bare number, alone on a line.
PRINTED_PAGE = re.compile(r"^\s*(?:Page\s+(\d{1,4})(?:\s+of\s+\d{1,4})?|[-–]?\s*(\d{1,4})\s*[-–]?)\s*$", re.IGNORECASE)


@dataclass
class Segment:
    """A page of a PDF, or a stretch of a text export between two page breaks."""

    lines: list[str]
    first: int | None = None
    last: int | None = None
    printed: str | None = None
    printed_at: int = 0  # where in ``lines`` the printed number stood, to put it back
    stamp: str | None = None
    blank: bool = False
    header: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "\n".join(self.lines).strip("\n")


def read_paper(path: Path, root: Path | None = None, limits: ReadLimits = ReadLimits()) -> Paper:
    """Read one file. Raises :class:`UnreadablePaper` with a one-line reason."""
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise UnreadablePaper(f"unsupported file type {suffix or '(none)'}: committee-qa reads .pdf, .txt and .md")
    data_hash = hashlib.sha256(path.read_bytes()).hexdigest()
    source = str(path.relative_to(root)) if root and path.is_relative_to(root) else path.name
    if suffix in PDF_SUFFIXES:
        raw_pages = extract_pages(path, limits)
        segments = [_pdf_segment(text, i + 1) for i, text in enumerate(raw_pages)]
        fmt = "pdf"
    else:
        segments = _text_segments(read_text_file(path))
        fmt = "text"
    if not any(s.text.strip() for s in segments):
        raise UnreadablePaper("no text in the paper")
    return build_paper(segments, source=source, fmt=fmt, content_hash=data_hash)


def _pdf_segment(text: str, index: int) -> Segment:
    return Segment(lines=text.replace("\r", "").split("\n"), first=index, last=index)


def _text_segments(text: str) -> list[Segment]:
    """Cut a text export at its page stamps and blank-page notes."""
    segments: list[Segment] = [Segment(lines=[])]
    for line in text.split("\n"):
        stamp = STAMP.match(line)
        if stamp:
            segments.append(Segment(lines=[], stamp=stamp.group(1)))
        elif BLANK_NOTE.match(line):
            segments.append(Segment(lines=[], blank=True))
            segments.append(Segment(lines=[]))
        else:
            segments[-1].lines.append(line)
    # Empty stretches between two breaks are not pages (a stamp straight after a blank note).
    return [s for s in segments if s.blank or s.stamp or s.text.strip()]


def _norm(line: str) -> str:
    return re.sub(r"\d+", "#", re.sub(r"\s+", " ", line.strip().lower()))


def _take_marks(segments: list[Segment]) -> None:
    """Move stamps, printed page numbers and blank-page notes out of each segment's lines."""
    for seg in segments:
        kept = []
        noted_blank = False
        non_empty = [i for i, line in enumerate(seg.lines) if line.strip()]
        edges = set(non_empty[:2] + non_empty[-2:])
        for i, line in enumerate(seg.lines):
            stamp = STAMP.match(line)
            if stamp:
                seg.stamp = seg.stamp or stamp.group(1)
                continue
            if BLANK_NOTE.match(line):
                noted_blank = True
                continue
            number = PRINTED_PAGE.match(line) if i in edges else None
            if number and seg.printed is None:
                seg.printed = number.group(1) or number.group(2)
                seg.printed_at = len(kept)
                continue
            kept.append(line)
        seg.lines = kept
        # A note on a page that has other words too is a layout leftover, not a blank page.
        if not "".join(kept).strip():
            seg.blank = seg.blank or noted_blank or seg.first is not None


def _check_printed(segments: list[Segment]) -> None:
    """Keep printed numbers only where they run in step with the pages (a bare "4" in a
    table's last row is not a page number)."""
    offsets = Counter(
        int(s.printed) - s.first for s in segments if s.printed is not None and s.first is not None
    )
    if not offsets:
        return
    offset, count = offsets.most_common(1)[0]
    numbered = sum(1 for s in segments if s.printed is not None)
    if count < 2 and len(segments) > 1:
        offset = None
    for seg in segments:
        if seg.printed is None or seg.first is None:
            continue
        if offset is None or int(seg.printed) - seg.first != offset:
            # Put a number that is not a page number back where it was (a year closing a
            # table row, "2028", before the page's last line): quotes must keep the page's order.
            if numbered and count / numbered < 0.5 or offset is None or int(seg.printed) - seg.first != offset:
                seg.lines.insert(seg.printed_at, seg.printed)
                seg.printed = None


def _strip_running_lines(segments: list[Segment]) -> None:
    """Running headers and footers: lines that open or close many pages alike.

    A line in capitals at the very top or bottom of a page is a running line once it stands
    there on three pages (a minutes header runs only over its own pages); a line deeper in the
    page's opening block (a table's column headers) must open at least half of the pages,
    since a quoted motion may well open two or three pages of minutes.
    """
    pages = [s for s in segments if not s.blank]
    n = len(pages)
    if n < 2:
        return
    edge: Counter[str] = Counter()
    deep: Counter[str] = Counter()
    capitals: set[str] = set()  # running headers are set in capitals; quoted motions are not
    for seg in pages:
        for line in seg.lines:
            letters = [c for c in line if c.isalpha()]
            if letters and sum(c.isupper() for c in letters) >= 0.6 * len(letters):
                capitals.add(_norm(line))
        lines = [_norm(line) for line in seg.lines if line.strip()]
        edge.update(set(lines[:2] + lines[-2:]))
        deep.update(set(lines[:15] + lines[-6:]))
    if n <= 3:
        repeated = {line for line, c in deep.items() if c == n}
    else:
        repeated = {
            line
            for line, c in edge.items()
            if c >= 3 and 3 <= len(line.split()) <= 16 and line in capitals
        } | {line for line, c in deep.items() if c >= math.ceil(0.8 * n)}
    repeated = {line for line in repeated if len(line) > 1 and len(line) <= 160}
    for seg in pages:
        idx = [i for i, line in enumerate(seg.lines) if line.strip()]
        header_ids = []
        for i in idx[:15]:
            if _norm(seg.lines[i]) not in repeated:
                break
            header_ids.append(i)
        footer_ids = []
        for i in reversed(idx[len(header_ids):][-6:]):
            if _norm(seg.lines[i]) not in repeated:
                break
            footer_ids.append(i)
        drop = set(header_ids) | set(footer_ids)
        if len(drop) == len(idx):  # a page of nothing but repeated lines: keep it as it is
            continue
        seg.header = [seg.lines[i].strip() for i in sorted(drop)]
        seg.lines = [line for i, line in enumerate(seg.lines) if i not in drop]


def _front_count(segments: list[Segment], agenda_end: int | None) -> int:
    """How many leading segments are the front sheet and agenda (and blank pages after it)."""
    if agenda_end is None:
        return 0
    pos = 0
    for n, seg in enumerate(segments):
        pos += len(seg.text) + 2
        if pos >= agenda_end:
            n += 1
            while n < len(segments) and segments[n].blank:
                n += 1
            return n
    return 0


def _assign_items(segments: list[Segment], agenda: tuple[AgendaItem, ...], front: int) -> list[str | None]:
    """The agenda item of each segment: by printed page in the agenda's ranges, then by
    stamp; unstamped pages follow the page before, or the next stamp after a break."""
    by_number = {it.number: it for it in agenda}
    items: list[str | None] = [None] * len(segments)
    use_printed = _printed_pages_match_agenda(segments, agenda)
    for i, seg in enumerate(segments):
        if i < front:
            continue
        if seg.printed and use_printed:
            hit = layout.item_for_page(agenda, int(seg.printed))
            if hit:
                items[i] = hit.number
                continue
        if seg.stamp and (not by_number or seg.stamp in by_number):
            items[i] = seg.stamp
    for i in range(front, len(segments)):
        if items[i] is not None:
            continue
        prev = items[i - 1] if i > front else None
        if prev is not None and not (segments[i - 1].blank and not segments[i].blank):
            items[i] = prev
        elif segments[i].blank and prev is not None:
            items[i] = prev
        else:
            items[i] = next((items[j] for j in range(i + 1, len(segments)) if items[j] is not None), None)
            if prev is not None and segments[i - 1].blank and items[i] is None:
                items[i] = prev
    return items


def _printed_pages_match_agenda(segments: list[Segment], agenda: tuple[AgendaItem, ...]) -> bool:
    """Whether printed numbers are the pack pages the agenda counts in. A re-laid-out copy
    numbers its own pages; its stamps then disagree with the agenda's ranges."""
    if not agenda:
        return False
    checks = [
        layout.item_for_page(agenda, int(s.printed)) for s in segments if s.stamp and s.printed is not None
    ]
    stamps = [s.stamp for s in segments if s.stamp and s.printed is not None]
    if not stamps:
        return any(s.printed for s in segments)
    agree = sum(1 for item, stamp in zip(checks, stamps) if item is not None and item.number == stamp)
    return agree >= 0.8 * len(stamps)


def _infer_pages(segments: list[Segment], items: list[str | None], agenda: tuple[AgendaItem, ...], front: int) -> None:
    """Pack pages of a text export's segments: segment j of m in an item on pages a..b
    lies within pages a+j .. b-(m-1-j), each segment holding at least one page."""
    by_number = {it.number: it for it in agenda}
    groups: list[tuple[int | None, int | None, list[int]]] = []
    first_ranged = min((it.first_page for it in agenda if it.first_page), default=None)
    if front and first_ranged and first_ranged > 1:
        groups.append((1, first_ranged - 1, list(range(front))))
    i = front
    while i < len(segments):
        j = i
        while j + 1 < len(segments) and items[j + 1] == items[i]:
            j += 1
        item = by_number.get(items[i] or "")
        if item and item.first_page:
            groups.append((item.first_page, item.last_page or item.first_page, list(range(i, j + 1))))
        i = j + 1
    for a, b, members in groups:
        if a is None or b is None:
            continue
        m = len(members)
        if m > b - a + 1:  # more breaks than pages: the ranges can't be trusted segment by segment
            for k in members:
                segments[k].first, segments[k].last = a, b
            continue
        for j, k in enumerate(members):
            segments[k].first, segments[k].last = a + j, b - (m - 1 - j)


def build_paper(segments: list[Segment], *, source: str, fmt: str, content_hash: str) -> Paper:
    """Assemble a Paper from page segments: marks out, layout found, spans laid down."""
    path = Path(source)
    _take_marks(segments)
    if fmt == "pdf":
        _check_printed(segments)
    _strip_running_lines(segments)

    full = "\n\n".join(s.text for s in segments if not s.blank)
    agenda = layout.parse_agenda(full[:20000])
    agenda_end = None
    if agenda:
        last = agenda[-1]
        m = re.search(re.escape(last.title[:30]), full[:20000])
        agenda_end = m.end() if m else None
    front = _front_count(segments, agenda_end) if agenda else 0
    has_stamps = any(s.stamp for s in segments)
    items = _assign_items(segments, agenda, front)
    if fmt == "text" and agenda:
        _infer_pages(segments, items, agenda, front)

    # Lay the text down, page after page, keeping offsets.
    text_parts: list[str] = []
    pages: list[PageSpan] = []
    item_spans: list[Span] = []
    header_spans: list[Span] = []
    by_number = {it.number: it for it in agenda}
    pos = 0
    for seg, item in zip(segments, items):
        if seg.blank:
            continue
        body = seg.text
        if text_parts:
            text_parts.append("\n\n")
            pos += 2
        start, end = pos, pos + len(body)
        text_parts.append(body)
        pos = end
        pages.append(PageSpan(start, end, seg.first, seg.last, seg.printed))
        if item is not None:
            title = by_number[item].title if item in by_number else None
            if item_spans and item_spans[-1].value == item:
                prev = item_spans[-1]
                item_spans[-1] = Span(prev.start, end, prev.value, prev.label)
            else:
                item_spans.append(Span(start, end, item, title))
        if seg.header:
            header_spans.append(Span(start, end, " ".join(seg.header)[:300]))
    text = "".join(text_parts)

    committee = layout.find_committee(text) or layout.committee_from_path(path.parent.parts)
    meeting_date = layout.find_meeting_date(text) or layout.date_from_path(path.stem) or layout.date_from_path(str(path.parent))
    kind = layout.find_kind(text, path.name, has_stamps, agenda)
    records = _minutes_records(text, kind, meeting_date, item_spans, agenda)
    if not item_spans:
        # No agenda to place the text under: printed minutes still say which item each
        # minute takes ("86. Minutes of the Meeting held on 9th January 2025 (Item 3)").
        item_spans = layout.minute_items(text)
    return Paper(
        source=source,
        doc=path.stem,
        format=fmt,  # type: ignore[arg-type]
        text=text,
        pages=tuple(pages),
        content_hash=content_hash,
        kind=kind,
        committee=committee,
        meeting_date=meeting_date,
        title=layout.find_title(text, path.stem),
        agenda=agenda,
        page_count=len(segments) if fmt == "pdf" else max((s.last or 0 for s in segments), default=0),
        items=tuple(item_spans),
        records=tuple(records),
        headers=tuple(header_spans),
    )


def _minutes_records(
    text: str,
    kind: str,
    meeting_date: str | None,
    item_spans: list[Span],
    agenda: tuple[AgendaItem, ...],
) -> list[Span]:
    """The meeting each stretch of minutes records. In a pack, only items about minutes
    count; the minutes' own heading gives the date, else the agenda's description."""
    starts = layout.find_minutes_starts(text)
    if kind == "minutes":
        if not starts:
            return [Span(0, len(text), meeting_date)] if meeting_date else []
        bounds = [s.offset for s in starts[1:]] + [len(text)]
        return [Span(0 if i == 0 else s.offset, end, s.meeting_date) for i, (s, end) in enumerate(zip(starts, bounds))]
    records: list[Span] = []
    for span in item_spans:
        if not span.label or not re.search(r"\bminutes\b", span.label, re.IGNORECASE):
            continue
        inside = [s for s in starts if span.start <= s.offset < span.end]
        if not inside:
            item_text = _agenda_description(text, span.value, agenda)
            named = layout.dates_named(item_text)
            if named:
                records.append(Span(span.start, span.end, named[-1]))
            continue
        for i, s in enumerate(inside):
            start = span.start if i == 0 else s.offset
            end = inside[i + 1].offset if i + 1 < len(inside) else span.end
            records.append(Span(start, end, s.meeting_date))
    return records


def _agenda_description(text: str, number: str, agenda: tuple[AgendaItem, ...]) -> str:
    """The lines under an agenda entry ("Minutes of the meeting held on 20 December 2022")."""
    m = re.search(rf"(?:^|\n)[\s\-•]*{re.escape(number)}\.\s", text[:20000])
    return text[m.start() : m.start() + 400] if m else ""
