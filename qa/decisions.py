"""Decisions on a topic across meetings, as a timeline.

A decision is found from the papers' structure, not from one council's wording:

- a resolution in minutes: a paragraph that starts "RESOLVED", "AGREED", "DECIDED" (after a
  paragraph number, "3. RESOLVED that Cabinet…", "26) RESOLVED that the County Council:"),
  with the numbered or lettered sub-items that follow it;
- a "Recommendation(s)" section of a report, and the "Decision:" of a *proposed* record of
  decision: proposals, put to a meeting, not yet decided;
- the "Decision:" of a signed record of decision: a decision.

Each is a verbatim span of its paper with its committee, meeting, item and page. A
resolution is ``noted`` when all it does is note or receive something.

    >>> text = "5. SCHOOL PLACES\\n\\nThe Committee considered the report.\\n\\nRESOLVED: That\\n\\n(1) the report be noted; and\\n(2) a further report be submitted.\\n\\n6. NEXT ITEM\\n"
    >>> [(d.kind, d.heading, d.text) for d in find_decisions(_example_paper(text))]
    [('resolution', 'SCHOOL PLACES', 'RESOLVED: That\\n\\n(1) the report be noted; and\\n(2) a further report be submitted.')]
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from functools import lru_cache

import numpy as np

from index.chunk import BULLET, Block, blocks, content_hash, span_at, strip_span
from index.model import Citation, Filters, Hit, Paper, Span, cite
from index.store import NoMatchingPassages, Store, remember
from index.tokens import bm25_tokens
from qa.retrieve import Question, default_retriever, frequencies_idf, search
from qa.settings import DEFAULTS, DecisionSettings, Settings

# "RESOLVED:", "3. RESOLVED that", "26) RESOLVED that the County Council:", "Resolved -",
# "AGREED:", "DECIDED:". Only at a paragraph's start: "The Cabinet had resolved that…" in a
# narrative reports a decision second-hand and is not the record of one.
RESOLUTION = re.compile(r"^\s*(?:\d{1,3}[.)]\s*)?(?:RESOLVED|Resolved|AGREED|Agreed|DECIDED|Decided|RESOLUTION)\b\s*(?:that|That|THAT|:|-|–|\(|$)")
# "The Committee noted the report." standing alone in minutes: the record of a noting.
NOTED = re.compile(
    r"^\s*(?:\d{1,3}[.)]\s*)?(?:The\s+)?(?:Committee|Sub-Committee|Cabinet|Council|Board|Panel|Forum)\s+(?:NOTED|noted)\s+"
    r"(?:the\s+)?(?:\w+\s+){0,3}?(?:report|update|presentation|contents?|information|position|progress|minutes|briefing)\b"
)
# A decision's number: "DECISION NO: 24/00096", "Decision Number: 24/00108", "24/00109 - Transfer …".
DECISION_NUMBER = re.compile(r"\b(\d{2}/\d{5})\b")
# A report's recommendations: "Recommendation(s):", "4. Recommendation(s)", "RECOMMENDATIONS".
RECOMMENDATION = re.compile(r"^\s*(?:\d{1,2}(?:\.\d{1,2})?\.?\s+|\d{1,2}\s*\|\s*)?(?:RECOMMENDATIONS?|Recommendations?)(?:\s*\(s\))?\s*[:.\-–]?\s*(?P<rest>.*)$", re.DOTALL)
# A record of decision's "Decision:" field (Kent's PRoDs and signed records).
DECISION_FIELD = re.compile(r"^\s*Decision\s*:\s*(?P<rest>.*)$", re.DOTALL)
PROPOSED_RECORD = re.compile(r"proposed\s+record\s+of\s+decision", re.IGNORECASE)
RECORD = re.compile(r"record\s+of\s+decision", re.IGNORECASE)
# "Subject Matter / Title of Decision: Revenue and Capital …", or the title on the next line.
RECORD_TITLE = re.compile(r"Title\s+of\s+Decision[ \t]*:?[ \t]*\n?[ \t]*(\S[^\n]*(?:\n(?![ \t]*\n)[^\n:]+)?)", re.IGNORECASE)
# Where a recommendations section ends: the report's next section.
SECTION_END = re.compile(
    r"^\s*\d{1,2}\s*\|\s*[A-Z]|^\s*(?:\d{1,2}(?:\.\d{1,2})*\.?\s+)?(?:Reasons?\b|Alternative|Background|Introduction|Summary\b|Purpose\b|"
    r"Contact|Report author|Relevant Director|Implications|What will it cost|Financial|Legal|Risk|Equalit|"
    r"Consultation|Appendices|Background Documents|Key decision|Any (?:alternatives|interest)|Cabinet Committee recommendations)",
    re.IGNORECASE,
)
# A sub-item of a decision: "(1)", "- (2)", "a)", "A)", "2.1", "•", "i."
SUB_ITEM = re.compile(r"^\s*(?:[-•●▪*]\s*)?(?:\(?(?:\d{1,2}|[a-zA-Z]|[ivx]{1,4})\)|\d{1,2}(?:\.\d{1,2})?\.?\s|[a-z]\.\s|[ivx]{1,4}\.\s|[-•●▪*]\s)")
NOTE_ONLY = re.compile(r"\b(?:not(?:e|ed|es|ing)|receiv(?:e|ed|es)|acknowledg(?:e|ed|es))\b", re.IGNORECASE)
ACTION = re.compile(
    r"\b(?:approv|agree|endors|adopt|request|delegat|authoris|authoriz|submit|establish|appoint|elect|"
    r"refer|recommend|confirm|add|held|hold|consider|transfer|allocat|accept|reject|defer|invite|ask|"
    r"expect|support|commission|proceed|implement|undertake|arrange|circulat|provid|make|continu|lobby)\w*",
    re.IGNORECASE,
)
MAX_CHARS = 3000  # a decision longer than this has run into what follows it


@dataclass(frozen=True)
class Decision:
    """A resolution, recorded decision or proposal, in its paper's own words."""

    text: str  # == paper.text[start:end]
    kind: str  # "resolution" | "noted" | "decision" | "proposal"
    citation: Citation
    source: str
    start: int
    end: int
    heading: str | None = None  # the minute's or report's heading
    minute: str | None = None  # the minute's number, when minutes number them
    context: str = ""  # what leads up to it (the minute's narrative): searched, never quoted
    context_start: int = 0  # where that narrative starts in the paper
    # The stretch of the paper the decision concludes: its minute (heading to resolution),
    # or the report (agenda item, else the whole paper) whose recommendations it is.
    region_start: int = 0
    region_end: int = 0
    number: str | None = None  # a numbered decision's number ("24/00096"), where the papers give one
    also_in: tuple[Citation, ...] = ()  # the same words printed elsewhere (minutes reprinted in a later pack)

    @property
    def taken(self) -> bool:
        return self.kind != "proposal"


