"""Briefings kept between visits: one plain JSON file each, in a folder beside the index.

    >>> slug("Home to school transport: 2025/26")
    'home-to-school-transport-2025-26'
    >>> slug("../../etc/passwd"), slug("   ")
    ('etc-passwd', 'briefing')

A briefing is saved under a name made from its title (``budget.json``; ``budget-2.json`` for
another briefing with the same title). Saving the same briefing again (the same
:attr:`Briefing.id`) replaces its own file, and moves it to a new name when its title has
changed. Every write is a temporary file renamed into place, so a reader sees the old file
or the new one, never half of one. Nothing is unpickled: a file that is not a briefing is
listed as unreadable, with the reason.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import os
import re
import tempfile
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

from qa.briefing import Briefing, BriefingUnreadable

NAME_LENGTH = 60  # of the slug; a "-N" may follow
_NAME = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")


class NoSuchBriefing(LookupError):
    """No saved briefing has that name (deleted meanwhile, or never a name we gave)."""


def slug(title: str) -> str:
    """A file name from a title: lower-case ASCII letters and digits joined by hyphens, so
    no path, dot or drive letter survives."""
    ascii_text = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    words = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return words[:NAME_LENGTH].strip("-") or "briefing"


def is_name(name: str) -> bool:
    """Whether ``name`` could be one the shelf gave (checked before any path is built)."""
    return len(name) <= NAME_LENGTH + 8 and _NAME.fullmatch(name) is not None


def iso(t: datetime) -> str:
    """A time as the app prints them elsewhere (index.store.Catalogue.created): UTC, seconds."""
    return t.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def utc_now() -> str:
    return iso(datetime.now(timezone.utc))


def briefings_dir(location: str | Path) -> Path:
    """Where the briefings of the index at ``location`` are kept. A folder index keeps them
    in its own folder, beside ``current`` and ``versions/`` (an ingest swaps versions, never
    this). A database has no folder of ours: $COMMITTEE_QA_BRIEFINGS, or else a folder per
    database under the user's data directory, named by a hash of its URL without password."""
    from index.engines import is_postgres_url, printable

    if not is_postgres_url(location):
        return Path(location) / "briefings"
    if os.environ.get("COMMITTEE_QA_BRIEFINGS"):
        return Path(os.environ["COMMITTEE_QA_BRIEFINGS"]).expanduser()
    data = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    key = hashlib.sha256(printable(location).encode()).hexdigest()[:16]
    return data / "committee-qa" / "briefings" / key


@dataclass(frozen=True)
class SavedBriefing:
    """One file on the shelf, as listed. ``problem`` says why it cannot be opened, if so."""

    name: str
    title: str
    items: int
    saved_at: str  # ISO 8601, UTC
    id: str = ""
    problem: str = ""


@dataclass(frozen=True)
class BriefingShelf:
    folder: Path
    now: Callable[[], str] = field(default=utc_now, compare=False)

    def path(self, name: str) -> Path:
        if not is_name(name):
            raise NoSuchBriefing(f"no saved briefing is called {name!r}: choose one from the list")
        return self.folder / f"{name}.json"

    def list(self) -> tuple[SavedBriefing, ...]:
        """Every saved briefing, newest first; unreadable files too, with their reason."""
        try:
            paths = [p for p in self.folder.glob("*.json") if is_name(p.stem)]
        except OSError:
            return ()
        found = []
        for p in paths:
            try:
                found.append((_saved(p), p.stat().st_mtime_ns))
            except FileNotFoundError:
                continue  # deleted by another session while we looked
            except OSError as err:
                found.append((_unreadable(p, err), 0))
        found.sort(key=lambda s: (s[0].saved_at, s[1], s[0].name), reverse=True)
        return tuple(s for s, _ in found)

    def open(self, name: str) -> Briefing:
        """The briefing saved as ``name``. Raises NoSuchBriefing, or BriefingUnreadable with
        the reason."""
        try:
            return _read(self.path(name))[0]
        except FileNotFoundError:
            raise NoSuchBriefing(f"no saved briefing {name!r}: it may have been deleted in another window") from None

    def delete(self, name: str) -> None:
        self.path(name).unlink(missing_ok=True)  # already gone (another window) is as good

    def save(self, briefing: Briefing) -> str:
        """Save ``briefing`` and return its name. Its own earlier file is replaced (or
        renamed, if the title changed); another briefing's file is never touched."""
        self.folder.mkdir(parents=True, exist_ok=True)
        text = json.dumps({"saved_at": self.now(), **briefing.to_json()}, ensure_ascii=False, indent=1)
        own = next((s for s in self.list() if s.id == briefing.id), None)
        tmp = _temporary(self.folder, text)
        try:
            if own is not None and slug(own.title) == slug(briefing.title):
                os.replace(tmp, self.path(own.name))
                return own.name
            name = _claim(self.folder, slug(briefing.title), tmp)
            if own is not None:
                self.path(own.name).unlink(missing_ok=True)  # moved to its new title's name
            return name
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)


def _temporary(folder: Path, text: str) -> Path:
    """``text`` written and flushed to disk in a hidden file of ``folder`` (which list
    ignores), ready to be renamed into place."""
    fd, name = tempfile.mkstemp(prefix=".", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
    except BaseException:
        os.unlink(name)
        raise
    return Path(name)


def _claim(folder: Path, base: str, tmp: Path) -> str:
    """Give ``tmp`` the first free name of base, base-2, base-3, …. A hard link fails if the
    name is taken, so two windows saving at once never take the same name."""
    for n in itertools.count(1):
        name = base if n == 1 else f"{base}-{n}"
        target = folder / f"{name}.json"
        try:
            os.link(tmp, target)
        except FileExistsError:
            continue
        except OSError:  # a file system without hard links: check, then rename
            if target.exists():
                continue
            os.replace(tmp, target)
        return name


def _read(path: Path) -> tuple[Briefing, str]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise BriefingUnreadable("not UTF-8 text") from None
    except json.JSONDecodeError as err:
        raise BriefingUnreadable(f"not JSON ({err})") from None
    except RecursionError:
        raise BriefingUnreadable("JSON nested too deeply to be a briefing") from None
    saved_at = data.pop("saved_at", None) if isinstance(data, dict) else None
    if not isinstance(saved_at, str):
        raise BriefingUnreadable("no saved_at time: not a saved briefing")
    return Briefing.from_json(data), saved_at


def _saved(path: Path) -> SavedBriefing:
    try:
        briefing, saved_at = _read(path)
    except BriefingUnreadable as err:
        return _unreadable(path, err)
    return SavedBriefing(path.stem, briefing.title, len(briefing.items), saved_at, briefing.id)


def _unreadable(path: Path, err: Exception) -> SavedBriefing:
    try:
        modified = iso(datetime.fromtimestamp(path.stat().st_mtime, timezone.utc))
    except OSError:
        modified = ""
    reason = " ".join(str(err).split()) or type(err).__name__
    return SavedBriefing(path.stem, path.stem, 0, modified, problem=reason)
