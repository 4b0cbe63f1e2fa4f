"""A real browser against the real server: ``streamlit run app.py`` on a small index, driven by
Playwright through Debian's Chromium (never a browser Playwright downloads). Skipped, with the
reason, when Chromium or Playwright is not installed (``.ci/run`` installs Chromium).

The same code makes the README's screenshots over the sample papers with the real model:

    make index
    .venv/bin/python tests/test_browser.py --index data/index --out docs/screenshot.png \\
        "What did the County Council resolve about the Devolution White Paper?"
    .venv/bin/python tests/test_browser.py --index data/index --view decisions \\
        --out docs/screenshot-decisions.png "the children's services improvement programme"
    .venv/bin/python tests/test_browser.py --index data/index --view changes \\
        --out docs/screenshot-changes.png "Overview and Scrutiny Committee (Children's Services and Safeguarding)"
    .venv/bin/python tests/test_browser.py --index data/index --view page \\
        --out docs/screenshot-page.png "What is the forecast revenue overspend?"
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pytest
from conftest import REPO, cli_env

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-dev-shm-usage"]
PLACEHOLDER = "Ask a question about the committee papers"
# The first card of the first answer: a quote, a nearest match, or a decision of a timeline.
FIRST_ANSWER = ".st-key-quote-0-0, .st-key-nearest-0-0, .st-key-decision-0-0"


def chromium() -> str | None:
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def streamlit_server(index: Path, model: str | None, log: Path, *, wait: float = 180) -> Iterator[str]:
    """``streamlit run app.py`` on 127.0.0.1 and a free port, serving ``index``; its URL."""
    port = free_port()
    env = cli_env()
    env["COMMITTEE_QA_INDEX"] = str(index)
    env.pop("COMMITTEE_QA_MODEL", None)
    if model:
        env["COMMITTEE_QA_MODEL"] = model
    command = [
        sys.executable, "-m", "streamlit", "run", str(REPO / "app.py"),
        "--server.address", "127.0.0.1", "--server.port", str(port), "--server.headless", "true",
    ]  # fmt: skip
    with log.open("wb") as out:
        proc = subprocess.Popen(command, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + wait
        while True:
            try:
                with urllib.request.urlopen(url + "_stcore/health", timeout=5) as r:
                    if r.read() == b"ok":
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"streamlit did not start (exit {proc.poll()}):\n{log.read_text(errors='replace')[-3000:]}")
            time.sleep(0.5)
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)  # its own session: the server and anything it started
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


@contextmanager
def browser_page(width: int = 1280, height: int = 1000):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium(), args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser.new_page(viewport={"width": width, "height": height})
        finally:
            browser.close()


def ask_in_page(page, url: str, question: str, *, timeout_ms: int = 180_000):
    """Open the app, ask ``question`` and return the first card of the answer."""
    page.goto(url)
    box = page.get_by_placeholder(PLACEHOLDER)
    box.wait_for(timeout=timeout_ms)  # the first visit waits for the model and the index
    box.fill(question)
    box.press("Enter")
    card = page.locator(FIRST_ANSWER).first
    card.wait_for(timeout=timeout_ms)
    return card


def screenshot(url: str, question: str, out: Path, *, height: int = 1250) -> None:
    """The app answering ``question``, the first quote opened in its paper, from the top."""
    with browser_page(height=height) as page:
        card = ask_in_page(page, url, question)
        card.get_by_text("Show in paper").click()
        page.wait_for_timeout(1000)
        # Opening the paper scrolled the chat: back to the top, whichever element scrolls.
        page.evaluate("for (const e of document.querySelectorAll('*')) if (e.scrollTop > 0) e.scrollTop = 0")
        page.wait_for_timeout(500)
        out.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(out))


def open_view(page, url: str, name: str, *, timeout_ms: int = 180_000) -> None:
    """Open the app at one of its views (Ask, Decisions, Briefing, Library)."""
    page.goto(url)
    button = page.locator(".st-key-view").get_by_role("radio", name=name, exact=True)
    button.wait_for(timeout=timeout_ms)  # the first visit waits for the model and the index
    button.click()


def timeline_in_page(page, url: str, topic: str, *, timeout_ms: int = 180_000):
    """The Decisions view's timeline for ``topic``; its first card."""
    open_view(page, url, "Decisions", timeout_ms=timeout_ms)
    box = page.get_by_label("Topic")
    box.fill(topic)
    box.press("Enter")
    card = page.locator(".st-key-decision-0")
    card.get_by_role("button", name="Add to briefing").wait_for(timeout=timeout_ms)
    return card