def _example_paper(text: str) -> Paper:
    from index.model import PageSpan

    return Paper(source="x.txt", doc="x", format="text", text=text, pages=(PageSpan(0, len(text), 1, 1),),
                 content_hash="0", kind="minutes", committee="Cabinet", meeting_date="2025-01-09")


def kind_of(text: str, proposal: bool) -> str:
    """``proposal`` for a recommendation; ``noted`` when a resolution only notes or receives;
    else ``resolution``.

    >>> kind_of("RESOLVED that Cabinet note the report.", False), kind_of("RESOLVED that the plan be approved.", False)
    ('noted', 'resolution')
    """
    if proposal:
        return "proposal"
    body = RESOLUTION.sub("", text, count=1)
    return "noted" if NOTE_ONLY.search(body) and not ACTION.search(body) else "resolution"


def _numbered_title(body: str) -> bool:
    """A minute's heading in mixed case: "80. Provisional Local Government Finance Settlement
    2025-26", a short numbered line that is not a sentence (nor "(Item 5)" after it)."""
    first = body.strip().split("\n")[0].strip()
    # The whole block short: a numbered paragraph's first line ("3. The Leader confirmed
    # that, subject to …") is no heading.
    return (bool(re.match(r"^\d{1,4}\.\s+[A-Z]", first)) and len(body.split()) <= 16
            and first[-1:] not in ".,;:")


