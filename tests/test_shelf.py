"""Briefings saved between visits (qa.shelf): JSON that reads back equal, names made safely from
titles, one briefing never overwriting another, unreadable files listed with their reason,
writes that leave no half-written or temporary files, and where the shelf is for each engine."""

from __future__ import annotations

import doctest
import json
import os
import shutil
from dataclasses import replace
from pathlib import Path

import pytest
import test_briefing
from conftest import SEFTON_SMALL, SEFTON_UPDATE

from qa import briefing as bf
from qa import shelf as sh
from qa.shelf import BriefingShelf, NoSuchBriefing, SavedBriefing

# Page ranges printed and not; no committee, item or printed page: None must come back as None.
MINUTES = replace(test_briefing.MINUTES, page_end=11, printed_page_end="9")
EARLIER = replace(test_briefing.EARLIER, committee=None)


def briefing(title: str = "Budget and SEND", id: str = "b1") -> bf.Briefing:
    b = bf.Briefing(title=title, id=id)
    b = bf.add(b, bf.BriefingItem(id="a", text="NOTE the forecast revenue overspend of £23.3m.", citation=MINUTES,
                                  question="What was the overspend?"))
    b = bf.add(b, bf.BriefingItem(id="b", text="Requests for EHC Assessments\n\n2020 – 412\t\t602", citation=EARLIER))
    return bf.note(b, "a", "Ask about 2025/26 — “in writing”.")


class Clock:
    """Saved-at times a minute apart, from 10:00 on 3 February 2025."""

    def __init__(self) -> None:
        self.minute = 0

    def __call__(self) -> str:
        self.minute += 1
        return f"2025-02-03T10:{self.minute - 1:02d}:00Z"


@pytest.fixture
def shelf(tmp_path: Path) -> BriefingShelf:
    return BriefingShelf(tmp_path / "briefings", now=Clock())


def files(folder: Path) -> list[str]:
    return sorted(os.listdir(folder))


def test_module_examples() -> None:
    failed, tried = doctest.testmod(sh)
    assert tried == 2 and failed == 0


# --- JSON ----------------------------------------------------------------------------------


def test_json_round_trip_gives_an_equal_briefing() -> None:
    b = briefing()
    data = json.loads(json.dumps(b.to_json()))
    assert data["version"] == 1 and data["id"] == "b1" and data["title"] == "Budget and SEND"
    assert data["items"][1]["citation"]["committee"] is None and data["items"][0]["citation"]["page_end"] == 11
    assert bf.Briefing.from_json(data) == b


def test_a_new_briefing_has_its_own_id() -> None:
    a, b = bf.Briefing(), bf.Briefing()
    assert a.id != b.id and len(a.id) == 16
    assert bf.retitle(bf.add(a, bf.BriefingItem(id="x", text="t", citation=MINUTES)), "New").id == a.id


def test_fields_added_later_may_be_missing() -> None:
    data = briefing().to_json()
    for item in data["items"]:
        del item["question"], item["note"], item["citation"]["printed_page_end"]
    back = bf.Briefing.from_json(data)
    assert [(i.question, i.note, i.citation.printed_page_end) for i in back.items] == [("", "", None), ("", "", None)]


def _broken(change) -> dict:
    data = briefing().to_json()
    change(data)
    return data


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda d: d.update(version=2), "briefing format version 2, but this committee-qa reads version 1"),
        (lambda d: d.pop("title"), "the briefing has no title"),
        (lambda d: d.update(items={}), "the briefing's items are not a list"),
        (lambda d: d.update(id=""), "the briefing's id is not non-empty text"),
        (lambda d: d.update(colour="red"), "the briefing has unknown fields: colour"),
        (lambda d: d["items"].append("words"), "quote 3 is not a JSON object"),
        (lambda d: d["items"][1].pop("citation"), "quote 2 has no citation"),
        (lambda d: d["items"][0].update(note=5), "quote 1's note is not text"),
        (lambda d: d["items"][0]["citation"].update(page="10"), "quote 1's citation has a bad page: '10'"),
        (lambda d: d["items"][0]["citation"].update(page_end=True), "quote 1's citation has a bad page_end: True"),
        (lambda d: d["items"][0]["citation"].update(source=None), "quote 1's citation has a bad source: None"),
        (lambda d: d["items"][0]["citation"].pop("doc"), "quote 1's citation has no doc"),
    ],
)
def test_from_json_refuses_what_is_not_a_briefing(change, reason: str) -> None:
    with pytest.raises(bf.BriefingUnreadable) as err:
        bf.Briefing.from_json(_broken(change))
    assert str(err.value).startswith(reason)


def test_from_json_refuses_a_list() -> None:
    with pytest.raises(bf.BriefingUnreadable, match="^the briefing is not a JSON object$"):
        bf.Briefing.from_json([1, 2])


# --- the shelf -----------------------------------------------------------------------------


