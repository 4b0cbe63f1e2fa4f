"""What a question says besides its words: acronyms to expand, meetings and dates it names.

    >>> q = understand("What did the 4 March Cabinet decide about MASH?", {"MASH": "Multi-Agency Safeguarding Hub"}, ["Cabinet"])
    >>> q.expanded
    'What did the 4 March Cabinet decide about MASH? (Multi-Agency Safeguarding Hub)'
    >>> q.committees, q.month_days
    (('Cabinet',), ((3, 4),))
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from index.layout import MONTH_PATTERN, MONTHS, find_dates

MAX_QUESTION_CHARS = 2000


class BadQuestion(ValueError):
    """The question can't be searched; the message says why and what to do."""


@dataclass(frozen=True)
class Query:
    text: str
    expanded: str  # with acronym expansions (and acronyms for spelled-out names)
    dates: tuple[str, ...] = ()  # full dates named: "20 December 2022"
    months: tuple[tuple[int, int], ...] = ()  # (year, month): "in December 2022"
    month_days: tuple[tuple[int, int], ...] = ()  # (month, day) without a year: "the 4 March Cabinet"
    years: tuple[int, ...] = ()
    since: str | None = None  # "since 2023" → "2023-01-01"
    committees: tuple[str, ...] = ()


def clean_question(question: str) -> str:
    if question is None or not question.strip():
        raise BadQuestion("the question is empty: type what you want to know")
    # Lone surrogates (from broken clipboard or JSON input) cannot be encoded; replace, don't crash.
    text = re.sub("[\ud800-\udfff]", "\ufffd", " ".join(question.split()))
    if len(text) > MAX_QUESTION_CHARS:
        raise BadQuestion(
            f"the question is {len(text):,} characters long; ask in under {MAX_QUESTION_CHARS:,} "
            "(a sentence or two works best)"
        )
    if not re.search(r"\w", text):
        raise BadQuestion("the question has no words in it: type what you want to know")
    return text


def understand(question: str, acronyms: dict[str, str], committees: list[str]) -> Query:
    text = clean_question(question)
    additions: list[str] = []
    for acronym, expansion in acronyms.items():
        if re.search(rf"\b{re.escape(acronym)}\b", text) and expansion.lower() not in text.lower():
            additions.append(expansion)
        elif len(expansion.split()) > 1 and expansion.lower() in text.lower() and acronym not in text:
            additions.append(acronym)
    expanded = text + (f" ({'; '.join(additions[:5])})" if additions else "")

    dates = tuple(d for _, d in find_dates(text))
    months = tuple(
        (int(m.group(2)), MONTHS[m.group(1).casefold()[:3]])
        for m in re.finditer(rf"\b(?<!\d )({MONTH_PATTERN})\s+(\d{{4}})\b", text, re.IGNORECASE)
    )
    month_days = tuple(
        (MONTHS[m.group(2).casefold()[:3]], int(m.group(1)))
        for m in re.finditer(rf"\b(\d{{1,2}})(?:st|nd|rd|th)?\s+({MONTH_PATTERN})\b(?!,?\s+\d{{4}})", text, re.IGNORECASE)
    )
    years = tuple(int(y) for y in re.findall(r"\b((?:19|20)\d{2})\b", text))
    since = None
    m = re.search(r"\b(?:since|after|from)\s+((?:19|20)\d{2})\b", text, re.IGNORECASE)
    if m:
        since = f"{m.group(1)}-01-01"
    named = tuple(c for c in committees if c and re.search(rf"\b{re.escape(c)}\b", text, re.IGNORECASE))
    return Query(
        text=text,
        expanded=expanded,
        dates=dates,
        months=months,
        month_days=month_days,
        years=years,
        since=since,
        committees=named,
    )


def date_match(query: Query, iso: str | None) -> float:
    """How exactly a meeting date fits the dates a question names: 1 exact, 0.5 month or
    day-of-year, 0.25 year; 0 when the question names dates and this is none of them."""
    if not iso:
        return 0.0
    year, month, day = int(iso[:4]), int(iso[5:7]), int(iso[8:10])
    if iso in query.dates:
        return 1.0
    if (month, day) in query.month_days:
        return 0.75
    if (year, month) in query.months:
        return 0.5
    if year in query.years:
        return 0.25
    return 0.0


def names_dates(query: Query) -> bool:
    return bool(query.dates or query.months or query.month_days or query.years)
