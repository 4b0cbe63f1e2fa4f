"""The Streamlit app, run in-process by ``streamlit.testing.v1.AppTest`` against a small index
built with the model-free HashingEmbedder: asking, follow-ups, filters, quote cards with
citations and links to the PDF page, the briefing and its exports, uploads, and paper text
that tries to be markup."""

from __future__ import annotations

import hashlib
import io
import os
import re
import shutil
import sys
from datetime import date
from pathlib import Path

import pytest
from conftest import KENT_MINUTES, REPO, SEFTON_SMALL, SEFTON_UPDATE

if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))  # app.py sits at the top of the repository, outside the packages

AppTest = pytest.importorskip("streamlit.testing.v1").AppTest

import app  # noqa: E402  (its helpers; importing does not run main())
from index.model import Filters, PageSpan, Paper  # noqa: E402

MODEL = "hashing-64"
# A paper whose words try to be HTML, a script, a Markdown image and Streamlit markup.
HOSTILE_TEXT = (
    "CABINET MEMBER UPDATE REPORT Licensing Committee 12 March 2024\t\t\n"
    "Councillor\tPortfolio\tDate\n"
    "A Member\tCabinet Member Licensing\t12 March 2024\n"
    "\n"
    "Street trading consultation. One consultation response about street trading pitches arrived with "
    "<script>alert(1)</script> pasted into it, with <b>bold</b> markup, an <img src=x onerror=alert(2)> tag, "
    ":red[coloured] text and a markdown image link ![tracker](http://example.com/t.png) which the officers "
    "have kept exactly as typed.\n"
    "\n"
    "The committee will review the street trading pitch fees in June.\n"
)
HOSTILE_BITS = ("<script>alert(1)</script>", "<b>bold</b>", "<img src=x onerror=alert(2)>", ":red[coloured]", "![tracker](http://example.com/t.png)")
IMPROVEMENT_BOARD = "How often does the Improvement Board meet?"
OVERVIEW = "Overview and Scrutiny Committee (Children's Services and Safeguarding)"
# Asked as a question of fact: "What was agreed about …" asks for decisions over time (a timeline).
OVERSPEND = "What is the forecast revenue overspend?"


def build_index(root: Path) -> Path:
    """Four papers: two Sefton text exports (2021, 2022), Kent's Cabinet minutes (a PDF,
    2025) and the hostile Licensing paper (2024)."""
    from index.embed import HashingEmbedder
    from index.folder import ingest

    papers = root / "papers"
    papers.mkdir(parents=True)
    for p in (SEFTON_UPDATE, SEFTON_SMALL, KENT_MINUTES):
        shutil.copyfile(p, papers / p.name)
    (papers / "licensing-update.txt").write_text(HOSTILE_TEXT, encoding="utf-8")
    ingest([papers], root / "index", HashingEmbedder(64))
    return root / "index"


@pytest.fixture(scope="module")
def app_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_index(tmp_path_factory.mktemp("app"))


@pytest.fixture(scope="module", autouse=True)
def static_serving():
    """Links to PDFs need Streamlit's static file serving, which .streamlit/config.toml turns
    on; set it here too so the tests do not depend on the folder pytest runs from."""
    from streamlit import config

    before = config.get_option("server.enableStaticServing")
    config.set_option("server.enableStaticServing", True)
    yield
    config.set_option("server.enableStaticServing", before)


def open_app(monkeypatch: pytest.MonkeyPatch, index: Path, uploads: Path) -> AppTest:
    monkeypatch.setenv("COMMITTEE_QA_INDEX", str(index))
    monkeypatch.setenv("COMMITTEE_QA_MODEL", MODEL)
    monkeypatch.setenv("COMMITTEE_QA_UPLOADS", str(uploads))
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    return at