def test_save_list_open_delete(shelf: BriefingShelf) -> None:
    b = briefing()
    assert shelf.list() == ()  # no folder yet
    assert shelf.save(b) == "budget-and-send"
    assert files(shelf.folder) == ["budget-and-send.json"]
    assert shelf.list() == (SavedBriefing("budget-and-send", "Budget and SEND", 2, "2025-02-03T10:00:00Z", "b1"),)
    assert shelf.open("budget-and-send") == b
    shelf.delete("budget-and-send")
    assert shelf.list() == () and files(shelf.folder) == []
    with pytest.raises(NoSuchBriefing, match="deleted in another window"):
        shelf.open("budget-and-send")
    shelf.delete("budget-and-send")  # already gone: nothing to do


def test_the_file_is_plain_readable_json(shelf: BriefingShelf) -> None:
    shelf.save(briefing())
    text = (shelf.folder / "budget-and-send.json").read_text(encoding="utf-8")
    assert "£23.3m" in text and "“in writing”" in text  # not \u escapes
    assert json.loads(text)["saved_at"] == "2025-02-03T10:00:00Z"


def test_newest_first(shelf: BriefingShelf) -> None:
    # Neither alphabetical order nor its reverse.
    for title, id in (("Budget", "b"), ("Adult care", "c"), ("Transport", "t")):
        shelf.save(briefing(title, id))
    assert [(s.name, s.saved_at) for s in shelf.list()] == [
        ("transport", "2025-02-03T10:02:00Z"),
        ("adult-care", "2025-02-03T10:01:00Z"),
        ("budget", "2025-02-03T10:00:00Z"),
    ]


def test_same_title_twice_keeps_both_and_a_resave_replaces_its_own(shelf: BriefingShelf) -> None:
    first, second = briefing("Budget", "one"), briefing("Budget", "two")
    assert shelf.save(first) == "budget"
    assert shelf.save(second) == "budget-2"
    assert shelf.open("budget") == first and shelf.open("budget-2") == second

    edited = bf.note(first, "b", "Check the 2023 figures.")
    assert shelf.save(edited) == "budget"  # itself, not a third file
    assert files(shelf.folder) == ["budget-2.json", "budget.json"]
    assert shelf.open("budget") == edited and shelf.open("budget-2") == second

    # Retitled, it moves to its new name; the other "Budget" stays.
    moved = bf.retitle(edited, "Budget (final)")
    assert shelf.save(moved) == "budget-final"
    assert files(shelf.folder) == ["budget-2.json", "budget-final.json"]
    assert shelf.open("budget-final") == moved
    # Back to "Budget": "budget" is free again, so it takes that name.
    assert shelf.save(bf.retitle(moved, "Budget")) == "budget"
    assert files(shelf.folder) == ["budget-2.json", "budget.json"]


def test_titles_that_look_like_paths_make_plain_names(shelf: BriefingShelf, tmp_path: Path) -> None:
    titles = {
        "../../etc/passwd": "etc-passwd",
        "..": "briefing",
        "/": "briefing-2",
        "C:\\Windows\\system32": "c-windows-system32",
        "Café – déjà vu": "cafe-deja-vu",
        "预算": "briefing-3",
        "x" * 200: "x" * 60,
        "budget.json": "budget-json",
    }
    for n, (title, name) in enumerate(titles.items()):
        assert shelf.save(bf.Briefing(title=title, id=f"id{n}")) == name
    assert files(shelf.folder) == sorted(f"{name}.json" for name in titles.values())
    assert files(tmp_path) == ["briefings"]  # nothing written outside the shelf
    assert shelf.open("etc-passwd").title == "../../etc/passwd"


@pytest.mark.parametrize("name", ["../secret", "a/b", "/tmp/secret", "", ".", "Budget", "budget.json", "budget-"])
def test_names_we_never_give_are_refused(shelf: BriefingShelf, tmp_path: Path, name: str) -> None:
    (tmp_path / "secret.json").write_text(json.dumps({"saved_at": "x", **briefing().to_json()}))
    shelf.folder.mkdir()
    with pytest.raises(NoSuchBriefing, match="choose one from the list"):
        shelf.open(name)
    with pytest.raises(NoSuchBriefing):
        shelf.delete(name)
    assert (tmp_path / "secret.json").exists()


