"""The app's Decisions view, decision questions in the chat, and What changed in the Library:
Streamlit's AppTest over a small index (HashingEmbedder) of papers that hold decisions at
several meetings: two Sefton agenda packs (2017, 2023, with the minutes of earlier
meetings), Kent's County Council devolution report and minutes (9 January 2025) and Kent's
Cabinet minutes of 9 and 30 January 2025."""

from __future__ import annotations

import re
import shutil
import sys
from datetime import datetime
from pathlib import Path

import pytest
from conftest import REPO, SAMPLES

if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

AppTest = pytest.importorskip("streamlit.testing.v1").AppTest

from test_app import MODEL, open_app, plain, static_serving, view  # noqa: E402, F401  (the fixture applies here too)

import app  # noqa: E402

KENT = SAMPLES / "kent"
VIEW_PAPERS = (
    SAMPLES / "sefton" / "000_74252e79d0a85765.txt",
    SAMPLES / "sefton" / "001_92f4cf0ba82fb1ac.txt",
    KENT / "county-council" / "2025-01-09" / "Devolution White Paper - County Council Report - FINAL.pdf",
    KENT / "county-council" / "2025-01-09" / "Printed minutes 09th-Jan-2025 10.00 County Council.pdf",
    KENT / "cabinet" / "2025-01-30" / "Minutes of the meeting held on 9th January 2025.pdf",
    KENT / "cabinet" / "2025-01-30" / "Printed minutes 30th-Jan-2025 10.00 Cabinet.pdf",
)
DEVOLUTION_ASK = "What has been decided about the devolution white paper?"
PROPOSED = ":orange-badge[:material/pending: Proposed — not yet decided]"
RESOLVED = ":green-badge[:material/gavel: Resolved]"


def build_views_index(root: Path) -> Path:
    from index.embed import HashingEmbedder
    from index.folder import ingest

    papers = root / "papers"
    papers.mkdir(parents=True)
    for p in VIEW_PAPERS:
        shutil.copyfile(p, papers / p.name)
    ingest([papers], root / "index", HashingEmbedder(64))
    return root / "index"


@pytest.fixture(scope="module")
def views_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_views_index(tmp_path_factory.mktemp("views"))