def _heading_text(text: str, block: Block) -> tuple[str | None, str]:
    """A heading block as (minute number, title): "5. SCHOOL PLACES" → ("5", "SCHOOL PLACES")."""
    line = " ".join(text[block.start : block.end].strip().split("\n")[0].split())
    m = re.match(r"^(\d{1,4})[.)]?\s+(.+)$", line)
    if m:
        return m.group(1), m.group(2)
    return None, line


def _ends_open(text: str) -> bool:
    """A paragraph that leads into what follows: "RESOLVED: That", "Cabinet is asked to:",
    or one cut mid-sentence by a page break."""
    tail = text.rstrip()
    return not tail or tail[-1] not in ".!?" or bool(re.search(r"(?:that|That|THAT|:|:-|–|-)\s*$", tail))


def _to_another_body(text: str, found: list[Block], j: int) -> bool:
    """Whether block ``j`` names a second body the recommendations go to: a short label
    ("Cabinet") followed by "That:- (1) …"."""
    body = text[found[j].start : found[j].end].strip()
    following = text[found[j + 1].start : found[j + 1].end] if j + 1 < len(found) else ""
    return len(body.split()) <= 5 and body[-1:] not in ".;:," and bool(re.match(r"\s*That\b", following))


def _collect(text: str, found: list[Block], i: int, proposal: bool, items: tuple[Span, ...] = ()) -> int:
    """The index of the last block of the decision that starts at block ``i``; it never runs
    into the next agenda item (the next report in a pack)."""
    last = i
    start = found[i].start
    item = span_at(items, start)
    for j in range(i + 1, len(found)):
        block = found[j]
        body = text[block.start : block.end]
        if block.kind == "minute" or found[j].end - start > MAX_CHARS or span_at(items, block.start) != item:
            break
        if RESOLUTION.match(body) or RECOMMENDATION.match(body) and block.kind != "row":
            break
        if proposal and SECTION_END.match(body):
            break
        previous = text[found[last].start : found[last].end]
        if proposal and _to_another_body(text, found, j):
            break  # its own proposal
        if block.kind == "heading" and not _ends_open(previous):
            break  # the next minute ("83. English Devolution White Paper"), not a sub-item
        if _ends_open(previous):
            last = j
            continue
        # A sub-item after a finished sentence belongs only to a list already begun
        # ("(1) …; (2) …"), never to the next minute ("83. English Devolution White Paper").
        number = re.match(r"^\s*(\d+)", body)
        if (SUB_ITEM.match(body) or BULLET.match(body)) and last > i and not (number and int(number.group(1)) > 30):
            last = j
            continue
        if body[:1].islower():  # a sentence carried over a page break
            last = j
            continue
        break
    return last


def _starts_decision(line: str) -> bool:
    return bool(RESOLUTION.match(line) or RECOMMENDATION.match(line) and re.match(r"^\s*(?:\d[\d.]*\s+|\d{1,2}\s*\|\s*)?R\w+(?:\(s\))?\s*[:.]?\s*$", line))


def split_at_decisions(text: str, found: list[Block]) -> list[Block]:
    """Blocks, with a "RESOLVED:" or "Recommendation(s):" line always starting its own: a
    PDF's text often runs it on from the narrative above without a blank line."""
    out: list[Block] = []
    for block in found:
        start = block.start
        if block.kind != "row":
            for m in re.finditer(r"\n([^\n]*)", text[block.start : block.end]):
                at = block.start + m.start() + 1
                if _starts_decision(m.group(1)):
                    out.append(Block(start, at - 1, block.kind, len(text[start : at - 1].split())))
                    start = at
        out.append(Block(start, block.end, block.kind if start == block.start else "para", len(text[start : block.end].split())))
    return out


