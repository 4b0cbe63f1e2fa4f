"""committee-qa in the browser: ask the committee papers, check every quote in its paper,
collect quotes into a briefing, add papers to the library.

    streamlit run app.py          (make run)

The index is COMMITTEE_QA_STORE (a postgresql:// URL) or else the folder COMMITTEE_QA_INDEX
(default data/index). The index and the model are
opened once per process and shared, read-only, by every browser session; each session keeps
its own conversation and briefing in ``st.session_state``; a briefing saved in the Briefing
view is a JSON file beside the index (qa.shelf), for any later visit.

Nothing from a paper or a question is ever rendered as HTML: text shown through Markdown is
escaped first (:func:`qa.briefing.escape_markdown`).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import re
import shutil
import threading
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import streamlit as st

from index.model import Answer, Filters, Hit, Paper, Quote
from qa import briefing as bf
from qa import shelf as sh
from qa.briefing import escape_markdown as esc
from qa.render import citation_line, long_date, page_text

if TYPE_CHECKING:
    from index.store import Catalogue, PaperEntry, Store
    from qa.changes import ChangedPassage, Changes, Side
    from qa.decisions import Decision, Timeline, TimelineEntry
    from qa.pageimage import PageImage

LOG = logging.getLogger("committee_qa.app")
APP_DIR = Path(__file__).resolve().parent
STATIC_PAPERS = APP_DIR / "static" / "papers"  # served at app/static/papers/ (server.enableStaticServing)
NO_INDEX = "No index yet: run `make run` or `committee-qa ingest samples --index data/index`"
KIND_LABELS = {
    "agenda_pack": "Agenda packs",
    "agenda": "Agendas",
    "minutes": "Minutes",
    "report": "Reports",
    "appendix": "Appendices",
    "plan": "Plans",
    "update": "Updates",
    "questions": "Questions and answers",
    "decision": "Decision records",
    "other": "Other papers",
}
WINDOW = 1500  # characters of the page shown either side of a quote


def index_dir() -> Path:
    return Path(os.environ.get("COMMITTEE_QA_INDEX", "data/index"))


def index_location() -> str:
    """Where the index is: a PostgreSQL store when COMMITTEE_QA_STORE names one, else the folder."""
    return os.environ.get("COMMITTEE_QA_STORE") or str(index_dir().resolve())


# --- the shared, read-only index -----------------------------------------------------


def model_spec() -> str | None:
    return os.environ.get("COMMITTEE_QA_MODEL") or None


def make_embedder(spec: str | None):
    """The embedder named by COMMITTEE_QA_MODEL: unset for the bundled model, a folder of a
    sentence-transformers model (as ``--model`` on the command line), or ``hashing-N``, the
    model-free stand-in the tests build their indexes with."""
    from index.embed import HashingEmbedder, ModelNotFound, SentenceTransformerEmbedder

    if spec and spec.startswith("hashing-"):
        if not spec[len("hashing-") :].isdigit():
            raise ModelNotFound(f"COMMITTEE_QA_MODEL={spec!r}: write hashing-N with N a number of dimensions, e.g. hashing-64")
        return HashingEmbedder(int(spec[len("hashing-") :]))
    return SentenceTransformerEmbedder(spec)


@st.cache_resource(show_spinner=False)
def get_settings(path: str | None):
    """The tuned numbers (qa.settings), with the overrides of the JSON file
    $COMMITTEE_QA_SETTINGS names, if any."""
    from qa.settings import load_settings

    return load_settings(path)


@st.cache_resource(show_spinner="Loading the language model…")
def get_embedder(spec: str | None):
    embedder = make_embedder(spec)
    embedder.encode(["warm up"])  # load now, not on the first question
    return embedder


@dataclass(frozen=True)
class IndexSummary:
    """What the sidebar says is indexed."""

    papers: int
    meetings: int
    first: str | None  # ISO dates of the earliest and latest meetings
    last: str | None
    kinds: tuple[str, ...]
    created: str | None  # when this index version was written (UTC)


@dataclass(frozen=True)
class Library:
    """One opened index version and what the app works out from it once: shared, read-only."""

    idx: Store
    catalogue: Catalogue
    summary: IndexSummary
    pdfs: dict[str, str]  # paper source → its PDF's path under static/papers ("<index key>/<hash>.pdf")


@st.cache_resource(show_spinner="Opening the index…", max_entries=2)  # old versions go once unused
def get_library(location: str, version: str, model: str | None) -> Library:
    """The index at ``location`` as of ``version``. A new version (an ingest, from here or
    the command line) is a new cache entry, so sessions move to it on their next run."""
    from index.engines import open_store

    idx = open_store(location, get_embedder(model))
    catalogue = idx.catalogue()
    folder = papers_folder(location)
    published = publish_pdfs(idx, catalogue, folder)
    return Library(idx, catalogue, index_summary(catalogue), {s: f"{folder.name}/{n}" for s, n in published.items()})


def papers_folder(location: str) -> Path:
    """Each index publishes its PDFs in a folder of its own under static/papers, so pruning
    one index's papers never takes down another's (a second app on the same checkout, the
    tests' small indexes beside `make run`'s)."""
    from index.engines import printable

    return STATIC_PAPERS / hashlib.sha256(printable(location).encode()).hexdigest()[:12]


def current_library() -> Library:
    from index.engines import is_postgres_url, version_of

    location = index_location()
    # A folder's version is a symlink read; PostgreSQL's takes a connection and a query, so on
    # every rerun it is asked at most every few seconds (an ingest elsewhere shows that late).
    version = _database_version(location) if is_postgres_url(location) else version_of(location)
    return get_library(location, version, model_spec())


@st.cache_data(ttl=5, show_spinner=False)
def _database_version(location: str) -> str:
    from index.engines import version_of

    return version_of(location)


def publish_pdfs(idx: Store, catalogue: Catalogue, folder: Path) -> dict[str, str]:
    """Put the index's stored original PDFs (named by content hash) where Streamlit's static
    file serving finds them, so a quote can link to its page, and take down those of papers
    that have left the index. Hard links where possible. Returns source → file name for each
    PDF published."""
    if not st.get_option("server.enableStaticServing"):
        return {}
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return {}  # no links to PDFs then; the text of every page is still shown
    published: dict[str, str] = {}
    for entry in catalogue.papers:
        original = idx.file_for(entry.source)
        if original is None or original.suffix.lower() != ".pdf":
            continue  # a text export, or a paper whose file the index cannot reach
        target = folder / f"{entry.content_hash}.pdf"
        if publish_file(original, target):
            published[entry.source] = target.name
    prune_papers(folder, keep={f"{entry.content_hash}.pdf" for entry in catalogue.papers})
    return published


def publish_file(original: Path, target: Path) -> bool:
    """``original`` at ``target`` (a hard link, else a copy), renamed into place whole.
    True if ``target`` is there."""
    if target.exists():
        return True
    # A part file of its own: two sessions publishing at once must not replace each other's.
    part = target.with_name(f".{target.name}.{os.getpid()}-{threading.get_ident()}.part")
    try:
        part.unlink(missing_ok=True)
        try:
            os.link(original, part)
        except OSError:
            shutil.copyfile(original, part)
        os.replace(part, target)
    except OSError:
        return False
    finally:
        # Renaming a hard link over another link to the same file leaves both (rename(2)).
        with contextlib.suppress(OSError):
            part.unlink(missing_ok=True)
    return True


PUBLISHED_PDF = re.compile(r"[0-9a-f]{64}\.pdf")  # the names publish_pdfs gives; nothing else is ours


def prune_papers(folder: Path, keep: set[str]) -> list[str]:
    """Remove the published PDFs in ``folder`` whose names are not in ``keep``; files with
    other names are never touched. Returns the names removed."""
    try:
        names = sorted(os.listdir(folder))
    except OSError:
        return []
    removed = []
    for name in names:
        if PUBLISHED_PDF.fullmatch(name) and name not in keep:
            try:
                (folder / name).unlink()
            except OSError:
                continue  # removed by another session meanwhile, or not ours to remove
            removed.append(name)
    return removed


def pdf_link(lib: Library, source: str, page: int | None = None) -> str | None:
    """``app/static/papers/<index key>/<hash>.pdf#page=N`` for a paper stored as a PDF, else None.
    Relative, so it works under any server.baseUrlPath."""
    name = lib.pdfs.get(source)
    if name is None:
        return None
    return f"app/static/papers/{name}" + (f"#page={page}" if page else "")


def index_summary(catalogue: Catalogue) -> IndexSummary:
    papers, dates = catalogue.papers, catalogue.dates
    return IndexSummary(
        papers=len(papers),
        meetings=len({(p.committee, p.meeting_date) for p in papers if p.meeting_date}),
        first=dates[0] if dates else None,
        last=dates[-1] if dates else None,
        kinds=catalogue.kinds,
        created=catalogue.created,
    )


@dataclass(frozen=True)
class ChatTurn:
    """One question in this session's chat: the answer, or why there is none."""

    asked: str
    answer: Answer | None = None
    message: str = ""
    # "What has been decided about X?" gets the decisions on X over time (qa.decisions).
    timeline: Timeline | None = None


