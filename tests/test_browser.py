"""A real browser against the real server: ``streamlit run app.py`` on a small index, driven by
Playwright through Debian's Chromium (never a browser Playwright downloads). Skipped, with the
reason, when Chromium or Playwright is not installed (``.ci/run`` installs Chromium).

The same code makes the README's screenshot over the sample papers with the real model:

    make index
    .venv/bin/python tests/test_browser.py --index data/index --out docs/screenshot.png \\
        "What did the County Council resolve about the Devolution White Paper?"
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
FIRST_ANSWER = ".st-key-quote-0-0, .st-key-nearest-0-0"  # the first card of the first answer


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


# --- the test ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if chromium() is None:
        pytest.skip("no chromium binary on PATH (apt-get install -y chromium; .ci/run does this)")
    pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install -e '.[dev]')")
    from test_app import MODEL, build_index

    root = tmp_path_factory.mktemp("browser")
    index = build_index(root)
    with streamlit_server(index, MODEL, root / "streamlit.log") as url:
        yield url


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


# --- the README's screenshot -------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Screenshot the app answering a question.")
    parser.add_argument("question")
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
        screenshot(url, args.question, Path(args.out))
    log.unlink(missing_ok=True)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":  # run as a script, tests/ is on sys.path, so conftest imports
    raise SystemExit(main())
