"""A conversation: follow-up questions use what came before; narrowing is said in words.

    >>> conv = Conversation()
    >>> resolve(conv, "How many children were adopted in 2021?", ["Cabinet"]).question
    'How many children were adopted in 2021?'
    >>> conv = Conversation(turns=(Turn("How many children were adopted in 2021?", "How many children were adopted in 2021?"),))
    >>> resolve(conv, "and fostering?", ["Cabinet"]).question
    'fostering: How many children were adopted in 2021?'
    >>> resolve(conv, "only Cabinet since 2023", ["Cabinet"]).filters
    Filters(committees=('Cabinet',), date_from='2023-01-01', date_to=None, kinds=(), docs=())

A :class:`Conversation` is a plain value: ``to_json``/``from_json`` save and restore it
(the app keeps one per browser session).
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field, replace
from typing import Any

from index.model import Answer, Filters

KIND_WORDS = {
    "minutes": "minutes",
    "reports": "report",
    "report": "report",
    "decisions": "decision",
    "decision records": "decision",
    "agenda packs": "agenda_pack",
    "packs": "agenda_pack",
    "appendices": "appendix",
    "plans": "plan",
    "updates": "update",
}

# Questions that lean on the one before: "and fostering?", "what about Cabinet?",
# "what did they decide?", "why?", "how much was it?".
FOLLOW_UP = re.compile(
    r"^(?:and|also|what about|how about|what of|same for|and what about)\b|"
    r"\b(?:they|them|it|that|this|those|these|there|then)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Turn:
    asked: str  # what the person typed
    question: str  # what was searched: the follow-up made whole
    filters: Filters = field(default_factory=Filters)


@dataclass(frozen=True)
class Conversation:
    turns: tuple[Turn, ...] = ()
    filters: Filters = field(default_factory=Filters)

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Conversation:
        def filters(d: dict[str, Any]) -> Filters:
            return Filters(**{k: tuple(v) if isinstance(v, list) else v for k, v in d.items()})

        turns = tuple(Turn(t["asked"], t["question"], filters(t.get("filters", {}))) for t in data.get("turns", []))
        return cls(turns=turns, filters=filters(data.get("filters", {})))


@dataclass(frozen=True)
class Resolved:
    question: str  # "" when the message only narrowed the search
    filters: Filters
    narrowed: bool


def _narrowing(message: str, committees: list[str], filters: Filters) -> tuple[str, Filters, bool]:
    """Take "only Cabinet", "since 2023", "before 2020", "only minutes" out of the message
    and into the filters."""
    text = message
    narrowed = False
    for committee in sorted(committees, key=len, reverse=True):
        pattern = rf"\b(?:only|just|in|from|at)\s+(?:the\s+)?{re.escape(committee)}(?:\s+(?:meetings?|papers?))?\b"
        if re.search(pattern, text, re.IGNORECASE):
            filters = replace(filters, committees=(committee,))
            text = re.sub(pattern, " ", text, flags=re.IGNORECASE)
            narrowed = True
    m = re.search(r"\b(?:since|from|after)\s+((?:19|20)\d{2})\b", text, re.IGNORECASE)
    if m:
        filters = replace(filters, date_from=f"{m.group(1)}-01-01")
        text = text.replace(m.group(0), " ")
        narrowed = True
    m = re.search(r"\b(?:before|until|up to)\s+((?:19|20)\d{2})\b", text, re.IGNORECASE)
    if m:
        filters = replace(filters, date_to=f"{int(m.group(1)) - 1}-12-31")
        text = text.replace(m.group(0), " ")
        narrowed = True
    for word, kind in KIND_WORDS.items():
        pattern = rf"\b(?:only|just)\s+(?:the\s+)?{word}\b|\bin\s+(?:the\s+)?{word}\s+only\b"
        if re.search(pattern, text, re.IGNORECASE):
            filters = replace(filters, kinds=(kind,))
            text = re.sub(pattern, " ", text, flags=re.IGNORECASE)
            narrowed = True
    if re.search(r"\b(?:all|any) (?:committees|dates|papers)\b|\bclear (?:the )?filters\b", text, re.IGNORECASE):
        filters, narrowed = Filters(), True
        text = re.sub(r"\b(?:all|any) (?:committees|dates|papers)\b|\bclear (?:the )?filters\b", " ", text, flags=re.IGNORECASE)
    return " ".join(text.split()).strip(" ,.;"), filters, narrowed


def resolve(conv: Conversation, message: str, committees: list[str]) -> Resolved:
    """The question to search for ``message`` in this conversation, and the filters."""
    rest, filters, narrowed = _narrowing(message, committees, conv.filters)
    previous = conv.turns[-1].question if conv.turns else ""
    content = re.sub(r"[^\w\s]", "", rest).strip()
    if not content or re.fullmatch(r"(?:and|also|please|ok|okay|then|now)", content, re.IGNORECASE):
        # Only narrowing: ask the last question again, within the new filters.
        return Resolved(previous, filters, narrowed)
    if previous and (len(content.split()) <= 4 or FOLLOW_UP.search(rest)):
        topic = re.sub(r"^(?:and|also|what about|how about|what of|same for|and what about)\s+", "", rest, flags=re.IGNORECASE)
        topic = topic.rstrip("?. ")
        return Resolved(f"{topic}: {previous}", filters, narrowed)
    return Resolved(rest, filters, narrowed)


def ask(conv: Conversation, store, message: str, *, k: int = 10, retriever: str | None = None) -> tuple[Conversation, Answer]:
    """Answer ``message`` in the conversation; returns the conversation with the turn added."""
    from qa.answer import answer

    resolved = resolve(conv, message, store.committees)
    if not resolved.question:
        from qa.query import BadQuestion

        raise BadQuestion("there is no earlier question to narrow: ask a question first")
    result = answer(store, resolved.question, k=k, filters=resolved.filters, retriever=retriever)
    turn = Turn(asked=message, question=resolved.question, filters=resolved.filters)
    return Conversation(turns=conv.turns + (turn,), filters=resolved.filters), result
