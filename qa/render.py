"""Hits and answers as plain JSON (the contract in eval/README) and as text a person reads."""

from __future__ import annotations

import json
import re
import sys
from datetime import date
from pathlib import Path
from typing import Any, Iterator

from index.model import Answer, Citation, Hit, Location, Passage, Quote


def passage_json(passage: Passage, score: float | None = None) -> dict[str, Any]:
    return {
        "id": passage.id,
        "text": passage.text,
        "source": passage.source,
        "doc": passage.doc,
        "page": passage.page,
        "page_end": passage.page_end,
        "printed_page": passage.printed_page,
        "printed_page_end": passage.printed_page_end,
        "committee": passage.committee,
        "meeting_date": passage.meeting_date,
        "pack_date": passage.pack_date,
        "kind": passage.kind,
        "agenda_item": passage.agenda_item,
        "item_title": passage.item_title,
        "section": passage.section,
        **({"score": round(score, 6)} if score is not None else {}),
    }


def location_json(loc: Location) -> dict[str, Any]:
    return {
        "source": loc.source,
        "doc": loc.doc,
        "page": loc.page,
        "page_end": loc.page_end,
        "printed_page": loc.printed_page,
        "committee": loc.committee,
        "meeting_date": loc.meeting_date,
        "agenda_item": loc.agenda_item,
        "item_title": loc.item_title,
    }


def hit_json(hit: Hit) -> dict[str, Any]:
    return {
        **passage_json(hit.passage, hit.score),
        "retriever": hit.retriever,
        "also_in": [location_json(loc) for loc in hit.also_in],
    }


def long_date(iso: str | None) -> str | None:
    if not iso:
        return None
    d = date.fromisoformat(iso)
    return f"{d.day} {d.strftime('%B %Y')}"


def page_text(page: int | None, page_end: int | None, printed: str | None, printed_end: str | None = None) -> str | None:
    """"p. 6 (PDF p. 8)", "pp. 11–15", or None when the page is unknown."""
    if page is None:
        return f"p. {printed}" if printed else None
    same = page_end in (None, page)
    if printed and str(printed) != str(page):
        label = f"p. {printed}" if same or not printed_end or printed_end == printed else f"pp. {printed}–{printed_end}"
        pdf = f"PDF p. {page}" if same else f"PDF pp. {page}–{page_end}"
        return f"{label} ({pdf})"
    return f"p. {page}" if same else f"pp. {page}–{page_end}"


def citation_line(c: Citation | Passage) -> str:
    """Committee · meeting (pack) · item · page · paper — the line under each quote."""
    parts = []
    if c.committee:
        parts.append(c.committee)
    meeting = long_date(c.meeting_date)
    pack = long_date(c.pack_date)
    if meeting and pack and c.meeting_date != c.pack_date:
        parts.append(f"minutes of {meeting}, in the pack for {pack}")
    elif meeting or pack:
        parts.append(f"meeting of {meeting or pack}")
    if c.agenda_item:
        parts.append(f"item {c.agenda_item}" + (f" – {c.item_title}" if c.item_title else ""))
    elif c.item_title:
        parts.append(c.item_title)
    pages = page_text(c.page, c.page_end, c.printed_page, getattr(c, "printed_page_end", None))
    if pages:
        parts.append(pages)
    parts.append(c.source)
    return " · ".join(parts)


def citation_json(c: Citation) -> dict[str, Any]:
    return {
        "source": c.source,
        "doc": c.doc,
        "page": c.page,
        "page_end": c.page_end,
        "printed_page": c.printed_page,
        "printed_page_end": c.printed_page_end,
        "committee": c.committee,
        "meeting_date": c.meeting_date,
        "pack_date": c.pack_date,
        "agenda_item": c.agenda_item,
        "item_title": c.item_title,
        "citation": citation_line(c),
    }


def quote_json(q: Quote) -> dict[str, Any]:
    return {
        "text": q.text,
        **citation_json(q.citation),
        "quote_score": q.score,
        "passage_id": q.passage_id,
        "start": q.start,
        "end": q.end,
        "best_start": q.best_start,
        "best_end": q.best_end,
        "also_in": [citation_json(c) for c in q.also_in],
    }


def answer_json(answer: Answer) -> dict[str, Any]:
    """The ``ask --json`` object (eval/README): abstained, quotes, passages."""
    return {
        "question": answer.question,
        "abstained": answer.abstained,
        "confidence": answer.confidence,
        "reason": answer.reason,
        "summary": answer.summary,
        "quotes": [quote_json(q) for q in answer.quotes],
        "nearest": [hit_json(h) for h in answer.nearest],
        "passages": [hit_json(h) for h in answer.hits],
    }


