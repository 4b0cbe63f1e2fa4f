"""Cut a Paper into Passages that keep its structure.

A passage is 80–250 words of the paper's own text (``paper.text[start:end]``): a numbered
minute with its resolution, a report section, or a group of table rows, never running over
an agenda item or from one set of minutes into the next. Each carries its page span, agenda
item, section heading, the meeting it records and, for table rows, the column headers.

    >>> passages = chunk_paper(paper)  # doctest: +SKIP
    >>> p = passages[0]; p.text == paper.text[p.start:p.end]
    True
"""

from __future__ import annotations

import hashlib
import re
from bisect import bisect_right
from dataclasses import dataclass

from index.model import Paper, Passage, Span

TARGET_WORDS = 150
MIN_WORDS = 80
MAX_WORDS = 250

BULLET = re.compile(r"^\s*(?:[-•\x7f●▪◦·*]|\(?[0-9ivx]{1,4}[\.\)]|\(?[a-z][\.\)])\s")
NUMBERED_HEADING = re.compile(r"^\s*(\d{1,3}(?:\.\d{1,2})*)\.?\s+(\S.{1,110})$")
MINUTE_HEADING = re.compile(r"^\s*(\d{1,4})\.\s+([A-Z][A-Z0-9 ,'’&/()\-–]{3,120})$|^\s*(\d{3,4})\.\s+(\S.{3,120})$")
SENTENCE_END = re.compile(r"(?<=[.!?])[\"'”’)]?\s+(?=[\"'“‘(]?[A-Z0-9•\-])")
WORD = re.compile(r"\S+")
TOKEN = re.compile(r"[a-z0-9]+")


@dataclass
class Block:
    start: int
    end: int
    kind: str  # "para" | "heading" | "minute" | "row"
    words: int


def _is_heading(line: str, next_line: str) -> bool:
    stripped = line.strip().strip("*#").strip()
    words = stripped.split()
    if not words or len(words) > 14 or stripped[-1:] in ".,;:" or "\t" in line:
        return False
    letters = [c for c in stripped if c.isalpha()]
    if len(letters) < 3:
        return False
    if line.lstrip().startswith("#"):
        return True
    if sum(c.isupper() for c in letters) >= 0.8 * len(letters):
        return True
    m = NUMBERED_HEADING.match(stripped)
    if m and stripped[len(m.group(1)) :].strip()[:1].isupper():
        # "2. The Demographic Context" but not "2.1 Information from ... there" cut mid-sentence.
        return not next_line[:1].islower()
    return False


def blocks(text: str) -> list[Block]:
    """Paragraphs, headings, minute headings and table rows, with offsets into ``text``."""
    lines: list[tuple[int, int]] = []
    pos = 0
    for line in text.split("\n"):
        lines.append((pos, pos + len(line)))
        pos += len(line) + 1
    blocks: list[Block] = []
    current: list[tuple[int, int]] = []

    def close() -> None:
        if current:
            start, end = current[0][0], current[-1][1]
            blocks.append(Block(start, end, "para", len(WORD.findall(text[start:end]))))
            current.clear()

    for i, (s, e) in enumerate(lines):
        line = text[s:e]
        if not line.strip():
            close()
            continue
        nxt = text[lines[i + 1][0] : lines[i + 1][1]].strip() if i + 1 < len(lines) else ""
        if "\t" in line.strip("\t "):
            close()
            blocks.append(Block(s, e, "row", len(WORD.findall(line))))
            continue
        if MINUTE_HEADING.match(line):
            close()
            blocks.append(Block(s, e, "minute", len(WORD.findall(line))))
            continue
        if _is_heading(line, nxt):
            close()
            blocks.append(Block(s, e, "heading", len(WORD.findall(line))))
            continue
        if current:
            prev = text[current[-1][0] : current[-1][1]].rstrip()
            # pypdf gives wrapped lines with no blank line between paragraphs: a finished
            # sentence followed by a bullet or a capital starts a new one.
            if BULLET.match(line) or (prev[-1:] in ".:;!?" and line.lstrip()[:1].isupper() and len(prev) < 75):
                close()
        current.append((s, e))
    close()
    return blocks


