"""What kind of answer a question wants, and whether a sentence has that kind of thing in it.

A bi-encoder scores a sentence that restates the question ("The forecast overspend on
residential care is set out in table 2") as high as the one that answers it ("... 97.5
124.9 27.4"). Matching the answer's type is the classic cheap second signal: a question
asking "how much" wants a figure, "what did Cabinet decide" wants the resolution, "when"
wants a date, "who" a person.

    >>> answer_types("How many children were waiting to be adopted?")
    ('number',)
    >>> answer_types("What did Cabinet decide about the budget?")
    ('decision',)
    >>> has_type("RESOLVED that the budget be endorsed.", "decision")
    True
    >>> has_type("The forecast is set out in table 2.", "number")
    False
"""

from __future__ import annotations

import re

# Each type: the question patterns that ask for it, and the sentence patterns that give it.
_ASKS: dict[str, re.Pattern[str]] = {
    "number": re.compile(
        r"\bhow (many|much|big|far|large|high|low|long|often|quickly|soon)\b"
        r"|\bwhat (share|percentage|proportion|level|amount|figure|number|cost|value|score|total|rate|size)\b"
        r"|\b(quorum|per ?cent|percentage|£|cost|worth|overspend|underspend|deficit|forecast)\b"
        r"|\bwhat (is|was|will be|are|were) the (budget|forecast|total|cost|deficit|overspend|spend)",
        re.I,
    ),
    "decision": re.compile(
        # Not "adopt": in these papers it is as often about children as about plans.
        r"\b(decide[sd]?|decision|resolved?|resolution|agree[sd]?|approved?|endorsed?|sign(ed)? off|"
        r"accept(ed)?|vote[sd]?|voting|recommend(ed|ation)?|minutes? .{0,30}(approved|confirmed|corrected))\b",
        re.I,
    ),
    "date": re.compile(r"^\s*when\b|\b(what|which) (date|day|month|year)\b|\bfrom when\b|\bby when\b", re.I),
    "person": re.compile(r"^\s*who\b|\bwhich (councillor|member|officer|director|cabinet member)\b|\bwho (is|was|were|will)\b", re.I),
    "place": re.compile(r"^\s*where\b|\bwhich (building|venue|site|area|town|district)s?\b", re.I),
    "reason": re.compile(r"^\s*why\b|\bwhat (caused|is behind|was behind|drove|explains)\b|\breasons?\b", re.I),
}

_MONTH = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*"
_GIVES: dict[str, re.Pattern[str]] = {
    # A figure: money, a percentage, a decimal, a count next to a noun, not just a paragraph number.
    "number": re.compile(
        r"£\s?\d|\d\s?(%|per ?cent|m\b|bn\b|k\b)|\b\d+\.\d+\b|\b\d{1,3}(,\d{3})+\b"
        r"|\b\d+\s+(of|out of|children|people|places|pupils|staff|posts|members|days|weeks|months|years|homes|schools|families|cases|KPIs?)\b"
        r"|\b(one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|twenty|thirty|forty|fifty|hundred)\b",
        re.I,
    ),
    "decision": re.compile(
        r"\bRESOLVED\b|\b(?:Resolved|Agreed|Decided)\b|\bthat\b.{0,200}\b(be|is|are) (approved|agreed|noted|endorsed|adopted|confirmed|requested|authorised|delegated)\b"
        r"|\b(agree[sd]?|approve[sd]?|endorse[sd]?|adopt(ed)?|confirmed)\b"
        r"|\bmotion (was )?(carried|lost|agreed)\b|\bamendment (was )?(carried|lost|agreed|accepted)\b|\bFor \(\d+\)",
        re.I,
    ),
    "date": re.compile(rf"\b\d{{1,2}}(st|nd|rd|th)? {_MONTH}\b|\b{_MONTH} \d{{4}}\b|\b(19|20)\d\d\b|\b\d{{1,2}}/\d{{1,2}}/\d{{2,4}}\b", re.I),
    "person": re.compile(r"\b(Councillor|Cllr\.?|Mr|Mrs|Ms|Miss|Dr|Professor)\s+[A-Z]|\b(Director|Head|Chair|Leader|Member|Officer|Manager) of\b"),
    "place": re.compile(r"\b(in|at|to|from) (the )?[A-Z][a-z]+(\s+[A-Z][a-z]+)*\b|\b(Centre|Hall|House|Street|Road|Office|Hub|Library|area)\b"),
    "reason": re.compile(r"\b(because|due to|owing to|as a result|result of|relates? to|driven by|caused by|reflects?|so that|in order to|reason)\b", re.I),
}

TYPES = tuple(_ASKS)


def answer_types(question: str) -> tuple[str, ...]:
    """The answer types ``question`` asks for, most specific first; () when it asks for none."""
    return tuple(t for t in TYPES if _ASKS[t].search(question))


def has_type(sentence: str, answer_type: str) -> bool:
    """Whether ``sentence`` holds something of ``answer_type``."""
    try:
        pattern = _GIVES[answer_type]
    except KeyError:
        raise ValueError(f"unknown answer type {answer_type!r}; valid: {', '.join(TYPES)}") from None
    return bool(pattern.search(sentence))


def type_match(question_types: tuple[str, ...], sentence: str) -> float:
    """Share of the question's answer types the sentence supplies (0 when it asks for none)."""
    if not question_types:
        return 0.0
    return sum(has_type(sentence, t) for t in question_types) / len(question_types)