# Running headers left on a page: "WEDNESDAY 21ST JUNE, 2017", the committee's name.
RUNNING_HEADER = re.compile(r"(?:MONDAY|TUESDAY|WEDNESDAY|THURSDAY|FRIDAY|SATURDAY|SUNDAY)|\b(?:19|20)\d\d\s*$|^Agenda Item|^Page \d", re.IGNORECASE)


def find_decisions(paper: Paper) -> tuple[Decision, ...]:
    """Every resolution, decision and recommendation in ``paper``, in the paper's order."""
    text = paper.text
    found = split_at_decisions(text, blocks(text))
    is_record = bool(RECORD.search(text[:600]))
    proposed_record = bool(PROPOSED_RECORD.search(text[:600]))
    named = RECORD_TITLE.search(text[:3000]) if is_record else None
    record_number = DECISION_NUMBER.search(text[:1500]) if is_record else None
    in_minutes = paper.kind == "minutes" or bool(paper.records)
    record_title = " ".join(named.group(1).split()) if named else None
    heading: str | None = paper.title
    minute: str | None = None
    heading_end = 0
    decisions: list[Decision] = []
    i = 0
    while i < len(found):
        block = found[i]
        body = text[block.start : block.end]
        proposal = None
        after_proposal = bool(decisions) and not decisions[-1].taken and decisions[-1].end >= found[i - 1].start
        if after_proposal and _to_another_body(text, found, i):
            proposal = True  # the same recommendations, to a second body
        elif block.kind != "row" and (RESOLUTION.match(body) or in_minutes and NOTED.match(body)):
            proposal = False
        elif block.kind != "row" and RECOMMENDATION.match(body) and len(body) < 2500 and not (
            # "Recommendation 3 of the review…" in a narrative is not a recommendations section
            re.match(r"^\s*Recommendations?\s+\d", body)
        ):
            proposal = True
        elif is_record and DECISION_FIELD.match(body):
            proposal = proposed_record
        if proposal is None:
            if block.kind == "minute" or _numbered_title(body) or block.kind == "heading" and not SUB_ITEM.match(body) \
                    and not RUNNING_HEADER.search(body.strip()):
                minute, heading = _heading_text(text, block)
                heading_end = block.end
            i += 1
            continue
        last = _collect(text, found, i, proposal, paper.items)
        start, end = strip_span(text, block.start, found[last].end)
        words = text[start:end]
        # A bare heading with nothing under it ("Recommendations" as a table of contents line).
        label = RECOMMENDATION.match(words) or DECISION_FIELD.match(words)
        if proposal and label and not label.group("rest").strip():
            i = last + 1
            continue
        item = span_at(paper.items, start)
        if item is not None and item.label and heading_end <= item.start:
            # The last heading belongs to an earlier item (another report in the pack).
            heading, minute, heading_end = item.label, None, item.start
        # A report's recommendations are headed by the report's title (its agenda item's, in
        # a pack), not the section heading that happens to stand above them.
        title = (item.label if item is not None and item.label else None) or record_title or paper.title
        kind = "decision" if (is_record and not proposal and DECISION_FIELD.match(body)) else kind_of(words, proposal)
        context = " ".join(text[heading_end:start].split())[:600] if heading_end < start else ""
        decisions.append(
            Decision(
                text=words,
                kind=kind,
                citation=cite(paper, start, end),
                source=paper.source,
                start=start,
                end=end,
                heading=(title or heading) if proposal else heading,
                minute=minute if not proposal else None,
                context=context,
                context_start=min(heading_end, start),
                region_start=min(heading_end, start) if not proposal else (item.start if item else 0),
                region_end=end if not proposal else (item.end if item else len(text)),
                number=_number(record_number, heading, title, d_item=item, file=paper.doc),
            )
        )
        i = last + 1
    return tuple(decisions)


def _number(record_number, heading: str | None, title: str | None, d_item, file: str) -> str | None:
    """The decision's number: the record's own, else one its heading, report title or file
    name gives ("24-00108 - Revenue and Capital …" as councils name the files)."""
    if record_number:
        return record_number.group(1)
    for text in (heading, title, d_item.label if d_item is not None else None, re.sub(r"\b(\d{2})-(\d{5})\b", r"\1/\2", file)):
        m = DECISION_NUMBER.search(text or "")
        if m:
            return m.group(1)
    return None