def _sentence_cuts(text: str, start: int, end: int, target: int) -> list[tuple[int, int]]:
    """Cut a long block at sentence ends into pieces of about ``target`` words."""
    piece = text[start:end]
    bounds = [0] + [m.end() for m in SENTENCE_END.finditer(piece)] + [len(piece)]
    pieces: list[tuple[int, int]] = []
    cut = 0
    for i in range(1, len(bounds)):
        words = len(WORD.findall(piece[cut : bounds[i]]))
        if words >= target or i == len(bounds) - 1:
            if words > MAX_WORDS:  # one huge "sentence" (a list without stops): cut at words
                for m in list(WORD.finditer(piece, cut, bounds[i]))[target::target]:
                    pieces.append((start + cut, start + m.start()))
                    cut = m.start()
            pieces.append((start + cut, start + bounds[i]))
            cut = bounds[i]
    return [(s, e) for s, e in pieces if text[s:e].strip()]


def span_at(spans: tuple[Span, ...], offset: int) -> Span | None:
    starts = [s.start for s in spans]
    i = bisect_right(starts, offset) - 1
    if i >= 0 and spans[i].start <= offset < max(spans[i].end, spans[i].start + 1):
        return spans[i]
    return None


def content_hash(text: str) -> str:
    """Equal for texts with the same words, whatever their spacing and case."""
    return hashlib.sha1(" ".join(TOKEN.findall(text.lower())).encode()).hexdigest()[:16]


def chunk_paper(paper: Paper) -> list[Passage]:
    text = paper.text
    found = blocks(text)
    # Where a passage may not run on: agenda items, sets of minutes, page headers of tables.
    hard_breaks = {s.start for s in paper.items} | {s.start for s in paper.records}
    pieces: list[tuple[int, int, str | None, str, bool]] = []  # start, end, section, context, table
    section: str | None = None
    table_header: str = ""
    group: list[Block] = []
    group_section: str | None = None

    def flush() -> None:
        nonlocal group
        if not group:
            return
        is_table = all(b.kind == "row" for b in group)
        start, end = group[0].start, group[-1].end
        words = sum(b.words for b in group)
        context = table_header if is_table and text[start:group[0].end] != table_header else ""
        if words > MAX_WORDS and len(group) == 1:
            for s, e in _sentence_cuts(text, start, end, TARGET_WORDS):
                pieces.append((s, e, group_section, context, is_table))
        else:
            pieces.append((start, end, group_section, context, is_table))
        group = []

    for block in found:
        line = text[block.start : block.end]
        crosses = any(group and group[0].start < b <= block.start for b in hard_breaks)
        words_so_far = sum(b.words for b in group)
        if crosses:
            flush()
            section = None
            table_header = ""
        if block.kind == "minute":
            flush()
            section = re.sub(r"\s+", " ", line.strip())
        elif block.kind == "heading":
            if words_so_far >= MIN_WORDS or (group and group[-1].kind != "heading" and words_so_far >= 40):
                flush()
            section = re.sub(r"\s+", " ", line.strip())[:160]
        elif block.kind == "row":
            if group and group[-1].kind != "row":
                flush()
            if not group and not table_header or (not group and _looks_like_header(line)):
                table_header = re.sub(r"[ \t]+", " ", line.strip())
        elif group and group[-1].kind == "row":
            flush()
        if group and words_so_far + block.words > MAX_WORDS:
            flush()
        if not group:
            group_section = section if block.kind not in ("heading", "minute") else _previous_section(section, line)
        group.append(block)
        if sum(b.words for b in group) >= TARGET_WORDS:
            flush()
    flush()
    pieces = _merge_small(pieces, text, hard_breaks)

    passages: list[Passage] = []
    for start, end, sec, context, is_table in pieces:
        start, end = strip_span(text, start, end)
        if end <= start:
            continue
        body = text[start:end]
        first, last = _page_span(paper, start, end)
        item = span_at(paper.items, start)
        record = span_at(paper.records, start)
        header = span_at(paper.headers, start)
        if header and header.value and header.value not in context:
            context = (context + " " + header.value).strip()
        passages.append(
            Passage(
                id=f"{paper.content_hash[:12]}-{start}",
                doc=paper.doc,
                source=paper.source,
                text=body,
                start=start,
                end=end,
                page=first.first if first else None,
                page_end=(last.last if last else None),
                printed_page=first.printed if first else None,
                printed_page_end=last.printed if last else None,
                committee=paper.committee,
                meeting_date=record.value if record else paper.meeting_date,
                pack_date=paper.meeting_date,
                kind=paper.kind,
                agenda_item=item.value if item else None,
                item_title=item.label if item else (paper.title if paper.title != paper.doc else None),
                section=sec if sec and sec not in body[:200] else None,
                context=context[:400],
                is_table=is_table,
                content_hash=content_hash(body),
            )
        )
    return passages


