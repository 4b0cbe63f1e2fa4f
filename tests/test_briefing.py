"""A briefing: collecting, ordering and annotating quotes; Markdown and Word exports with full
references; Markdown escaping that shows a paper's text exactly and nothing else."""

from __future__ import annotations

import doctest
import io
import re
from datetime import date

from hypothesis import given
from hypothesis import strategies as st

from index.model import Citation
from qa import briefing as bf

MINUTES = Citation(
    doc="Printed minutes 30th-Jan-2025 10.00 Cabinet",
    source="kent/cabinet/2025-01-30/Printed minutes 30th-Jan-2025 10.00 Cabinet.pdf",
    committee="Cabinet",
    meeting_date="2025-01-30",
    pack_date="2025-01-30",
    agenda_item="5",
    item_title="Revenue and Capital Budget Monitoring Report",
    page=10,
    page_end=10,
    printed_page="8",
)
# Minutes of an earlier meeting inside a later pack, with a page range and no item.
EARLIER = Citation(
    doc="pack",
    source="sefton/000_74252e79d0a85765.txt",
    committee="Overview and Scrutiny Committee",
    meeting_date="2022-11-07",
    pack_date="2023-01-31",
    agenda_item=None,
    item_title=None,
    page=11,
    page_end=15,
    printed_page=None,
)


def _briefing() -> bf.Briefing:
    b = bf.Briefing(title="Budget and SEND")
    b = bf.add(b, bf.BriefingItem(id="a", text="NOTE the forecast revenue overspend of £23.3m.", citation=MINUTES, question="What was the overspend?"))
    b = bf.add(b, bf.BriefingItem(id="b", text="Requests for EHC Assessments\n\n2020 – 412\n\n2021 –\n602", citation=EARLIER))
    return b


def test_module_examples() -> None:
    failed, tried = doctest.testmod(bf)
    assert tried >= 4 and failed == 0


def test_add_is_idempotent_and_keeps_order() -> None:
    b = _briefing()
    assert [i.id for i in b.items] == ["a", "b"]
    again = bf.add(b, bf.BriefingItem(id="a", text="other words", citation=EARLIER))
    assert again is b
    assert bf.contains(b, "b") and not bf.contains(b, "c")


def test_move_remove_note_retitle() -> None:
    b = _briefing()
    assert [i.id for i in bf.move(b, "b", -1).items] == ["b", "a"]
    assert [i.id for i in bf.move(b, "a", -1).items] == ["a", "b"]  # already first
    assert [i.id for i in bf.move(b, "a", 5).items] == ["b", "a"]  # stops at the end
    assert bf.move(b, "zzz", 1) is b
    assert [i.id for i in bf.remove(b, "a").items] == ["b"]
    noted = bf.note(b, "b", "  Ask for 2023 figures. ")
    assert [i.note for i in noted.items] == ["", "Ask for 2023 figures."]
    assert bf.retitle(b, "  Home \n to school  ").title == "Home to school"
    assert bf.retitle(b, "   ").title == "Briefing"


def test_item_id_is_the_same_for_the_same_words() -> None:
    assert bf.item_id("p1", 10, 20) == bf.item_id("p1", 10, 20)
    assert len({bf.item_id("p1", 10, 20), bf.item_id("p1", 10, 21), bf.item_id("p2", 10, 20)}) == 3


def test_references() -> None:
    a, b = _briefing().items
    assert bf.heading(a) == "Cabinet, 30 January 2025"
    assert bf.reference(a) == (
        "Cabinet · meeting of 30 January 2025 · item 5 – Revenue and Capital Budget Monitoring Report · "
        "p. 8 (PDF p. 10) · kent/cabinet/2025-01-30/Printed minutes 30th-Jan-2025 10.00 Cabinet.pdf"
    )
    assert bf.paper_reference(a) == "kent/cabinet/2025-01-30/Printed minutes 30th-Jan-2025 10.00 Cabinet.pdf, p. 8 (PDF p. 10)"
    assert bf.heading(b) == "Overview and Scrutiny Committee, 7 November 2022"
    assert bf.reference(b) == (
        "Overview and Scrutiny Committee · minutes of 7 November 2022, in the pack for 31 January 2023 · "
        "pp. 11–15 · sefton/000_74252e79d0a85765.txt"
    )