def merge_repeats(decisions: list[Decision]) -> list[Decision]:
    """One entry for words printed more than once (minutes reprinted in a later pack, a
    PRoD filed twice): the first, in meeting order, with the other places as ``also_in``."""
    ordered = sorted(decisions, key=lambda d: (d.citation.meeting_date or "", d.source, d.start))
    by_words: dict[str, int] = {}
    merged: list[Decision] = []
    for d in ordered:
        key = content_hash(d.text)
        if key in by_words:
            first = merged[by_words[key]]
            merged[by_words[key]] = replace(first, also_in=first.also_in + (d.citation,))
        else:
            by_words[key] = len(merged)
            merged.append(d)
    return merged


# --- The decisions an index holds -------------------------------------------------------

_BY_VERSION: dict = {}


def store_decisions(store: Store) -> tuple[Decision, ...]:
    """Every decision in the index, repeats merged, in meeting order; read once per version
    of the index (the papers' structure does not change between questions)."""
    def read() -> tuple[Decision, ...]:
        found: list[Decision] = []
        for entry in store.catalogue().papers:
            paper = store.paper(entry.source)
            if paper is not None:
                found.extend(find_decisions(paper))
        return tuple(merge_repeats(found))

    return remember(_BY_VERSION, (store.location, store.version()), read, 8)


def latest_decisions(store: Store, committees: set[str], meeting: str) -> tuple[Decision, ...]:
    """What a committee's last meeting on record (on or before ``meeting``) decided, and
    what was put to ``meeting`` itself (proposals), in the papers' order."""
    mine = [d for d in store_decisions(store) if d.citation.committee in committees
            and (d.citation.meeting_date or "") <= meeting]
    taken = [d.citation.meeting_date for d in mine if d.taken and d.citation.meeting_date]
    last = max(taken, default=None)
    return tuple(d for d in mine if (d.taken and d.citation.meeting_date == last)
                 or (not d.taken and d.citation.meeting_date == meeting))


# --- On a topic, as a timeline ----------------------------------------------------------


@dataclass(frozen=True)
class TimelineEntry:
    decision: Decision
    score: float
    # The sub-items most on topic, as offsets into the decision's text: the app marks them.
    marked: tuple[tuple[int, int], ...] = ()
    # A proposal's outcome: the decisions that later took it up, in meeting order.
    taken_up_by: tuple[Citation, ...] = ()


@dataclass(frozen=True)
class Timeline:
    topic: str
    entries: tuple[TimelineEntry, ...]  # in meeting order
    filters: Filters = field(default_factory=Filters)
    # When no decision is on the topic: the passages nearest to it, shown as such.
    nearest: tuple[Hit, ...] = ()

    @property
    def empty(self) -> bool:
        return not self.entries


def sub_items(text: str) -> list[tuple[int, int]]:
    """The numbered or lettered sub-items of a decision, as offsets into ``text`` (the whole
    text when it has none).

    >>> t = "RESOLVED: That (1) the plan be approved; and (2) the report be noted."
    >>> [t[s:e] for s, e in sub_items(t)]
    ['(1) the plan be approved; and', '(2) the report be noted.']
    """
    cuts = [m.start(1) for m in re.finditer(r"(?:^|\n|\s-\s|[;:.]\s|\s)(\(?(?:\d{1,2}|[a-zA-Z])\)\s)", text)]
    if len(cuts) < 2:
        return [strip_span(text, 0, len(text))]
    bounds = cuts + [len(text)]
    out = []
    for a, b in zip(bounds, bounds[1:]):
        lo, hi = strip_span(text, a, b)
        while hi > lo and text[hi - 1] in "-–":
            hi -= 1
        lo, hi = strip_span(text, lo, hi)
        if hi > lo:
            out.append((lo, hi))
    return out


@lru_cache(maxsize=16384)
def _token_set(text: str) -> frozenset[str]:
    """A text's stemmed words; a decision's are asked for by every topic, so kept."""
    return frozenset(bm25_tokens(text))