# --- pure helpers (tested directly) --------------------------------------------------


def describe_filters(f: Filters) -> str:
    parts = []
    if f.committees:
        parts.append(" or ".join(f.committees))
    if f.date_from and f.date_to:
        parts.append(f"meetings {long_date(f.date_from)} to {long_date(f.date_to)}")
    elif f.date_from:
        parts.append(f"meetings from {long_date(f.date_from)}")
    elif f.date_to:
        parts.append(f"meetings up to {long_date(f.date_to)}")
    if f.kinds:
        parts.append(", ".join(KIND_LABELS.get(k, k).lower() for k in f.kinds))
    return " · ".join(parts)


MARK_ON, MARK_OFF = "\x01", "\x02"  # where the best sentence starts and ends, before escaping


def quote_markdown(text: str, best: tuple[int, int] | None = None) -> str:
    """A quote as escaped Markdown, one paragraph per paragraph of the paper, in quotation
    marks. (Not a Markdown block quote: Streamlit greys those out, and the quote is the answer.)
    ``best``, offsets into ``text``, is the sentence that scored best: shown in bold when the
    quote holds more than that sentence."""
    whole = best is not None and (best[0], best[1]) == (0, len(text))
    return marked_markdown(text, () if best is None or whole else (best,))


def marked_markdown(text: str, spans, mark: str = "**{}**") -> str:
    """``text`` as :func:`quote_markdown` shows it, with each (start, end) span of ``spans``
    set in ``mark`` (Markdown around ``{}``, e.g. ":green-background[**{}**]"): the words
    are escaped first, so only the mark is markup."""
    from qa.render import elided

    for a, b in sorted((s for s in spans if 0 <= s[0] < s[1] <= len(text)), reverse=True):
        text = text[:a] + MARK_ON + text[a:b] + MARK_OFF + text[b:]
    paragraphs = bf.quote_paragraphs(text) or [""]
    # Marks at either end must not hide where the words start or stop mid-sentence.
    first, last = paragraphs[0].lstrip(MARK_ON), paragraphs[-1].rstrip(MARK_OFF)
    paragraphs[0] = "“" + (("… " + paragraphs[0]) if first[:1].islower() else paragraphs[0])
    tail = paragraphs[-1][len(paragraphs[-1].rstrip(MARK_OFF)) :]
    paragraphs[-1] = paragraphs[-1].rstrip(MARK_OFF) + tail + (" …" if elided(last).endswith(" …") else "") + "”"
    out, marking = [], False
    for p in paragraphs:
        body = esc(p)
        if marking:
            body = MARK_ON + body
        marking = body.count(MARK_ON) > body.count(MARK_OFF)
        if marking:
            body += MARK_OFF
        out.append(re.sub(f"{MARK_ON}\\s*(.*?)\\s*{MARK_OFF}", lambda m: mark.format(m.group(1)) if m.group(1) else "", body, flags=re.S))
    return "\n\n".join(out)


def best_sentence(quote: Quote) -> tuple[int, int] | None:
    """The best sentence's offsets inside the quote's text, when the answer recorded them."""
    if quote.best_start is None or quote.best_end is None:
        return None
    return quote.best_start - quote.start, quote.best_end - quote.start


def _cells(text: str) -> str:
    return esc(re.sub(r"\t+", " | ", text))