def changes_in_page(page, url: str, committee: str, *, timeout_ms: int = 180_000):
    """The Library's What changed for ``committee``; its first changed passage."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    open_view(page, url, "Library", timeout_ms=timeout_ms)
    box = page.locator(".st-key-changes-committee").get_by_role("combobox")
    box.wait_for(timeout=timeout_ms)
    change = page.locator(".st-key-change-0-0")
    # Typed, not clicked: the view may still be re-running as the list opens, which takes an
    # open list (and the option under the pointer) away. Choose again until the choice holds.
    for attempt in range(4):
        try:
            box.click(timeout=15_000)
            box.fill(committee, timeout=15_000)
            page.get_by_role("option").filter(has_text=committee).first.wait_for(timeout=15_000)
            box.press("Enter")
            change.wait_for(timeout=timeout_ms // 4)
            return change
        except PlaywrightTimeout:
            if attempt == 3:
                raise
            page.keyboard.press("Escape")
            page.wait_for_timeout(1000)
    return change


def shoot(page, out: Path, locator=None) -> None:
    """A screenshot from the top of the page, or from ``locator`` scrolled to the top."""
    page.wait_for_timeout(1000)
    page.evaluate("for (const e of document.querySelectorAll('*')) if (e.scrollTop > 0) e.scrollTop = 0")
    if locator is not None:
        locator.evaluate("e => e.scrollIntoView({block: 'start'})")
    page.wait_for_timeout(500)
    out.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(out))


# --- the test ----------------------------------------------------------------------------


def serve(tmp_path_factory: pytest.TempPathFactory, name: str, build) -> Iterator[str]:
    """The app over the index ``build(root)`` makes, on a server of its own; skipped without a browser."""
    if chromium() is None:
        pytest.skip("no chromium binary on PATH (apt-get install -y chromium; .ci/run does this)")
    pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install -e '.[dev]')")
    from test_app import MODEL

    root = tmp_path_factory.mktemp(name)
    with streamlit_server(build(root), MODEL, root / "streamlit.log") as url:
        yield url


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from test_app import build_index

    yield from serve(tmp_path_factory, "browser", build_index)


@pytest.fixture(scope="module")
def views_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The app over papers with decisions at several meetings (tests/test_views.py)."""
    from test_views import build_views_index

    yield from serve(tmp_path_factory, "browser-views", build_views_index)


def test_browser_question_gets_a_quote_card(server: str, tmp_path: Path) -> None:
    from test_app import IMPROVEMENT_BOARD, OVERVIEW

    with browser_page() as page:
        card = ask_in_page(page, server, IMPROVEMENT_BOARD)
        # Streamlit draws a card's text before its buttons: wait for the button (raising if
        # it never shows), then read the whole card.
        card.get_by_role("button", name="Add to briefing").wait_for(state="visible", timeout=30_000)
        text = card.inner_text()
        assert "The Improvement Board has convened four times since the last Group meeting and is now held monthly." in text
        assert f"{OVERVIEW} · meeting of 16 November 2021 · 004_ef26fe128a3892ff.txt" in text
        card.get_by_text("Show in paper").click()
        highlighted = card.locator("strong", has_text="now held monthly")
        highlighted.first.wait_for(timeout=30_000)
        page.screenshot(path=str(tmp_path / "answer.png"))


def test_browser_pdf_link_opens_the_stored_paper(server: str) -> None:
    from conftest import KENT_MINUTES
    from test_app import OVERSPEND

    with browser_page() as page:
        card = ask_in_page(page, server, OVERSPEND)
        link = card.get_by_role("link", name="Open the PDF at this page").first
        href = link.get_attribute("href")
        assert href and href.startswith("app/static/papers/") and "#page=" in href
        response = page.request.get(server + href.split("#")[0])
        assert response.status == 200 and response.headers["content-type"] == "application/pdf"
        assert response.body() == KENT_MINUTES.read_bytes()


def test_browser_shows_the_pdf_page_with_the_quote_boxed(server: str, tmp_path: Path) -> None:
    with browser_page() as page:
        card = ask_in_page(page, server, "What is the forecast revenue overspend?")
        card.get_by_text("Show in paper").click()
        picture = card.get_by_role("img", name="Page ")
        picture.first.wait_for(state="visible", timeout=30_000)
        # Drawn, and shown at the card's width, not as a broken image.
        width = picture.first.evaluate("img => img.complete && img.naturalWidth")
        assert width == 1100
        assert card.get_by_role("tab", name="Its text").count() == 1
        page.screenshot(path=str(tmp_path / "page.png"), full_page=True)


def test_browser_shows_paper_markup_as_text(server: str) -> None:
    from test_app import HOSTILE_BITS

    with browser_page() as page:
        dialogs: list[str] = []
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        card = ask_in_page(page, server, "What arrived with the street trading consultation response?")
        card.get_by_text("Show in paper").click()
        page.wait_for_timeout(1000)
        text = card.inner_text()
        for bit in HOSTILE_BITS:
            assert text.count(bit) >= 2, bit  # in the quote and again in its page
        assert card.locator("script, img, b").count() == 0
        assert page.locator("img[src='x'], img[src='http://example.com/t.png']").count() == 0
        assert dialogs == []


