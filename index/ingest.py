"""Papers in, passages and their sentence vectors out: what every engine's ingest shares
(finding files, reading, chunking, inheriting a meeting and an agenda item, embedding each
distinct text once). Each engine (index.folder, index.postgres) writes them its own way.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable

import numpy as np

from index import layout
from index.chunk import ROW_HEADER_WORDS, is_row_line, row_header, sentence_units
from index.embed import Embedder
from index.model import AgendaItem, Paper, Passage
from index.pdfread import ReadLimits, UnreadablePaper
from index.read import SUPPORTED_SUFFIXES, read_paper
from index.tokens import strip_tags

Progress = Callable[[str, int, int], None]  # stage, done, total


@dataclass
class IngestReport:
    papers: int = 0
    pages: int = 0
    passages: int = 0
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: int = 0
    removed: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    embedded: int = 0  # sentence units sent to the model this run
    reused: int = 0  # unit vectors taken from the cache or from an identical unit
    words_embedded: int = 0
    words_total: int = 0
    seconds: dict[str, float] = field(default_factory=dict)
    version: str = ""
    rebuilt: str = ""  # why the previous index was set aside, if it was

    def summary(self) -> str:
        lines = [
            f"{self.papers} papers, {self.pages} pages, {self.passages} passages in the index",
            f"{len(self.added)} added, {len(self.updated)} updated, {self.unchanged} unchanged, "
            f"{len(self.removed)} removed; {self.embedded} sentences embedded, {self.reused} reused from the cache",
        ]
        if self.rebuilt:
            lines.append(f"the previous index was damaged and has been rebuilt: {self.rebuilt}")
        if self.skipped:
            lines.append(f"{len(self.skipped)} skipped:")
            lines += [f"  {path}: {reason}" for path, reason in self.skipped]
        return "\n".join(lines)


def find_files(paths: list[Path]) -> list[tuple[Path, Path]]:
    """(file, root) pairs: a folder's supported files, recursively, sources relative to it."""
    found: list[tuple[Path, Path]] = []
    for path in paths:
        if path.is_dir():
            for f in sorted(path.rglob("*")):
                if f.is_file() and f.suffix.lower() in SUPPORTED_SUFFIXES and not f.name.startswith("."):
                    found.append((f, path))
        else:
            found.append((path, path.parent))
    return found


def passage_units(passages: list[Passage]) -> tuple[np.ndarray, list[str]]:
    """The sentence units of every passage: an (n, 3) array of (passage row, start, end)
    offsets into the paper's text, and the text each is embedded as."""
    rows: list[tuple[int, int, int]] = []
    texts: list[str] = []
    for i, p in enumerate(passages):
        for s, e in sentence_units(p.text, 0, len(p.text), p.is_table):
            words = " ".join(strip_tags(p.text[s:e]).split())
            if not words:
                continue
            if p.is_table and p.context and len(words.split()) < 12:
                # A short row means little without its column headers.
                words = f"{' '.join(p.context.split()[:ROW_HEADER_WORDS])}: {words}"
            elif not p.is_table and is_row_line(p.text[s:e]):
                # A table row read from a PDF as plain lines: the same, its headers being
                # the lines above its block of rows (index.chunk.row_header).
                header = row_header(p.text, s, p.section or p.context)
                words = f"{header}: {words}" if header else words
            rows.append((i, p.start + s, p.start + e))
            texts.append(words)
    return np.array(rows, dtype=np.int64).reshape(-1, 3), texts