def test_markdown_export() -> None:
    b = bf.note(_briefing(), "b", "Ask for the 2023 figure.")
    assert bf.to_markdown(b, prepared=date(2025, 2, 3)) == (
        "# Budget and SEND\n"
        "\n"
        "Prepared 3 February 2025. 2 quotes, word for word from the committee papers; each with its "
        "committee, meeting, agenda item, page and paper.\n"
        "\n"
        "## 1. Cabinet, 30 January 2025\n"
        "\n"
        "> NOTE the forecast revenue overspend of £23.3m.\n"
        "\n"
        "Reference: Cabinet · meeting of 30 January 2025 · item 5 – Revenue and Capital Budget Monitoring "
        "Report · p. 8 (PDF p. 10) · kent/cabinet/2025-01-30/Printed minutes 30th-Jan-2025 10.00 Cabinet.pdf  \n"
        "Paper: kent/cabinet/2025-01-30/Printed minutes 30th-Jan-2025 10.00 Cabinet.pdf, p. 8 (PDF p. 10)\n"
        "\n"
        "Found for the question: “What was the overspend?”\n"
        "\n"
        "## 2. Overview and Scrutiny Committee, 7 November 2022\n"
        "\n"
        "> Requests for EHC Assessments\n"
        ">\n"
        "> 2020 – 412\n"
        ">\n"
        "> 2021 – 602\n"
        "\n"
        "Reference: Overview and Scrutiny Committee · minutes of 7 November 2022, in the pack for 31 January "
        "2023 · pp. 11–15 · sefton/000\\_74252e79d0a85765.txt  \n"
        "Paper: sefton/000\\_74252e79d0a85765.txt, pp. 11–15\n"
        "\n"
        "Note: Ask for the 2023 figure.\n"
    )


def test_markdown_export_escapes_markup_from_papers() -> None:
    item = bf.BriefingItem(
        id="x",
        text="<script>alert(1)</script> ![t](http://e.com/t.png)\n# not a heading\n\n- 1. a list?",
        citation=EARLIER,
        note="see *this*",
    )
    md = bf.to_markdown(bf.Briefing(title="<b>T</b>", items=(item,)), prepared=date(2025, 1, 1))
    assert "# \\<b\\>T\\</b\\>" in md
    # A heading marker is escaped where it would start a line; inside a paragraph it is text.
    assert "> \\<script\\>alert(1)\\</script\\> !\\[t\\](http://e.com/t.png) # not a heading" in md
    assert "> \\- 1. a list?" in md
    assert "Note: see \\*this\\*" in md
    assert "<script>" not in md and "![t]" not in md


def _docx_text(data: bytes) -> list[str]:
    from docx import Document

    return [p.text for p in Document(io.BytesIO(data)).paragraphs]


def test_word_export_has_quotes_and_full_references() -> None:
    b = bf.note(_briefing(), "a", "Compare with the September report.")
    paragraphs = _docx_text(bf.to_docx(b, prepared=date(2025, 2, 3)))
    assert paragraphs[0] == "Budget and SEND"
    assert paragraphs[1].startswith("Prepared 3 February 2025. 2 quotes")
    assert paragraphs[2:9] == [
        "1. Cabinet, 30 January 2025",
        "NOTE the forecast revenue overspend of £23.3m.",
        "Reference: " + bf.reference(b.items[0]),
        "Paper: kent/cabinet/2025-01-30/Printed minutes 30th-Jan-2025 10.00 Cabinet.pdf, p. 8 (PDF p. 10)",
        "Found for the question: “What was the overspend?”",
        "Note: Compare with the September report.",
        "2. Overview and Scrutiny Committee, 7 November 2022",
    ]
    assert paragraphs[9:12] == ["Requests for EHC Assessments", "2020 – 412", "2021 – 602"]


def test_word_export_drops_characters_xml_cannot_hold() -> None:
    item = bf.BriefingItem(id="x", text="Page one\x0cPage two\x00.", citation=MINUTES, note="a\x01b")
    paragraphs = _docx_text(bf.to_docx(bf.Briefing(items=(item,)), prepared=date(2025, 1, 1)))
    assert "Page one Page two." in paragraphs  # the form feed is white space between words
    assert "Note: ab" in paragraphs


def _unescape(md: str) -> str:
    return re.sub(r"\\(.)", r"\1", md, flags=re.DOTALL)


@given(st.text(max_size=200))
def test_escaping_keeps_every_character(text: str) -> None:
    md = bf.escape_markdown(text)
    assert _unescape(md) == text
    # No markup character is left bare: each is preceded by a backslash.
    bare = re.sub(r"\\.", "", md, flags=re.DOTALL)
    assert not set(bare) & set("\\`*_{}[]()#+-.!|<>~$:&=^\"'%/@")


def test_escaping_hostile_text() -> None:
    assert bf.escape_markdown("<script>alert(1)</script>") == "\\<script\\>alert\\(1\\)\\<\\/script\\>"
    assert bf.escape_markdown(":red[x] $x$") == "\\:red\\[x\\] \\$x\\$"
