"""Answers as verbatim quotes with citations, or an honest "the papers don't say".

No generative model is available offline, so answers are extractive: the sentences of the
top passages that best answer the question, each a span of its paper's own text with the
page it stands on. A quote is one sentence, or two when the best sentence is short or runs
on; repeats across papers are merged ("also in").

    >>> ans = answer(idx, "How many children were waiting to be adopted?")  # doctest: +SKIP
    >>> ans.quotes[0].text  # doctest: +SKIP
    "This year to date 14 children have been adopted, ... there are now 16 children waiting, ..."

Abstention: when the best sentence is neither close in meaning nor shares the question's
rarer words, the answer abstains and offers the nearest passages, labelled as such.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from functools import lru_cache

import numpy as np

from index.chunk import WORD, sentence_units, strip_span
from index.model import Answer, Citation, Filters, Hit, Passage, Quote
from index.store import Store, Units
from index.tokens import STOP_WORDS, bm25_tokens, stem, words
from qa import learned
from qa.answertype import answer_types, type_match
from qa.retrieve import Question, default_retriever, frequencies_idf, search
from qa.settings import DEFAULTS, AnswerSettings, Settings


@dataclass(frozen=True)
class Candidate:
    passage: Passage
    hit: Hit
    rank: int
    start: int  # offsets into the paper's text
    end: int
    similarity: float
    coverage: float
    score: float
    fit: float = 0.0  # holds the kind of thing the question asks for (qa.answertype)
    unit: int = 0  # the best sentence's place among its passage's units
    best_start: int = 0  # that sentence, offsets into the paper
    best_end: int = 0


def _split_and_embed(store: Store, passage: Passage) -> Units:
    """A passage's sentence units (offsets into its paper) and their vectors, for a passage
    the store holds none of (a store's hits are its own, so this is the exception)."""
    spans = tuple((passage.start + s, passage.start + e) for s, e in sentence_units(passage.text, 0, len(passage.text), passage.is_table))
    if not spans:
        return Units(spans, np.zeros((0, 0), dtype=np.float32))
    texts = [" ".join(passage.text[s - passage.start : e - passage.start].split()) for s, e in spans]
    return Units(spans, store.embedder.encode(texts))


def _coverage(question_tokens: set[str], text: str) -> float:
    if not question_tokens:
        return 0.0
    return len(question_tokens & set(bm25_tokens(text))) / len(question_tokens)


def _extend(passage: Passage, spans: list[tuple[int, int]], i: int, context: int) -> tuple[int, int]:
    """The best sentence, with the next one when it is short or runs on, and up to
    ``context`` sentences either side while the quote stays under 80 words."""
    start, end = spans[i]

    def words(a: int, b: int) -> int:
        return len(WORD.findall(passage.text, a - passage.start, b - passage.start))

    text = passage.text[start - passage.start : end - passage.start]
    lo, hi = i, i
    if i + 1 < len(spans):
        nxt = passage.text[spans[i + 1][0] - passage.start : spans[i + 1][1] - passage.start].lstrip()
        if words(start, end) < 12 or nxt[:1].islower() or text.rstrip().endswith((":", ";", ",")):
            hi = i + 1
    for _ in range(context):
        if hi + 1 < len(spans) and hi - lo < 2 and words(spans[lo][0], spans[hi + 1][1]) <= 80:
            hi += 1
        if lo > 0 and hi - lo < 2 and words(spans[lo - 1][0], spans[hi][1]) <= 80:
            lo -= 1
    if passage.is_table:
        lo, hi = i, i
    start, end = spans[lo][0], spans[hi][1]
    return _after_heading(passage, start, end), end


# "3. MINUTES OF THE PREVIOUS MEETING " before a sentence: a heading the sentence splitter
# could not part from its first sentence. The citation names the item; the quote starts
# at the sentence.
HEADING_LEAD = re.compile(r"\s*(?:\d+(?:\.\d+)*\.?\s+)?(?:[A-Z][A-Z0-9&'’,\-–/()]*:?\s+){2,}(?=[A-Z][a-z])")


def _after_heading(passage: Passage, start: int, end: int) -> int:
    text = passage.text[start - passage.start : end - passage.start]
    m = HEADING_LEAD.match(text)
    if m and len(WORD.findall(text, m.end())) >= 8:
        return start + m.end()
    return start


def candidate_quotes(
    store: Store, question_text: str, qvec: np.ndarray, hits: list[Hit], settings: AnswerSettings
) -> list[Candidate]:
    q_tokens = set(bm25_tokens(question_text))
    q_types = answer_types(question_text)
    out: list[Candidate] = []
    read = hits[: settings.passages_read]
    stored = store.units([hit.passage for hit in read])
    for rank, hit in enumerate(read):
        p = hit.passage
        units = stored.get(p.id) or _split_and_embed(store, p)
        spans, vectors = list(units.spans), units.vectors
        if not spans:
            continue
        sims = vectors @ qvec
        paper = store.paper(p.source)
        for i, sim in enumerate(sims.tolist()):
            s0, e0 = spans[i]
            start, end = _on_one_page(paper, *_extend(p, spans, i, settings.context_sentences), s0, e0)
            cov = _coverage(q_tokens, p.text[s0 - p.start : e0 - p.start] + " " + (p.section or "") + " " + (p.item_title or ""))
            fit = type_match(q_types, p.text[start - p.start : end - p.start]) if q_types else 0.0
            score = sim + settings.coverage_weight * cov + settings.rank_weight / (1 + rank) + settings.type_weight * fit
            out.append(Candidate(p, hit, rank, start, end, float(sim), cov, score, fit, i, max(s0, start), min(e0, end)))
    out.sort(key=lambda c: -c.score)
    return out


def _on_one_page(paper, start: int, end: int, anchor_start: int, anchor_end: int) -> tuple[int, int]:
    """Clip a quote to the page holding most of its best sentence.

    Between two pages the paper's own file has what the paper's text leaves out: a PDF's
    footer and header, a text export's page stamp ("Agenda Item 5"), running header or
    blank-page note. A quote across the break would not be one unbroken run of the file,
    nor read word for word on either page."""
    if paper is None:
        return start, end
    best, overlap = None, 0
    for span in paper.pages:
        shared = min(anchor_end, span.end) - max(anchor_start, span.start)
        if shared > overlap:
            best, overlap = span, shared
    if best is None:
        return start, end
    lo, hi = strip_span(paper.text, max(start, best.start), min(end, best.end))
    return (lo, hi) if lo < hi else (start, end)


def _citation(store: Store, passage: Passage, start: int, end: int) -> Citation:
    """The quote's own page(s), which may be narrower than its passage's."""
    base = Citation.of(passage)
    paper = store.paper(passage.source)
    if paper is None:
        return base
    first = last = None
    for span in paper.pages:
        if span.start <= start < span.end + 2 and first is None:
            first = span
        if span.start < end:
            last = span
    if first is None or last is None:
        return base
    return replace(
        base,
        page=first.first,
        page_end=last.last,
        printed_page=first.printed,
        printed_page_end=last.printed,
    )


@lru_cache(maxsize=4096)
def _norm(text: str) -> str:
    return " ".join(re.findall(r"[a-z0-9]+", text.lower()))


@dataclass(frozen=True)
class Reading:
    """What an answer is decided on: the passages found, the candidate sentences in order,
    and the evidence for abstaining — the closest sentence in meaning and the one sharing
    most words, whichever quote ends up first (abstaining must not depend on how quotes
    are ordered), and the question's words the papers never use."""

    hits: list[Hit]
    candidates: list[Candidate]
    closest: float
    widest: float
    unknown: list[str]
    chance: float | None = None  # the learned stage's P(the first quote answers)


def read(
    store: Store, question: str, *, k: int = 10, filters: Filters = Filters(), retriever: str | None = None,
    settings: Settings = DEFAULTS,
) -> Reading:
    """Search for ``question`` and score the sentences of the top passages (``answer``'s
    first half; ``eval.abstention_signals`` measures the same evidence)."""
    retriever = retriever or default_retriever(store)
    reading = settings.answer
    if retriever == "learned":
        reading = replace(reading, context_sentences=learned.load().context)
    asked = Question(store, question)
    hits = search(store, asked, k=max(k, reading.passages_read), filters=filters, retriever=retriever, settings=settings)
    if not hits:
        return Reading(hits, [], 0.0, 0.0, [])
    query = asked.query
    candidates = candidate_quotes(store, query.expanded, asked.vector, hits, reading)
    unknown = unknown_words(store, query.text)
    chance = None
    if retriever == "learned":
        candidates, chance = learned_order(learned.load(), store, query, hits, candidates, unknown)
    return Reading(
        hits=hits,
        candidates=candidates,
        closest=max((c.similarity for c in candidates), default=0.0),
        widest=max((c.coverage for c in candidates), default=0.0),
        unknown=unknown,
        chance=chance,
    )


def learned_order(stage, store: Store, query, hits: list[Hit], candidates: list[Candidate], unknown: list[str]) -> tuple[list[Candidate], float]:
    """The candidates in order of the learned span model's P(this quote answers), each
    scored by it, and the calibrated P(the first quote answers)."""
    x = learned.span_matrix(candidates, query.text, frequencies_idf(store, bm25_tokens(query.expanded)),
                            {h.passage.id: h.score for h in hits})
    probs = stage.span.probability(x)
    chance = float(stage.answer.probability(learned.answer_vector(probs, candidates, hits, unknown))[0])
    order = np.argsort(-probs, kind="stable")
    return [replace(candidates[i], score=float(probs[i])) for i in order], chance


def answer(
    store,
    question: str,
    *,
    k: int = 10,
    filters: Filters = Filters(),
    retriever: str | None = None,
    settings: Settings = DEFAULTS,
) -> Answer:
    """The 1–5 quotes that best answer ``question``, or an abstention with nearest matches."""
    seen = read(store, question, k=k, filters=filters, retriever=retriever, settings=settings)
    reading = settings.answer
    hits, candidates, closest, widest, unknown = seen.hits, seen.candidates, seen.closest, seen.widest, seen.unknown
    if not hits:
        return Answer(question=question, quotes=(), abstained=True, reason="Nothing in the papers indexed matches this question.", filters=filters)
    best = candidates[0] if candidates else None
    margin = reading.quote_margin
    if seen.chance is not None:
        stage = learned.load()
        margin = stage.quote_margin
        weak = best is None or seen.chance < stage.threshold
    else:
        weak = best is None or (closest < reading.min_similarity and widest < reading.min_coverage)
        weak = weak or bool(unknown and closest < reading.unknown_word_similarity)
    if weak:
        why = (
            f"The papers indexed never mention {', '.join(repr(w) for w in unknown[:3])}, and nothing else in them answers this."
            if unknown
            else "The papers indexed don't seem to answer this."
        )
        return Answer(
            question=question,
            quotes=(),
            abstained=True,
            reason=why + " The nearest matches are below.",
            nearest=tuple(hits[:3]),
            hits=tuple(hits[:k]),
            filters=filters,
            confidence=seen.chance,
        )
    quotes: list[Quote] = []
    by_text: dict[str, int] = {}
    for cand in candidates:
        if cand.score < best.score - margin or len(quotes) >= reading.max_quotes:
            break
        text = cand.passage.text[cand.start - cand.passage.start : cand.end - cand.passage.start].strip()
        key = _norm(text)
        if not key:
            continue
        citation = _citation(store, cand.passage, cand.start, cand.end)
        overlap = next((i for i, q in enumerate(quotes) if _overlaps(q, cand)), None)
        if overlap is not None:
            continue
        if key in by_text:
            i = by_text[key]
            quotes[i] = replace(quotes[i], also_in=quotes[i].also_in + (citation,))
            continue
        by_text[key] = len(quotes)
        also = tuple(_location_citation(loc) for loc in cand.hit.also_in)
        quotes.append(
            Quote(
                text=text,
                citation=citation,
                score=round(cand.score, 4),
                passage_id=cand.passage.id,
                start=cand.start,
                end=cand.end,
                also_in=also,
                best_start=cand.best_start,
                best_end=cand.best_end,
            )
        )
    return Answer(question=question, quotes=tuple(quotes), abstained=False, hits=tuple(hits[:k]), filters=filters, confidence=seen.chance)


def unknown_words(store: Store, question: str) -> list[str]:
    """Content words of the question that occur nowhere in the papers ("potholes")."""
    candidates = [w for w in words(question) if len(w) >= 4 and w not in STOP_WORDS and w.isalpha()]
    stems = {w: stem(w) for w in candidates}
    found = store.frequencies(list(dict.fromkeys(stems.values())))
    return [w for w in candidates if not found.df[stems[w]]]


def _overlaps(quote: Quote, cand: Candidate) -> bool:
    return quote.passage_id == cand.passage.id and quote.start < cand.end and cand.start < quote.end


def _location_citation(loc) -> Citation:
    return Citation(
        doc=loc.doc,
        source=loc.source,
        committee=loc.committee,
        meeting_date=loc.meeting_date,
        pack_date=loc.pack_date,
        agenda_item=loc.agenda_item,
        item_title=loc.item_title,
        page=loc.page,
        page_end=loc.page_end,
        printed_page=loc.printed_page,
    )
