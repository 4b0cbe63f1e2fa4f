"""Questions nobody had to write: pairs taken from the papers' own structure, for the
passage stage of ``committee-qa train --weak``.

- an agenda item's title against its minute's decision ("What was decided about <title>?"
  → the passage of that item holding RESOLVED / agreed / noted);
- a report's title against its recommendations ("What does the report on <title>
  recommend?" → the passage opening with Recommendation(s));
- a section heading against its section ("<heading>" → the section's first passage).

Each becomes a question record in the question-set format, its gold quote the passage's
opening words, so training labels candidates by the same relevance rule as written
questions. Only the papers given are used (the train split's), never dev or test papers.

    >>> from index.model import Passage
    >>> p = Passage(id="a", doc="d", source="d.pdf", text="RESOLVED that the plan be approved and published in March.",
    ...             start=0, end=58, page=1, page_end=1, kind="minutes", item_title="Local Plan Review")
    >>> [q["question"] for q in weak_questions([p], {"d.pdf"})]
    ['What was decided about the Local Plan Review?']
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from index.model import Passage
from index.tokens import bm25_tokens

DECISION = re.compile(r"\bRESOLVED\b|\b(resolved|agreed|noted|approved|endorsed)\b")
RECOMMENDS = re.compile(r"^\W*(\d+(\.\d+)*\.?\s*)?recommendations?\b", re.I)
QUOTE_WORDS = 30
# Headings that say nothing of their section's subject.
GENERIC = {"introduction", "background", "summary", "recommendation", "recommendations", "draft", "appendix",
           "purpose", "conclusion", "conclusions", "contents", "key", "issues", "report", "update", "overview"}


def _quote(text: str) -> str:
    return " ".join(text.split()[:QUOTE_WORDS])


def _named(heading: str) -> bool:
    """A heading that names a subject: two to twelve words beyond the generic ones, and not
    a table row read as a heading (figures) nor letter-spaced capitals ("A G E N D A")."""
    words = [w for w in re.findall(r"[a-z]+", heading.lower()) if w not in GENERIC]
    figures = re.findall(r"\d[\d,.]*", heading)
    return 2 <= len(words) <= 12 and len(figures) <= 1 and len(set(bm25_tokens(heading))) >= 2 and max(map(len, words)) > 1


def weak_questions(passages: Iterable[Passage], sources: set[str]) -> list[dict]:
    """Question records (``kind``: "weak") from the passages of the papers in ``sources``."""
    out: list[dict] = []
    seen: set[str] = set()

    def add(question: str, p: Passage, how: str) -> None:
        if question in seen:
            return
        seen.add(question)
        out.append({"id": f"weak-{len(out) + 1:04d}", "type": "lexical", "kind": "weak", "how": how,
                    "question": question, "answers": [{"doc": p.doc, "quote": _quote(p.text)}], "answer": ""})

    sections_seen: set[tuple[str, str]] = set()
    for p in passages:
        if p.source not in sources:
            continue
        title = (p.item_title or "").strip()
        if title and _named(title) and p.kind in ("minutes", "agenda_pack") and DECISION.search(p.text):
            add(f"What was decided about the {title}?", p, "item-decision")
        if title and _named(title) and RECOMMENDS.match(p.text):
            add(f"What does the report on {title} recommend?", p, "recommendations")
        heading = (p.section or "").strip()
        if heading and _named(heading) and (p.doc, heading) not in sections_seen:
            sections_seen.add((p.doc, heading))
            add(re.sub(r"^\d+(\.\d+)*\.?\s*", "", heading), p, "section")
    return out