def elided(text: str) -> str:
    """A quote as shown to a person: "…" where it starts or stops inside a sentence (a PDF
    quote is cut at its page's end). The quote itself, in JSON, stays word for word.

    >>> elided("The May 2025 elections scheduled")
    'The May 2025 elections scheduled …'
    >>> elided("and the actions be agreed.")
    '… and the actions be agreed.'
    >>> elided("The report was noted.")
    'The report was noted.'
    """
    shown = " ".join(text.split())
    if shown[:1].islower():
        shown = "… " + shown
    if shown and shown[-1] not in ".!?:;)”\"'’":
        shown += " …"
    return shown


def answer_text(answer: Answer) -> str:
    """The answer as a person reads it in a terminal."""
    lines: list[str] = []
    if answer.abstained:
        lines.append(answer.reason)
        for n, hit in enumerate(answer.nearest, 1):
            lines.append(f"\n  nearest match {n}: {citation_line(hit.passage)}")
            lines.append("    " + " ".join(hit.passage.text.split())[:300])
        return "\n".join(lines)
    for n, q in enumerate(answer.quotes, 1):
        lines.append(f"{n}. “{elided(q.text)}”")
        lines.append(f"   — {citation_line(q.citation)}")
        for other in q.also_in[:3]:
            lines.append(f"     also in: {citation_line(other)}")
        lines.append("")
    return "\n".join(lines).rstrip()


def jsonl_objects(path: str | Path, needs: str) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, object) of a JSON Lines file ("-": standard input); blank lines
    skipped; a line that is not a JSON object holding ``needs`` is a ValueError naming it."""
    handle = sys.stdin if str(path) == "-" else open(path, encoding="utf-8")
    with handle:
        for n, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as err:
                raise ValueError(f"{path}:{n}: not JSON ({err.msg})") from err
            if not isinstance(obj, dict) or needs not in obj:
                raise ValueError(f"{path}:{n}: expected an object with an '{needs}'")
            yield n, obj


# --- what changed (qa.changes) ---------------------------------------------------------


def marked(text: str, marks, open_: str = "[[", close: str = "]]") -> str:
    """``text`` with each marked (start, end) span bracketed; whitespace collapsed for print.

    >>> marked("with 894  young", ((5, 8),))
    'with [[894]] young'
    """
    out, pos = [], 0
    for s, e in marks:
        out += [text[pos:s], open_, text[s:e], close]
        pos = e
    out.append(text[pos:])
    return " ".join("".join(out).split())


def side_json(side, marks) -> dict[str, Any] | None:
    if side is None:
        return None
    return {"text": side.text, "start": side.start, "end": side.end, "marked": [list(m) for m in marks],
            **citation_json(side.citation)}


def changed_json(c) -> dict[str, Any]:
    """One ChangedPassage: both sides' words, marks (offsets into each side's text) and citations."""
    return {"kind": c.kind, "figures": list(c.figures), "similarity": c.similarity,
            "older": side_json(c.older, c.older_marked), "newer": side_json(c.newer, c.newer_marked)}


def changed_text(changes) -> str:
    """Changed passages one after another, older above newer, changed words in [[ ]]."""
    lines = []
    for n, c in enumerate(changes, 1):
        figures = f" ({', '.join(c.figures[:8])})" if c.kind == "figure" else ""
        lines.append(f"{n}. {c.kind}{figures}")
        for label, side, marks in (("before", c.older, c.older_marked), ("after ", c.newer, c.newer_marked)):
            if side is None:
                lines.append(f"   {label}: (not there)")
            else:
                lines.append(f"   {label}: {marked(side.text, marks)}")
                lines.append(f"           [{citation_line(side.citation)}]")
        lines.append("")
    return "\n".join(lines) if lines else "No changed passages."


def changes_json(ch) -> dict[str, Any]:
    """The ``changes --json`` object for a committee's latest meeting (qa.changes.Changes)."""
    return {
        "committee": ch.committee,
        "meeting": ch.meeting,
        "previous": ch.previous,
        "new_papers": [{"source": p.source, "doc": p.doc, "kind": p.kind, "title": p.title,
                        "meeting_date": p.meeting_date, "pages": p.pages} for p in ch.new_papers],
        "items": [{"number": i.number, "title": i.title, "source": i.source, "page": i.page, "new": i.new}
                  for i in ch.items],
        "recurring": [{"older": {"source": r.older.source, "title": r.older.title, "meeting_date": r.older.meeting_date,
                                 "agenda_item": r.older.agenda_item},
                       "newer": {"source": r.newer.source, "title": r.newer.title, "meeting_date": r.newer.meeting_date,
                                 "agenda_item": r.newer.agenda_item},
                       "title_similarity": r.title_similarity,
                       "changes": [changed_json(c) for c in r.changes]} for r in ch.recurring],
        "decisions": [decision_json(d) for d in ch.decisions],
    }