def page_markdown(paper: Paper, start: int, end: int, window: int = WINDOW) -> tuple[str, str]:
    """The page(s) holding ``paper.text[start:end]``, as escaped Markdown with those words
    highlighted, and a label saying which page(s) they are. Long pages (a text export with
    no page breaks) are cut to ``window`` characters either side, at line ends."""
    text = paper.text
    spans = [s for s in paper.pages if s.start < max(end, start + 1) and start < s.end + 2]
    lo, hi = (spans[0].start, spans[-1].end) if spans else (0, len(text))
    lo, hi = min(lo, start), max(hi, end)
    a, b = max(lo, start - window), min(hi, end + window)
    if a > lo:
        a = text.rfind("\n", lo, a) + 1 or a
    if b < hi:
        nl = text.find("\n", b, hi)
        b = hi if nl == -1 else nl
    out: list[str] = ["…", ""] if a > lo else []
    pos = a
    paragraph: list[str] = []
    for line in text[a:b].split("\n"):
        ls, le = pos, pos + len(line)
        pos = le + 1
        if not line.strip():
            if paragraph:
                out += ["  \n".join(paragraph), ""]
                paragraph = []
            continue
        qs, qe = max(start, ls), min(end, le)
        if qs < qe and text[qs:qe].strip():
            mid = text[qs:qe]
            pre = text[ls:qs] + mid[: len(mid) - len(mid.lstrip())]
            post = mid[len(mid.rstrip()) :] + text[qe:le]
            md = _cells(pre.lstrip()) + ":orange-background[**" + _cells(mid.strip()) + "**]" + _cells(post.rstrip())
        else:
            md = _cells(line.strip())
        paragraph.append(md)
    if paragraph:
        out += ["  \n".join(paragraph), ""]
    if b < hi:
        out.append("…")
    if spans:
        first, last = spans[0], spans[-1]
        label = page_text(first.first, last.last if last.last is not None else first.last, first.printed, last.printed)
    else:
        label = None
    return (label or "page not known"), "\n".join(out).strip()


def safe_filename(name: str) -> str:
    """An uploaded file's name, safe to save: no folders, no odd characters, ending .pdf."""
    stem = re.sub(r"[^\w .,()&'+-]", "_", Path(name.replace("\\", "/")).name).strip(" .") or "paper"
    stem = re.sub(r"\.pdf$", "", stem, flags=re.IGNORECASE)[:120].strip(" .") or "paper"
    return f"{stem}.pdf"


def upload_limit_mb() -> int:
    """server.maxUploadSize (.streamlit/config.toml): the browser refuses bigger files, and
    the app checks again, since a client need not obey."""
    return int(st.get_option("server.maxUploadSize"))


def upload_problem(name: str, data: bytes, limit_mb: int) -> str | None:
    """Why an upload is refused before it is read, or None. The PDF header may follow a
    little junk (the PDF reference allows it in the first 1,024 bytes)."""
    if not data:
        return f"{name}: the file is empty, not added"
    if len(data) > limit_mb * 1024 * 1024:
        return f"{name}: larger than {limit_mb} MB, not added"
    if b"%PDF-" not in data[:1024]:
        return f"{name}: not a PDF file (no %PDF- header), not added"
    return None


def long_datetime(iso: str | None) -> str:
    if not iso:
        return "unknown"
    try:
        t = datetime.strptime(iso, "%Y-%m-%dT%H:%M:%SZ")
    except ValueError:
        return iso
    return f"{t.day} {t.strftime('%B %Y, %H:%M')} UTC"


def count(n: int, noun: str, *, bold: bool = False) -> str:
    """ "1 paper", "3 papers"; the number in bold for Markdown if asked."""
    number = f"**{n}**" if bold else str(n)
    return f"{number} {noun}" + ("" if n == 1 else "s")


def date_span(summary: IndexSummary) -> str:
    if not summary.first:
        return "meeting dates not known"
    if summary.first == summary.last:
        return f"{long_date(summary.first)}"
    return f"{long_date(summary.first)} to {long_date(summary.last)}"


# --- session state -------------------------------------------------------------------


def _init_state() -> None:
    from qa.chat import Conversation

    ss = st.session_state
    ss.setdefault("conversation", Conversation())
    ss.setdefault("history", [])  # ChatTurn, oldest first
    ss.setdefault("briefing", bf.Briefing())
    ss.setdefault("uploads", 0)  # bumped to give a fresh, empty uploader
    ss.setdefault("upload_report", [])  # UploadLine


def new_chat() -> None:
    from qa.chat import Conversation

    st.session_state.conversation = Conversation()
    st.session_state.history = []


def add_to_briefing(quote: Quote, question: str) -> None:
    st.session_state.briefing = bf.add(st.session_state.briefing, bf.item_from_quote(quote, question))


def _briefing_update(fn, *args) -> None:
    st.session_state.briefing = fn(st.session_state.briefing, *args)


def _note_changed(item_id: str) -> None:
    _briefing_update(bf.note, item_id, st.session_state[f"note-{item_id}"])


def _title_changed() -> None:
    _briefing_update(bf.retitle, st.session_state["briefing-title"])


# --- saved briefings ---------------------------------------------------------------------


def briefing_shelf() -> sh.BriefingShelf:
    """The saved briefings of the index the app serves (qa.shelf.briefings_dir)."""
    return sh.BriefingShelf(sh.briefings_dir(index_location()))


def _shelf_says(level: str, text: str) -> None:
    st.session_state["shelf-message"] = (level, text)  # shown once, on the next run


def _show_briefing(briefing: bf.Briefing) -> None:
    ss = st.session_state
    ss.briefing = briefing
    # The title and note boxes keep what was typed into them: forget it, so they show this one.
    for key in [k for k in ss.keys() if k == "briefing-title" or str(k).startswith("note-")]:
        del ss[key]


def _save_briefing() -> None:
    shelf = briefing_shelf()
    try:
        name = shelf.save(st.session_state.briefing)
    except OSError as err:
        _shelf_says("error", f"The briefing was not saved ({err.strerror or err}): check that {shelf.folder} "
                             "can be written to, then save again.")
    else:
        _shelf_says("ok", f"Saved as “{name}”.")


def _open_briefing(name: str) -> None:
    try:
        opened = briefing_shelf().open(name)
    except (sh.NoSuchBriefing, bf.BriefingUnreadable, OSError) as err:
        _shelf_says("error", f"“{name}” was not opened: {err}")
        return
    _show_briefing(opened)
    _shelf_says("ok", f"Opened “{opened.title}”.")


def _delete_briefing(name: str) -> None:
    st.session_state.pop("shelf-confirm", None)
    try:
        briefing_shelf().delete(name)
    except (sh.NoSuchBriefing, OSError) as err:
        _shelf_says("error", f"“{name}” was not deleted: {err}")
    else:
        _shelf_says("ok", f"Deleted “{name}”.")


def _confirm_delete(name: str | None) -> None:
    st.session_state["shelf-confirm"] = name


# --- asking --------------------------------------------------------------------------


