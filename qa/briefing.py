"""A briefing: quotes collected from answers, put in order, annotated, exported.

Pure values and functions; the app keeps one :class:`Briefing` per browser session.

    >>> b = Briefing(title="Home to school transport")
    >>> b = add(b, BriefingItem(id="a", text="Agreed.", citation=_EXAMPLE))
    >>> b = note(b, "a", "Ask about the cost.")
    >>> [i.note for i in b.items]
    ['Ask about the cost.']
    >>> print(to_markdown(b, prepared=date(2025, 2, 3)).splitlines()[0])
    # Home to school transport

Every export gives each quote its full reference: committee, meeting, agenda item, page and
the paper it stands in, so a reader can check it.
"""

from __future__ import annotations

import hashlib
import io
import re
import secrets
from collections.abc import Mapping
from dataclasses import MISSING, dataclass, field, fields, replace
from datetime import date
from typing import TYPE_CHECKING, Any

from index.model import Citation, Quote
from qa.render import citation_line, long_date, page_text

if TYPE_CHECKING:
    from qa.decisions import Decision

# --- Markdown escaping ----------------------------------------------------------------

# Every ASCII punctuation character that Markdown, GitHub-flavoured Markdown or Streamlit's
# extensions (":red[...]", ":material/icon:", "$maths$", "~~strike~~", tables) give a
# meaning to. CommonMark renders a backslash before any ASCII punctuation as that character.
_STREAMLIT_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:&=^\"'%/@])")


def escape_markdown(text: str) -> str:
    """``text`` as Markdown that displays exactly these characters and nothing else: no
    HTML, links, images, emphasis, maths, colours or icons.

    >>> print(escape_markdown("<b>x</b> ![x](http://e/x.png)"))
    \\<b\\>x\\<\\/b\\> \\!\\[x\\]\\(http\\:\\/\\/e\\/x\\.png\\)
    """
    return _STREAMLIT_SPECIAL.sub(r"\\\1", text)


# Lighter escaping for the exported .md file, which people also read as plain text: only
# what could become markup (HTML, links, images, emphasis, code, tables, headings, lists).
_EXPORT_SPECIAL = re.compile(r"([\\`*_\[\]<>|~])")
_LINE_START = re.compile(r"^(\s*)([#+\-=]|\d+[.)])")


def _export_escape(line: str) -> str:
    line = _EXPORT_SPECIAL.sub(r"\\\1", line)
    return _LINE_START.sub(lambda m: m.group(1) + m.group(2)[:-1] + "\\" + m.group(2)[-1], line)


# Characters Word's XML cannot hold (form feeds from PDFs, stray control codes).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _xml_safe(text: str) -> str:
    return _NOT_XML.sub("", text)


def quote_paragraphs(text: str) -> list[str]:
    """A quote as paragraphs: blank lines separate them, the lines of one paragraph (a PDF's
    line wrapping) are joined with spaces, and the tabs between a table's cells become " | ".

    >>> quote_paragraphs("Requests for EHC Assessments\\n\\n2020 – 412\\n\\n2021 –\\n602\\nA\\t\\tB")
    ['Requests for EHC Assessments', '2020 – 412', '2021 – 602 A | B']
    """
    paragraphs = []
    for block in re.split(r"\n[ \t]*\n", text.replace("\r", "")):
        lines = [" | ".join(" ".join(cell.split()) for cell in re.split(r"\t+", line.strip())) for line in block.split("\n")]
        joined = " ".join(line for line in lines if line)
        if joined:
            paragraphs.append(joined)
    return paragraphs


# --- the briefing ---------------------------------------------------------------------


@dataclass(frozen=True)
class BriefingItem:
    """One quote in a briefing: the paper's exact words, where they stand, and a note."""

    id: str
    text: str
    citation: Citation
    question: str = ""  # what was asked when the quote was found
    note: str = ""


def new_briefing_id() -> str:
    return secrets.token_hex(8)


@dataclass(frozen=True)
class Briefing:
    title: str = "Briefing"
    items: tuple[BriefingItem, ...] = field(default_factory=tuple)
    # Stays with the briefing through edits and saves: saving it again replaces its own copy,
    # never another briefing that happens to share its title.
    id: str = field(default_factory=new_briefing_id)

    def to_json(self) -> dict[str, Any]:
        """Plain JSON values, with the format's version (read back by :meth:`from_json`)."""
        return {
            "version": JSON_VERSION,
            "id": self.id,
            "title": self.title,
            "items": [
                {"id": i.id, "text": i.text, "question": i.question, "note": i.note, "citation": _fields(i.citation)}
                for i in self.items
            ],
        }

    @classmethod
    def from_json(cls, data: Any) -> Briefing:
        """A briefing from :meth:`to_json`'s values, checked field by field. Raises
        :class:`BriefingUnreadable` with a one-line reason; never runs code from the file."""
        doc = _record(data, "the briefing", required={"version", "id", "title", "items"})
        if doc["version"] != JSON_VERSION:
            raise BriefingUnreadable(
                f"briefing format version {doc['version']!r}, but this committee-qa reads version {JSON_VERSION}: "
                "open it with the committee-qa that saved it"
            )
        items = doc["items"]
        if not isinstance(items, list):
            raise BriefingUnreadable("the briefing's items are not a list")
        return cls(
            id=_text(doc, "id", "the briefing", empty=False),
            title=_text(doc, "title", "the briefing"),
            items=tuple(_item(entry, n) for n, entry in enumerate(items, 1)),
        )