def _coverage(weights: dict[str, float], text: str) -> float:
    """The IDF-weighted share of the topic's words that ``text`` uses."""
    total = sum(weights.values())
    if not total:
        return 0.0
    found = _token_set(text)
    return sum(w for t, w in weights.items() if t in found) / total


def _similarities(store: Store, vector: np.ndarray, decisions: list[Decision], filters: Filters, n: int) -> dict[tuple[str, int], tuple[float, float]]:
    """For each decision (by source and start): the closest sentence in meaning within its
    words, and within the narrative before it. Only the ``n`` passages of the decisions'
    papers nearest to the topic are read; the rest count as 0."""
    sources = tuple(sorted({d.source for d in decisions}))
    narrowed = filters.both(Filters(docs=sources))
    if narrowed is None or not sources:
        return {}
    try:
        found = store.candidates(None, vector, narrowed, n)
    except NoMatchingPassages:
        return {}
    units = store.units(found.passages)
    by_source: dict[str, list[tuple[int, int, float]]] = {}
    for passage in found.passages:
        u = units.get(passage.id)
        if u is None or not len(u.spans):
            continue
        sims = u.vectors @ vector
        by_source.setdefault(passage.source, []).extend((s, e, float(c)) for (s, e), c in zip(u.spans, sims))
    out = {}
    for d in decisions:
        spans = by_source.get(d.source, ())
        own = [c for s, e, c in spans if s < d.end and e > d.start]
        before = [c for s, e, c in spans if s < d.start and e > d.context_start]
        out[(d.source, d.start)] = (max(own, default=0.0), max(before, default=0.0))
    return out


@dataclass(frozen=True)
class TopicFit:
    """How a decision fits a topic: the IDF-weighted share of the topic's words in its
    heading, its words and the narrative before it; the closest sentence in meaning in its
    words and in that narrative; and how high the passages of the minute or report it
    concludes rank for the topic (1 for the first passage, falling to 0 at ``depth``)."""

    heading: float
    words: float
    context: float
    similarity: float
    context_similarity: float
    discussed: float = 0.0

    def score(self, s: DecisionSettings) -> float:
        return (
            s.heading_weight * self.heading
            + s.words_weight * self.words
            + s.context_weight * self.context
            + s.similarity_weight * max(self.similarity, self.context_similarity)
            + s.discussed_weight * self.discussed
        )


def topic_fit(d: Decision, weights: dict[str, float], similarity: tuple[float, float], discussed: float = 0.0) -> TopicFit:
    heading = " ".join(x for x in (d.heading, d.citation.item_title) if x)
    return TopicFit(_coverage(weights, heading), _coverage(weights, d.text), _coverage(weights, d.context), *similarity, discussed)


def discussed(decisions: list[Decision], hits: list[Hit], depth: int) -> dict[tuple[str, int], float]:
    """For each decision, how high the best-ranked passage of its minute or report stands
    among ``hits`` (the topic's search results): where the topic is discussed, what was
    decided there is on it, though its words ("That the report be noted.") may not say so."""
    out: dict[tuple[str, int], float] = {}
    for rank, hit in enumerate(hits[:depth]):
        p = hit.passage
        for d in decisions:
            if p.source == d.source and p.start < d.region_end and p.end > d.region_start:
                key = (d.source, d.start)
                out[key] = max(out.get(key, 0.0), 1.0 - rank / depth)
    return out


def _marked(d: Decision, weights: dict[str, float]) -> tuple[tuple[int, int], ...]:
    parts = sub_items(d.text)
    if len(parts) < 2:
        return ()
    cover = [_coverage(weights, d.text[a:b]) for a, b in parts]
    best = max(cover)
    return tuple(p for p, c in zip(parts, cover) if best > 0 and c >= 0.5 * best)


