"""The records that flow one way through committee-qa: Paper → Passage → Hit → Answer.

All are frozen dataclasses, so they can be shared between threads and compared in tests.
Every record that is saved has ``to_json()`` / ``from_json()`` giving plain JSON values.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Literal

PaperKind = Literal[
    "agenda_pack",
    "minutes",
    "report",
    "appendix",
    "plan",
    "update",
    "questions",
    "decision",
    "agenda",
    "other",
]
PAPER_KINDS: tuple[str, ...] = PaperKind.__args__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class PageSpan:
    """A stretch of a paper's text and the page(s) it stands on.

    For a PDF, ``first == last`` is the 1-based PDF page index and ``printed`` the number
    printed on the page. For a text export the page is often only known as a range; then
    ``first < last``, and ``None`` means unknown — never a guess dressed as exact.
    """

    start: int
    end: int
    first: int | None
    last: int | None
    printed: str | None = None
    printed_last: str | None = None


@dataclass(frozen=True)
class AgendaItem:
    number: str
    title: str
    first_page: int | None = None  # pack page range as printed on the agenda
    last_page: int | None = None


@dataclass(frozen=True)
class Span:
    """A stretch of a paper's text that shares one property: an agenda item, or the
    meeting that a set of minutes records (``value`` is then an ISO date)."""

    start: int
    end: int
    value: str
    label: str | None = None  # the agenda item's title


@dataclass(frozen=True)
class Paper:
    """One file as read: its text (stamps, running headers and footers removed) and layout."""

    source: str  # path relative to the ingested folder (or file name)
    doc: str  # file name without extension
    format: Literal["pdf", "text"]
    text: str
    pages: tuple[PageSpan, ...]
    content_hash: str
    kind: str = "other"
    committee: str | None = None
    meeting_date: str | None = None  # ISO date of the meeting the paper was written for
    title: str | None = None
    agenda: tuple[AgendaItem, ...] = ()
    page_count: int = 0
    items: tuple[Span, ...] = ()  # agenda item number (and title) of each stretch
    records: tuple[Span, ...] = ()  # minutes: the meeting each stretch records
    headers: tuple[Span, ...] = ()  # running headers taken off each page, kept as context

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Paper:
        return cls(
            **{
                **data,
                "pages": tuple(PageSpan(**p) for p in data["pages"]),
                "agenda": tuple(AgendaItem(**a) for a in data["agenda"]),
                "items": tuple(Span(**s) for s in data["items"]),
                "records": tuple(Span(**s) for s in data["records"]),
                "headers": tuple(Span(**s) for s in data["headers"]),
            }
        )


@dataclass(frozen=True)
class Location:
    """Where a passage's words stand; a de-duplicated hit lists several."""

    doc: str
    source: str
    page: int | None
    page_end: int | None
    printed_page: str | None
    committee: str | None
    meeting_date: str | None
    pack_date: str | None
    agenda_item: str | None
    item_title: str | None


@dataclass(frozen=True)
class Passage:
    """A chunk of a paper, in the paper's own words, with full provenance.

    ``text == paper.text[start:end]``. ``context`` carries what the reader needs to make
    sense of the chunk but which stands elsewhere in the paper (a table's column headers,
    the section heading); it is searched but never quoted.
    """

    id: str
    doc: str
    source: str
    text: str
    start: int
    end: int
    page: int | None
    page_end: int | None
    printed_page: str | None = None
    printed_page_end: str | None = None
    committee: str | None = None
    meeting_date: str | None = None  # the meeting the text records
    pack_date: str | None = None  # the meeting the paper was written for
    kind: str = "other"
    agenda_item: str | None = None
    item_title: str | None = None
    section: str | None = None
    context: str = ""
    is_table: bool = False
    content_hash: str = ""  # of the normalised text: equal hashes are repeats

    def location(self) -> Location:
        return Location(
            doc=self.doc,
            source=self.source,
            page=self.page,
            page_end=self.page_end,
            printed_page=self.printed_page,
            committee=self.committee,
            meeting_date=self.meeting_date,
            pack_date=self.pack_date,
            agenda_item=self.agenda_item,
            item_title=self.item_title,
        )

    def search_text(self) -> str:
        """What the retrievers see: the words plus their headings and column headers."""
        parts = [self.item_title or "", self.section or "", self.context, self.text]
        return "\n".join(p for p in parts if p)

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Passage:
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