def test_browser_decisions_view_shows_the_timeline(views_server: str, tmp_path: Path) -> None:
    with browser_page() as page:
        timeline_in_page(page, views_server, "the work programme")
        cards = page.locator("[class*='st-key-decision-']")
        texts = [cards.nth(i).inner_text() for i in range(cards.count())]
        assert len(texts) >= 4
        # The badge heads each card; a report's recommendation is a proposal, never shown as decided.
        badges = [t.split("\n")[0] for t in texts]
        assert all(("Proposed — not yet decided" in b) == ("“Recommendation" in t) for b, t in zip(badges, texts)), badges
        assert sum("Resolved" in b for b in badges) >= 2 and sum("Proposed" in b for b in badges) >= 2
        # The dates open the groups, oldest first.
        headings = [h.removeprefix("event").strip() for h in page.locator("h5").all_inner_texts()]  # less the icon's name
        assert headings.index("21 June 2017") < headings.index("20 December 2022") < headings.index("9 January 2025")
        # The on-topic sub-item is bold, not markup from the paper.
        assert page.locator(".st-key-decision-0 strong", has_text="(1) the Work Programme for 2017/18").count() >= 1
        shoot(page, tmp_path / "decisions.png")
        assert (tmp_path / "decisions.png").stat().st_size > 10_000


def test_browser_changes_side_by_side(views_server: str, tmp_path: Path) -> None:
    with browser_page() as page:
        changes_in_page(page, views_server, "Cabinet")
        # The Apologies item's changed passage, wherever it stands among the report's changes.
        change = page.locator("[class*='st-key-change-0-']").filter(has_text="from Mrs C Bell").first
        change.locator("strong", has_text="from Mrs C Bell").wait_for(timeout=30_000)
        page.wait_for_timeout(1000)  # the page is still laid out as the rest of it arrives
        before, after = change.locator("[data-testid='stColumn']").all()
        a, b = before.bounding_box(), after.bounding_box()
        assert a["x"] + a["width"] <= b["x"] and abs(a["y"] - b["y"]) < 5  # side by side, older on the left
        assert before.locator("strong", has_text="No apologies").count() == 1
        assert after.locator("strong", has_text="from Mrs C Bell").count() == 1
        assert "Before · 9 January 2025" in before.inner_text() and "After · 30 January 2025" in after.inner_text()
        shoot(page, tmp_path / "changes.png", page.locator(".st-key-change-0-0"))
        assert (tmp_path / "changes.png").stat().st_size > 10_000


# --- the README's screenshot -------------------------------------------------------------


def screenshot_timeline(url: str, topic: str, out: Path, *, height: int = 2600) -> None:
    """The Decisions view's timeline for ``topic``, from the top."""
    with browser_page(height=height) as page:
        timeline_in_page(page, url, topic)
        shoot(page, out)


def screenshot_changes(url: str, committee: str, out: Path, *, height: int = 1700) -> None:
    """The Library's What changed for ``committee``: the first recurring report's changed
    passages, side by side."""
    with browser_page(height=height) as page:
        changes_in_page(page, url, committee)
        shoot(page, out, page.locator(".st-key-recurring-0"))


def screenshot_page(url: str, question: str, out: Path, *, height: int = 1400) -> None:
    """The first quote's Show in paper: its PDF page drawn, the quoted words boxed."""
    with browser_page(height=height) as page:
        card = ask_in_page(page, url, question)
        card.get_by_text("Show in paper").click()
        picture = card.get_by_role("img", name="Page ").first
        picture.wait_for(state="visible", timeout=60_000)
        picture.scroll_into_view_if_needed()
        page.wait_for_timeout(800)
        out.parent.mkdir(parents=True, exist_ok=True)
        picture.screenshot(path=str(out))


SCREENSHOTS = {"ask": screenshot, "decisions": screenshot_timeline, "changes": screenshot_changes, "page": screenshot_page}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Screenshot the app answering a question, a topic's decisions or what changed.")
    parser.add_argument("question", help="the question; with --view decisions a topic, with --view changes a committee")
    parser.add_argument("--view", choices=sorted(SCREENSHOTS), default="ask")
    parser.add_argument("--index", default="data/index", help="index folder (default data/index)")
    parser.add_argument("--model", default=None, help="COMMITTEE_QA_MODEL for the server (default: the bundled model)")
    parser.add_argument("--out", default="docs/screenshot.png")
    args = parser.parse_args(argv)
    if chromium() is None:
        print("no chromium binary on PATH: apt-get install -y chromium", file=sys.stderr)
        return 1
    index = Path(args.index).resolve()
    log = Path(args.out).with_suffix(".log")
    with streamlit_server(index, args.model, log) as url:
        SCREENSHOTS[args.view](url, args.question, Path(args.out))
    log.unlink(missing_ok=True)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":  # run as a script, tests/ is on sys.path, so conftest imports
    raise SystemExit(main())