def taken_up(proposal: Decision, later: list[Decision]) -> tuple[Citation, ...]:
    """The resolutions, at the proposal's meeting or after, whose words mostly repeat it:
    "Cabinet is asked to agree the plan" → "RESOLVED that Cabinet agree the plan"."""
    mine = _token_set(proposal.text)
    out = []
    for d in later:
        if not d.taken or (d.citation.meeting_date or "") < (proposal.citation.meeting_date or ""):
            continue
        theirs = _token_set(d.text)
        shared = len(mine & theirs)
        # Against the longer of the two: a short "note the report" shares most of its few
        # words with any recommendation and takes up none of them.
        if shared >= 4 and shared / max(len(mine), len(theirs)) >= 0.5:
            out.append(d.citation)
    return tuple(out)


def timeline(store: Store, topic: str, filters: Filters = Filters(), settings: Settings = DEFAULTS) -> Timeline:
    """Every decision and proposal on ``topic`` within ``filters``, in meeting order; when
    none is, the passages nearest to the topic, labelled as such."""
    s = settings.decisions
    question = Question(store, topic)
    # A citation has no kind of paper: the timeline is about decisions, whatever paper holds them.
    within = replace(filters, kinds=())
    decisions = [d for d in store_decisions(store) if within.admits(d.citation) or any(within.admits(c) for c in d.also_in)]
    tokens = bm25_tokens(question.query.expanded)
    weights = frequencies_idf(store, tokens)
    sims = _similarities(store, question.vector, decisions, within, s.dense_candidates) if store.embedder else {}
    try:
        hits = search(store, question, k=s.discussed_depth, filters=within, retriever=default_retriever(store), settings=settings)
    except NoMatchingPassages:
        hits = []
    where = discussed(decisions, hits, s.discussed_depth)
    scores = [topic_fit(d, weights, sims.get((d.source, d.start), (0.0, 0.0)), where.get((d.source, d.start), 0.0)).score(s)
              for d in decisions]
    bar = max(s.threshold, s.relative * max(scores, default=0.0))
    entries = [TimelineEntry(d, score, _marked(d, weights)) for d, score in zip(decisions, scores) if score >= bar]
    taken = [d for d in decisions if d.taken]
    entries = [replace(e, taken_up_by=taken_up(e.decision, taken)) if not e.decision.taken else e for e in entries]
    # In meeting order; at one meeting, what was put to it before what it decided.
    entries.sort(key=lambda e: (e.decision.citation.meeting_date or "", e.decision.taken, e.decision.source, e.decision.start))
    nearest = tuple(hits[: s.nearest]) if not entries else ()
    return Timeline(topic=topic, entries=tuple(entries), filters=filters, nearest=nearest)


# "What has been decided about X?", "What did Cabinet agree on X", "history of X", "decisions
# on X": the timeline, not quotes. Up to five words may name who decided ("the County Council").
_DECIDE = r"(?:decided|resolved|agreed|decide|resolve|agree)"
_WHO = r"(?:[\w'’.-]+\s+){0,5}?"
TIMELINE_ASK = re.compile(
    r"^\s*(?:(?:please\s+)?(?:show|list|give|tell)(?:\s+me)?\s+)?(?:"
    rf"(?:what|which)\s+(?:has|have|had|was|were|did|do|does)\s+{_WHO}(?:been\s+)?{_DECIDE}"
    rf"|(?:has|have|did)\s+{_WHO}{_DECIDE}(?:\s+anything)?"
    r"|(?:what|which)\s+decisions\s+(?:have|has|were|was)\s+(?:been\s+)?(?:made|taken)"
    r"|(?:all\s+)?(?:the\s+)?(?:decisions?|resolutions?|history|timeline|decision\s+history)(?:\s+so\s+far)?"
    r")\s+(?:on|about|regarding|concerning|of|for|over)\s+(?P<topic>.+?)\s*[?.!]*\s*$",
    re.IGNORECASE,
)


def timeline_topic(message: str) -> str | None:
    """The topic of a message that asks for decisions over time, else None.

    >>> timeline_topic("What has been decided about home to school transport?")
    'home to school transport'
    >>> timeline_topic("history of the SEND improvement plan"), timeline_topic("What is the SEND budget?")
    ('the SEND improvement plan', None)
    """
    m = TIMELINE_ASK.match(message)
    return m.group("topic") if m else None