def test_unreadable_files_are_listed_with_a_reason(shelf: BriefingShelf) -> None:
    shelf.save(briefing())
    folder = shelf.folder
    (folder / "broken.json").write_text('{"title": "Half', encoding="utf-8")
    (folder / "old.json").write_text(json.dumps({"saved_at": "2024-01-01T00:00:00Z", **briefing().to_json(), "version": 9}))
    (folder / "latin.json").write_bytes(b"{\"title\": \"caf\xe9\"}")
    (folder / "list.json").write_text("[]")
    (folder / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
    for ignored in ("Notes.json", ".half.tmp", "readme.txt", "x.json.bak"):  # not names the shelf gives
        (folder / ignored).write_text("{}")
    os.utime(folder / "broken.json", (1738576800, 1738576800))  # 2025-02-03T10:00:00Z

    listed = {s.name: s for s in shelf.list()}
    assert sorted(listed) == ["broken", "budget-and-send", "deep", "latin", "list", "old"]
    assert listed["broken"] == SavedBriefing(
        "broken", "broken", 0, "2025-02-03T10:00:00Z",
        problem="not JSON (Unterminated string starting at: line 1 column 11 (char 10))",
    )
    assert listed["old"].problem == "briefing format version 9, but this committee-qa reads version 1: open it with the committee-qa that saved it"
    assert listed["latin"].problem == "not UTF-8 text"
    assert listed["list"].problem == "no saved_at time: not a saved briefing"
    assert listed["deep"].problem == "JSON nested too deeply to be a briefing"
    assert listed["budget-and-send"].problem == ""
    assert all("\n" not in s.problem for s in listed.values())
    with pytest.raises(bf.BriefingUnreadable, match="^not JSON"):
        shelf.open("broken")
    shelf.delete("broken")  # an unreadable file can still be cleared away
    assert "broken" not in {s.name for s in shelf.list()}


def test_writes_leave_no_temporary_files(shelf: BriefingShelf) -> None:
    b = briefing()
    shelf.save(b)
    shelf.save(bf.note(b, "a", "again"))
    shelf.save(briefing("Budget and SEND", "other"))
    assert files(shelf.folder) == ["budget-and-send-2.json", "budget-and-send.json"]


def test_a_failed_write_keeps_the_old_file_whole(shelf: BriefingShelf, monkeypatch: pytest.MonkeyPatch) -> None:
    b = briefing()
    shelf.save(b)

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(sh.os, "replace", full_disk)
    with pytest.raises(OSError, match="No space left"):
        shelf.save(bf.note(b, "a", "lost"))
    assert shelf.open("budget-and-send") == b
    assert files(shelf.folder) == ["budget-and-send.json"]


def test_without_hard_links_a_new_name_is_still_never_shared(shelf: BriefingShelf, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_links(*args, **kwargs):
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(sh.os, "link", no_links)
    first, second = briefing("Budget", "one"), briefing("Budget", "two")
    assert [shelf.save(first), shelf.save(second)] == ["budget", "budget-2"]
    assert shelf.open("budget") == first and shelf.open("budget-2") == second
    assert files(shelf.folder) == ["budget-2.json", "budget.json"]


# --- where the shelf is --------------------------------------------------------------------


def test_a_folder_index_keeps_its_briefings_in_its_own_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COMMITTEE_QA_BRIEFINGS", str(tmp_path / "elsewhere"))  # only for databases
    assert sh.briefings_dir(tmp_path / "index") == tmp_path / "index" / "briefings"
    assert sh.briefings_dir(str(tmp_path / "index")) == tmp_path / "index" / "briefings"


def test_a_database_keeps_them_in_the_named_folder_or_the_users_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = "postgresql://qa:secret@127.0.0.1:5432/committee_qa"
    monkeypatch.setenv("COMMITTEE_QA_BRIEFINGS", "~/shared/briefings")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert sh.briefings_dir(url) == tmp_path / "home" / "shared" / "briefings"
    monkeypatch.delenv("COMMITTEE_QA_BRIEFINGS")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    # sha256("postgresql://qa@127.0.0.1:5432/committee_qa")[:16]: the URL without its password.
    assert sh.briefings_dir(url) == tmp_path / "data" / "committee-qa" / "briefings" / "7209a1b8da42810e"
    assert sh.briefings_dir(url.replace(":secret", "")) == sh.briefings_dir(url)
    assert sh.briefings_dir(url.replace("5432", "5433")) != sh.briefings_dir(url)
    monkeypatch.delenv("XDG_DATA_HOME")
    assert sh.briefings_dir(url) == tmp_path / "home" / ".local" / "share" / "committee-qa" / "briefings" / "7209a1b8da42810e"


def test_briefings_outlive_a_new_index_version(tmp_path: Path) -> None:
    from index.embed import HashingEmbedder
    from index.folder import ingest

    papers, index = tmp_path / "papers", tmp_path / "index"
    papers.mkdir()
    shutil.copyfile(SEFTON_UPDATE, papers / SEFTON_UPDATE.name)
    ingest([papers], index, HashingEmbedder(16))
    shelf = BriefingShelf(sh.briefings_dir(index))
    shelf.save(briefing())
    before = (index / "current").resolve()
    shutil.copyfile(SEFTON_SMALL, papers / SEFTON_SMALL.name)
    ingest([papers], index, HashingEmbedder(16))
    assert (index / "current").resolve() != before and not before.exists()  # the old version is gone
    assert shelf.open("budget-and-send") == briefing()