def changes_text(ch) -> str:
    meeting, previous = long_date(ch.meeting), long_date(ch.previous)
    lines = [f"{ch.committee}: meeting of {meeting}" + (f", since {previous}" if previous else " (no earlier meeting in the index)"), ""]
    lines.append(f"Papers for {meeting} ({len(ch.new_papers)}):")
    lines += [f"  - {p.title or p.doc}  [{p.kind}, {p.source}]" for p in ch.new_papers] or ["  (none)"]
    if ch.items:
        lines += ["", "Agenda:"]
        lines += [f"  {'NEW ' if i.new else '    '}{i.number or ''}. {i.title}" + (f" (p. {i.page})" if i.page else "")
                  for i in ch.items]
    for r in ch.recurring:
        lines += ["", f"== {r.newer.title} (was: {r.older.title}, {long_date(r.older.meeting_date) or 'undated'})", "",
                  changed_text(r.changes)]
    if previous and not ch.recurring:
        lines += ["", "No recurring report changed."]
    if ch.decisions:
        lines += ["", "Decisions at the last meeting on record, and proposals to this one:"]
        lines += [decision_text(d) for d in ch.decisions]
    return "\n".join(lines)


KIND_LABELS = {"resolution": "Resolved", "noted": "Noted", "decision": "Decision", "proposal": "Proposed"}


def decision_json(d) -> dict[str, Any]:
    """A qa.decisions.Decision as JSON: its words, kind, citation and the other places it is printed."""
    return {
        "text": d.text,
        "kind": d.kind,
        "heading": d.heading,
        "minute": d.minute,
        "number": d.number,
        "start": d.start,
        "end": d.end,
        "citation": citation_json(d.citation),
        "also_in": [citation_json(c) for c in d.also_in],
    }


def decision_text(d, marked: tuple[tuple[int, int], ...] = ()) -> str:
    """A decision for a terminal: kind and citation, then its words (the parts on topic
    between » «)."""
    words = d.text
    for a, b in sorted(marked, reverse=True):
        words = words[:a] + "»" + words[a:b] + "«" + words[b:]
    number = f" (decision {d.number})" if d.number else ""
    lines = [f"- {KIND_LABELS.get(d.kind, d.kind)}{number}: {citation_line(d.citation)}"]
    lines += ["    " + p for p in quote_lines(words)]
    lines += [f"    also in: {citation_line(c)}" for c in d.also_in[:5]]
    return "\n".join(lines)


def quote_lines(text: str) -> list[str]:
    return [" ".join(par.split()) for par in re.split(r"\n\s*\n", text) if par.strip()]


def timeline_json(t) -> dict[str, Any]:
    """``decisions --json``: a qa.decisions.Timeline."""
    return {
        "topic": t.topic,
        "decisions": [decision_json(e.decision) | {"score": round(e.score, 4), "marked": [list(m) for m in e.marked],
                                                   "taken_up_by": [citation_json(c) for c in e.taken_up_by]}
                      for e in t.entries],
        "nearest": [hit_json(h) for h in t.nearest],
        "empty": t.empty,
    }


def timeline_text(t) -> str:
    if t.empty:
        lines = [f"No decision or recommendation on {t.topic!r} in the indexed papers."]
        if t.nearest:
            lines += ["", "Nearest matches (not decisions):"]
            lines += [f"- {citation_line(h.passage)}\n    {elided(' '.join(h.passage.text.split()))}" for h in t.nearest]
        return "\n".join(lines)
    lines = [f"Decisions on {t.topic!r}, in meeting order ({len(t.entries)}):", ""]
    for e in t.entries:
        lines.append(decision_text(e.decision, e.marked))
        lines += [f"    taken up: {citation_line(c)}" for c in e.taken_up_by]
    return "\n".join(lines)