@pytest.fixture
def at(app_index: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> AppTest:
    return open_app(monkeypatch, app_index, tmp_path / "uploads")


def plain(md: str) -> str:
    """What escaped Markdown displays."""
    return re.sub(r"\\(.)", r"\1", md, flags=re.DOTALL)


def unmarked(md: str) -> str:
    """A quote's words without the bold marks that set its best sentence apart."""
    return re.sub(r"(?<!\\)\*\*", "", md)


def test_the_best_sentence_is_marked_inside_its_quote():
    text = "Children's Services continues the journey. The Board has met four times. Its members are listed."
    best = (text.index("The Board"), text.index(" Its"))
    shown = app.quote_markdown(text, best)
    assert shown == "“Children\\'s Services continues the journey\\. **The Board has met four times\\.** Its members are listed\\.”"
    assert plain(unmarked(shown)) == "“" + text + "”"
    # A quote that is only its best sentence has nothing to set apart.
    assert "**" not in app.quote_markdown("The Board has met four times.", (0, 29))


def ask(at: AppTest, question: str) -> AppTest:
    at.chat_input[0].set_value(question).run()
    assert not at.exception, at.exception
    return at


def quotes(at) -> list[str]:
    """The quotes shown, in order, on the page or in one chat message."""
    return [plain(unmarked(m.value)) for m in at.markdown if m.value.startswith("“")]


def citations(at: AppTest) -> list[str]:
    prefix = ":material/description: "
    return [plain(c.value[len(prefix) :]) for c in at.caption if c.value.startswith(prefix)]


def view(at: AppTest, name: str) -> AppTest:
    at.segmented_control(key="view").set_value(name).run()
    assert not at.exception, at.exception
    return at


# --- asking ------------------------------------------------------------------------------


def test_index_summary_in_the_sidebar(at: AppTest) -> None:
    text = " ".join(m.value for m in at.sidebar.markdown)
    # Four papers, each for its own meeting; dates from the 2021 update to the 2025 minutes.
    assert "**4** papers from **4** meetings" in text
    assert "16 November 2021 to 30 January 2025" in plain(text)
    assert "Last updated" in text


def test_ask_gives_quotes_with_citations(at: AppTest) -> None:
    ask(at, IMPROVEMENT_BOARD)
    assert at.chat_message[0].name == "user" and at.chat_message[1].name == "assistant"
    assert "The Improvement Board has convened four times since the last Group meeting and is now held monthly." in quotes(at)[0]
    assert citations(at)[0] == f"{OVERVIEW} · meeting of 16 November 2021 · 004_ef26fe128a3892ff.txt"
    assert at.button(key="add-0-0").label == "Add to briefing"
    # "Show in paper": the paper's text with the quoted words highlighted.
    shown = [m.value for m in at.markdown if ":orange-background[**" in m.value]
    assert any("now held monthly" in plain(v) for v in shown)


def test_follow_up_builds_on_the_question_before(at: AppTest) -> None:
    ask(at, IMPROVEMENT_BOARD)
    ask(at, "and fostering?")
    assert [m.name for m in at.chat_message] == ["user", "assistant", "user", "assistant"]
    searched = [plain(c.value) for c in at.caption if c.value.startswith("Searched for")]
    turns = at.session_state.conversation.turns
    assert [t.asked for t in turns] == [IMPROVEMENT_BOARD, "and fostering?"]
    # The follow-up was made whole from the question before (qa.chat decides how).
    assert searched == [f"Searched for: {turns[1].question}"]
    assert "fostering" in turns[1].question and "Improvement" in turns[1].question
    assert any("Fostering" in q for q in quotes(at))


def test_new_chat_starts_over(at: AppTest) -> None:
    ask(at, IMPROVEMENT_BOARD)
    at.button(key="new-chat").click().run()
    assert not at.chat_message and at.session_state.history == []
    assert at.session_state.conversation.turns == ()
    ask(at, "and fostering?")  # nothing before it now: searched as it stands
    assert not [c for c in at.caption if c.value.startswith("Searched for")]


def test_abstention_shows_nearest_matches_labelled(at: AppTest) -> None:
    ask(at, "How many potholes were filled on the A28?")
    assert "never mention 'potholes'" in plain(at.warning[0].value)
    assert any(m.value.startswith("**Nearest matches**") for m in at.markdown)
    assert not quotes(at) and not [b for b in at.button if b.key and b.key.startswith("add-")]
    assert len(citations(at)) == 3


def test_committee_filter_narrows_results(at: AppTest) -> None:
    ask(at, IMPROVEMENT_BOARD)
    assert any(c.startswith(OVERVIEW) for c in citations(at))
    at.multiselect(key="f-committees").set_value(["Cabinet"]).run()
    at.button(key="new-chat").click().run()
    ask(at, IMPROVEMENT_BOARD)
    assert citations(at) and all(c.startswith("Cabinet · ") for c in citations(at))
    assert [plain(c.value) for c in at.caption if c.value.startswith("Only")] == ["Only: Cabinet"]


def test_date_and_kind_filters_narrow_results(at: AppTest) -> None:
    at.date_input[0].set_value((date(2021, 11, 16), date(2021, 12, 31))).run()
    ask(at, "Who attended the meeting?")
    assert citations(at) and all("16 November 2021" in c for c in citations(at))
    assert "Only: meetings up to 31 December 2021" in [plain(c.value) for c in at.caption]

    at.button(key="new-chat").click().run()
    at.date_input[0].set_value((date(2021, 11, 16), date(2025, 1, 30)))
    at.multiselect(key="f-kinds").set_value(["minutes"]).run()
    ask(at, "Who attended the meeting?")
    assert citations(at) and all(c.endswith(KENT_MINUTES.name) for c in citations(at))


def test_filters_that_exclude_each_other_say_so(at: AppTest) -> None:
    at.multiselect(key="f-committees").set_value(["Cabinet"]).run()
    ask(at, f"{IMPROVEMENT_BOARD} only Licensing Committee")
    assert "Nothing in the papers indexed matches these filters" in plain(at.info[0].value)


def test_quote_from_a_pdf_links_to_its_page(at: AppTest) -> None:
    ask(at, OVERSPEND)
    digest = hashlib.sha256(KENT_MINUTES.read_bytes()).hexdigest()
    first = citations(at)[0]
    assert first.startswith("Cabinet · meeting of 30 January 2025 · ") and first.endswith(KENT_MINUTES.name)
    page = at.session_state.history[0].answer.quotes[0].citation.page  # the PDF's own page index
    assert page and (f" · p. {page} · " in first or f"(PDF p. {page})" in first)
    links = [m.value for m in at.markdown if "app/static/papers/" in m.value]
    # In the index's own folder under static/papers: pruning one index never touches another's.
    key = app.papers_folder(os.environ["COMMITTEE_QA_INDEX"]).name
    assert len(key) == 12 and key != app.papers_folder(str(REPO / "data" / "index")).name
    assert f"[Open the PDF at this page :material/open_in_new:](app/static/papers/{key}/{digest}.pdf#page={page})" in links
    # The link works: the stored original is where Streamlit serves app/static/ from.
    assert (REPO / "static" / "papers" / key / f"{digest}.pdf").read_bytes() == KENT_MINUTES.read_bytes()


class _Files:
    """A store that only has original files: what publish_pdfs asks of one."""

    def __init__(self, files: dict[str, Path]) -> None:
        self.files = files

    def file_for(self, source: str) -> Path | None:
        return self.files.get(source)


def _catalogue(*papers: tuple[str, str]):
    from index.store import Catalogue, PaperEntry

    entries = tuple(PaperEntry(source, Path(source).stem, digest, "minutes", None, None, None, 1, 1) for source, digest in papers)
    return Catalogue(papers=entries, created=None, model=MODEL, kinds=("minutes",), dates=())


CURRENT, NEW, STALE, TEXT = "a" * 64, "b" * 64, "c" * 64, "d" * 64


def test_publishing_takes_down_papers_that_left_the_index(tmp_path: Path) -> None:
    folder, originals = tmp_path / "papers", tmp_path / "originals"
    folder.mkdir()
    originals.mkdir()
    for name in ("current.pdf", "new.pdf", "notes.txt"):
        (originals / name).write_bytes(f"%PDF-1.7 {name}".encode())
    (folder / f"{CURRENT}.pdf").write_bytes(b"%PDF-1.7 current.pdf")  # published before
    (folder / f"{STALE}.pdf").write_bytes(b"%PDF-1.7 a paper no longer in the index")
    foreign = ["README.pdf", "notes.txt", f"{STALE.upper()}.pdf", f"{STALE[:63]}.pdf", f"{STALE}.pdf.part", f"{STALE}.PDF"]
    for name in foreign:
        (folder / name).write_text("not ours")
    (folder / f"{'e' * 64}.pdf").mkdir()  # looks like ours, but a folder: left alone

    store = _Files({"current.pdf": originals / "current.pdf", "new.pdf": originals / "new.pdf", "notes.txt": originals / "notes.txt"})
    catalogue = _catalogue(("current.pdf", CURRENT), ("new.pdf", NEW), ("notes.txt", TEXT), ("gone.pdf", "f" * 64))
    assert app.publish_pdfs(store, catalogue, folder) == {"current.pdf": f"{CURRENT}.pdf", "new.pdf": f"{NEW}.pdf"}
    assert sorted(os.listdir(folder)) == sorted([f"{CURRENT}.pdf", f"{NEW}.pdf", f"{'e' * 64}.pdf", *foreign])
    assert (folder / f"{NEW}.pdf").read_bytes() == b"%PDF-1.7 new.pdf"


def test_pruning_tolerates_a_file_another_session_removed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "papers"
    folder.mkdir()
    (folder / f"{STALE}.pdf").write_text("stale")
    real = os.listdir
    # The other session lists the same stale files and removes one first.
    monkeypatch.setattr(app.os, "listdir", lambda path: [*real(path), f"{NEW}.pdf"])
    assert app.prune_papers(folder, keep={f"{CURRENT}.pdf"}) == [f"{STALE}.pdf"]
    assert real(folder) == []


def test_sessions_publishing_at_once_all_get_every_pdf(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import time
    from concurrent.futures import ThreadPoolExecutor

    link = os.link

    def slow_link(*args) -> None:  # the sessions' steps interleave, as on a busy server
        time.sleep(0.002)
        link(*args)

    monkeypatch.setattr(app.os, "link", slow_link)

    folder, original = tmp_path / "papers", tmp_path / "minutes.pdf"
    original.write_bytes(b"%PDF-1.7 minutes")
    digests = [hashlib.sha256(str(n).encode()).hexdigest() for n in range(20)]
    store = _Files({f"{d}.pdf": original for d in digests})
    catalogue = _catalogue(*((f"{d}.pdf", d) for d in digests))
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: app.publish_pdfs(store, catalogue, folder), range(16)))
    assert all(r == {f"{d}.pdf": f"{d}.pdf" for d in digests} for r in results)
    assert sorted(os.listdir(folder)) == sorted(f"{d}.pdf" for d in digests)  # no part files left