def _looks_like_header(line: str) -> bool:
    cells = [c for c in line.split("\t") if c.strip()]
    return len(cells) >= 2 and all(len(c.split()) <= 8 for c in cells) and not any(ch.isdigit() for ch in "".join(cells)[:3])


def _previous_section(section: str | None, heading_line: str) -> str | None:
    return re.sub(r"\s+", " ", heading_line.strip())[:160] or section


def _merge_small(pieces, text: str, hard_breaks: set[int]):
    """Fold pieces under MIN_WORDS into the one before, when no break lies between."""
    merged: list = []
    for piece in pieces:
        start, end, sec, context, is_table = piece
        words = len(WORD.findall(text[start:end]))
        if merged:
            p_start, p_end, p_sec, p_context, p_table = merged[-1]
            p_words = len(WORD.findall(text[p_start:p_end]))
            breaks_between = any(p_start < b <= start for b in hard_breaks)
            if not breaks_between and p_table == is_table and (words < MIN_WORDS or p_words < MIN_WORDS / 2) and p_words + words <= MAX_WORDS:
                merged[-1] = (p_start, end, p_sec or sec, p_context or context, p_table)
                continue
        merged.append(piece)
    # A lone heading at the start of an item can't join the piece before: it joins the next.
    forward: list = []
    for piece in reversed(merged):
        start, end, sec, context, is_table = piece
        if forward:
            n_start, n_end, n_sec, n_context, n_table = forward[-1]
            small = len(WORD.findall(text[start:end])) < MIN_WORDS / 2
            if small and not any(start < b <= n_start for b in hard_breaks) and n_table == is_table:
                forward[-1] = (start, n_end, sec or n_sec, context or n_context, n_table)
                continue
        forward.append(piece)
    return forward[::-1]


def strip_span(text: str, start: int, end: int) -> tuple[int, int]:
    """``text[start:end]`` without the whitespace at either end, as offsets."""
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def _page_span(paper: Paper, start: int, end: int):
    starts = [p.start for p in paper.pages]
    i = max(0, bisect_right(starts, start) - 1)
    j = max(0, bisect_right(starts, end - 1) - 1)
    if not paper.pages:
        return None, None
    return paper.pages[i], paper.pages[j]


UNIT_MAX_WORDS = 60
UNIT_MIN_WORDS = 6
ROW_HEADER_WORDS = 20
ROW_LINE_MAX_CHARS = 400  # 40 words of a table row fit well within this
# A row line: a label of words followed by two or more figures ("Older People - Residential
# Care Services 97.5 124.9 27.4", "Ashford 49,832.00 49,332.00 83,429.8 -1.00%").
ROW_LINE = re.compile(r"^\s*\S.*?[A-Za-z].*?(?:\s+[-+(£]?\d[\d,]*(?:\.\d+)?[%)m]?){2,}\s*$")


