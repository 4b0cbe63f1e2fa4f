"""Answers: verbatim quotes at the offsets they cite, page citations, abstention, merging;
conversations: follow-ups, narrowing in words, save and restore."""

import re
import shutil
from pathlib import Path

import pytest

from index.embed import HashingEmbedder
from index.folder import ingest, open_index
from index.model import Filters
from qa.answer import answer, unknown_words
from qa.chat import Conversation, Turn, ask, resolve
from qa.query import BadQuestion
from qa.render import answer_json, citation_line, page_text

REPO = Path(__file__).resolve().parent.parent


def words(text: str) -> str:
    """A text's words, for comparing a quote with a page whatever the spacing."""
    return " ".join(re.findall(r"[a-z0-9£]+", text.lower()))

UPDATE = REPO / "samples" / "sefton" / "004_ef26fe128a3892ff.txt"
MINUTES = REPO / "tests" / "data" / "kent-cabinet-printed-minutes-2025-01-30.pdf"


@pytest.fixture(scope="module")
def idx(tmp_path_factory):
    papers = tmp_path_factory.mktemp("papers")
    shutil.copy(UPDATE, papers / UPDATE.name)
    shutil.copy(MINUTES, papers / MINUTES.name)
    index_dir = tmp_path_factory.mktemp("index") / "idx"
    ingest([papers], index_dir, HashingEmbedder(64))
    return open_index(index_dir, HashingEmbedder(64))


def test_quotes_are_verbatim_at_their_offsets_and_cite_their_page(idx):
    ans = answer(idx, "draw down an additional £9 million from the corporate ICT reserve")
    assert not ans.abstained and 1 <= len(ans.quotes) <= 5
    for q in ans.quotes:
        paper = idx.papers[q.citation.source]
        assert paper.text[q.start : q.end].strip() == q.text
    top = ans.quotes[0]
    assert "additional £9 million" in " ".join(top.text.split())
    assert top.citation.source == MINUTES.name
    assert top.citation.page == 10 and top.citation.printed_page == "10"
    assert top.citation.committee == "Cabinet" and top.citation.meeting_date == "2025-01-30"


def test_quote_is_a_sentence_or_three_not_a_passage(idx):
    ans = answer(idx, "How many children have been adopted this year and how many are waiting?")
    top = ans.quotes[0]
    assert "14 children have been adopted" in top.text
    assert len(top.text.split()) <= 80


def test_a_word_the_papers_never_use_means_abstention_with_nearest_matches(idx):
    assert unknown_words(idx, "How many potholes were repaired?") == ["potholes"]
    ans = answer(idx, "How many potholes were repaired in 2024?")
    assert ans.abstained and not ans.quotes
    assert "potholes" in ans.reason and "nearest matches" in ans.reason
    assert ans.nearest


def test_answer_json_has_the_contract_fields(idx):
    data = answer_json(answer(idx, "Improvement Board convened"))
    assert set(data) >= {"abstained", "quotes", "passages"}
    quote = data["quotes"][0]
    for field in ("text", "source", "doc", "page", "page_end", "printed_page", "committee", "meeting_date", "agenda_item", "item_title"):
        assert field in quote
    assert "score" in data["passages"][0]


def test_citation_lines():
    assert page_text(8, 8, "6") == "p. 6 (PDF p. 8)"
    assert page_text(11, 15, None) == "pp. 11–15"
    assert page_text(None, None, None) is None

    class C:
        committee = "Overview and Scrutiny Committee"
        meeting_date = "2022-12-20"
        pack_date = "2023-01-31"
        agenda_item = "3"
        item_title = "Minutes of the Previous Meeting"
        page, page_end, printed_page, printed_page_end = 5, 5, None, None
        source = "pack.txt"

    assert citation_line(C) == (
        "Overview and Scrutiny Committee · minutes of 20 December 2022, in the pack for 31 January 2023 · "
        "item 3 – Minutes of the Previous Meeting · p. 5 · pack.txt"
    )