@pytest.fixture
def at(views_index: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> AppTest:
    return open_app(monkeypatch, views_index, tmp_path / "uploads")


# --- reading the page ------------------------------------------------------------------


def find(node, key: str):
    """The block (a keyed container) with ``key`` under ``node``, or None."""
    if getattr(node, "key", None) == key:
        return node
    for child in (node.children.values() if isinstance(getattr(node, "children", None), dict) else ()):
        found = find(child, key)
        if found is not None:
            return found
    return None


def texts(node, types=("markdown", "caption")) -> list[str]:
    """The Markdown of every text element under ``node``, in page order; expanders left out
    (a card's Show in paper holds its whole page)."""
    if getattr(node, "type", None) == "expander":
        return []
    out = [node.value] if getattr(node, "type", None) in types else []
    for child in (node.children.values() if isinstance(getattr(node, "children", None), dict) else ()):
        out += texts(child, types)
    return out


def cards(at: AppTest, prefix: str) -> list:
    """The cards keyed prefix0, prefix1, … in order."""
    found = []
    while (card := find(at.main, f"{prefix}{len(found)}")) is not None:
        found.append(card)
    return found


def meeting_of(card) -> datetime:
    """The meeting date in a card's citation line."""
    line = plain(next(t for t in texts(card) if t.startswith(":material/description: ")))
    return datetime.strptime(re.search(r"(?:meeting|minutes) of (\d{1,2} \w+ \d{4})", line).group(1), "%d %B %Y")


def decisions(at: AppTest, topic: str, committee: str | None = None) -> AppTest:
    view(at, "Decisions")
    if committee:
        at.selectbox(key="d-committee").set_value(committee)
    at.text_input(key="d-topic").input(topic).run()
    assert not at.exception, at.exception
    return at


# --- the Decisions view ------------------------------------------------------------------


def test_decisions_view_lists_the_timeline_in_meeting_order_with_kind_badges(at: AppTest) -> None:
    decisions(at, "the work programme")
    found = cards(at, "decision-")
    assert len(found) >= 4
    dates = [meeting_of(c) for c in found]
    assert dates == sorted(dates) and len(set(dates)) >= 3
    # Each date opens one heading, oldest first, before its cards.
    headings = [plain(m.value).removeprefix("##### :material/event: ") for m in at.main.markdown if m.value.startswith("##### :material/event:")]
    assert [datetime.strptime(h, "%d %B %Y") for h in headings] == sorted(set(dates))
    badges = {}
    for card in found:
        badge, words = texts(card)[:2]
        kind = PROPOSED if plain(words).startswith("“Recommendation") else RESOLVED
        assert badge.startswith(kind), (badge, words[:80])  # a recommendation is never shown as decided
        badges[kind] = badges.get(kind, 0) + 1
    assert badges[PROPOSED] >= 2 and badges[RESOLVED] >= 2
    # The on-topic sub-item is in bold; the citation names the committee and meeting.
    assert any("**\\(1\\) the Work Programme for 2017\\/18" in texts(c)[1] for c in found)
    assert "Overview and Scrutiny Committee" in plain(texts(found[0])[2])


def test_decisions_view_on_a_topic_without_decisions_says_so_and_shows_the_nearest(at: AppTest) -> None:
    decisions(at, "a zebra on the seafront promenade")
    assert cards(at, "decision-") == []
    assert [plain(w.value) for w in at.warning] == ["No decision or recommendation on “a zebra on the seafront promenade” in the indexed papers."]
    assert any(m.value.startswith("**Nearest matches — not decisions**") for m in at.markdown)
    nearest = cards(at, "nearest-")
    assert nearest and all(texts(n)[1].startswith(":material/description: ") for n in nearest)


def test_decisions_view_narrows_to_a_committee(at: AppTest) -> None:
    decisions(at, "the work programme", committee="County Council")
    found = cards(at, "decision-")
    assert found
    assert all(plain(texts(c)[2]).startswith(":material/description: County Council · ") for c in found)
    assert any(plain(c.value) == "Only: County Council" for c in at.caption)


def test_a_decision_goes_into_the_briefing_with_its_citation(at: AppTest) -> None:
    decisions(at, "the devolution white paper")
    # The County Council's resolution, wherever it stands among the meeting's proposals.
    n = next(i for i, c in enumerate(cards(at, "decision-")) if any("26) RESOLVED that the County Council" in plain(t) for t in texts(c)))
    at.button(key=f"add-decision-{n}").click().run()
    (item,) = at.session_state.briefing.items
    assert item.text.startswith("26) RESOLVED that the County Council:") and item.citation.page == 10
    assert item.question == "the devolution white paper"
    assert at.button(key=f"add-decision-{n}").label == "In the briefing"


# --- decision questions in the chat ----------------------------------------------------


def test_chat_answers_a_decision_question_with_the_timeline(at: AppTest) -> None:
    at.chat_input[0].set_value(DEVOLUTION_ASK).run()
    assert not at.exception, at.exception
    found = cards(at, "decision-0-")
    assert len(found) >= 2 and find(at.main, "quote-0-0") is None
    badges = [texts(c)[0] for c in found]
    assert badges[0].startswith(PROPOSED) and any(b.startswith(RESOLVED) for b in badges)
    assert "Endorses the ongoing joint work" in plain(texts(found[-1])[1])
    # The timeline is kept with the turn: it is drawn again on the next run.
    assert at.session_state.history[0].timeline.topic == "the devolution white paper"
    at.run()
    assert len(cards(at, "decision-0-")) == len(found)
    # A question that is not about decisions still gets quotes.
    at.chat_input[0].set_value("What will the Devolution Priority Programme commit Kent and Medway to?").run()
    assert find(at.main, "decision-1-0") is None
    assert find(at.main, "quote-1-0") is not None or find(at.main, "nearest-1-0") is not None


# --- what changed, in the Library ---------------------------------------------------------


def test_library_changes_show_each_changed_passage_side_by_side_with_marked_words(at: AppTest) -> None:
    view(at, "Library")
    at.selectbox(key="changes-committee").set_value("Cabinet").run()
    assert not at.exception, at.exception
    page = [plain(m.value) for m in at.main.markdown]
    assert any("meeting of **30 January 2025**, compared with the meeting before, **9 January 2025" in p for p in page)
    assert any(p.startswith("- :green-badge[NEW] 5. 24/00108") for p in "\n".join(page).split("\n"))
    # Apologies: "No apologies were received." became "Apologies were received from Mrs C Bell."
    change = next(c for c in (find(at.main, f"change-0-{i}") for i in range(5)) if c and "Mrs C Bell" in plain(" ".join(texts(c))))
    left, right = change.children[len(change.children) - 1].children.values()
    before, after = texts(left), texts(right)
    assert plain(before[0]).startswith("**Before** · 9 January 2025") and plain(after[0]).startswith("**After** · 30 January 2025")
    assert ":red-background[**No apologies**]" in before[1]
    assert ":green-background[**from Mrs C Bell**]" in after[1]
    assert "Minutes of the meeting held on 9th January 2025" in plain(before[2])
    assert "Printed minutes 30th\\-Jan\\-2025" in after[2] or "Printed minutes 30th-Jan-2025" in plain(after[2])
    # The figures a passage changed are listed above it; a minute's number alone ("76." → "84.") is no change.
    badges = [plain(t) for i in range(20) if (c := find(at.main, f"change-{i // 5}-{i % 5}")) for t in texts(c)
              if plain(t).startswith(":orange-badge[Figures]")]
    assert any("28, November, 2024 → " in b for b in badges)
    assert not any(b.startswith(":orange-badge[Figures] 76 → 84") for b in badges)
    # The decisions of the meeting, compact, with their badges.
    assert cards(at, "decision-changes-") and texts(cards(at, "decision-changes-")[0])[0].startswith(RESOLVED)


def test_changes_for_a_first_meeting_say_there_is_nothing_earlier(at: AppTest) -> None:
    view(at, "Library")
    at.selectbox(key="changes-committee").set_value("County Council").run()
    assert any("its first in the index: nothing earlier to compare with" in plain(m.value) for m in at.main.markdown)
    assert find(at.main, "change-0-0") is None


# --- the helpers -------------------------------------------------------------------------


def test_marked_words_stay_text_however_they_look() -> None:
    text = "Fees rose to <b>£5</b> from :red[£4]."
    shown = app.marked_markdown(text, [(text.index("<b>"), text.index(" from"))], app.MARK_NEWER)
    assert shown == "“Fees rose to :green-background[**\\<b\\>£5\\<\\/b\\>**] from \\:red\\[£4\\]\\.”"
    # Marks at the ends do not hide that the words start and stop mid-sentence.
    assert app.marked_markdown("and 894 young", [(4, 13)]) == "“… and **894 young** …”"


def test_figure_change_reads_older_to_newer() -> None:
    from test_changes import OLDER, paper

    from qa.changes import compare

    (c,) = compare(paper(OLDER), paper(OLDER.replace("894", "925"), "b.pdf"))
    assert app.figure_change(c) == "894 → 925"