def test_show_in_paper_draws_the_pdf_page_with_the_quote_boxed(at: AppTest, monkeypatch: pytest.MonkeyPatch) -> None:
    from PIL import Image, ImageStat

    from qa.pageimage import render_page

    _Recorder.install(monkeypatch)
    ask(at, "What is the forecast revenue overspend?")
    quote = at.session_state.history[0].answer.quotes[0]
    page = quote.citation.page
    images = at.get("image")
    assert images and images[0].proto.imgs[0].alt == f"Page {page} of {KENT_MINUTES.name}, the quoted words boxed"
    assert [t.label for t in at.tabs][:2] == ["The page", "Its text"]
    # The text view is still there, under its tab, with the quote marked.
    assert any(":orange-background[**" in m.value for m in at.tabs[1].markdown)
    # The picture sent to the browser is the page, drawn whole, the quote boxed on it.
    sent = Image.open(io.BytesIO(_Recorder.media(images[0].proto.imgs[0].url))).convert("RGB")
    drawn = render_page(KENT_MINUTES, page, quote.text)
    assert sent.size == (drawn.width, drawn.height) and drawn.boxes
    b = drawn.boxes[0]
    assert ImageStat.Stat(sent.crop((b.left + 4, b.top + 4, b.right - 4, b.bottom - 4))).median[2] < 200  # amber, not white


