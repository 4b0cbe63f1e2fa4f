"""What a committee paper says about itself: committee, meeting date, kind, agenda, minutes.

Pure functions over text. They look for the set phrases that ModernGov and similar
systems print, for example::

    >>> find_dates("DATE: Tuesday, 31st January 2023")[0][1]
    '2023-01-31'
    >>> parse_agenda("3. Minutes of the Previous Meeting (Pages 5 - 10)")[0]
    AgendaItem(number='3', title='Minutes of the Previous Meeting', first_page=5, last_page=10)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from index.model import AgendaItem, Span

MONTHS = {
    m: i + 1
    for i, m in enumerate(
        "january february march april may june july august september october november december".split()
    )
}
MONTHS.update({m[:3]: n for m, n in list(MONTHS.items())})

MONTH_PATTERN = r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sept?(?:ember)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
_DAY_RE = r"(?:mon|tues|wednes|thurs|fri|satur|sun)day"
# "31st January 2023", "WEDNESDAY 21ST JUNE, 2017", "30th-Jan-2025", "9 January, 2025"
DATE_DMY = re.compile(
    rf"\b(?:{_DAY_RE},?\s+)?(\d{{1,2}})(?:st|nd|rd|th)?[\s\-]+({MONTH_PATTERN})[\s,\-]+(\d{{4}})\b",
    re.IGNORECASE,
)
# "January 30, 2025"
DATE_MDY = re.compile(rf"\b({MONTH_PATTERN})\s+(\d{{1,2}})(?:st|nd|rd|th)?,?\s+(\d{{4}})\b", re.IGNORECASE)
DATE_ISO = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")


def _iso(year: int, month: int, day: int) -> str | None:
    try:
        return date(year, month, day).isoformat()
    except ValueError:
        return None


def find_dates(text: str) -> list[tuple[int, str]]:
    """Every date written out in ``text``, as (offset, ISO date), in order."""
    found: list[tuple[int, str]] = []
    for m in DATE_DMY.finditer(text):
        iso = _iso(int(m.group(3)), MONTHS[m.group(2).casefold()[:3]], int(m.group(1)))
        if iso:
            found.append((m.start(), iso))
    for m in DATE_MDY.finditer(text):
        iso = _iso(int(m.group(3)), MONTHS[m.group(1).casefold()[:3]], int(m.group(2)))
        if iso:
            found.append((m.start(), iso))
    for m in DATE_ISO.finditer(text):
        iso = _iso(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        if iso:
            found.append((m.start(), iso))
    return sorted(found)


def first_date(text: str) -> str | None:
    dates = find_dates(text)
    return dates[0][1] if dates else None


# --- committee names -----------------------------------------------------------------

_SMALL_WORDS = {"and", "of", "the", "for", "in", "on", "to", "a", "an"}


def tidy_name(name: str) -> str:
    """Collapse whitespace; title-case a name printed in capitals, keeping small words low."""
    name = re.sub(r"\s+", " ", name).strip(" -–:,.\t")
    if name.upper() != name:
        return name
    words = []
    for i, word in enumerate(name.lower().split(" ")):
        if i and word in _SMALL_WORDS:
            words.append(word)
        elif word.startswith("("):
            words.append("(" + word[1:2].upper() + word[2:])
        else:
            words.append(word[:1].upper() + word[1:])
    return " ".join(words)


_COMMITTEE_PATTERNS = [
    # Sefton front sheet: "MEETING: OVERVIEW AND SCRUTINY COMMITTEE (...)"
    re.compile(r"^\s*MEETING:\s*(.+?)\s*$", re.MULTILINE),
    # Report header: "Report to:\tOverview and Scrutiny Committee (...)\tDate of Meeting:"
    # A PDF's line may break inside "Date of Meeting".
    re.compile(r"Report to:\s*([^\t\n]+?)\s*(?:\t|\s+Date\s+of\b|\n)", re.IGNORECASE),
    # Printed minutes: "MINUTES of a meeting of the Cabinet held in"
    re.compile(r"MINUTES of (?:a|the) (?:meeting|proceedings) of (?:the )?(.+?)\s+held\b", re.IGNORECASE | re.DOTALL),
    # Decision records: "DECISION TO BE TAKEN BY:\nCabinet"
    re.compile(r"DECISION TO BE TAKEN BY:\s*\n?\s*([^\n]+)", re.IGNORECASE),
    # Kent report header: "To:   Cabinet – 30 January 2025"
    re.compile(r"^\s*To:\s+([A-Z][A-Za-z&' ()]+?)\s*(?:[–\-,]\s*\d|\n)", re.MULTILINE),
    # Letters with a supplementary pack: "CABINET - THURSDAY, 30 JANUARY 2025"
    re.compile(rf"^\s*([A-Z][A-Z&' ()]+?)\s+[–\-]\s+{_DAY_RE},?\s+\d", re.MULTILINE | re.IGNORECASE),
    # Cabinet member update: "CABINET MEMBER UPDATE REPORT Overview and Scrutiny Committee (...) 16 November"
    re.compile(r"UPDATE REPORT\s+(.+?)\s+\d{1,2}\s+" + MONTH_PATTERN, re.IGNORECASE),
    # Kent front sheet: "AGENDA\n\nCABINET\n"
    re.compile(r"^\s*AGENDA\s*\n(?:\s*\n)*\s*([A-Z][A-Z ,&']{3,60})\s*$", re.MULTILINE),
    re.compile(r"^\s*(?:Agenda|Summons) .{0,40}?\bfor an?\b.*?\bMeeting of (?:the )?(.+?)\s+(?:on|at|held)\b", re.IGNORECASE | re.MULTILINE),
]

_NOT_COMMITTEES = re.compile(r"^(all|dear|leaders?|members?|the leader|kent county council)\b", re.IGNORECASE)


def find_committee(text: str) -> str | None:
    """The committee a paper was written for, from the set phrases on its first pages."""
    head = text[:6000]
    for pattern in _COMMITTEE_PATTERNS:
        m = pattern.search(head)
        if not m:
            continue
        name = tidy_name(m.group(1))
        name = re.sub(r"\s*[–\-]\s*$", "", name)
        if 3 <= len(name) <= 120 and not _NOT_COMMITTEES.match(name):
            return name
    return None


def committee_from_path(parts: tuple[str, ...]) -> str | None:
    """A folder named for the committee ("cabinet", "county-council"), as councils often file them."""
    for part in reversed(parts):
        if re.fullmatch(r"[a-z][a-z\-_ ]{3,60}", part) and not re.search(r"\d", part):
            words = re.split(r"[-_ ]+", part)
            if any(w in {"cabinet", "council", "committee", "board", "scrutiny", "panel", "forum"} for w in words):
                return tidy_name(" ".join(words).upper())
    return None


# --- meeting date --------------------------------------------------------------------

_MEETING_DATE_PATTERNS = [
    re.compile(r"^\s*DATE:\s*(.+)$", re.MULTILINE),
    re.compile(r"Date\s+of\s+Meeting:\s*([^\n]+)", re.IGNORECASE),
    # "MINUTES" in the capitals a heading is printed in: an agenda's "Minutes of the Meeting
    # held on 9th January 2025" names an earlier meeting, not this one.
    re.compile(r"(?-i:MINUTES) of (?:a|the) meeting.{0,300}?\bon\s+((?:\w+day,?\s+)?\d{1,2}(?:st|nd|rd|th)?\s+\w+,?\s+\d{4})", re.IGNORECASE | re.DOTALL),
    re.compile(r"^\s*To:\s+.{0,80}?[–\-,]\s*(\d{1,2}(?:st|nd|rd|th)?\s+\w+,?\s+\d{4})", re.MULTILINE),
    re.compile(rf"^\s*[A-Z][A-Z&' ()]+\s+[–\-]\s+({_DAY_RE},?\s+\d{{1,2}}\s+\w+,?\s+\d{{4}})", re.MULTILINE | re.IGNORECASE),
    re.compile(r"UPDATE REPORT.{0,200}?(\d{1,2}\s+\w+\s+\d{4})", re.IGNORECASE | re.DOTALL),
    re.compile(rf"^\s*(?:{_DAY_RE}),?\s+(\d{{1,2}}(?:st|nd|rd|th)?\s+\w+,?\s+\d{{4}})", re.MULTILINE | re.IGNORECASE),
    re.compile(r"Meeting on\s+(.{0,60}?\d{4})", re.IGNORECASE | re.DOTALL),
]


def find_meeting_date(text: str) -> str | None:
    head = text[:6000]
    for pattern in _MEETING_DATE_PATTERNS:
        m = pattern.search(head)
        if m:
            found = first_date(re.sub(r"\s+", " ", m.group(1)))
            if found:
                return found
    return None


def date_from_path(name: str) -> str | None:
    """Dates in file or folder names: "30th-Jan-2025", "2025-01-30"."""
    return first_date(name.replace("_", " "))


# --- kind ----------------------------------------------------------------------------

def find_kind(text: str, file_name: str, has_stamps: bool, agenda: tuple[AgendaItem, ...]) -> str:
    """One of PAPER_KINDS, from the set phrases on the first page and the file name."""
    head = text[:3000]
    name = file_name.lower()
    if re.search(r"Public (Document|Reports) Pack", head, re.IGNORECASE) or (has_stamps and agenda):
        return "agenda_pack"
    if has_stamps and re.search(r"\bDear Member\b", head):
        return "agenda_pack"  # a supplementary pack: a covering letter and its enclosures
    if re.search(r"record of decision", head, re.IGNORECASE) or re.search(r"\bprod\b", name):
        return "decision"
    if re.search(r"^\s*MINUTES of (a|the) meeting", head, re.IGNORECASE | re.MULTILINE) or "minutes" in name:
        return "minutes"
    if re.search(r"questions? (put|asked).{0,40}answers?", head, re.IGNORECASE | re.DOTALL):
        return "questions"
    if agenda or re.search(r"^\s*A\s?G\s?E\s?N\s?D\s?A\s*$", head, re.MULTILINE) or "agenda" in name:
        return "agenda"
    if re.search(r"cabinet member update|update report", head, re.IGNORECASE):
        return "update"
    if name.startswith("appendix") or re.match(r"\s*appendix\b", head, re.IGNORECASE) or " appendix " in f" {name} ":
        return "appendix"
    if re.search(r"Report (to|of):|^\s*Subject:", head, re.IGNORECASE | re.MULTILINE):
        return "report"
    first_lines = " ".join(head.strip().splitlines()[:6])
    if re.search(r"\b(plan|strategy)\b", first_lines, re.IGNORECASE):
        return "plan"
    if "report" in name:
        return "report"
    return "other"


def find_title(text: str, file_name: str) -> str:
    m = re.search(r"^\s*Subject:\s*([^\t\n]+)", text[:4000], re.MULTILINE | re.IGNORECASE)
    if m and len(m.group(1).strip()) > 3:
        return tidy_name(m.group(1))
    m = re.search(r"Title of Decision:\s*([^\n]+)", text[:4000], re.IGNORECASE)
    if m:
        return tidy_name(m.group(1))
    return file_name


# --- agenda --------------------------------------------------------------------------

# "- 3. Minutes of the Previous Meetings** (Pages 5 - 18)" with the range maybe on the next
# line; "9 24/00096 - Commissioning Plan ... (Pages 1 - 4)" in a supplementary letter.
_AGENDA_ENTRY = re.compile(
    r"(?:^|\n|\s-\s)[\s\-•]*(\d{1,2}[A-Za-z]?)(?:\.|\s)\s*(?!\d)([^\n]*?(?:\n(?![\s\-•]*\d{1,2}\.\s)[^\n]*?){0,2}?)\**\s*\(Pages?\s+(\d+)\s*(?:-|–|to)?\s*(\d+)?\s*\)",
)
_AGENDA_PLAIN = re.compile(r"^[\s\-•]*(\d{1,2}[A-Za-z]?)\.\s+([A-Z][^\n]{2,160}?)\**\s*$", re.MULTILINE)


def parse_agenda(text: str) -> tuple[AgendaItem, ...]:
    """Agenda items with the pack pages the agenda gives them (joined across line breaks)."""
    # A title cut by its own page range: "Newly Qualified Social (Pages 59 -\n\nWorkers\n\n66)".
    joined = re.sub(
        r"\(Pages?\s+(\d+)\s*[-–]\s*\n\s*([A-Za-z][^\n()]{0,60}?)\s*\n\s*(\d+)\)", r"\2 (Pages \1 - \3)", text
    )
    joined = re.sub(r"\(Pages?\s+(\d+)\s*[-–]\s*\n\s*(\d+)\)", r"(Pages \1 - \2)", joined)
    joined = re.sub(r"\(Pages\s*\n\s*", "(Pages ", joined)
    items: dict[str, AgendaItem] = {}
    for m in _AGENDA_ENTRY.finditer(joined):
        number, title = m.group(1), re.sub(r"\s+", " ", m.group(2)).strip(" *-–")
        first = int(m.group(3))
        last = int(m.group(4)) if m.group(4) else first
        if last < first or last - first > 2000 or number in items:
            continue
        items[number] = AgendaItem(number=number, title=title.replace("**", ""), first_page=first, last_page=last)
    if not items:
        return _agenda_without_pages(joined)
    # Items without pages ("1. Apologies for Absence") sit in the same list, before the last
    # entry with pages or just after it.
    spans = [m.span() for m in _AGENDA_ENTRY.finditer(joined)]
    region = joined[max(0, spans[0][0] - 2000) : spans[-1][1] + 600]
    highest = max(int(re.match(r"\d+", n).group()) for n in items)
    for m in _AGENDA_PLAIN.finditer(region):
        number = m.group(1)
        # Minute numbers of the next pages ("30. APOLOGIES") are not agenda items.
        if number not in items and int(re.match(r"\d+", number).group()) <= highest + 2:
            items[number] = AgendaItem(number=number, title=m.group(2).replace("**", "").strip())
    return tuple(sorted(items.values(), key=lambda it: (int(re.match(r"\d+", it.number).group()), it.number)))


# An agenda heading printed on its own line, letter-spaced or not: "AGENDA", "A G E N D A".
_AGENDA_HEADING = re.compile(r"^[ \t]*A[ \t]?G[ \t]?E[ \t]?N[ \t]?D[ \t]?A[ \t]*$", re.MULTILINE)


def _agenda_without_pages(text: str) -> tuple[AgendaItem, ...]:
    r"""A frontsheet whose items have no page ranges yet ("3. English Devolution White Paper
    - To follow"): the items numbered 1, 2, 3, ... in turn under an AGENDA heading. Without
    the heading a numbered list is as likely a report's paragraphs.

    >>> [(i.number, i.title) for i in _agenda_without_pages("A G E N D A\n1. Apologies for Absence\n\n2. Declarations of Interests\nin items on the agenda\n\n3. English Devolution White Paper\n- To follow\n5. Not next")]
    [('1', 'Apologies for Absence'), ('2', 'Declarations of Interests in items on the agenda'), ('3', 'English Devolution White Paper')]
    """
    heading = _AGENDA_HEADING.search(text)
    if heading is None:
        return ()
    items: list[AgendaItem] = []
    for m in _AGENDA_PLAIN.finditer(text, heading.end()):
        if m.group(1) != str(len(items) + 1):
            break
        title = m.group(2).replace("**", "").strip()
        # A title wrapped onto the very next line ("... or Other\nSignificant Interests ...").
        more = _TITLE_GOES_ON.match(text, m.end())
        if more:
            title = f"{title} {more.group(1).strip()}"
        items.append(AgendaItem(number=m.group(1), title=title))
    return tuple(items) if len(items) >= 2 else ()


_TITLE_GOES_ON = re.compile(r"\n[ \t]*([A-Za-z][^\n]{0,120})")


def item_for_page(agenda: tuple[AgendaItem, ...], printed_page: int) -> AgendaItem | None:
    for item in agenda:
        if item.first_page is not None and item.first_page <= printed_page <= (item.last_page or item.first_page):
            return item
    return None


# --- papers filed beside their meeting's agenda -------------------------------------

_ITEM_IN_NAME = re.compile(r"\bItem\s+(\d{1,3}[A-Za-z]?)\b", re.IGNORECASE)
# Decision numbers: "24/00108" on the agenda, "24-00108" or "2400108" in file names.
_DECISION_NUMBER = re.compile(r"(?<!\d)(\d{2})[/\-]?(\d{5})(?!\d)")
_NAME_WORD = re.compile(r"[a-z0-9]+")
_NAME_STOP = frozenset("a an and at for in of on the to with by from".split())
# Share of an item title's words a file name must repeat to be taken for that item.
NAME_REPEATS_TITLE = 0.75


def _name_words(text: str) -> set[str]:
    return {w for w in _NAME_WORD.findall(text.lower()) if w not in _NAME_STOP}


def item_named_by(file_stem: str, agenda: tuple[AgendaItem, ...]) -> AgendaItem | None:
    """The agenda item a paper filed beside its meeting's agenda belongs to, from its file
    name: the item it names ("Item 7 - Supplementary - ..."), the one whose title has its
    decision number ("24-00108 - Appendix" for "24/00108 - Revenue and Capital Budget ..."),
    or the one whose title it repeats. None when the name says nothing sure
    ("Appendix A Capital Investment Summary").

    >>> agenda = (AgendaItem("3", "Minutes of the Meeting held on 9th January 2025"),
    ...           AgendaItem("5", "24/00108 - Revenue and Capital Budget Monitoring Report"))
    >>> [item_named_by(n, agenda).number for n in ("Item 5 - Supplementary", "24-00108 - Appendix - NOV 2024-25",
    ...                                              "Minutes of the meeting held on 9th January 2025")]
    ['5', '5', '3']
    >>> item_named_by("Appendix A Capital Investment Summary", agenda) is None
    True
    """
    by_number = {item.number: item for item in agenda}
    named = _ITEM_IN_NAME.search(file_stem)
    if named and named.group(1) in by_number:
        return by_number[named.group(1)]
    numbers = {a + b for a, b in _DECISION_NUMBER.findall(file_stem)}
    if numbers:
        carrying = [item for item in agenda if numbers & {a + b for a, b in _DECISION_NUMBER.findall(item.title)}]
        if len(carrying) == 1:
            return carrying[0]
    words = _name_words(file_stem)
    shares = []
    for item in agenda:
        title = _name_words(item.title)
        if len(title) >= 3:
            shares.append((len(title & words) / len(title), item))
    shares.sort(key=lambda s: -s[0])
    if shares and shares[0][0] >= NAME_REPEATS_TITLE and (len(shares) == 1 or shares[1][0] < shares[0][0]):
        return shares[0][1]
    return None


# --- minutes inside papers -----------------------------------------------------------

@dataclass(frozen=True)
class MinutesStart:
    offset: int
    meeting_date: str


# Headings only, in the capitals they are printed in: "Minutes of the meeting held on 21 March"
# in running text refers to other minutes.
_MINUTES_HEAD = re.compile(r"(MINUTES [Oo][Ff] (?:[Aa]|[Tt][Hh][Ee]) (?:MEETING|meeting)|MEETING HELD (?:AT|IN|ON))(.{0,300})", re.DOTALL)


def find_minutes_starts(text: str) -> list[MinutesStart]:
    """Where a set of minutes begins, and the meeting it records."""
    starts = []
    for m in _MINUTES_HEAD.finditer(text):
        window = m.group(2)
        # The date must come before the attendance list, not from a later reference.
        window = re.split(r"PRESENT|Present:", window)[0]
        found = first_date(re.sub(r"\s+", " ", window))
        if found:
            starts.append(MinutesStart(offset=m.start(), meeting_date=found))
    return starts


# ModernGov's printed minutes head each minute with its number and title, then the agenda
# item it takes: "86. Minutes of the Meeting held on 9th January 2025\n(Item 3)". A title
# may wrap over three lines, and blank lines may stand before "(Item N)".
_MINUTE_ITEM = re.compile(
    r"^[ \t]*(\d{1,4})\.[ \t]+(\S[^\n]{1,160}?(?:\n[ \t]*[^\s(][^\n]{0,160}?){0,2})[ \t]*(?:\n[ \t]*)+"
    r"\(Item[ \t]+(\d{1,3}[A-Za-z]?(?:\.\d{1,2})?)\)[ \t]*$",
    re.MULTILINE,
)


def minute_items(text: str) -> list[Span]:
    r"""The agenda item each stretch of printed minutes takes (value: its number; label: its
    title), from one minute's heading to the next.

    >>> [(s.start, s.end, s.value, s.label) for s in minute_items("84. Apologies\n(Item 1)\nNone.\n85. Draft Revenue\nBudget 2025-26\n\n(Item 2)\n")]
    [(0, 29, '1', 'Apologies'), (29, 72, '2', 'Draft Revenue Budget 2025-26')]
    """
    found = list(_MINUTE_ITEM.finditer(text))
    ends = [m.start() for m in found[1:]] + [len(text)]
    return [Span(m.start(), end, m.group(3), " ".join(m.group(2).split())) for m, end in zip(found, ends)]


def dates_named(text: str) -> list[str]:
    """Meeting dates an agenda line names: "Minutes of the meetings held on 21 June and 30 June 2017"."""
    dates = [d for _, d in find_dates(text)]
    # "21 June and 30 June 2017": the first has no year of its own.
    for m in re.finditer(rf"(\d{{1,2}})(?:st|nd|rd|th)?\s+({MONTH_PATTERN})\s+(?:and|&)\s+\d{{1,2}}(?:st|nd|rd|th)?\s+{MONTH_PATTERN},?\s+(\d{{4}})", text, re.IGNORECASE):
        iso = _iso(int(m.group(3)), MONTHS[m.group(2).casefold()[:3]], int(m.group(1)))
        if iso and iso not in dates:
            dates.append(iso)
    return sorted(set(dates))