def embed_key(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()


ACRONYM = re.compile(r"((?:[A-Z][\w'’]+|and|of|for|the|&|in|to)(?:[\s\-]+(?:[A-Z][\w'’]+|and|of|for|the|&|in|to)){1,7})\s+\(([A-Z][A-Za-z]{1,9})\)")


def learn_acronyms(passages: list[Passage]) -> dict[str, str]:
    """"Multi-Agency Safeguarding Hub (MASH)" → {"MASH": "Multi-Agency Safeguarding Hub"}.

    The expansion is cut to the words whose initials spell the acronym."""
    seen: dict[str, Counter[str]] = {}
    for p in passages:
        for m in ACRONYM.finditer(p.text):
            acronym = m.group(2)
            letters = [c for c in acronym if c.isupper()]
            phrase = m.group(1)
            words = list(re.finditer(r"[^\s\-]+", phrase))
            # Walk back from the bracket until the initials spell the acronym.
            initials: list[str] = []
            for i in range(len(words) - 1, -1, -1):
                if words[i].group()[:1].isupper():
                    initials.insert(0, words[i].group()[0])
                if initials == letters:
                    seen.setdefault(acronym, Counter())[phrase[words[i].start() :]] += 1
                    break
    return {a: c.most_common(1)[0][0] for a, c in seen.items()}


def read_or_reason(item: tuple[Path, Path], limits: ReadLimits) -> tuple[Path, Paper | None, str]:
    """A file read as a Paper, or why it could not be (one odd file must not stop the rest)."""
    f, root = item
    try:
        return f, read_paper(f, root, limits), ""
    except UnreadablePaper as err:
        return f, None, err.reason
    except OSError as err:
        return f, None, f"could not be opened ({err.strerror or err})"
    except Exception as err:  # noqa: BLE001 - reported as a skipped file
        return f, None, f"could not be read ({type(err).__name__}: {err}); please report this file"


def file_hash(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def inherit_meeting(papers: dict[str, Paper], passages: list[Passage]) -> None:
    """A paper filed in a meeting's folder with no committee or date of its own (an appendix)
    takes the ones its sibling papers agree on."""
    by_folder: dict[str, list[Paper]] = {}
    for paper in papers.values():
        by_folder.setdefault(str(Path(paper.source).parent), []).append(paper)
    for i, p in enumerate(passages):
        if p.committee and p.meeting_date:
            continue
        siblings = by_folder.get(str(Path(p.source).parent), [])
        if len(siblings) < 2 or str(Path(p.source).parent) in ("", "."):
            continue
        committee = Counter(s.committee for s in siblings if s.committee).most_common(1)
        date = Counter(s.meeting_date for s in siblings if s.meeting_date).most_common(1)
        passages[i] = replace(
            p,
            committee=p.committee or (committee[0][0] if committee else None),
            meeting_date=p.meeting_date or (date[0][0] if date else None),
            pack_date=p.pack_date or (date[0][0] if date else None),
        )


def inherit_item(papers: dict[str, Paper], passages: list[Passage]) -> None:
    """A paper filed in a meeting's folder beside that meeting's agenda (councils publish
    each item's report, appendices and decision as files of their own) takes the agenda
    item its file name points to (index.layout.item_named_by), when it has none itself."""
    # The PostgreSQL ingest passes papers already stored as summaries without an agenda.
    with_agenda = [p for p in papers.values() if getattr(p, "agenda", ())]
    agendas: dict[tuple[str, str | None], tuple[AgendaItem, ...]] = {}
    for paper in sorted(with_agenda, key=lambda p: (p.kind != "agenda", -len(p.agenda), p.source)):
        key = (str(Path(paper.source).parent), paper.meeting_date)
        agendas.setdefault(key, paper.agenda)
    if not agendas:
        return
    found: dict[str, AgendaItem | None] = {}
    for i, p in enumerate(passages):
        if p.agenda_item is not None:
            continue
        paper = papers.get(p.source)
        if paper is None or getattr(paper, "agenda", ()) or getattr(paper, "items", ()):
            continue
        if p.source not in found:
            # The passage's pack date: a paper with no date of its own has just taken its
            # siblings' (inherit_meeting).
            agenda = agendas.get((str(Path(p.source).parent), p.pack_date or paper.meeting_date), ())
            found[p.source] = layout.item_named_by(Path(p.source).stem, agenda) if agenda else None
        item = found[p.source]
        if item is not None:
            passages[i] = replace(p, agenda_item=item.number, item_title=item.title)


def embed_units(
    keys: list[str],
    texts: list[str],
    embedder: Embedder,
    cache: dict[str, np.ndarray],
    report: IngestReport,
    tick: Progress,
) -> np.ndarray:
    """Vectors for the unit texts (``keys``: their embed_key): from the cache, else from the
    model, each distinct text once."""
    todo: dict[str, str] = {}
    for key, text in zip(keys, texts):
        if key not in cache and key not in todo:
            todo[key] = text
    report.embedded = len(todo)
    report.reused = len(texts) - len(todo)
    report.words_embedded = sum(len(t.split()) for t in todo.values())
    items = list(todo.items())
    # Longest first: batches of like length waste less padding.
    items.sort(key=lambda kv: -len(kv[1]))
    batch = 256
    for i in range(0, len(items), batch):
        chunk = items[i : i + batch]
        vecs = embedder.encode([t for _, t in chunk], batch_size=64)
        for (key, _), vec in zip(chunk, vecs):
            cache[key] = vec
        tick("embed", min(i + batch, len(items)), len(items))
    if not texts:
        return np.zeros((0, embedder.dim), dtype=np.float32)
    return np.stack([cache[k] for k in keys]).astype(np.float32)