def test_follow_up_and_narrowing_in_words():
    conv = Conversation(turns=(Turn("How many children were adopted in 2021?", "How many children were adopted in 2021?"),))
    # The new topic takes the place of the previous question's most specific word.
    assert resolve(conv, "and fostering?", []).question == "How many children were fostering in 2021?"
    rarity = {"children": 0.3, "adopted": 1.9}.get
    assert resolve(conv, "what about fostering?", [], lambda w: rarity(w, 0.0)).question == (
        "How many children were fostering in 2021?"
    )
    budget = Conversation(turns=(Turn("q", "What did Cabinet decide about the library budget?"),))
    assert resolve(budget, "and the waste budget?", []).question == "What did Cabinet decide about the waste budget?"
    # A question leaning on the last one carries its topic along.
    assert resolve(conv, "what did they decide?", []).question == "what did they decide? (children adopted 2021)"
    narrowed = resolve(conv, "only Cabinet since 2023", ["Cabinet", "County Council"])
    assert narrowed.question == "How many children were adopted in 2021?"
    assert narrowed.filters == Filters(committees=("Cabinet",), date_from="2023-01-01")
    scrutiny = ["Overview and Scrutiny Committee (Children's Services)", "Cabinet"]
    assert resolve(conv, "only scrutiny", scrutiny).filters.committees == (scrutiny[0],)
    with pytest.raises(BadQuestion, match="no committee called 'Planning'.*Cabinet"):
        resolve(conv, "only Planning", scrutiny)
    # A new question stands on its own.
    assert resolve(conv, "What is the council's reserves policy for schools?", []).question == (
        "What is the council's reserves policy for schools?"
    )


def test_conversation_is_a_value_that_round_trips(idx):
    conv, first = ask(Conversation(), idx, "How many children have been adopted?")
    conv, second = ask(conv, idx, "only Cabinet")
    assert conv.filters.committees == ("Cabinet",)
    assert all(q.citation.committee == "Cabinet" for q in second.quotes)
    restored = Conversation.from_json(conv.to_json())
    assert restored == conv


def test_quote_starts_after_a_heading_glued_to_its_sentence():
    from index.model import Passage
    from qa.answer import _after_heading

    text = "3. MINUTES OF THE PREVIOUS MEETING The Committee considered the Minutes of the meetings held on 21 March."
    p = Passage.from_json({**_passage_fields(), "text": text, "start": 100, "end": 100 + len(text)})
    start = _after_heading(p, 100, 100 + len(text))
    assert text[start - 100 :].startswith("The Committee considered")
    # A resolution keeps its "RESOLVED:" — one capitals word is not a heading.
    text2 = "RESOLVED: That the report be noted and the actions be agreed by the Board."
    p2 = Passage.from_json({**_passage_fields(), "text": text2, "start": 0, "end": len(text2)})
    assert _after_heading(p2, 0, len(text2)) == 0


def _passage_fields() -> dict:
    return {
        "id": "x", "doc": "d", "source": "d.txt", "text": "", "start": 0, "end": 0, "page": 1, "page_end": 1,
        "printed_page": None, "printed_page_end": None, "committee": "", "meeting_date": None, "pack_date": None,
        "kind": "minutes", "agenda_item": None, "item_title": None, "section": None, "context": "",
        "is_table": False, "content_hash": "h",
    }


def test_pdf_quotes_read_word_for_word_on_their_cited_page(idx):
    """The sentence about the social care grant runs from p. 12 onto p. 13 of the minutes,
    where a page-number header stands between; the quote must keep to one page."""
    from pypdf import PdfReader

    raw_pages = [words(page.extract_text()) for page in PdfReader(MINUTES).pages]
    questions = [
        "Kent was due to receive a significantly lower allocation of the social care grant within the proposed settlement",
        "Birmingham City Council per head compared to Kent's allocation",
        "draw down an additional £9 million from the corporate ICT reserve",
    ]
    checked = 0
    for question in questions:
        for quote in answer(idx, question).quotes:
            if quote.citation.source != MINUTES.name:
                continue
            assert quote.citation.page == quote.citation.page_end
            assert words(quote.text) in raw_pages[quote.citation.page - 1]
            checked += 1
    assert checked >= 3


PACK_2023 = REPO / "samples" / "sefton" / "000_74252e79d0a85765.txt"


@pytest.fixture(scope="module")
def pack_idx(tmp_path_factory):
    papers = tmp_path_factory.mktemp("pack")
    shutil.copy(PACK_2023, papers / PACK_2023.name)
    index_dir = tmp_path_factory.mktemp("index") / "pack"
    ingest([papers], index_dir, HashingEmbedder(64))
    return open_index(index_dir, HashingEmbedder(64))


def test_text_export_quotes_are_unbroken_runs_of_the_file(pack_idx):
    """In the 31 January 2023 pack a paragraph runs "…to create a new base for", then the
    page stamp "Agenda Item 5", then "cognition and learning…". The paper's text leaves the
    stamp out, so a quote across it would not be one run of the file: it keeps to one side."""
    raw = words(PACK_2023.read_text(encoding="utf-8"))
    assert "create a new base for agenda item 5 cognition and learning" in raw  # the stamp stands between
    questions = [
        "Formby High School new base for cognition and learning 40 additional resourced places",
        "More significant projects have been agreed to take place at Formby High School",
        "adaptation work at the former St Teresa's Infants School site",
    ]
    checked = 0
    for question in questions:
        for quote in answer(pack_idx, question).quotes:
            assert words(quote.text) in raw, quote.text[:120]
            checked += 1
    assert checked >= 3
