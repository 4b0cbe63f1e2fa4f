"""What changed (qa.changes): hand-made papers with hand-worked answers, the Kent samples,
and the ``changes`` command's JSON."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from conftest import SAMPLES

from index.model import PageSpan, Paper
from index.store import Catalogue, PaperEntry
from qa.changes import UnknownCommittee, compare, match_committee, meetings, since_last

KENT_CC = SAMPLES / "kent" / "county-council" / "2025-01-09"
DEVOLUTION = KENT_CC / "Devolution White Paper - County Council Report - FINAL.pdf"
CC_MINUTES = KENT_CC / "Printed minutes 09th-Jan-2025 10.00 County Council.pdf"


def paper(text: str, source: str = "a.pdf") -> Paper:
    return Paper(source=source, doc=Path(source).stem, format="pdf", text=text,
                 pages=(PageSpan(0, len(text), 1, 1, "7"),), content_hash=source, committee="Cabinet",
                 meeting_date="2025-01-30")


OLDER = ("1. Introduction\n\n1.2 As of October, the service was working with 894 young adults.\n\n"
         "1.3 It is proposed to transfer the functions from 1 April 2025.\n")


def test_one_changed_figure_is_one_changed_passage_marked_on_both_sides():
    newer = OLDER.replace("894", "925")
    found = compare(paper(OLDER), paper(newer, "b.pdf"))
    assert len(found) == 1
    c = found[0]
    assert c.kind == "figure" and c.figures == ("894", "925")
    assert [c.older.text[s:e] for s, e in c.older_marked] == ["894"]
    assert [c.newer.text[s:e] for s, e in c.newer_marked] == ["925"]
    assert c.older.text == "1.2 As of October, the service was working with 894 young adults."
    assert (c.older.citation.page, c.older.citation.printed_page, c.newer.citation.source) == (1, "7", "b.pdf")


def test_whitespace_and_layout_only_differences_are_no_change():
    newer = OLDER.replace("working with", "working\n  with").replace("\n\n1.3", "\n \n \n1.3")
    assert compare(paper(OLDER), paper(newer, "b.pdf")) == ()


def test_a_sentence_running_over_a_page_break_is_one_paragraph():
    text = "1.2 The service is responsible.  As of October\n\n2024, it was working with 894 young adults.\n"
    newer = text.replace("October\n\n2024", "January\n\n2025").replace("894", "925")
    cut = text.index("\n\n")
    pages = lambda t: (PageSpan(0, t.index("\n\n"), 1, 1), PageSpan(t.index("\n\n") + 2, len(t), 2, 2))  # noqa: E731
    older_paper = Paper("a.pdf", "a", "pdf", text, pages(text), "a")
    newer_paper = Paper("b.pdf", "b", "pdf", newer, pages(newer), "b")
    (c,) = compare(older_paper, newer_paper)
    assert c.older.text == text.strip() and cut > 0
    assert [c.newer.text[s:e] for s, e in c.newer_marked] == ["January\n\n2025", "925"]
    assert (c.older.citation.page, c.older.citation.page_end) == (1, 2)


def test_kent_devolution_recommendations_against_the_resolution():
    """The County Council report's recommendations (p1) and the minuted resolution (p10):
    'Endorse' became 'Endorses', 'Note' 'Notes'."""
    from index.read import read_paper

    report, minutes = read_paper(DEVOLUTION), read_paper(CC_MINUTES)
    found = compare(report, minutes)
    endorses = [c for c in found if c.newer and "Endorses the ongoing joint work" in c.newer.text]
    assert endorses
    c = endorses[0]
    assert "Endorse the ongoing joint work" in c.older.text
    assert "Endorses" in [c.newer.text[s:e] for s, e in c.newer_marked]
    assert c.newer.citation.page == 10
    # Figures first, then wording: the kinds are in order.
    order = {"figure": 0, "wording": 1, "added": 2, "removed": 2, "case": 3}
    assert [order[c.kind] for c in found] == sorted(order[c.kind] for c in found)


def test_the_same_report_twice_compares_its_summary_with_its_body():
    """The devolution report prints its recommendations on p1 and again in section 5 (p7),
    without '[Cabinet]' the second time."""
    from index.read import read_paper

    report = read_paper(DEVOLUTION)
    found = compare(report, report)
    cabinet = [c for c in found if any(c.older.text[s:e] == "[Cabinet]" for s, e in c.older_marked)]
    assert cabinet and cabinet[0].older.citation.page == 1 and cabinet[0].newer.citation.page == 7


def entry(source: str, committee: str | None, date: str | None) -> PaperEntry:
    return PaperEntry(source, Path(source).stem, source, "report", committee, date, None, 1, 1)


CATALOGUE = Catalogue(
    papers=(
        entry("b.pdf", "Cabinet", "2025-01-30"),
        entry("a.pdf", "Cabinet", "2024-12-12"),
        entry("c.pdf", "Cabinet", "2025-01-30"),
        entry("d.pdf", "County Council", "2025-01-09"),
        entry("e.pdf", "Overview and Scrutiny Committee (Children's Services and", "2023-01-31"),
        entry("f.pdf", "Overview and Scrutiny Committee (Children's Services and Safeguarding)", "2017-09-26"),
        entry("g.pdf", None, None),
    ),
    created=None, model="m", kinds=(), dates=(),
)


def test_meetings_oldest_first_once_each():
    assert meetings(CATALOGUE, "cabinet") == ("2024-12-12", "2025-01-30")
    # A name cut short in some papers is the same committee.
    assert meetings(CATALOGUE, "overview") == ("2017-09-26", "2023-01-31")


def test_an_unknown_or_ambiguous_committee_says_which_names_there_are():
    with pytest.raises(UnknownCommittee) as err:
        match_committee(CATALOGUE, "Planning")
    assert "Cabinet" in str(err.value) and "County Council" in str(err.value)
    with pytest.raises(UnknownCommittee, match="could be any of"):
        match_committee(CATALOGUE, "C")


class PaperStore:
    """Just what since_last reads of a Store: the catalogue and the papers (and, for the
    decisions it lists, where the index is and which version)."""

    location = "papers-in-memory"

    def __init__(self, papers: dict[str, Paper], catalogue: Catalogue) -> None:
        self.papers, self._catalogue = papers, catalogue

    def version(self) -> str:
        return str(sorted(self.papers))

    def catalogue(self) -> Catalogue:
        return self._catalogue

    def paper(self, source: str) -> Paper | None:
        return self.papers.get(source)


def test_since_last_pairs_the_recurring_report_and_marks_new_items():
    older = paper("Budget Monitoring\n\nThe overspend is £23.3m.\n", "dec.pdf")
    newer = paper("Budget Monitoring\n\nThe overspend is £19.8m.\n", "jan.pdf")
    other = paper("A new strategy for libraries.\n", "lib.pdf")
    cat = Catalogue((PaperEntry("dec.pdf", "dec", "dec.pdf", "report", "Cabinet", "2024-12-12", "Budget Monitoring – December", 1, 1),
                     PaperEntry("jan.pdf", "jan", "jan.pdf", "report", "Cabinet", "2025-01-30", "Budget Monitoring – January", 1, 1),
                     PaperEntry("lib.pdf", "lib", "lib.pdf", "report", "Cabinet", "2025-01-30", "Library Strategy", 1, 1)),
                    None, "m", (), ())
    ch = since_last(PaperStore({"dec.pdf": older, "jan.pdf": newer, "lib.pdf": other}, cat), "cab")
    assert (ch.committee, ch.meeting, ch.previous) == ("Cabinet", "2025-01-30", "2024-12-12")
    assert [p.source for p in ch.new_papers] == ["jan.pdf", "lib.pdf"]
    (r,) = ch.recurring
    assert (r.older.source, r.newer.source) == ("dec.pdf", "jan.pdf")
    (c,) = r.changes
    assert c.figures == ("£23.3m", "£19.8m")
    assert ch.decisions == ()  # none of the three papers records or proposes a decision


def test_cli_changes_json_round_trip(tmp_path, capsys):
    from index.embed import HashingEmbedder
    from index.folder import ingest
    from qa.cli import main

    papers = tmp_path / "papers"
    papers.mkdir()
    for p in (DEVOLUTION, CC_MINUTES):
        shutil.copyfile(p, papers / p.name)
    ingest([papers], tmp_path / "index", HashingEmbedder())
    index = str(tmp_path / "index")

    assert main(["changes", "county", "--index", index, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert (out["committee"], out["meeting"], out["previous"]) == ("County Council", "2025-01-09", None)
    assert len(out["new_papers"]) == 2
    # The meeting's own resolution, and the report's recommendations put to it.
    kinds = {(d["kind"], d["citation"]["doc"][:12]) for d in out["decisions"]}
    assert ("resolution", "Printed minu") in kinds and ("proposal", "Devolution W") in kinds

    assert main(["changes", "--older", "Devolution White Paper", "--newer", "Printed minutes", "--index", index, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    found = [c for c in out["changes"] if c["newer"] and "Endorses the ongoing" in c["newer"]["text"]]
    assert found
    newer = found[0]["newer"]
    assert "Endorses" in [newer["text"][s:e] for s, e in newer["marked"]]
    assert newer["page"] == 10 and newer["citation"].endswith(newer["source"])

    assert main(["changes", "Planning", "--index", index]) == 1
    assert "County Council" in capsys.readouterr().err


def test_two_packs_are_compared_report_by_report():
    from dataclasses import replace

    from index.model import Span
    from qa.changes import compare_papers

    def pack(budget: str, plan: str, source: str) -> Paper:
        text = f"Budget Monitoring\n\nThe overspend is {budget}.\n\nLibrary Plan\n\nThe plan opens {plan} libraries.\n"
        cut = text.index("Library Plan")
        return replace(paper(text, source), items=(Span(0, cut, "5", "Budget Monitoring"), Span(cut, len(text), "6", "Library Plan")))

    older, newer = pack("£23.3m", "four", "dec.pdf"), pack("£19.8m", "six", "jan.pdf")
    found = compare_papers(older, newer)
    # Each report against itself: the budget's figure and the plan's number, each once.
    assert sorted(c.figures for c in found if c.figures) == [("£23.3m", "£19.8m")]
    assert {c.newer.citation.agenda_item for c in found} == {"5", "6"}
    assert all(c.older.citation.agenda_item == c.newer.citation.agenda_item for c in found)


def test_find_paper_prefers_a_file_name_that_starts_with_the_name():
    from qa.changes import UnknownPaper, find_paper

    def entry(source):
        return PaperEntry(source, Path(source).stem, source, "report", "Cabinet", "2025-01-30", None, 1, 1)

    cat = Catalogue((entry("cab/24-00109 - Transfer - Report.pdf"), entry("cab/Item 7 - Supplementary - 24-00109 - Transfer.pdf")),
                    None, "m", (), ())
    assert find_paper(cat, "24-00109 - Transfer").source == "cab/24-00109 - Transfer - Report.pdf"
    assert find_paper(cat, "Item 7").source == "cab/Item 7 - Supplementary - 24-00109 - Transfer.pdf"
    with pytest.raises(UnknownPaper, match="could be any of"):
        find_paper(cat, "00109")


def test_a_minute_renumbered_at_the_next_meeting_is_not_a_change():
    older = paper("76. Apologies (Item 1)\n\nNo apologies were received.\n", "dec.pdf")
    newer = paper("84. Apologies (Item 1)\n\nApologies were received from Mrs C Bell.\n", "jan.pdf")
    (c,) = compare(older, newer)  # the apologies changed; the minute's number alone is not news
    assert "Mrs C Bell" in c.newer.text
