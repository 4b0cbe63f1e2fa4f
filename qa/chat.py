"""A conversation: follow-up questions use what came before; narrowing is said in words.

    >>> conv = Conversation()
    >>> resolve(conv, "How many children were adopted in 2021?", ["Cabinet"]).question
    'How many children were adopted in 2021?'
    >>> conv = Conversation(turns=(Turn("How many children were adopted in 2021?", "How many children were adopted in 2021?"),))
    >>> resolve(conv, "and fostering?", ["Cabinet"]).question
    'How many children were fostering in 2021?'
    >>> resolve(conv, "what did they decide?", ["Cabinet"]).question
    'what did they decide? (children adopted 2021)'
    >>> resolve(conv, "only Cabinet since 2023", ["Cabinet"]).filters
    Filters(committees=('Cabinet',), date_from='2023-01-01', date_to=None, kinds=(), docs=())

A :class:`Conversation` is a plain value: ``to_json``/``from_json`` save and restore it
(the app keeps one per browser session).
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any

from index.model import Answer, Filters
from index.store import NoMatchingPassages
from index.tokens import STOP_WORDS
from qa.settings import DEFAULTS, Settings

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


# Words that shape a question rather than say what it is about: the stop words, and the
# few more a question is phrased with.
QUESTION_WORDS = STOP_WORDS | {"many", "much", "some", "tell", "me", "us", "whose", "why"}
SUBSTITUTE = re.compile(r"^(?:and what about|what about|how about|what of|same for|and|also)\s+", re.IGNORECASE)


def _content_words(text: str) -> list[str]:
    return [w for w in re.findall(r"[\w'’£%-]+", text) if w.lower() not in QUESTION_WORDS]


def _substitute(previous: str, topic: str, rarity) -> str:
    """"How many children were adopted in 2021?" + "fostering" → "How many children were
    fostering in 2021?": the new topic takes the place of the previous question's most
    specific word, or of the word before one they share ("the library budget" + "the
    waste budget")."""
    topic_words = _content_words(topic)
    if not topic_words:
        return previous
    words = list(re.finditer(r"[\w'’£%-]+", previous))
    content = [m for m in words if m.group().lower() not in QUESTION_WORDS and not m.group().isdigit()]
    shared = next((m for m in content if m.group().lower() in {w.lower() for w in topic_words}), None)
    if shared is not None:
        before = [m for m in content if m.end() <= shared.start()]
        lead = " ".join(w for w in topic_words if w.lower() != shared.group().lower())
        if before and lead:
            target = before[-1]
            return previous[: target.start()] + lead + previous[target.end() :]
        return previous
    if not content:
        return f"{topic} {previous}"
    target = max(content, key=lambda m: (rarity(m.group().lower()), m.start()))
    return previous[: target.start()] + " ".join(topic_words) + previous[target.end() :]


def _default_rarity(word: str) -> float:
    return 0.0  # all alike: the last content word, where a question usually names its topic


def _committee_named(phrase: str, committees: list[str]) -> tuple[str, ...]:
    """Committees whose name is ``phrase`` or contains it ("scrutiny")."""
    wanted = " ".join(phrase.lower().split())
    exact = tuple(c for c in committees if c.lower() == wanted)
    return exact or tuple(c for c in committees if re.search(rf"\b{re.escape(wanted)}\b", c.lower()))


def resolve(conv: Conversation, message: str, committees: list[str], rarity=None) -> Resolved:
    """The question to search for ``message`` in this conversation, and the filters.

    ``rarity(word)`` says how specific a word is (the index's inverse document frequency);
    without it, the question's last content word is taken as its topic."""
    from qa.query import BadQuestion

    rest, filters, narrowed = _narrowing(message, committees, conv.filters)
    only = re.fullmatch(r"(?:only|just)\s+(?:the\s+)?(.+?)(?:\s+(?:meetings?|papers?|committee))?[.!?]*", rest, re.IGNORECASE)
    if only:
        named = _committee_named(only.group(1), committees)
        if not named:
            raise BadQuestion(
                f"no committee called {only.group(1)!r} in the papers indexed; "
                f"the committees are: {', '.join(committees) or 'none recorded'}"
            )
        filters, narrowed, rest = replace(filters, committees=named), True, ""
    previous = conv.turns[-1].question if conv.turns else ""
    content = re.sub(r"[^\w\s]", "", rest).strip()
    if not content or re.fullmatch(r"(?:and|also|please|ok|okay|then|now)", content, re.IGNORECASE):
        # Only narrowing: ask the last question again, within the new filters.
        return Resolved(previous, filters, narrowed)
    if previous and SUBSTITUTE.match(rest) and len(content.split()) <= 6:
        topic = SUBSTITUTE.sub("", rest).rstrip("?. ")
        return Resolved(_substitute(previous, topic, rarity or _default_rarity), filters, narrowed)
    if previous and (len(content.split()) <= 4 or FOLLOW_UP.search(rest)):
        # "what did they decide?": the new question, about what the last one was about.
        about = [w for w in _content_words(previous) if w.lower() not in {x.lower() for x in _content_words(rest)}]
        return Resolved(f"{rest.rstrip()} ({' '.join(about[:10])})" if about else rest, filters, narrowed)
    return Resolved(rest, filters, narrowed)


def ask(
    conv: Conversation,
    store,
    message: str,
    *,
    within: Filters = Filters(),
    k: int = 10,
    retriever: str | None = None,
    settings: Settings = DEFAULTS,
) -> tuple[Conversation, Answer]:
    """Answer ``message`` in the conversation; returns the conversation with the turn added.

    ``within``: narrowing from outside the conversation (the app's sidebar). It applies to
    this answer alongside the conversation's own, but is not kept in the conversation."""
    from qa.answer import answer
    from qa.query import BadQuestion
    from qa.retrieve import rarity

    resolved = resolve(conv, message, store.committees, partial(rarity, store))
    if not resolved.question:
        raise BadQuestion("there is no earlier question to narrow: ask a question first")
    filters = resolved.filters.both(within)
    if filters is None:
        raise NoMatchingPassages("the conversation's filters and the sidebar's exclude each other; widen or clear one")
    result = answer(store, resolved.question, k=k, filters=filters, retriever=retriever, settings=settings)
    turn = Turn(asked=message, question=resolved.question, filters=resolved.filters)
    return Conversation(turns=conv.turns + (turn,), filters=resolved.filters), result