@dataclass(frozen=True)
class Filters:
    """Narrowing a search. Empty fields mean no restriction."""

    committees: tuple[str, ...] = ()
    date_from: str | None = None  # ISO, inclusive, on the meeting the text records
    date_to: str | None = None
    kinds: tuple[str, ...] = ()
    docs: tuple[str, ...] = ()

    def is_empty(self) -> bool:
        return not (self.committees or self.date_from or self.date_to or self.kinds or self.docs)

    def both(self, other: Filters) -> Filters | None:
        """Both narrowings at once (the conversation's "only Cabinet" and the app's sidebar);
        None when together they admit nothing (Cabinet in one, County Council in the other)."""

        def common(a: tuple[str, ...], b: tuple[str, ...]) -> tuple[str, ...] | None:
            if not (a and b):
                return a or b
            wanted = {x.lower() for x in b}
            return tuple(x for x in a if x.lower() in wanted) or None

        committees, kinds, docs = (
            common(self.committees, other.committees),
            common(self.kinds, other.kinds),
            common(self.docs, other.docs),
        )
        froms = [d for d in (self.date_from, other.date_from) if d]
        tos = [d for d in (self.date_to, other.date_to) if d]
        date_from, date_to = (max(froms) if froms else None), (min(tos) if tos else None)
        if committees is None or kinds is None or docs is None or (date_from and date_to and date_from > date_to):
            return None
        return Filters(committees=committees, date_from=date_from, date_to=date_to, kinds=kinds, docs=docs)

    def admits(self, passage: Passage | Citation) -> bool:
        """Whether a passage, or the words a citation points at, pass these filters (a
        citation has no kind of paper: only a passage is held to ``kinds``)."""
        if self.committees and not any(
            c.lower() in (passage.committee or "").lower() for c in self.committees
        ):
            return False
        if self.kinds and getattr(passage, "kind", None) not in self.kinds:
            return False
        if self.docs and passage.doc not in self.docs and passage.source not in self.docs:
            return False
        date = passage.meeting_date or passage.pack_date
        if self.date_from and (not date or date < self.date_from):
            return False
        if self.date_to and (not date or date > self.date_to):
            return False
        return True


@dataclass(frozen=True)
class Hit:
    """A passage a retriever ranked, with every place its words also stand."""

    passage: Passage
    score: float
    retriever: str
    also_in: tuple[Location, ...] = ()


@dataclass(frozen=True)
class Citation:
    doc: str
    source: str
    committee: str | None
    meeting_date: str | None  # the meeting the words record
    pack_date: str | None  # the meeting of the pack they stand in, when different
    agenda_item: str | None
    item_title: str | None
    page: int | None
    page_end: int | None
    printed_page: str | None
    printed_page_end: str | None = None

    @classmethod
    def of(cls, passage: Passage) -> Citation:
        return cls(
            doc=passage.doc,
            source=passage.source,
            committee=passage.committee,
            meeting_date=passage.meeting_date,
            pack_date=passage.pack_date,
            agenda_item=passage.agenda_item,
            item_title=passage.item_title,
            page=passage.page,
            page_end=passage.page_end,
            printed_page=passage.printed_page,
            printed_page_end=passage.printed_page_end,
        )


def _containing(spans, offset: int):
    return next((s for s in spans if s.start <= offset < s.end), None)


def cite(paper: Paper, start: int, end: int, committee: str | None = None) -> Citation:
    """Where ``paper.text[start:end]`` stands: pages, the meeting it records, the agenda item."""
    first = _containing(paper.pages, start) or next((p for p in paper.pages if p.start >= start), None)
    last = _containing(paper.pages, max(start, end - 1)) or first
    record = _containing(paper.records, start)
    item = _containing(paper.items, start)
    meeting = record.value if record else paper.meeting_date
    return Citation(
        doc=paper.doc,
        source=paper.source,
        committee=committee or paper.committee,
        meeting_date=meeting,
        pack_date=paper.meeting_date if paper.meeting_date != meeting else None,
        agenda_item=item.value if item else None,
        item_title=item.label if item else None,
        page=first.first if first else None,
        page_end=(last.last if last else None),
        printed_page=first.printed if first else None,
        printed_page_end=last.printed_last or last.printed if last else None,
    )


@dataclass(frozen=True)
class Quote:
    """A verbatim span of a paper that answers the question."""

    text: str
    citation: Citation
    score: float
    passage_id: str
    start: int  # offsets into the paper's text
    end: int
    also_in: tuple[Citation, ...] = ()
    # The sentence that scored best, inside [start, end): the app marks it.
    best_start: int | None = None
    best_end: int | None = None


@dataclass(frozen=True)
class Answer:
    """Quotes that answer the question, or an abstention and why.

    ``summary`` stays empty while answers are extractive; a generator could later write one
    over the same cited quotes without changing anything else.
    """

    question: str
    quotes: tuple[Quote, ...]
    abstained: bool
    reason: str = ""
    nearest: tuple[Hit, ...] = ()  # shown as "nearest matches" when abstaining
    hits: tuple[Hit, ...] = ()
    summary: str = ""
    filters: Filters = field(default_factory=Filters)
    # The learned second stage's calibrated P(the first quote answers), when it was used.
    confidence: float | None = None