def ask(idx: Store, message: str, side: Filters) -> ChatTurn:
    """Answer ``message`` in this session's conversation (qa.chat makes a follow-up whole and
    takes "only Cabinet", "since 2023" into the conversation's filters), within the sidebar's
    filters, which stay the sidebar's: clearing them there clears them for the next question."""
    from index.store import NoMatchingPassages
    from qa.chat import Conversation
    from qa.chat import ask as ask_in
    from qa.decisions import timeline, timeline_topic
    from qa.query import BadQuestion

    conv: Conversation = st.session_state.conversation
    topic = timeline_topic(message)
    try:
        if topic:  # decisions over time: the timeline, not single quotes
            return ChatTurn(message, timeline=timeline(idx, topic, side, get_settings(os.environ.get("COMMITTEE_QA_SETTINGS"))))
        conv, result = ask_in(conv, idx, message, within=side, settings=get_settings(os.environ.get("COMMITTEE_QA_SETTINGS")))
    except NoMatchingPassages:
        return ChatTurn(
            message,
            message="Nothing in the papers indexed matches these filters (committee, meeting dates, kind of "
            "paper). Widen or clear them in the sidebar, or ask again with “all committees”.",
        )
    except BadQuestion as err:
        return ChatTurn(message, message=str(err)[:1].upper() + str(err)[1:] + ".")
    except Exception as err:  # a bug must cost one answer, not the session's page
        LOG.exception("answering %r failed", message)
        return ChatTurn(
            message,
            message=f"This question could not be answered ({type(err).__name__}); the details are in the "
            "server's log. Try asking it another way, and please report it.",
        )
    st.session_state.conversation = conv
    return ChatTurn(message, result)


# --- showing answers -----------------------------------------------------------------


def text_on_page(paper: Paper, start: int, end: int, page: int) -> str:
    """The part of ``paper.text[start:end]`` on the PDF's page ``page``: a passage may run
    across pages, and only this page's words can be boxed on its picture."""
    for span in paper.pages:
        if span.first == page == span.last:
            a, b = max(start, span.start), min(end, span.end)
            if a < b:
                return paper.text[a:b]
    return paper.text[start:end]


def paper_file(lib: Library, source: str) -> Path | None:
    """The paper's original file: where the index keeps it, else the copy published for
    the browser."""
    original = lib.idx.file_for(source)
    if original is not None and original.exists():
        return original
    name = lib.pdfs.get(source)
    return STATIC_PAPERS / name if name else original


@st.cache_resource(show_spinner=False, max_entries=64)  # shared, not copied: PageImage is frozen
def _drawn_page(path: str, stamp: tuple[int, int], page: int, quote: str) -> PageImage | str:
    from qa.pageimage import PageNotRendered, render_page

    try:
        return render_page(Path(path), page, quote)
    except PageNotRendered as err:
        return str(err)


def page_picture(lib: Library, source: str, page: int, quote: str) -> PageImage | str:
    """Page ``page`` of the paper's PDF with ``quote`` boxed on it, or why it cannot be
    drawn (one line). Drawn once per file version, page and quote: every rerun of the app
    shows every quote card's page again."""
    path = paper_file(lib, source)
    if path is None:
        return "the index no longer reaches the paper's file; ingest it again to see its pages"
    try:
        stat = path.stat()
        stamp = (stat.st_mtime_ns, stat.st_size)
    except OSError:
        stamp = (0, 0)  # render_page says the file is gone
    return _drawn_page(str(path), stamp, page, quote)


def briefing_page_images(lib: Library, briefing: bf.Briefing) -> dict[str, bytes]:
    """The page picture of each briefing quote from a PDF, by item id, for the Word export."""
    images: dict[str, bytes] = {}
    for item in briefing.items:
        c = item.citation
        if c.page is None or Path(c.source).suffix.lower() != ".pdf":
            continue  # a text export has no page to draw
        shown = page_picture(lib, c.source, c.page, item.text)
        if not isinstance(shown, str):
            images[item.id] = shown.png
    return images


def pdf_markdown(lib: Library, source: str, page: int | None) -> str | None:
    link = pdf_link(lib, source, page)
    if link is None:
        return None
    # "this page", not a number: the PDF's page index often differs from the printed page.
    return f"[Open the PDF{' at this page' if page else ''} :material/open_in_new:]({link})"


def show_in_paper(lib: Library, source: str, start: int, end: int, page: int | None) -> None:
    paper = lib.idx.paper(source)
    if paper is None:
        st.caption("The text of this paper is not in the index.")
        return
    label, body = page_markdown(paper, start, end)
    link = pdf_markdown(lib, source, page)
    # A PDF's page is shown as printed; a text export's words (or a page that cannot be
    # drawn, with the reason) as text.
    shown = page_picture(lib, source, page, text_on_page(paper, start, end, page)) if paper.format == "pdf" and page else None
    if shown is None or isinstance(shown, str):
        where = "PDF" if paper.format == "pdf" else "text export"
        st.caption(esc(f"{source} ({where}) · {label} · the quoted words are highlighted"))
        if shown:
            st.caption(esc(f"The page cannot be shown as it is printed: {shown}."))
        if link:
            st.markdown(link)
        st.markdown(body)
        return
    st.caption(esc(f"{source} (PDF) · {label} · the quoted words are boxed on the page"))
    if link:
        st.markdown(link)
    page_tab, text_tab = st.tabs(["The page", "Its text"])
    with page_tab:
        if shown.reason:
            st.caption(esc(f"Not boxed: {shown.reason}; “Its text” marks them."))
        st.image(shown.png, width="stretch", output_format="PNG", alt=f"Page {shown.page} of {source}, the quoted words boxed")
    with text_tab:
        st.markdown(body)


def quote_card(lib: Library, quote: Quote, question: str, key: str) -> None:
    with st.container(border=True, key=f"quote-{key}"):
        st.markdown(quote_markdown(quote.text, best_sentence(quote)))
        st.caption(":material/description: " + esc(citation_line(quote.citation)))
        for other in quote.also_in[:3]:
            st.caption("Also in: " + esc(citation_line(other)))
        if len(quote.also_in) > 3:
            st.caption(f"…and {len(quote.also_in) - 3} more places")
        item = bf.item_from_quote(quote, question)
        added = bf.contains(st.session_state.briefing, item.id)
        cols = st.columns([1, 1], vertical_alignment="center")
        cols[0].button(
            "In the briefing" if added else "Add to briefing",
            key=f"add-{key}",
            icon=":material/check:" if added else ":material/add:",
            disabled=added,
            on_click=add_to_briefing,
            args=(quote, question),
        )
        link = pdf_markdown(lib, quote.citation.source, quote.citation.page)
        if link:
            cols[1].markdown(link)
        with st.expander("Show in paper"):
            show_in_paper(lib, quote.citation.source, quote.start, quote.end, quote.citation.page)


def nearest_card(lib: Library, hit: Hit, key: str) -> None:
    p = hit.passage
    words = p.text.split()
    excerpt = " ".join(words[:70]) + (" …" if len(words) > 70 else "")
    with st.container(border=True, key=f"nearest-{key}"):
        st.markdown(esc(excerpt))
        st.caption(":material/description: " + esc(citation_line(p)))
        with st.expander("Show in paper"):
            show_in_paper(lib, p.source, p.start, p.end, p.page)


