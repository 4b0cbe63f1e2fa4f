"""Reading real papers (copies in samples/ and tests/data/): pages, items, meetings, tables."""

from pathlib import Path

import pytest

from index.chunk import chunk_paper
from index.layout import item_named_by
from index.pdfread import UnreadablePaper
from index.read import read_paper

REPO = Path(__file__).resolve().parent.parent
SEFTON = REPO / "samples" / "sefton"
PACK_2023 = SEFTON / "000_74252e79d0a85765.txt"
PACK_2017 = SEFTON / "001_92f4cf0ba82fb1ac.txt"
PLAN = SEFTON / "003_ad821aef673912d9.txt"
KENT_MINUTES = REPO / "tests" / "data" / "kent-cabinet-printed-minutes-2025-01-30.pdf"
PACK_2023_PDF = REPO / "tests" / "data" / "sefton-000-pack-2023-01-31.pdf"
KENT_FRONTSHEET = REPO / "tests" / "data" / "kent-county-council-frontsheet-2025-01-09.pdf"


@pytest.fixture(scope="module")
def pack_2023():
    paper = read_paper(PACK_2023)
    return paper, chunk_paper(paper)


def test_2023_pack_agenda_with_page_ranges(pack_2023):
    paper, _ = pack_2023
    ranges = {a.number: (a.first_page, a.last_page) for a in paper.agenda}
    assert ranges == {
        "1": (None, None), "2": (None, None), "3": (5, 10), "4": (None, None), "5": (11, 22),
        "6": (23, 32), "7": (33, 58), "8": (59, 66), "9": (67, 76), "10": (77, 88),
    }
    assert paper.kind == "agenda_pack"
    assert paper.committee == "Overview and Scrutiny Committee (Children's Services and Safeguarding)"
    assert paper.meeting_date == "2023-01-31"


def test_minutes_in_the_2023_pack_record_20_december_2022(pack_2023):
    _, passages = pack_2023
    item3 = [p for p in passages if p.agenda_item == "3"]
    assert item3 and {p.meeting_date for p in item3} == {"2022-12-20"}
    assert {p.pack_date for p in item3} == {"2023-01-31"}
    # A report in the same pack records the pack's own meeting.
    assert {p.meeting_date for p in passages if p.agenda_item == "5"} == {"2023-01-31"}


def test_text_export_pages_are_ranges_within_the_item(pack_2023):
    _, passages = pack_2023
    for p in passages:
        if p.agenda_item == "5":
            assert 11 <= p.page <= p.page_end <= 22
    # Item 3 has as many page breaks as pages: its pages are exact.
    resolved = [p for p in passages if "be confirmed as a correct record" in p.text and p.agenda_item == "3"]
    assert resolved and resolved[0].page is not None


def test_2017_pack_holds_minutes_of_21_and_30_june():
    passages = chunk_paper(read_paper(PACK_2017))
    item3 = [p for p in passages if p.agenda_item == "3"]
    assert {p.meeting_date for p in item3} == {"2017-06-21", "2017-06-30"}
    june30 = [p for p in item3 if "BALLROOM, TOWN HALL BOOTLE ON FRIDAY 30TH JUNE" in p.text]
    assert june30 and june30[0].meeting_date == "2017-06-30"


def test_kent_printed_minutes_pdf():
    paper = read_paper(KENT_MINUTES)
    assert paper.format == "pdf" and paper.page_count == 17
    assert paper.committee == "Cabinet"
    assert paper.meeting_date == "2025-01-30"
    assert paper.kind == "minutes"
    # The printed number at the top of each page is taken out of the text but kept.
    assert [p.printed for p in paper.pages[:3]] == ["1", "2", "3"]
    assert not paper.text.startswith("1")


def test_printed_minutes_cite_the_agenda_item_each_minute_takes():
    """ModernGov minutes have no agenda to place the text under, but each minute names its
    item: "86. Minutes of the Meeting held on 9th January 2025 / (Item 3)"."""
    paper = read_paper(KENT_MINUTES)
    assert [(s.value, s.label) for s in paper.items[:3]] == [
        ("1", "Apologies"),
        ("2", "Declarations of Interest"),
        ("3", "Minutes of the Meeting held on 9th January 2025"),
    ]
    # Minute 90's title wraps over three lines of the PDF.
    assert ("7", "24/00109 - Transfer the 18-25 section of the Strengthening Independence Service from the "
            "Children Young People and Education Directorate to the Adult Social Care and Health Directorate") in [
        (s.value, s.label) for s in paper.items]
    passages = chunk_paper(paper)
    resolved = next(p for p in passages if "were a correct record" in p.text)
    assert (resolved.agenda_item, resolved.item_title) == ("3", "Minutes of the Meeting held on 9th January 2025")
    # The attendance list before the first minute belongs to no item, and no passage runs
    # from one minute into the next.
    assert passages[0].agenda_item is None and "PRESENT" in passages[0].text
    for p in passages:
        item = next((s for s in paper.items if s.start <= p.start < s.end), None)
        assert item is None or p.end <= item.end


