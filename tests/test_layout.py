"""Set phrases of committee papers, on snippets worked out by hand."""

from index.layout import (
    committee_from_path,
    dates_named,
    find_committee,
    find_dates,
    find_kind,
    find_meeting_date,
    find_minutes_starts,
    parse_agenda,
    tidy_name,
)
from index.model import AgendaItem


def test_dates_in_the_ways_papers_write_them():
    text = "DATE: Tuesday, 31st January 2023 … ON WEDNESDAY 21ST JUNE, 2017 … 30th-Jan-2025 … 9 January, 2025"
    assert [d for _, d in find_dates(text)] == ["2023-01-31", "2017-06-21", "2025-01-30", "2025-01-09"]
    assert find_dates("31st February 2023") == []  # no such day


def test_capitals_become_a_readable_name():
    assert tidy_name("OVERVIEW AND SCRUTINY COMMITTEE (CHILDREN'S SERVICES AND SAFEGUARDING)") == (
        "Overview and Scrutiny Committee (Children's Services and Safeguarding)"
    )
    assert tidy_name("Cabinet") == "Cabinet"


def test_committee_from_front_sheet_minutes_and_report_header():
    assert find_committee("MEETING: OVERVIEW AND SCRUTINY COMMITTEE\nDATE: 1st May 2020") == "Overview and Scrutiny Committee"
    assert find_committee("KENT COUNTY COUNCIL\nCABINET\nMINUTES of a meeting of the Cabinet held in the Council Chamber") == "Cabinet"
    assert find_committee("From: Roger Gough, Leader\nTo:   County Council – 9th January 2025\nSubject: X") == "County Council"
    assert committee_from_path(("cabinet", "2025-01-30")) == "Cabinet"
    assert committee_from_path(("papers", "2025")) is None


def test_report_header_whose_line_breaks_inside_date_of_meeting():
    # The Sefton 2022 report as a PDF lays its header table out as wrapped lines.
    text = ("Report to: Overview and Scrutiny Committee (Children's Services and Safeguarding) Date of\n"
            "Meeting: Monday 7 November 2022 Subject: Children's Services Commissioner")
    assert find_committee(text) == "Overview and Scrutiny Committee (Children's Services and Safeguarding)"
    assert find_meeting_date(text) == "2022-11-07"


def test_meeting_date_of_printed_minutes():
    text = "MINUTES of a meeting of the Cabinet held in the Council Chamber, Sessions\nHouse, County Hall, Maidstone on Thursday, 30 January 2025.\nPRESENT: Mr R W Gough"
    assert find_meeting_date(text) == "2025-01-30"


def test_agenda_ranges_including_a_title_cut_by_its_range():
    text = (
        "A G E N D A\n\n1. Apologies for Absence\n\n3. Minutes of the Previous Meeting (Pages 5 - 10)\n\n"
        "Minutes of the meeting held on 20 December 2022\n\n"
        "8. Recruitment and Support for Newly Qualified Social (Pages 59 -\n\nWorkers\n\n66)\n\n"
        "10. Work Programme Key Decision Forward Plan\n\n(Pages 77 -\n88)\n"
    )
    assert parse_agenda(text) == (
        AgendaItem("1", "Apologies for Absence"),
        AgendaItem("3", "Minutes of the Previous Meeting", 5, 10),
        AgendaItem("8", "Recruitment and Support for Newly Qualified Social Workers", 59, 66),
        AgendaItem("10", "Work Programme Key Decision Forward Plan", 77, 88),
    )


def test_minutes_headings_not_references_to_other_minutes():
    text = (
        "Minutes of the meetings held on 21 June and 30 June 2017\n"
        "MEETING HELD AT THE BIRKDALE ROOM, TOWN HALL,\nSOUTHPORT\nON WEDNESDAY 21ST JUNE, 2017\nPRESENT: Councillor Murphy\n"
        "The Committee considered the Minutes of the meeting held on 21 March 2017.\n"
    )
    starts = find_minutes_starts(text)
    assert [s.meeting_date for s in starts] == ["2017-06-21"]
    assert dates_named("Minutes of the meetings held on 21 June and 30 June 2017") == ["2017-06-21", "2017-06-30"]


def test_kinds():
    assert find_kind("Public Document Pack\nSefton Council", "x.txt", True, ()) == "agenda_pack"
    assert find_kind("KENT COUNTY COUNCIL – PROPOSED RECORD OF DECISION", "24-00115 - PROD.pdf", False, ()) == "decision"
    assert find_kind("MINUTES of a meeting of the Cabinet held", "m.pdf", False, ()) == "minutes"
    assert find_kind("Appendix G\nReserves Policy", "Appendix G - Reserves Policy.pdf", False, ()) == "appendix"
    assert find_kind("CABINET MEMBER UPDATE REPORT Overview", "u.txt", False, ()) == "update"


def test_docstring_examples():
    import doctest

    import index.layout

    result = doctest.testmod(index.layout)
    assert result.attempted >= 3 and result.failed == 0


def test_an_agenda_is_dated_by_its_own_meeting_not_the_minutes_it_lists():
    head = (
        "AGENDA\n\nCABINET\n\nThursday, 30th January, 2025, at 10.00 am Ask for: Georgina Little\n"
        "UNRESTRICTED ITEMS\n1. Apologies\n3. Minutes of the Meeting held on 9th January 2025 (Pages 1 - 10)\n"
    )
    assert find_meeting_date(head) == "2025-01-30"
    # Printed minutes' own heading, in capitals, still dates them.
    assert find_meeting_date("MINUTES of a meeting of the Cabinet held in the Council Chamber on Thursday, 9 January 2025.") == "2025-01-09"