def show_answer(lib: Library, turn: ChatTurn, n: int) -> None:
    answer = turn.answer
    if turn.timeline is not None:
        show_timeline(lib, turn.timeline, f"{n}-")
        return
    if answer is None:
        st.info(esc(turn.message), icon=":material/filter_alt_off:")
        return
    if answer.question != turn.asked:
        st.caption("Searched for: " + esc(answer.question))
    if not answer.filters.is_empty():
        st.caption("Only: " + esc(describe_filters(answer.filters)))
    if answer.abstained:
        st.warning(esc(answer.reason), icon=":material/search_off:")
        if answer.nearest:
            st.markdown("**Nearest matches** — these do not answer the question; they are the closest passages found.")
            for m, hit in enumerate(answer.nearest):
                nearest_card(lib, hit, f"{n}-{m}")
        return
    for m, quote in enumerate(answer.quotes):
        quote_card(lib, quote, answer.question, f"{n}-{m}")


# --- decisions ----------------------------------------------------------------------

# A proposal is put to a meeting, not decided by it: its badge says so in other words and colour.
BADGES = {
    "resolution": ":green-badge[:material/gavel: Resolved]",
    "noted": ":gray-badge[:material/visibility: Noted]",
    "decision": ":blue-badge[:material/verified: Decision]",
    "proposal": ":orange-badge[:material/pending: Proposed — not yet decided]",
}
COMPACT_WORDS = 80  # a compact card shows this many words; Show in paper has them all


def decision_badge(kind: str) -> str:
    from qa.render import KIND_LABELS as DECISION_LABELS

    return BADGES.get(kind, f":gray-badge[{esc(DECISION_LABELS.get(kind, kind))}]")


def add_decision_to_briefing(decision: Decision, topic: str) -> None:
    st.session_state.briefing = bf.add(st.session_state.briefing, bf.item_from_decision(decision, topic))


def compact_words(text: str, n: int = COMPACT_WORDS) -> str:
    """The first ``n`` words of ``text``, its line breaks kept (they separate sub-items)."""
    cut = [m.end() for m in re.finditer(r"\S+", text)]
    return text if len(cut) <= n else text[: cut[n - 1]]


def decision_card(lib: Library, decision: Decision, key: str, *, topic: str = "",
                  marked: tuple[tuple[int, int], ...] = (), taken_up_by=(), compact: bool = False) -> None:
    """One decision or proposal: its kind, its own words (``marked`` sub-items in bold), where
    it stands, where else it is printed, what took it up; add it to the briefing, see it in
    its paper. ``compact`` shows its first words only."""
    d = decision
    with st.container(border=True, key=f"decision-{key}"):
        title = f"{d.minute}. {d.heading}" if d.minute and d.heading else d.heading or ""
        st.markdown(decision_badge(d.kind) + (f" **{esc(title)}**" if title and not compact else ""))
        words = compact_words(d.text) if compact else d.text
        st.markdown(marked_markdown(words, [m for m in marked if m[1] <= len(words)]))
        st.caption(":material/description: " + esc(citation_line(d.citation)))
        for other in d.also_in[: 1 if compact else 3]:
            st.caption("Also in: " + esc(citation_line(other)))
        for taken in taken_up_by:
            st.caption(":material/subdirectory_arrow_right: Taken up: " + esc(citation_line(taken)))
        added = bf.contains(st.session_state.briefing, bf.item_from_decision(d).id)
        cols = st.columns([1, 1], vertical_alignment="center")
        cols[0].button("In the briefing" if added else "Add to briefing", key=f"add-decision-{key}",
                       icon=":material/check:" if added else ":material/add:", disabled=added,
                       on_click=add_decision_to_briefing, args=(d, topic))
        link = pdf_markdown(lib, d.citation.source, d.citation.page)
        if link:
            cols[1].markdown(link)
        with st.expander("Show in paper"):
            show_in_paper(lib, d.source, d.start, d.end, d.citation.page)


def meeting_heading(iso: str | None) -> str:
    return f"##### :material/event: {esc(long_date(iso) or 'Meeting date not known')}"


def show_timeline(lib: Library, tl: Timeline, key: str = "") -> None:
    """The decisions and proposals on a topic under their meetings' dates, oldest first; or
    that there are none, with the nearest passages labelled as not decisions. Cards are keyed
    ``decision-{key}{i}`` (and ``nearest-{key}{i}``)."""
    if not tl.filters.is_empty():
        st.caption("Only: " + esc(describe_filters(tl.filters)))
    if tl.empty:
        show_no_decisions(lib, tl, key)
        return
    proposals = sum(not e.decision.taken for e in tl.entries)
    st.caption(f"{count(len(tl.entries) - proposals, 'decision')} and {count(proposals, 'proposal')} on "
               f"“{esc(tl.topic)}”, oldest meeting first")
    meeting = object()  # no date yet: the first entry opens a heading even when its date is None
    for i, entry in enumerate(tl.entries):
        if entry.decision.citation.meeting_date != meeting:
            meeting = entry.decision.citation.meeting_date
            st.markdown(meeting_heading(meeting))
        timeline_card(lib, tl, entry, f"{key}{i}")


def timeline_card(lib: Library, tl: Timeline, entry: TimelineEntry, key: str) -> None:
    decision_card(lib, entry.decision, key, topic=tl.topic, marked=entry.marked, taken_up_by=entry.taken_up_by)


def show_no_decisions(lib: Library, tl: Timeline, key: str) -> None:
    hint = " within these filters: widen or clear them to look further" if not tl.filters.is_empty() else ""
    st.warning(esc(f"No decision or recommendation on “{tl.topic}” in the indexed papers{hint}."), icon=":material/search_off:")
    if tl.nearest:
        st.markdown("**Nearest matches — not decisions**: the passages closest to the topic; none of them records a decision.")
        for m, hit in enumerate(tl.nearest):
            nearest_card(lib, hit, f"{key}{m}")


# --- views ---------------------------------------------------------------------------