def test_a_frontsheet_without_page_ranges_still_lists_its_items():
    """Kent's extraordinary County Council agenda: items under a letter-spaced "A G E N D A",
    no page ranges ("- To follow"), one title wrapped over two lines."""
    paper = read_paper(KENT_FRONTSHEET)
    assert paper.kind == "agenda" and paper.meeting_date == "2025-01-09"
    assert [(a.number, a.title) for a in paper.agenda] == [
        ("1", "Apologies for Absence"),
        ("2", "Declarations of Disclosable Pecuniary Interests or Other Significant Interests in items on the agenda"),
        ("3", "English Devolution White Paper"),
    ]
    # The papers filed beside it point to item 3 by name; the appendices do not.
    named = {stem: item_named_by(stem, paper.agenda) for stem in (
        "Devolution White Paper - County Council Report - FINAL",
        "Item 3 Supplement - English Devolution White Paper report 09th-Jan-2025 10.00 County Council",
        "Appendix A - 16.12.24 Ministerial Letter",
    )}
    assert [item.number if item else None for item in named.values()] == ["3", "3", None]


def test_sentence_on_a_known_pdf_page_is_cited_on_that_page():
    passages = chunk_paper(read_paper(KENT_MINUTES))
    holding = [p for p in passages if "additional £9 million" in " ".join(p.text.split())]
    assert holding
    assert holding[0].page <= 10 <= holding[0].page_end


def test_pdf_pack_items_from_stamps_and_minutes_date():
    paper = read_paper(PACK_2023_PDF)
    passages = chunk_paper(paper)
    assert paper.kind == "agenda_pack"
    item3 = [p for p in passages if p.agenda_item == "3"]
    assert item3 and {p.meeting_date for p in item3} == {"2022-12-20"}
    assert {p.item_title for p in item3} == {"Minutes of the Previous Meeting"}
    # "Agenda Item 3" stamps are provenance, not passage text.
    assert not any("Agenda Item 3" in p.text for p in passages)


def test_table_passage_in_phase_2_plan_carries_its_column_headers():
    passages = chunk_paper(read_paper(PLAN))
    tables = [p for p in passages if p.is_table and "Dental Visits" in p.text]
    assert tables
    assert "Milestone/Target that we will monitor" in tables[0].context or "Milestone/Target" in tables[0].text


def test_passage_text_is_the_papers_own_words(pack_2023):
    paper, passages = pack_2023
    for p in passages:
        assert p.text == paper.text[p.start : p.end]
        assert len(p.text.split()) <= 260


def test_running_headers_are_kept_out_of_text_but_as_context():
    header = "OVERVIEW AND SCRUTINY COMMITTEE (CHILDREN'S SERVICES AND SAFEGUARDING) - WEDNESDAY 21ST JUNE, 2017"
    raw = PACK_2017.read_text(encoding="utf-8")
    assert raw.count(header) >= 5
    paper = read_paper(PACK_2017)
    # One stands mid-segment where the export lost a page break; the rest are gone.
    assert paper.text.count(header) <= 1
    passages = chunk_paper(paper)
    assert any(header in p.context for p in passages if p.meeting_date == "2017-06-21")
    assert not any("Agenda Item" in p.text for p in passages)


@pytest.mark.parametrize(
    "name, content, reason",
    [
        ("notes.docx", b"PK\x03\x04", "unsupported file type .docx"),
        ("empty.pdf", b"", "empty file"),
        ("page.pdf", b"<!DOCTYPE html><html>", "not a PDF"),
        ("blank.txt", b"   \n\n", "no text"),
    ],
)
def test_bad_files_get_a_one_line_reason(tmp_path, name, content, reason):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(UnreadablePaper) as err:
        read_paper(path)
    assert reason in str(err.value)
    assert "\n" not in str(err.value)


def test_a_year_closing_a_page_is_put_back_where_it_stood():
    """Kent's ICS measures (24-00115 Appendix B) end pages with a table row's year and then
    the table's caption: pypdf gives '… 10% with VCSEs / April 2027 / … by 2036 to 2039. /
    2045 / Measures within the Logframe ~ Procurement'. The year is tried as a printed page
    number and, not being one, must go back before the caption, not after it, or a quote of
    the two lines is not a run of the page's own text."""
    from index.read import _pdf_segment, build_paper

    pages = [
        "Objectively Verifiable Indicators Timescale Progress\nThe suicide rate for persons will be "
        "similar or better than the England average.\n2028\nThe proportion of children who are up to "
        "date with the vaccinations meets the national benchmark (95%).\n2028\nMeasures within the "
        "Logframe ~ Public Health",
        "Objectively Verifiable Indicators Timescale Progress\nBy April 2027, the spend by Kent County "
        "Council that is in the County will be 45%, with 35% of the \ntotal spend with local SMEs\n"
        "April 2027\nFor the emissions we can influence to achieve net zero by 2045, with an ambition "
        "to reach an 80% \nreduction by 2036 to 2039.\n2045\nMeasures within the Logframe ~ Procurement ",
        "Objectively Verifiable Indicators Timescale Progress\nEvery school will have a named mental "
        "health lead.\n2026\nMeasures within the Logframe ~ Education",
    ]
    paper = build_paper([_pdf_segment(t, i + 1) for i, t in enumerate(pages)], source="measures.pdf", fmt="pdf", content_hash="x")
    assert "(95%).\n2028\nMeasures within the Logframe ~ Public Health" in paper.text
    assert "2036 to 2039.\n2045\nMeasures within the Logframe ~ Procurement" in paper.text
    assert "Public Health\n2028" not in paper.text and all(s.printed is None for s in paper.pages)