def item_id(passage_id: str, start: int, end: int) -> str:
    """The same words of the same paper are the same item, however often they are added."""
    return hashlib.sha1(f"{passage_id}:{start}:{end}".encode()).hexdigest()[:12]


def item_from_quote(quote: Quote, question: str = "") -> BriefingItem:
    return BriefingItem(
        id=item_id(quote.passage_id, quote.start, quote.end),
        text=quote.text,
        citation=quote.citation,
        question=question,
    )


def item_from_decision(decision: Decision, topic: str = "") -> BriefingItem:
    """A decision (qa.decisions) as a briefing item: its own words and citation. Keyed by the
    paper and offsets, as a quote is, so adding it twice adds it once."""
    return BriefingItem(
        id=item_id(decision.source, decision.start, decision.end),
        text=decision.text,
        citation=decision.citation,
        question=topic,
    )


def contains(briefing: Briefing, item_id: str) -> bool:
    return any(i.id == item_id for i in briefing.items)


def add(briefing: Briefing, item: BriefingItem) -> Briefing:
    """The briefing with ``item`` at the end; unchanged if it is already there."""
    if contains(briefing, item.id):
        return briefing
    return replace(briefing, items=briefing.items + (item,))


def remove(briefing: Briefing, item_id: str) -> Briefing:
    return replace(briefing, items=tuple(i for i in briefing.items if i.id != item_id))


def move(briefing: Briefing, item_id: str, offset: int) -> Briefing:
    """Move an item ``offset`` places (-1 up, +1 down), stopping at either end."""
    items = list(briefing.items)
    pos = next((n for n, i in enumerate(items) if i.id == item_id), None)
    if pos is None:
        return briefing
    target = max(0, min(len(items) - 1, pos + offset))
    items.insert(target, items.pop(pos))
    return replace(briefing, items=tuple(items))


def note(briefing: Briefing, item_id: str, text: str) -> Briefing:
    """The briefing with the item's note set to ``text``."""
    return replace(
        briefing,
        items=tuple(replace(i, note=text.strip()) if i.id == item_id else i for i in briefing.items),
    )


def retitle(briefing: Briefing, title: str) -> Briefing:
    return replace(briefing, title=" ".join(title.split()) or "Briefing")


# --- as JSON ---------------------------------------------------------------------------

JSON_VERSION = 1
# Citation fields that hold page numbers; every other one is text (or None where optional).
_NUMBER_FIELDS = {"page", "page_end"}
_REQUIRED_TEXT = {"doc", "source"}


class BriefingUnreadable(ValueError):
    """A saved briefing that is not one: bad JSON values, a missing field, another version."""


def _fields(record: Any) -> dict[str, Any]:
    return {f.name: getattr(record, f.name) for f in fields(record)}


def _record(data: Any, what: str, *, required: set[str], optional: frozenset[str] | set[str] = frozenset()) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise BriefingUnreadable(f"{what} is not a JSON object")
    missing, unknown = required - data.keys(), data.keys() - required - optional
    if missing:
        raise BriefingUnreadable(f"{what} has no {', '.join(sorted(missing))}")
    if unknown:
        raise BriefingUnreadable(f"{what} has unknown fields: {', '.join(sorted(unknown))}")
    return data


def _text(data: dict[str, Any], key: str, what: str, *, empty: bool = True) -> str:
    value = data.get(key, "")
    if not isinstance(value, str) or (not empty and not value):
        raise BriefingUnreadable(f"{what}'s {key} is not {'text' if empty else 'non-empty text'}")
    return value


def _item(data: Any, n: int) -> BriefingItem:
    what = f"quote {n}"
    item = _record(data, what, required={"id", "text", "citation"}, optional={"question", "note"})
    return BriefingItem(
        id=_text(item, "id", what, empty=False),
        text=_text(item, "text", what),
        citation=_citation(item["citation"], what),
        question=_text(item, "question", what),
        note=_text(item, "note", what),
    )