def sidebar(lib: Library | None) -> Filters:
    """The filters and what is indexed; returns the filters."""
    with st.sidebar:
        st.button("New chat", icon=":material/edit_square:", on_click=new_chat, key="new-chat")
        if lib is None:
            return Filters()
        summary = lib.summary
        st.subheader("Filters")
        committees = st.multiselect("Committee", lib.idx.committees, key="f-committees", placeholder="All committees")
        date_from = date_to = None
        if summary.first and summary.last:
            lo, hi = date.fromisoformat(summary.first), date.fromisoformat(summary.last)
            picked = st.date_input(
                "Meeting dates", value=(lo, hi), min_value=lo, max_value=hi, key=f"f-dates-{lo}-{hi}", format="DD/MM/YYYY"
            )
            if isinstance(picked, (tuple, list)) and len(picked) == 2:
                date_from = picked[0].isoformat() if picked[0] > lo else None
                date_to = picked[1].isoformat() if picked[1] < hi else None
        kinds = st.multiselect(
            "Kind of paper", summary.kinds, format_func=lambda k: KIND_LABELS.get(k, k), key="f-kinds", placeholder="All kinds"
        )
        st.subheader("What is indexed")
        st.markdown(
            f"{count(summary.papers, 'paper', bold=True)} from {count(summary.meetings, 'meeting', bold=True)}  \n"
            f"{esc(date_span(summary))}  \n"
            f"Last updated {esc(long_datetime(summary.created))}"
        )
    return Filters(committees=tuple(committees), date_from=date_from, date_to=date_to, kinds=tuple(kinds))


def ask_view(lib: Library, side: Filters) -> None:
    st.title("Ask the committee papers")
    st.caption(
        "Answers are the papers’ own words, each with its committee, meeting, agenda item and page. "
        "Ask a follow-up (“and in 2022?”, “only Cabinet”) and it builds on the question before."
    )
    history: list[ChatTurn] = st.session_state.history
    for n, turn in enumerate(history):
        with st.chat_message("user"):
            st.markdown(esc(turn.asked))
        with st.chat_message("assistant"):
            show_answer(lib, turn, n)
    message = st.chat_input("Ask a question about the committee papers")
    if message and message.strip():
        with st.chat_message("user"):
            st.markdown(esc(message))
        with st.chat_message("assistant"):
            with st.spinner("Searching the papers…"):
                turn = ask(lib.idx, message.strip(), side)
            history.append(turn)
            show_answer(lib, turn, len(history) - 1)


def decisions_view(lib: Library) -> None:
    st.title("Decisions")
    st.caption(
        "What the committees resolved or decided on a topic, and what was proposed to them, meeting by meeting, "
        "in the papers’ own words. Proposals are put to a meeting: they are not decisions until it takes them up."
    )
    topic = st.text_input("Topic", key="d-topic", placeholder="e.g. the devolution white paper, school places")
    cols = st.columns(2)
    from qa.changes import committee_names

    committee = cols[0].selectbox("Committee", committee_names(lib.catalogue), index=None, key="d-committee",
                                  placeholder="All committees")
    since = cols[1].date_input("Since", value=None, key="d-since", format="DD/MM/YYYY")
    if not topic.strip():
        st.info("Type a topic: its decisions are listed from the oldest meeting on.", icon=":material/info:")
        return
    with st.spinner("Reading the decisions…"):
        tl = topic_timeline(lib, topic.strip(), committee, since.isoformat() if since else None)
    show_timeline(lib, tl)


def topic_timeline(lib: Library, topic: str, committee: str | None, since: str | None) -> Timeline:
    filters = Filters(committees=(committee,) if committee else (), date_from=since)
    return _cached_timeline(lib.idx, index_location(), lib.idx.version(), topic, filters,
                            os.environ.get("COMMITTEE_QA_SETTINGS"))


@st.cache_data(max_entries=64, show_spinner=False)
def _cached_timeline(_idx: Store, location: str, version: str, topic: str, filters: Filters, settings: str | None) -> Timeline:
    """One timeline per index version, topic and filters: every click on a card reruns the
    view, and the topic's scoring reads sentence vectors."""
    from qa.decisions import timeline

    return timeline(_idx, topic, filters, get_settings(settings))