def test_a_pdf_that_cannot_be_drawn_shows_its_text_and_why(app_index: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from streamlit import config

    index = tmp_path / "index"
    shutil.copytree(app_index, index, symlinks=True)
    stored = next((index / "files").glob("*.pdf"))
    stored.write_bytes(b"<!DOCTYPE html><html><body>404</body></html>")  # a copy: the original is untouched
    # No published copy to fall back on (nor one made from the broken file).
    monkeypatch.setattr(app, "STATIC_PAPERS", tmp_path / "static")
    config.set_option("server.enableStaticServing", False)
    try:
        at = open_app(monkeypatch, index, tmp_path / "uploads")
        ask(at, "What is the forecast revenue overspend?")
    finally:
        config.set_option("server.enableStaticServing", True)
    assert not at.get("image")
    reasons = [plain(c.value) for c in at.caption if c.value.startswith("The page cannot be shown")]
    assert reasons and reasons[0] == "The page cannot be shown as it is printed: the paper's file is not a PDF, so its pages cannot be drawn."
    assert any(":orange-background[**" in m.value for m in at.markdown)


# --- paper text is text ----------------------------------------------------------------------


def test_paper_markup_is_shown_as_text(at: AppTest) -> None:
    ask(at, "What arrived with the street trading consultation response?")
    shown = quotes(at)
    assert shown and all(bit in shown[0] for bit in HOSTILE_BITS), shown
    raw = next(m.value for m in at.markdown if m.value.startswith("“") and "script" in m.value)
    assert "<script>" not in raw and "\\<script\\>" in raw and "\\!\\[tracker\\]" in raw
    page = next(plain(m.value) for m in at.markdown if ":orange-background[**" in m.value and "script" in m.value)
    assert all(bit in page for bit in HOSTILE_BITS)
    # Nothing is rendered as HTML anywhere in the app.
    assert not at.get("html")
    assert all(not m.proto.allow_html for m in [*at.markdown, *at.caption])


def test_question_markup_is_shown_as_text(at: AppTest) -> None:
    question = "<img src=x onerror=alert(1)> ![x](http://e.com/x.png) budget?"
    ask(at, question)
    assert plain(at.chat_message[0].markdown[0].value) == question
    assert all(not m.proto.allow_html for m in at.markdown)


# --- the briefing ----------------------------------------------------------------------------


class _Recorder:
    """Keeps each in-memory media store AppTest creates, to read back the bytes a download
    button would send."""

    stores: list = []

    @classmethod
    def install(cls, monkeypatch: pytest.MonkeyPatch) -> None:
        import streamlit.testing.v1.app_test as app_test
        from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage

        class Recording(MemoryMediaFileStorage):
            def __init__(self, *args, **kwargs) -> None:
                super().__init__(*args, **kwargs)
                cls.stores.append(self)

        cls.stores = []
        monkeypatch.setattr(app_test, "MemoryMediaFileStorage", Recording)

    @classmethod
    def download(cls, at: AppTest, key: str) -> bytes:
        url = at.get("download_button")[[b.key for b in at.get("download_button")].index(key)].proto.url
        return cls.media(url)

    @classmethod
    def media(cls, url: str) -> bytes:
        return cls.stores[-1].get_file(url.rsplit("/", 1)[-1].split(".")[0]).content


def test_briefing_collect_order_note_and_export(at: AppTest, monkeypatch: pytest.MonkeyPatch) -> None:
    from docx import Document

    _Recorder.install(monkeypatch)
    ask(at, IMPROVEMENT_BOARD)
    ask(at, OVERSPEND)
    first, second = quotes(at.chat_message[1])[0], quotes(at.chat_message[3])[0]
    at.button(key="add-0-0").click().run()
    at.button(key="add-1-0").click().run()
    assert at.button(key="add-0-0").label == "In the briefing" and at.button(key="add-0-0").disabled
    assert at.segmented_control(key="view").options == ["Ask", "Decisions", "Briefing (2)", "Library"]

    view(at, "Briefing")
    items = at.session_state.briefing.items
    assert len(items) == 2
    assert [plain(m.value) for m in at.markdown if m.value.startswith("**")][:2] == [
        f"**1. {OVERVIEW}, 16 November 2021**",
        "**2. Cabinet, 30 January 2025**",
    ]
    at.button(key=f"up-{items[1].id}").click().run()
    assert [i.id for i in at.session_state.briefing.items] == [items[1].id, items[0].id]
    at.text_area(key=f"note-{items[0].id}").input("Ask how often it met in 2022.").run()
    at.text_input(key="briefing-title").input("Children's services <draft>").run()
    assert not at.exception

    md = _Recorder.download(at, "export-md").decode("utf-8")
    assert md.startswith("# Children's services \\<draft\\>\n")
    assert md.index("## 1. Cabinet, 30 January 2025") < md.index(f"## 2. {OVERVIEW}, 16 November 2021")
    assert "Note: Ask how often it met in 2022." in md
    assert f"Reference: {OVERVIEW} · meeting of 16 November 2021 · 004\\_ef26fe128a3892ff.txt" in md
    assert f"Found for the question: “{IMPROVEMENT_BOARD}”" in md

    docx = Document(io.BytesIO(_Recorder.download(at, "export-docx")))
    text = [p.text for p in docx.paragraphs]
    assert text[0] == "Children's services <draft>"
    assert text.index("1. Cabinet, 30 January 2025") < text.index(f"2. {OVERVIEW}, 16 November 2021")
    assert f"Reference: {OVERVIEW} · meeting of 16 November 2021 · 004_ef26fe128a3892ff.txt" in text
    assert "Note: Ask how often it met in 2022." in text
    # The Cabinet quote stands in a PDF: its page is pictured under it; the text export's is not.
    assert len(docx.inline_shapes) == 1
    words = " ".join(text)
    assert " ".join(first.strip("“”").removesuffix(" …").removeprefix("… ").split()) in words and " ".join(second.strip("“”").removesuffix(" …").removeprefix("… ").split()) in words

    at.button(key=f"remove-{items[1].id}").click().run()
    assert [i.id for i in at.session_state.briefing.items] == [items[0].id]


def test_briefing_saved_listed_reopened_and_deleted(app_index: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    index = tmp_path / "index"
    shutil.copytree(app_index, index, symlinks=True)  # the shelf is in the index's folder
    at = open_app(monkeypatch, index, tmp_path / "uploads")
    ask(at, IMPROVEMENT_BOARD)
    at.button(key="add-0-0").click().run()
    view(at, "Briefing")
    assert "No saved briefings yet." in [c.value for c in at.caption]
    item = at.session_state.briefing.items[0]
    # Typed and saved in one go: the title's and the note's callbacks run before Save's.
    at.text_input(key="briefing-title").input("Children's services <draft>")
    at.text_area(key=f"note-{item.id}").input("Ask how often it met in 2022.")
    at.button(key="shelf-save").click().run()
    assert not at.exception, at.exception
    assert [plain(m.value) for m in at.success] == ["Saved as “children-s-services-draft”."]
    assert sorted(p.name for p in (index / "briefings").iterdir()) == ["children-s-services-draft.json"]
    saved = at.session_state.briefing
    assert (saved.title, saved.items[0].note) == ("Children's services <draft>", "Ask how often it met in 2022.")
    assert "**Children's services <draft>**" in [plain(m.value) for m in at.markdown]
    assert any(re.fullmatch(r"1 quote · saved \d+ \w+ \d{4}, \d\d:\d\d UTC · the briefing above", plain(c.value)) for c in at.caption)

    # A fresh briefing, then the saved one back: its quotes, notes and title.
    at.button(key="shelf-new").click().run()
    assert at.session_state.briefing.items == () and at.text_input(key="briefing-title").value == "Briefing"
    at.button(key="shelf-open-children-s-services-draft").click().run()
    assert not at.exception, at.exception
    assert at.session_state.briefing == saved
    assert at.text_input(key="briefing-title").value == "Children's services <draft>"
    assert at.text_area(key=f"note-{item.id}").value == "Ask how often it met in 2022."
    assert [plain(m.value) for m in at.success] == ["Opened “Children's services <draft>”."]

    # Saving it again replaces its own file; a corrupt file is listed, not opened.
    at.button(key="shelf-save").click().run()
    (index / "briefings" / "broken.json").write_text("{", encoding="utf-8")
    view(at, "Ask")
    view(at, "Briefing")
    assert sorted(p.name for p in (index / "briefings").iterdir()) == ["broken.json", "children-s-services-draft.json"]
    assert "**broken** cannot be opened: not JSON (Expecting property name enclosed in double quotes: line 1 column 2 (char 1))" in [
        plain(m.value) for m in at.markdown
    ]
    assert at.button(key="shelf-open-broken").disabled

    # Delete asks first; Cancel keeps it.
    at.button(key="shelf-delete-children-s-services-draft").click().run()
    assert [plain(w.value) for w in at.warning] == ["Delete **Children's services <draft>**? This cannot be undone."]
    at.button(key="shelf-cancel-children-s-services-draft").click().run()
    assert not at.warning and (index / "briefings" / "children-s-services-draft.json").exists()
    at.button(key="shelf-delete-children-s-services-draft").click().run()
    at.button(key="shelf-yes-children-s-services-draft").click().run()
    assert not at.exception, at.exception
    assert [plain(m.value) for m in at.success] == ["Deleted “children-s-services-draft”."]
    assert sorted(p.name for p in (index / "briefings").iterdir()) == ["broken.json"]
    assert at.session_state.briefing == saved  # deleting the saved copy leaves the one being worked on


# --- the library and uploads -----------------------------------------------------------------


def test_library_lists_papers_by_committee(at: AppTest) -> None:
    view(at, "Library")
    labels = [e.label for e in at.expander]
    assert labels == [
        "Cabinet — 1 paper, 1 meeting",
        "Licensing Committee — 1 paper, 1 meeting",
        f"{OVERVIEW} — 2 papers, 2 meetings",
    ]
    frames = [d.value for d in at.dataframe]
    assert list(frames[0]["File"]) == [KENT_MINUTES.name]
    assert frames[0]["Open"][0].startswith("app/static/papers/")
    assert list(frames[2]["Meeting"]) == ["7 November 2022", "16 November 2021"]


def test_upload_adds_good_pdfs_and_names_each_bad_file(app_index: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import badpdfs

    index = tmp_path / "index"
    shutil.copytree(app_index, index, symlinks=True)
    before = (index / "current").resolve().name
    made = tmp_path / "made"
    made.mkdir()
    files = [
        ("Budget minutes.pdf", badpdfs.write_good_pdf(made).read_bytes()),
        ("not-found.pdf", badpdfs.write_html_as_pdf(made).read_bytes()),
        ("empty.pdf", b""),
        ("truncated.pdf", badpdfs.write_truncated_pdf(made).read_bytes()),
        ("password.pdf", badpdfs.write_user_password_pdf(made).read_bytes()),
    ]
    uploads = tmp_path / "uploads"
    at = open_app(monkeypatch, index, uploads)
    view(at, "Library")
    at.file_uploader[0].set_value([(name, data, "application/pdf") for name, data in files]).run()
    at.button(key="upload-go").click().run()
    assert not at.exception, at.exception

    assert [plain(s.value) for s in at.success] == ["Budget minutes.pdf: added"]
    errors = [plain(e.value) for e in at.error]
    assert errors[:2] == [
        "not-found.pdf: not a PDF file (no %PDF- header), not added",
        "empty.pdf: the file is empty, not added",
    ]
    assert len(errors) == 4
    assert errors[2].startswith("truncated.pdf: could not be read — ")
    assert errors[3].startswith("password.pdf: could not be read — ")
    assert "password" in errors[3]

    # The new version is swapped in and served; only the readable upload is kept.
    assert (index / "current").resolve().name != before
    assert sorted(p.name for p in uploads.iterdir()) == ["Budget minutes.pdf"]
    files_listed = [f for d in at.dataframe for f in d.value["File"]]
    assert "Budget minutes.pdf" in files_listed and len(files_listed) == 5
    assert at.file_uploader(key="upload-1").value == []  # a fresh, empty uploader
    view(at, "Ask")
    ask(at, "Which page mentions item 4 and the budget?")
    assert any(c.endswith("Budget minutes.pdf") for c in citations(at))


def test_upload_again_is_unchanged(app_index: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    index = tmp_path / "index"
    shutil.copytree(app_index, index, symlinks=True)
    at = open_app(monkeypatch, index, tmp_path / "uploads")
    view(at, "Library")
    at.file_uploader[0].set_value([(KENT_MINUTES.name, KENT_MINUTES.read_bytes(), "application/pdf")]).run()
    at.button(key="upload-go").click().run()
    assert [plain(w.value) for w in at.warning] == ["1 already in the library, unchanged"]


@pytest.mark.integration
def test_with_the_bundled_model(real_index_dir: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The default set-up of `make run`: no COMMITTEE_QA_MODEL, the bundled model."""
    monkeypatch.delenv("COMMITTEE_QA_MODEL", raising=False)
    monkeypatch.setenv("COMMITTEE_QA_INDEX", str(real_index_dir))
    monkeypatch.setenv("COMMITTEE_QA_UPLOADS", str(tmp_path / "uploads"))
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=120).run()
    assert not at.exception, at.exception
    ask(at, "How often does the Improvement Board get together?")
    assert quotes(at), [m.value for m in [*at.warning, *at.info, *at.markdown]]
    assert "now held monthly" in quotes(at)[0]
    assert citations(at)[0] == f"{OVERVIEW} · meeting of 16 November 2021 · 004_ef26fe128a3892ff.txt"


def test_no_index_says_how_to_make_one(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    at = open_app(monkeypatch, tmp_path / "nothing-here", tmp_path / "uploads")
    assert at.warning[0].value == app.NO_INDEX
    assert not at.chat_input


# --- the helpers -----------------------------------------------------------------------------


def test_filters_both_sidebar_and_conversation() -> None:
    chat = Filters(committees=("Cabinet",), date_from="2023-01-01")
    side = Filters(committees=("cabinet", "County Council"), date_from="2022-06-01", date_to="2024-12-31", kinds=("minutes",))
    assert chat.both(side) == Filters(
        committees=("Cabinet",), date_from="2023-01-01", date_to="2024-12-31", kinds=("minutes",)
    )
    assert Filters().both(side) == side
    assert chat.both(Filters(committees=("County Council",))) is None
    assert Filters(date_from="2025-01-01").both(Filters(date_to="2024-12-31")) is None
    assert Filters(kinds=("report",)).both(Filters(kinds=("minutes",))) is None


def test_describe_filters() -> None:
    f = Filters(committees=("Cabinet", "County Council"), date_from="2023-01-01", kinds=("minutes", "report"))
    assert app.describe_filters(f) == "Cabinet or County Council · meetings from 1 January 2023 · minutes, reports"


def test_safe_filename() -> None:
    assert app.safe_filename("../../etc/passwd") == "passwd.pdf"
    assert app.safe_filename("C:\\Users\\me\\Minutes 9 Jan.PDF") == "Minutes 9 Jan.pdf"
    assert app.safe_filename("<script>.pdf") == "_script_.pdf"
    assert app.safe_filename("...") == "paper.pdf"


def test_upload_problem() -> None:
    assert app.upload_problem("a.pdf", b"%PDF-1.7\n...", 1) is None
    assert app.upload_problem("a.pdf", b"\xef\xbb\xbf junk %PDF-1.4\n", 1) is None  # header after a little junk
    assert app.upload_problem("a.pdf", b"<html>", 1) == "a.pdf: not a PDF file (no %PDF- header), not added"
    assert app.upload_problem("a.pdf", b"junk" * 300 + b"%PDF-1.4", 1) == "a.pdf: not a PDF file (no %PDF- header), not added"
    assert app.upload_problem("a.pdf", b"%PDF-" + bytes(2 * 1024 * 1024), limit_mb=1) == "a.pdf: larger than 1 MB, not added"


def test_page_markdown_highlights_the_quote_on_its_page() -> None:
    text = "Page one words.\n\nAgenda Item 5\nThe Cabinet AGREED the budget.\nNext line *here*.\n\nPage three."
    pages = (PageSpan(0, 16, 1, 1, "1"), PageSpan(17, 80, 2, 2, "7"), PageSpan(82, len(text), 3, 3, "8"))
    paper = Paper(source="m.pdf", doc="m", format="pdf", text=text, pages=pages, content_hash="h")
    start = text.index("AGREED")
    label, body = app.page_markdown(paper, start, start + len("AGREED the budget."))
    assert label == "p. 7 (PDF p. 2)"
    assert body == "Agenda Item 5  \nThe Cabinet :orange-background[**AGREED the budget\\.**]  \nNext line \\*here\\*\\."


def test_text_on_page_is_the_part_of_a_passage_on_that_page() -> None:
    text = "Page one words.\n\nAgenda Item 5\nThe Cabinet AGREED the budget.\nNext line *here*.\n\nPage three."
    pages = (PageSpan(0, 16, 1, 1, "1"), PageSpan(17, 80, 2, 2, "7"), PageSpan(82, len(text), 3, 3, "8"))
    paper = Paper(source="m.pdf", doc="m", format="pdf", text=text, pages=pages, content_hash="h")
    start, end = text.index("words"), text.index("Item 5") + len("Item 5")
    assert app.text_on_page(paper, start, end, 1) == "words.\n"
    assert app.text_on_page(paper, start, end, 2) == "Agenda Item 5"
    # A page the passage does not reach (or a paper without pages): all of it.
    assert app.text_on_page(paper, start, end, 3) == text[start:end]


def test_page_markdown_cuts_long_pages_at_line_ends() -> None:
    lines = [f"Line {n} of a text export with no page breaks." for n in range(200)]
    text = "\n".join(lines)
    paper = Paper(source="t.txt", doc="t", format="text", text=text, pages=(), content_hash="h")
    start = text.index("Line 100 ")
    label, body = app.page_markdown(paper, start, start + len(lines[100]), window=100)
    assert label == "page not known"
    shown = body.split("\n")
    assert shown[0] == "…" and shown[-1] == "…"
    assert ":orange-background[**Line 100 of a text export with no page breaks\\.**]" in body
    assert "Line 97 " in plain(body) and "Line 96 " not in plain(body)  # 100 characters ≈ 2 lines either side