def _citation(data: Any, what: str) -> Citation:
    # Fields with a default may be missing: files saved before a field was added still open.
    names = {f.name for f in fields(Citation)}
    defaults = {f.name for f in fields(Citation) if f.default is not MISSING}
    cite = _record(data, f"{what}'s citation", required=names - defaults, optional=defaults)
    for key, value in cite.items():
        if key in _NUMBER_FIELDS:
            ok = value is None or (isinstance(value, int) and not isinstance(value, bool))
        else:
            ok = isinstance(value, str) or (value is None and key not in _REQUIRED_TEXT)
        if not ok:
            raise BriefingUnreadable(f"{what}'s citation has a bad {key}: {value!r}")
    return Citation(**cite)


# --- references -----------------------------------------------------------------------


def heading(item: BriefingItem) -> str:
    """"Cabinet, 30 January 2025" — the committee and the meeting the words record."""
    c = item.citation
    meeting = long_date(c.meeting_date or c.pack_date)
    parts = [p for p in (c.committee, meeting) if p]
    return ", ".join(parts) if parts else c.source


def reference(item: BriefingItem) -> str:
    """The full citation line: committee · meeting · item · page · paper."""
    return citation_line(item.citation)


def paper_reference(item: BriefingItem) -> str:
    """The paper and the page(s): "minutes.pdf, p. 6 (PDF p. 8)"."""
    c = item.citation
    pages = page_text(c.page, c.page_end, c.printed_page, c.printed_page_end)
    return f"{c.source}, {pages}" if pages else f"{c.source} (page not known)"


def _intro(briefing: Briefing, prepared: date) -> str:
    n = len(briefing.items)
    count = "1 quote" if n == 1 else f"{n} quotes"
    return (
        f"Prepared {long_date(prepared.isoformat())}. {count}, word for word from the committee papers; "
        "each with its committee, meeting, agenda item, page and paper."
    )


def to_markdown(briefing: Briefing, *, prepared: date | None = None) -> str:
    """The briefing as a Markdown document."""
    prepared = prepared or date.today()
    out = [f"# {_export_escape(briefing.title)}", "", _intro(briefing, prepared), ""]
    if not briefing.items:
        out += ["No quotes yet.", ""]
    for n, item in enumerate(briefing.items, 1):
        out += [f"## {n}. {_export_escape(heading(item))}", ""]
        paragraphs = quote_paragraphs(item.text)
        for k, para in enumerate(paragraphs):
            out.append("> " + _export_escape(para))
            if k < len(paragraphs) - 1:
                out.append(">")
        out += [
            "",
            f"Reference: {_export_escape(reference(item))}  ",
            f"Paper: {_export_escape(paper_reference(item))}",
            "",
        ]
        if item.question:
            out += [f"Found for the question: “{_export_escape(' '.join(item.question.split()))}”", ""]
        if item.note:
            out += [f"Note: {_export_escape(' '.join(item.note.split()))}", ""]
    return "\n".join(out).rstrip() + "\n"


def to_docx(briefing: Briefing, *, prepared: date | None = None, page_images: Mapping[str, bytes] | None = None) -> bytes:
    """The briefing as a Word document (.docx bytes). ``page_images`` (item id → PNG) puts
    a picture of the page under its quote, the quote boxed on it: the caller draws them
    (qa.pageimage), since only it knows where the papers' files are."""
    from docx import Document
    from docx.shared import Cm, Pt

    prepared = prepared or date.today()
    doc = Document()
    doc.core_properties.title = _xml_safe(briefing.title)
    doc.add_heading(_xml_safe(briefing.title), level=0)
    doc.add_paragraph(_intro(briefing, prepared))
    if not briefing.items:
        doc.add_paragraph("No quotes yet.")
    for n, item in enumerate(briefing.items, 1):
        doc.add_heading(_xml_safe(f"{n}. {heading(item)}"), level=2)
        for para in quote_paragraphs(item.text):
            doc.add_paragraph(_xml_safe(para), style="Quote")
        image = (page_images or {}).get(item.id)
        if image:
            # 12 cm: an A4 page shown whole beside the margins, its text still legible.
            doc.add_picture(io.BytesIO(image), width=Cm(12))
        for label, value in (("Reference: ", reference(item)), ("Paper: ", paper_reference(item))):
            p = doc.add_paragraph()
            p.add_run(label).bold = True
            run = p.add_run(_xml_safe(value))
            run.font.size = Pt(10)
        if item.question:
            p = doc.add_paragraph()
            p.add_run("Found for the question: ").bold = True
            p.add_run(_xml_safe(f"“{' '.join(item.question.split())}”"))
        if item.note:
            p = doc.add_paragraph()
            p.add_run("Note: ").bold = True
            p.add_run(_xml_safe(item.note))
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()


_EXAMPLE = Citation(
    doc="minutes",
    source="minutes.pdf",
    committee="Cabinet",
    meeting_date="2025-01-30",
    pack_date="2025-01-30",
    agenda_item="5",
    item_title="Budget",
    page=8,
    page_end=8,
    printed_page="6",
)