def briefing_view(lib: Library) -> None:
    b: bf.Briefing = st.session_state.briefing
    st.title("Briefing")
    st.text_input("Title", value=b.title, key="briefing-title", on_change=_title_changed)
    if not b.items:
        st.info("No quotes yet. Under any quote in **Ask**, choose **Add to briefing**.", icon=":material/info:")
        shelf_panel(b)
        return
    for n, item in enumerate(b.items):
        with st.container(border=True, key=f"item-{item.id}"):
            st.markdown(f"**{n + 1}\\. {esc(bf.heading(item))}**")
            st.markdown(quote_markdown(item.text))
            st.caption(esc(bf.reference(item)))
            st.text_area(
                "Note",
                value=item.note,
                key=f"note-{item.id}",
                on_change=_note_changed,
                args=(item.id,),
                placeholder="Your note on this quote (optional)",
                height=68,
            )
            cols = st.columns(3)
            cols[0].button("Up", key=f"up-{item.id}", icon=":material/arrow_upward:", disabled=n == 0,
                           on_click=_briefing_update, args=(bf.move, item.id, -1))
            cols[1].button("Down", key=f"down-{item.id}", icon=":material/arrow_downward:", disabled=n == len(b.items) - 1,
                           on_click=_briefing_update, args=(bf.move, item.id, 1))
            cols[2].button("Remove", key=f"remove-{item.id}", icon=":material/delete:",
                           on_click=_briefing_update, args=(bf.remove, item.id))
    slug = re.sub(r"[^\w]+", "-", b.title.lower()).strip("-") or "briefing"
    cols = st.columns(2)
    cols[0].download_button("Download Markdown", data=bf.to_markdown(b), file_name=f"{slug}.md",
                            mime="text/markdown", icon=":material/download:", key="export-md")
    cols[1].download_button(
        "Download Word", data=bf.to_docx(b, page_images=briefing_page_images(lib, b)), file_name=f"{slug}.docx", icon=":material/download:", key="export-docx",
        mime="application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    )
    shelf_panel(b)


def shelf_panel(b: bf.Briefing) -> None:
    """Save the briefing above; open or delete a saved one (deleting asks first)."""
    ss = st.session_state
    st.divider()
    st.subheader("Saved briefings")
    cols = st.columns(2)
    cols[0].button("Save", key="shelf-save", icon=":material/save:", type="primary", disabled=not b.items,
                   help="Keep this briefing for a later visit; saving it again updates it", on_click=_save_briefing)
    cols[1].button("New briefing", key="shelf-new", icon=":material/note_add:",
                   help="Start an empty briefing: save this one first to keep it", on_click=_show_briefing, args=(bf.Briefing(),))
    if "shelf-message" in ss:
        level, text = ss.pop("shelf-message")
        (st.success if level == "ok" else st.error)(esc(text))
    saved = briefing_shelf().list()
    if not saved:
        st.caption("No saved briefings yet.")
    for s in saved:
        with st.container(border=True, key=f"saved-{s.name}"):
            if s.problem:
                st.markdown(f"**{esc(s.name)}** cannot be opened: {esc(s.problem)}")
            else:
                st.markdown(f"**{esc(s.title)}**")
                here = " · the briefing above" if s.id == b.id else ""
                st.caption(esc(f"{count(s.items, 'quote')} · saved {long_datetime(s.saved_at)}{here}"))
            if ss.get("shelf-confirm") == s.name:
                st.warning(f"Delete **{esc(s.title)}**? This cannot be undone.", icon=":material/warning:")
                cols = st.columns(2)
                cols[0].button("Yes, delete", key=f"shelf-yes-{s.name}", type="primary", on_click=_delete_briefing, args=(s.name,))
                cols[1].button("Cancel", key=f"shelf-cancel-{s.name}", on_click=_confirm_delete, args=(None,))
                continue
            cols = st.columns(2)
            cols[0].button("Open", key=f"shelf-open-{s.name}", icon=":material/folder_open:", disabled=bool(s.problem),
                           help="Replaces the briefing above: save it first to keep it", on_click=_open_briefing, args=(s.name,))
            cols[1].button("Delete", key=f"shelf-delete-{s.name}", icon=":material/delete:", on_click=_confirm_delete, args=(s.name,))


def library_view(lib: Library | None) -> None:
    st.title("Library")
    upload_section(lib)
    if lib is None:
        return
    changes_section(lib)
    papers = lib.catalogue.papers
    st.subheader(count(len(papers), "paper"))
    by_committee: dict[str, list[PaperEntry]] = {}
    for p in papers:
        by_committee.setdefault(p.committee or "Committee not known", []).append(p)
    for committee in sorted(by_committee):
        rows = sorted(by_committee[committee], key=lambda p: (p.meeting_date or "", p.source), reverse=True)
        meetings = len({p.meeting_date for p in rows})
        with st.expander(f"{committee} — {count(len(rows), 'paper')}, {count(meetings, 'meeting')}", expanded=len(by_committee) <= 3):
            # st.dataframe draws every cell as text: a paper's title cannot become markup.
            table = [
                {
                    "Meeting": long_date(p.meeting_date) or "not known",
                    "Paper": p.title or p.doc,
                    "Kind": KIND_LABELS.get(p.kind, p.kind),
                    "Pages": p.pages or None,
                    "File": p.source,
                    "Open": pdf_link(lib, p.source),
                }
                for p in rows
            ]
            st.dataframe(
                table,
                hide_index=True,
                column_config={"Open": st.column_config.LinkColumn("Open", display_text="PDF")},
            )


# --- what changed since the last meeting ----------------------------------------------

MARK_OLDER = ":red-background[**{}**]"  # words the earlier paper had and the later one changed
MARK_NEWER = ":green-background[**{}**]"  # the later paper's words in their place
CHANGES_SHOWN = 5  # changed passages per report before the rest fold away


def changes_section(lib: Library) -> None:
    """A committee's latest meeting (or one picked) against the one before: new papers and
    agenda items, the decisions, and what changed in each report that came to both."""
    from qa.changes import UnknownCommittee, UnknownMeeting, committee_names, meetings

    st.subheader("What changed since the last meeting")
    names = committee_names(lib.catalogue)
    cols = st.columns([2, 1])
    committee = cols[0].selectbox("Committee", names, index=None, key="changes-committee", placeholder="Choose a committee")
    if committee is None:
        st.caption("Choose a committee to compare its latest meeting with the one before.")
        return
    try:
        dates = meetings(lib.catalogue, committee)
        meeting = cols[1].selectbox("Meeting", dates[::-1], key=f"changes-meeting-{committee}", format_func=long_date)
        with st.spinner("Comparing the papers…"):
            ch = committee_changes(lib, committee, meeting)
    except (UnknownCommittee, UnknownMeeting) as err:
        st.error(esc(f"{err}. Choose another committee or meeting."))
        return
    show_changes(lib, ch)


def committee_changes(lib: Library, committee: str, meeting: str | None) -> Changes:
    return _cached_changes(lib.idx, index_location(), lib.idx.version(), committee, meeting)


@st.cache_data(max_entries=16, show_spinner=False)
def _cached_changes(_idx: Store, location: str, version: str, committee: str, meeting: str | None) -> Changes:
    """since_last reads and diffs every paper of two meetings: once per index version."""
    from qa.changes import since_last

    return since_last(_idx, committee, meeting)


def show_changes(lib: Library, ch: Changes) -> None:
    if ch.previous:
        st.markdown(f"**{esc(ch.committee)}**: meeting of **{esc(long_date(ch.meeting))}**, "
                    f"compared with the meeting before, **{esc(long_date(ch.previous))}**")
    else:
        st.markdown(f"**{esc(ch.committee)}**: meeting of **{esc(long_date(ch.meeting))}**, its first in the index: "
                    "nothing earlier to compare with.")
    show_new_papers(ch)
    show_agenda(ch)
    if ch.decisions:
        st.markdown("##### Decisions at the last meeting on record, and proposals to this one")
        for i, d in enumerate(ch.decisions):
            decision_card(lib, d, f"changes-{i}", compact=True)
    for r_i, r in enumerate(ch.recurring):
        show_recurring(r, r_i)
    if ch.previous and not ch.recurring:
        st.caption("No report that came to both meetings changed.")


def show_new_papers(ch: Changes) -> None:
    st.markdown(f"##### {count(len(ch.new_papers), 'new paper')}")
    lines = [f"- {esc(p.title or p.doc)} · {esc(p.kind.replace('_', ' '))}" for p in ch.new_papers]
    st.markdown("\n".join(lines) or "None: every paper was there at the meeting before.")


def show_agenda(ch: Changes) -> None:
    if not ch.items:
        return
    st.markdown("##### Agenda")
    rows = []
    for item in ch.items:
        number = f"{esc(item.number)}\\. " if item.number else ""
        new = ":green-badge[NEW] " if item.new else ""
        rows.append(f"- {new}{number}{esc(item.title)}" + (f" · p\\. {item.page}" if item.page else ""))
    st.markdown("\n".join(rows))


def show_recurring(r, r_i: int) -> None:
    """One report that came to both meetings: each changed passage side by side."""
    with st.container(key=f"recurring-{r_i}"):
        st.markdown(f"##### :material/compare_arrows: {esc(r.newer.title)}")
        st.caption(esc(f"Compared with “{r.older.title}” of {long_date(r.older.meeting_date) or 'an undated meeting'} · "
                       f"{count(len(r.changes), 'changed passage')}, changed figures first"))
        for c_i, c in enumerate(r.changes[:CHANGES_SHOWN]):
            changed_passage(c, f"{r_i}-{c_i}")
        if len(r.changes) > CHANGES_SHOWN:
            with st.expander(f"{len(r.changes) - CHANGES_SHOWN} more changed passages"):
                for c_i, c in enumerate(r.changes[CHANGES_SHOWN:], CHANGES_SHOWN):
                    changed_passage(c, f"{r_i}-{c_i}")


def figure_change(c: ChangedPassage) -> str:
    """ "£23.3m → £19.8m": the changed figures each side's marked words hold."""
    def held(side: Side | None, marks) -> list[str]:
        words = " ".join(side.text[a:b] for a, b in marks) if side else ""
        return [f for f in c.figures if f in words]

    return " → ".join(", ".join(h) or "—" for h in (held(c.older, c.older_marked), held(c.newer, c.newer_marked)))


def changed_passage(c: ChangedPassage, key: str) -> None:
    with st.container(border=True, key=f"change-{key}"):
        if c.figures and c.kind == "figure":
            st.markdown(f":orange-badge[Figures] {esc(figure_change(c))}")
        left, right = st.columns(2)
        with left:
            change_side(c.older, c.older_marked, MARK_OLDER, "Before")
        with right:
            change_side(c.newer, c.newer_marked, MARK_NEWER, "After")


def change_side(side: Side | None, marks, mark: str, label: str) -> None:
    if side is None:
        st.caption(f"{label}: not in this paper")
        return
    st.caption(f"**{label}** · {esc(long_date(side.citation.meeting_date) or 'meeting date not known')}")
    st.markdown(marked_markdown(side.text, marks, mark))
    st.caption(":material/description: " + esc(citation_line(side.citation)))


def uploads_dir() -> Path:
    """Where uploaded PDFs are kept, so the index's record of each paper's file stays true
    (an ingest with --prune drops papers whose file is gone)."""
    return Path(os.environ.get("COMMITTEE_QA_UPLOADS") or index_dir().parent / "uploads")


@dataclass(frozen=True)
class UploadLine:
    level: str  # "ok", "warn" or "error"
    text: str


def upload_section(lib: Library | None) -> None:
    ss = st.session_state
    with st.container(border=True):
        st.markdown(
            f"**Add papers** — PDFs of agenda packs, minutes or reports, up to {upload_limit_mb()} MB each. "
            "They are read, indexed and searchable straight away."
        )
        files = st.file_uploader(
            "PDF files", type=["pdf"], accept_multiple_files=True, key=f"upload-{ss.uploads}", label_visibility="collapsed"
        )
        if files and st.button("Add to the library", type="primary", icon=":material/upload:", key="upload-go"):
            ss.upload_report = ingest_uploads(lib, [(f.name, f.getvalue()) for f in files])
            ss.uploads += 1
            st.rerun()
        show = {"ok": st.success, "warn": st.warning, "error": st.error}
        for line in ss.upload_report:
            show[line.level](esc(line.text))


def ingest_uploads(lib: Library | None, files: list[tuple[str, bytes]]) -> list[UploadLine]:
    """Check and save the uploads, ingest them into the index (a new version, swapped in by
    index.ingest), and say what happened to each file."""
    from index.engines import ingest_into
    from index.store import IndexError_

    known = {e.source: e.content_hash for e in lib.catalogue.papers} if lib is not None else {}
    folder = uploads_dir()
    lines: list[UploadLine] = []
    saved: dict[Path, str] = {}  # saved file → the name it was uploaded as
    for name, data in files:
        problem = upload_problem(name, data, upload_limit_mb())
        if problem:
            lines.append(UploadLine("error", problem))
            continue
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / safe_filename(name)
        digest = hashlib.sha256(data).hexdigest()
        clash = (target.name in known and known[target.name] != digest) or (
            target.exists() and hashlib.sha256(target.read_bytes()).hexdigest() != digest
        )
        if clash or target in saved:  # another paper has this name: keep both
            target = target.with_name(f"{target.stem}-{digest[:8]}.pdf")
        part = target.with_name(target.name + ".part")
        part.write_bytes(data)
        os.replace(part, target)
        saved[target] = name
    if not saved:
        return lines
    bar = st.progress(0.0, text="Reading the papers…")

    def progress(stage: str, done: int, total: int) -> None:
        share = done / total if total else 1.0
        if stage == "read":
            bar.progress(0.3 * share, text=f"Reading the papers: {done} of {total}")
        else:
            bar.progress(0.3 + 0.7 * share, text=f"Indexing sentences: {done} of {total}")

    try:
        report = ingest_into(index_location(), list(saved), get_embedder(model_spec()), progress=progress)
    except IndexError_ as err:
        bar.empty()
        for path in saved:
            path.unlink(missing_ok=True)
        return lines + [UploadLine("error", f"The papers were not added: {err}")]
    bar.progress(1.0, text="Done")
    get_library.clear()  # every session opens the new version on its next run
    _database_version.clear()
    by_name = {p.name: original for p, original in saved.items()}
    for source in report.added + report.updated:
        lines.append(UploadLine("ok", f"{by_name.get(source, source)}: added"))
    for path, reason in report.skipped:
        Path(path).unlink(missing_ok=True)  # keep only what is indexed
        lines.append(UploadLine("error", f"{by_name.get(Path(path).name, Path(path).name)}: could not be read — {reason}"))
    if report.unchanged:
        lines.append(UploadLine("warn", f"{report.unchanged} already in the library, unchanged"))
    return lines


def main() -> None:
    st.set_page_config(page_title="Committee papers", page_icon=":material/gavel:", layout="centered")
    _init_state()
    from index.embed import ModelNotFound
    from index.store import IndexError_, IndexMissing

    lib = None
    try:
        lib = current_library()
    except IndexMissing:
        pass
    except (IndexError_, ModelNotFound) as err:
        st.error(esc(str(err)))
        st.stop()
    side = sidebar(lib)
    n = len(st.session_state.briefing.items)
    view = st.segmented_control(
        "View", ["Ask", "Decisions", "Briefing", "Library"], default="Ask", required=True, key="view", label_visibility="collapsed",
        format_func=lambda v: f"{v} ({n})" if v == "Briefing" and n else v,
    )
    if lib is None:
        st.warning(NO_INDEX, icon=":material/info:")
        if view == "Library":
            library_view(None)
        return
    if view == "Briefing":
        briefing_view(lib)
    elif view == "Decisions":
        decisions_view(lib)
    elif view == "Library":
        library_view(lib)
    else:
        ask_view(lib, side)


if __name__ == "__main__":  # Streamlit runs this file as __main__; tests import its helpers
    main()