def is_row_line(line: str) -> bool:
    """Whether a line reads as a table row: words, then at least two figures, no sentence.

    >>> is_row_line("Older People - Residential Care Services 97.5 124.9 27.4")
    True
    >>> is_row_line("The forecast is £23.3m, up from 2024 and 2023.")
    False
    """
    # The length cap bounds the regex's backtracking on long unspaced lines (an uploaded
    # file's 100k-character line would otherwise hold ingest for minutes).
    return len(line) <= ROW_LINE_MAX_CHARS and len(line.split()) <= 40 and bool(ROW_LINE.match(line))


def sentence_units(text: str, start: int, end: int, is_table: bool = False) -> list[tuple[int, int]]:
    """Sentence-sized spans of ``text[start:end]`` (a table: its rows), the units embedded.

    MiniLM was trained on sentence-length text: one vector per sentence, a passage scored
    by its best sentence, matches a question better than one vector for 150 words.
    Spans shorter than UNIT_MIN_WORDS join the next; longer than UNIT_MAX_WORDS are cut.
    """
    raw: list[tuple[int, int, bool]] = []
    if is_table:
        pos = start
        for line in text[start:end].split("\n"):
            if line.strip():
                raw.append((pos, pos + len(line), False))
            pos += len(line) + 1
    else:
        for para in re.finditer(r"[^\n]+(?:\n[^\n]+)*", text[start:end]):
            p0 = start + para.start()
            # Rows of a table that came out of a PDF as plain lines (no tabs): each row is a
            # unit of its own, so a budget line is matched by its label rather than lost in a
            # 60-word run of other rows; the prose around them is cut at sentence ends.
            body = para.group()
            segments: list[tuple[int, int, bool]] = []
            pos = 0
            for line in body.split("\n"):
                row = is_row_line(line)
                if segments and not row and not segments[-1][2]:
                    segments[-1] = (segments[-1][0], pos + len(line), False)
                else:
                    segments.append((pos, pos + len(line), row))
                pos += len(line) + 1
            for s0, e0, row in segments:
                piece = body[s0:e0]
                if row:
                    raw.append((p0 + s0, p0 + e0, True))
                    continue
                cut = 0
                for b in [m.end() for m in SENTENCE_END.finditer(piece)] + [len(piece)]:
                    if piece[cut:b].strip():
                        raw.append((p0 + s0 + cut, p0 + s0 + b, False))
                    cut = b
    merged: list[tuple[int, int, bool]] = []
    for s, e, row in raw:
        prev = merged[-1] if merged else None
        # A short row stays alone (its label is the point); short prose joins the next.
        if prev and not prev[2] and not row and len(WORD.findall(text[prev[0] : prev[1]])) < UNIT_MIN_WORDS:
            merged[-1] = (prev[0], e, False)
        else:
            merged.append((s, e, row))
    units: list[tuple[int, int]] = []
    for s, e, _ in merged:
        words = list(WORD.finditer(text, s, e))
        for k in range(0, len(words), UNIT_MAX_WORDS):
            piece = words[k : k + UNIT_MAX_WORDS]
            units.append((piece[0].start(), piece[-1].end()))
    return units


def row_header(text: str, offset: int, fallback: str = "") -> str:
    r"""The words a table row at ``offset`` is read under: the non-row lines just above its
    block of rows (column headers, a table title), else ``fallback`` (the section heading).

    A bare row ("Ashford 49,832.00 49,332.00 83,429.8 -1.00%") says nothing of what its
    figures are; with its headers in front the embedding model can match "tax base".

    >>> row_header("Table 6.2 Tax base\nDistrict Taxbase % change\nAshford 49,832.00 -1.00%\nDover 1.0 2.0", 45)
    'Table 6.2 Tax base District Taxbase % change'
    """
    before = text[:offset].split("\n")[:-1]
    i = len(before) - 1
    while i >= 0 and (not before[i].strip() or is_row_line(before[i])):
        i -= 1
    lead: list[str] = []
    while i >= 0 and before[i].strip() and not is_row_line(before[i]) and len(lead) < ROW_HEADER_WORDS:
        lead = before[i].split() + lead
        i -= 1
    return " ".join(lead[-ROW_HEADER_WORDS:] or fallback.split()[:ROW_HEADER_WORDS])
