"""What changed since the last meeting: a committee's meetings, the papers and agenda items
new at the latest one, and the passages of recurring reports whose words changed.

Pure over records: the Store is passed in, nothing is read at import. The unit of comparison
is a paragraph (a PDF's blank-line blocks, joined across page breaks mid-sentence; a text
export's lines when a block is a long table or list), aligned between the two papers by
word overlap, then diffed word by word so that a renderer can mark the changed words.

    >>> [(t.text, t.figure) for t in tokens("£23.3m, up 5%")]
    [('£23.3m', True), (',', False), ('up', False), ('5%', True)]
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections import Counter, defaultdict
from dataclasses import dataclass, replace
from difflib import SequenceMatcher
from typing import Literal, Sequence

from index.model import Citation, Paper, cite
from index.store import Catalogue, PaperEntry, Store
from qa.decisions import Decision, latest_decisions

Span = tuple[int, int]  # offsets into a side's text
ChangeKind = Literal["figure", "wording", "case", "added", "removed"]

# Tuned on the kind of paper (recurring reports, packs, minutes), not on particular quotes.
PAIR_SIMILARITY = 0.5  # word overlap (Dice) for two paragraphs to be versions of each other
SELF_SIMILARITY = 0.6  # stricter within one paper, where near-repeats are common
TITLE_SIMILARITY = 0.5  # for two reports' (or agenda items') titles to be the same report
VERSION_SHARE = 0.6  # share of paragraphs aligned for two papers to be versions: then added/removed count
MAX_UNIT = 700  # characters: longer blocks are cut into rows or sentences
COMMON_WORD_UNITS = 40  # a word in more paragraphs than this does not propose a pairing
SELF_GAP = 200  # characters: within one paper, paired paragraphs stand at least this far apart
REWRITE_SIMILARITY = 0.2  # several paragraphs in one place: paired as rewrites above this overlap
MOVED_WORDS = 3  # fewer changed words than this are never judged moved
NEAR = 3  # paragraphs either side: where moved words are looked for


class UnknownCommittee(ValueError):
    """No committee, or more than one, goes by the name asked for."""


class UnknownMeeting(ValueError):
    pass


class UnknownPaper(ValueError):
    pass


# --- records -------------------------------------------------------------------------


@dataclass(frozen=True)
class Side:
    """One side of a change: the paper's own words (``text == paper.text[start:end]``) and
    where they stand."""

    text: str
    citation: Citation
    start: int
    end: int


@dataclass(frozen=True)
class ChangedPassage:
    """A paragraph and its counterpart in the other paper, when their words differ.

    ``older_marked``/``newer_marked`` are the changed words, as (start, end) offsets into
    each side's ``text``; an added (removed) paragraph has no older (newer) side and is marked
    whole. ``figures`` lists the changed numbers, percentages, sums and dates, older first."""

    older: Side | None
    newer: Side | None
    older_marked: tuple[Span, ...]
    newer_marked: tuple[Span, ...]
    kind: ChangeKind
    figures: tuple[str, ...] = ()
    similarity: float = 0.0


@dataclass(frozen=True)
class ItemRow:
    """An agenda item of the latest meeting; ``new`` when no item or paper of the previous
    meeting had a similar title."""

    number: str | None
    title: str
    source: str
    page: int | None
    new: bool


@dataclass(frozen=True)
class Piece:
    """A report as compared: a whole paper, or one agenda item's stretch of a pack."""

    source: str
    title: str
    meeting_date: str | None
    agenda_item: str | None
    start: int
    end: int


@dataclass(frozen=True)
class Recurring:
    """A report that came to both meetings, and what changed in it."""

    older: Piece
    newer: Piece
    title_similarity: float
    changes: tuple[ChangedPassage, ...]


@dataclass(frozen=True)
class Changes:
    committee: str  # as the papers name it
    meeting: str
    previous: str | None  # None: the committee's first meeting in the index
    new_papers: tuple[PaperEntry, ...]
    items: tuple[ItemRow, ...]
    recurring: tuple[Recurring, ...]
    # The decisions taken at the committee's last meeting on record (its minutes are often
    # in the next pack), and the proposals put to this one: qa.decisions.
    decisions: tuple[Decision, ...] = ()


# --- committees and meetings ---------------------------------------------------------


def committee_names(catalogue: Catalogue) -> tuple[str, ...]:
    return tuple(sorted({p.committee for p in catalogue.papers if p.committee}))


def match_committee(catalogue: Catalogue, name: str) -> tuple[str, ...]:
    """The committee names ``name`` stands for: exact (any case), else those it begins,
    else those containing it. Several names count as one committee when each is a prefix of
    the next (a reader cut a long name short in some papers); otherwise it is ambiguous.

    >>> cat = Catalogue(tuple(PaperEntry("s", "d", "h", "report", c, "2025-01-01", None, 1, 1)
    ...     for c in ("Cabinet", "County Council", "Scrutiny (Children's", "Scrutiny (Children's Services)")), None, "m", (), ())
    >>> match_committee(cat, "cab"), match_committee(cat, "Scrutiny (Children's")
    (('Cabinet',), ("Scrutiny (Children's", "Scrutiny (Children's Services)"))
    """
    names = committee_names(catalogue)
    want = " ".join(name.split()).casefold()
    for test in (lambda n: n.casefold() == want, lambda n: n.casefold().startswith(want), lambda n: want in n.casefold()):
        found = tuple(n for n in names if test(n))
        if found:
            break
    else:
        raise UnknownCommittee(f"no committee called {name!r}; the index has: {'; '.join(names) or '(none)'}")
    # Names a reader cut short (or that run on) belong with the name they begin.
    found = tuple(n for n in names if any(n.casefold().startswith(f.casefold()) or f.casefold().startswith(n.casefold())
                                          for f in found))
    chain = sorted(found, key=len)
    if all(b.casefold().startswith(a.casefold()) for a, b in zip(chain, chain[1:])):
        return tuple(chain)
    raise UnknownCommittee(f"{name!r} could be any of: {'; '.join(found)}; give more of the name")


def meetings(catalogue: Catalogue, committee: str) -> tuple[str, ...]:
    """The committee's meeting dates, oldest first (from its papers' meeting dates)."""
    names = set(match_committee(catalogue, committee))
    return tuple(sorted({p.meeting_date for p in catalogue.papers if p.committee in names and p.meeting_date}))


# --- splitting a paper into paragraphs -----------------------------------------------


@dataclass(frozen=True)
class Token:
    text: str
    start: int
    end: int
    figure: bool


_TOKEN = re.compile(r"</?[a-zA-Z]+>|[£$€]?\d[\d,.]*\d(?:%|m|bn|k)?|[£$€]?\d%?|\w+(?:['’]\w+)*|[^\w\s]")
_MONTHS = ("january february march april may june july august september october november december "
           "jan feb mar apr jun jul aug sep sept oct nov dec").split()
_QUOTES = str.maketrans({"’": "'", "‘": "'", "“": '"', "”": '"', "–": "-", "—": "-"})


def tokens(text: str) -> list[Token]:
    """Words, figures and punctuation with their offsets; a figure is a number, sum,
    percentage or month name (so dates changing count as figures changing)."""
    return [
        Token(m.group(), m.start(), m.end(), m.group()[0] in "£$€" or m.group()[0].isdigit() or m.group().lower() in _MONTHS)
        for m in _TOKEN.finditer(text)
    ]


def fold(word: str) -> str:
    """A token as compared: curly quotes and dashes as plain ones (exports differ in them)."""
    return word.translate(_QUOTES)


def words(text: str) -> Counter:
    return Counter(fold(t.text).lower() for t in tokens(text) if t.text[0].isalnum() or t.figure)


def dice(a: Counter, b: Counter) -> float:
    """Word overlap of two bags of words, 0..1.

    >>> dice(Counter("a b c".split()), Counter("a b d".split()))
    0.6666666666666666
    """
    total = sum(a.values()) + sum(b.values())
    return 2 * sum((a & b).values()) / total if total else 0.0


@dataclass(frozen=True)
class Unit:
    start: int
    end: int
    key: str  # the words as compared: whitespace collapsed, quotes folded
    bag: Counter


_BLANK = re.compile(r"\n[ \t\f\r]*\n")
_END = re.compile(r"[.:;?!)\]]['\"’”]?\s*$")


def _blocks(text: str, page_starts: Sequence[int], lo: int, hi: int) -> list[Span]:
    """Blank-line blocks of ``text[lo:hi]``; a block that runs over a page break without
    ending its sentence is joined with the next (the sentence goes on overleaf)."""
    cuts = [(m.start(), m.end()) for m in _BLANK.finditer(text, lo, hi)]
    spans, begin = [], lo
    for a, b in cuts:
        spans.append((begin, a))
        begin = b
    spans.append((begin, hi))
    spans = [(s, e) for s, e in spans if text[s:e].strip()]
    joined: list[Span] = []
    for s, e in spans:
        if joined:
            ps, pe = joined[-1]
            over_page = bisect_right(page_starts, pe) != bisect_right(page_starts, s)
            goes_on = text[s:e].lstrip()[:1].islower() or (over_page and not _END.search(text[ps:pe]))
            if goes_on:
                joined[-1] = (ps, e)
                continue
        joined.append((s, e))
    return joined


# A line that starts a list item: "a)", "(1)", "2.1", "A.", a bullet.
_ITEM = re.compile(r"^[ \t]*(?:\(?[a-zA-Z0-9]{1,3}\)|\d{1,2}(?:\.\d{1,2})+\.?|[A-Za-z0-9]{1,2}\.|[•▪●◦\-–o])[ \t]", re.M)


def _items(text: str, s: int, e: int) -> list[Span]:
    r"""A block holding a list (two items or more) as its items, and what stands before them:
    the same list is laid out as one block in one paper and item by item in another.

    >>> t = "Cabinet is asked to:\na) NOTE the report\nand its annex;\nb) AGREE the changes."
    >>> [t[a:b] for a, b in _items(t, 0, len(t))]
    ['Cabinet is asked to:\n', 'a) NOTE the report\nand its annex;\n', 'b) AGREE the changes.']
    """
    starts = [m.start() for m in _ITEM.finditer(text, s, e) if m.start() == s or text[m.start() - 1] == "\n"]
    if len(starts) < 2:
        return [(s, e)]
    cuts = ([s] if starts[0] > s else []) + starts + [e]
    return [(a, b) for a, b in zip(cuts, cuts[1:]) if text[a:b].strip()]


def _cut(text: str, s: int, e: int, fmt: str) -> list[Span]:
    """A long block as rows (a text export's lines, or a table's) or as runs of sentences."""
    if e - s <= MAX_UNIT:
        return [(s, e)]
    lines = _lines(text, s, e)
    if fmt == "text" or "\t" in text[s:e]:
        return lines
    out, begin = [], s
    for m in re.finditer(r"(?<=[.;?!])\s+(?=[A-Z(•\d-])", text[s:e]):
        if s + m.start() - begin >= MAX_UNIT // 2:
            out.append((begin, s + m.start()))
            begin = s + m.end()
    out.append((begin, e))
    return out


def _lines(text: str, s: int, e: int) -> list[Span]:
    out, pos = [], s
    for line in text[s:e].split("\n"):
        if line.strip():
            out.append((pos, pos + len(line)))
        pos += len(line) + 1
    return out


def units(paper: Paper, region: Span | None = None) -> list[Unit]:
    """The paper's paragraphs (within ``region``), trimmed of surrounding whitespace."""
    lo, hi = region or (0, len(paper.text))
    text = paper.text
    out = []
    for s, e in (i for block in _blocks(text, [p.start for p in paper.pages], lo, hi) for i in _items(text, *block)):
        for a, b in _cut(text, s, e, paper.format):
            a += len(text[a:b]) - len(text[a:b].lstrip())
            b -= len(text[a:b]) - len(text[a:b].rstrip())
            if a < b:
                key = " ".join(fold(text[a:b]).split())
                out.append(Unit(a, b, key, words(key)))
    return out


# --- aligning paragraphs -------------------------------------------------------------


def _candidates(older: list[Unit], newer: list[Unit]) -> dict[tuple[int, int], int]:
    """Pairs of paragraphs sharing a word that is not everywhere, with how many they share."""
    postings: dict[str, list[int]] = defaultdict(list)
    for j, u in enumerate(newer):
        for w in u.bag:
            postings[w].append(j)
    shared: dict[tuple[int, int], int] = defaultdict(int)
    for i, u in enumerate(older):
        for w in u.bag:
            js = postings.get(w, ())
            if len(js) <= COMMON_WORD_UNITS:
                for j in js:
                    shared[i, j] += 1
    return shared


@dataclass(frozen=True)
class Alignment:
    """Paragraphs paired one to one: ``changed`` (older index, newer index, similarity) for
    pairs that differ, ``same`` for those whose words stand unchanged in the other paper
    (equal, or the same words reordered: a table's cells serialised in another order)."""

    changed: tuple[tuple[int, int, float], ...]
    same: tuple[tuple[int, int], ...]

    def older(self) -> set[int]:
        return {i for i, *_ in self.changed} | {i for i, _ in self.same}

    def newer(self) -> set[int]:
        return {j for _, j, *_ in self.changed} | {j for _, j in self.same}

    def anchors(self) -> list[tuple[int, int]]:
        """Every aligned (older, newer) pair, in the newer paper's order."""
        return sorted([(i, j) for i, j, _ in self.changed] + list(self.same), key=lambda p: p[1])


def align(older: list[Unit], newer: list[Unit], *, threshold: float = PAIR_SIMILARITY, same_paper: bool = False,
          many: bool = False) -> Alignment:
    """Pair the paragraphs of two papers, most similar first (ties: nearest in relative
    position, as recurring reports keep their order). Within one paper (``same_paper``) only
    an earlier paragraph is paired with a later one, some way on (neighbouring table rows
    look alike). ``many``: a paragraph left over may pair with one already paired."""
    same: list[tuple[int, int]] = []
    taken_o, taken_n = set(), set()
    if not same_paper:
        by_key: dict[str, list[int]] = defaultdict(list)
        for j, u in enumerate(newer):
            by_key[u.key].append(j)
            by_key["\0" + _bag_key(u)].append(j)
        for i, u in enumerate(older):
            for key in (u.key, "\0" + _bag_key(u)):
                free = [j for j in by_key.get(key, ()) if j not in taken_n]
                if free:
                    same.append((i, free[0]))
                    taken_o.add(i)
                    taken_n.add(free[0])
                    break
    scored = []
    for (i, j), n in _candidates(older, newer).items():
        if i in taken_o and j in taken_n or not many and (i in taken_o or j in taken_n):
            continue
        a, b = older[i], newer[j]
        if same_paper and (a.key == b.key or a.end > b.start - SELF_GAP):
            continue
        total = sum(a.bag.values()) + sum(b.bag.values())
        if 2 * n / max(total, 1) < threshold * 0.5:
            continue  # cannot reach the threshold: skip the exact count
        sim = dice(a.bag, b.bag)
        if sim >= threshold:
            drift = abs(i / max(len(older), 1) - j / max(len(newer), 1))
            scored.append((-sim, drift, i, j))
    changed = []
    for neg, _, i, j in sorted(scored):
        if i not in taken_o and j not in taken_n:
            changed.append((i, j, -neg))
            taken_o.add(i)
            taken_n.add(j)
    if many:
        # A paragraph printed twice (a report's summary and its body; a motion quoted in the
        # minutes and the resolution) may have a counterpart already taken: pair it anyway.
        for neg, _, i, j in sorted(scored):
            if (i not in taken_o or j not in taken_n) and -neg >= threshold:
                changed.append((i, j, -neg))
                taken_o.add(i)
                taken_n.add(j)
    return Alignment(tuple(sorted(changed, key=lambda p: p[1])), tuple(same))


def gaps(alignment: Alignment, n_older: int, n_newer: int) -> list[tuple[list[int], list[int]]]:
    """Unaligned paragraphs grouped by the aligned ones around them: (older, newer) indices
    standing between the same two anchors, i.e. in the same place in both papers.

    >>> gaps(Alignment((), ((0, 0), (2, 3))), 4, 5)
    [([1], [1, 2]), ([3], [4])]
    """
    anchors = [(-1, -1)] + [a for a in alignment.anchors()] + [(n_older, n_newer)]
    # Only anchors in the same order on both sides bound a gap (a moved paragraph does not).
    kept = [anchors[0]]
    for i, j in anchors[1:]:
        if i > kept[-1][0]:
            kept.append((i, j))
    aligned_o, aligned_n = alignment.older(), alignment.newer()
    out = []
    for (i0, j0), (i1, j1) in zip(kept, kept[1:]):
        os_ = [i for i in range(i0 + 1, i1) if i not in aligned_o]
        ns = [j for j in range(j0 + 1, j1) if j not in aligned_n]
        if os_ or ns:
            out.append((os_, ns))
    return out


def _bag_key(u: Unit) -> str:
    return " ".join(sorted(fold(t.text) for t in tokens(u.key)))


# --- marking changed words -----------------------------------------------------------


def diff_marks(older: str, newer: str) -> tuple[tuple[Span, ...], tuple[Span, ...], tuple[str, ...], ChangeKind]:
    """The changed words of two versions of a paragraph, as spans on each; the changed
    figures; and what kind of change it is (figures first, then wording, then case alone).
    Whitespace never counts.

    >>> diff_marks("Working with 894 young adults.", "Working with 925 young adults.")
    (((13, 16),), ((13, 16),), ('894', '925'), 'figure')
    """
    a, b = tokens(older), tokens(newer)
    ops = SequenceMatcher(None, [fold(t.text) for t in a], [fold(t.text) for t in b], autojunk=False).get_opcodes()
    marks_a, marks_b, figures, words_changed, case_only = [], [], [], False, True
    for op, i1, i2, j1, j2 in ops:
        if op == "equal":
            continue
        ta, tb = a[i1:i2], b[j1:j2]
        if ta:
            marks_a.append((ta[0].start, ta[-1].end))
        if tb:
            marks_b.append((tb[0].start, tb[-1].end))
        figures += [t.text for t in ta + tb if t.figure]
        if any(t.text[0].isalnum() for t in ta + tb):
            words_changed = True
        if [fold(t.text).lower() for t in ta] != [fold(t.text).lower() for t in tb]:
            case_only = False
    kind: ChangeKind = "figure" if figures else "case" if case_only else "wording"
    if not words_changed and not figures:
        kind = "case" if case_only else kind
    return _merge(marks_a, older), _merge(marks_b, newer), tuple(dict.fromkeys(figures)), kind


def _merge(spans: list[Span], text: str) -> tuple[Span, ...]:
    """Spans separated only by whitespace become one (a renderer marks a phrase, not words)."""
    out: list[Span] = []
    for s, e in spans:
        if out and not text[out[-1][1]:s].strip():
            out[-1] = (out[-1][0], e)
        else:
            out.append((s, e))
    return tuple(out)


# --- citing a side -------------------------------------------------------------------


def side(paper: Paper, unit: Unit) -> Side:
    return Side(paper.text[unit.start:unit.end], cite(paper, unit.start, unit.end), unit.start, unit.end)


# --- comparing two papers ------------------------------------------------------------

_KIND_ORDER = {"figure": 0, "wording": 1, "added": 2, "removed": 2, "case": 3}


def compare(older: Paper, newer: Paper, *, older_region: Span | None = None, newer_region: Span | None = None,
            threshold: float = PAIR_SIMILARITY) -> tuple[ChangedPassage, ...]:
    """The paragraphs of ``newer`` that are changed versions of paragraphs of ``older``, with
    the changed words marked: figures first, then wording, added/removed paragraphs, and
    changes of case alone last; within a kind, in the newer paper's order.

    When the two are versions of one paper (most paragraphs align), paragraphs that stand
    in the same place between aligned ones are paired as rewritten, and the rest listed as
    added or removed; otherwise paragraphs found on one side only are simply the other
    paper's own content. Words that only moved (a block of contact details reordered)
    are not changes. Given the same paper twice (a report's summary and its body, a motion
    and the resolution), earlier paragraphs are compared with later ones."""
    same_paper = older.source == newer.source and older_region == newer_region
    uo, un = units(older, older_region), units(newer, newer_region)
    limit = SELF_SIMILARITY if same_paper else threshold
    alignment = align(uo, un, threshold=limit, same_paper=same_paper)
    versions = not same_paper and uo and un and min(len(alignment.older()) / len(uo), len(alignment.newer()) / len(un)) >= VERSION_SHARE
    if not versions:
        alignment = align(uo, un, threshold=limit, same_paper=same_paper, many=True)
    pairs = list(alignment.changed)
    loose: list[tuple[int | None, int | None]] = []
    if versions:
        for os_, ns in gaps(alignment, len(uo), len(un)):
            rewritten = _pair_rewrites(uo, un, os_, ns)
            pairs += rewritten
            loose += [(i, None) for i in os_ if i not in {p[0] for p in rewritten}]
            loose += [(None, j) for j in ns if j not in {p[1] for p in rewritten}]
    found = []
    for i, j, sim in pairs:
        a, b = side(older, uo[i]), side(newer, un[j])
        marks_a, marks_b, figures, kind = diff_marks(a.text, b.text)
        if not _words_differ(_unnumbered(a.text), _unnumbered(b.text)):
            # Punctuation or a stray quote mark alone (layout), or only the number minutes
            # give every item afresh each meeting ("76. Apologies" → "84. Apologies").
            continue
        moved = _moved(a.text, marks_a, _near(un, j)) and _moved(b.text, marks_b, _near(uo, i))
        if (marks_a or marks_b) and not moved:
            found.append((j, ChangedPassage(a, b, marks_a, marks_b, kind, figures, round(sim, 3))))
    for i, j in loose:
        if i is None:
            s, nearby = side(newer, un[j]), _near(uo, _landing(j, alignment.anchors(), newer_side=True))
        else:
            s, nearby = side(older, uo[i]), _near(un, _landing(i, alignment.anchors(), newer_side=False))
        whole = ((0, len(s.text)),)
        if not _moved(s.text, whole, nearby):
            kind = "added" if i is None else "removed"
            at = j if i is None else _landing(i, alignment.anchors(), newer_side=False)
            found.append((at, ChangedPassage(None if i is None else s, s if i is None else None,
                                             () if i is None else whole, whole if i is None else (),
                                             kind, _figures(s.text))))
    return tuple(c for _, c in sorted(found, key=lambda f: (_KIND_ORDER[f[1].kind], f[0])))


def _pair_rewrites(uo: list[Unit], un: list[Unit], os_: list[int], ns: list[int]) -> list[tuple[int, int, float]]:
    """Paragraphs standing in the same place in two versions: one each is a rewrite
    whatever its words; several are paired by word overlap, in order."""
    if len(os_) == 1 and len(ns) == 1:
        return [(os_[0], ns[0], dice(uo[os_[0]].bag, un[ns[0]].bag))]
    out, used = [], set()
    for i in os_:
        best = max(((dice(uo[i].bag, un[j].bag), j) for j in ns if j not in used), default=(0.0, None))
        if best[1] is not None and best[0] >= REWRITE_SIMILARITY and all(best[1] > j for _, j, _ in out):
            out.append((i, best[1], best[0]))
            used.add(best[1])
    return out


def _unnumbered(text: str) -> str:
    """A paragraph without its leading number: "76. Apologies (Item 1)" → "Apologies (Item 1)"."""
    return re.sub(r"^\s*\(?\d{1,4}[.)]?\s+", "", text, count=1)


def _words_differ(a: str, b: str) -> bool:
    def said(text: str) -> list[str]:
        return [fold(t.text) for t in tokens(text) if t.text[0].isalnum() or t.figure]

    return said(a) != said(b)


def _near(us: list[Unit], k: int) -> Counter:
    """The words (case kept) of the paragraphs around index ``k``."""
    bag: Counter = Counter()
    for u in us[max(0, k - NEAR):k + NEAR + 1]:
        bag += _exact_words(u.key)
    return bag


def _exact_words(text: str) -> Counter:
    return Counter(fold(t.text) for t in tokens(text) if t.text[0].isalnum() or t.figure)


def _moved(text: str, marks: Sequence[Span], nearby: Counter) -> bool:
    """Whether every marked word of ``text`` stands nearby in the other paper: moved, not
    changed. A word or two never counts as moved (a month changed to one named nearby)."""
    changed = sum((_exact_words(text[s:e]) for s, e in marks), Counter())
    return sum(changed.values()) >= MOVED_WORDS and not (changed - nearby)


def _figures(text: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(t.text for t in tokens(text) if t.figure))


def _landing(k: int, anchors: list[tuple[int, int]], *, newer_side: bool) -> int:
    """Where paragraph ``k`` of one paper sits in the other: beside its aligned neighbour."""
    mine, theirs = (1, 0) if newer_side else (0, 1)
    before = [a[theirs] for a in anchors if a[mine] < k]
    return max(before) if before else 0


# --- since the last meeting ----------------------------------------------------------


_NOISE_WORDS = re.compile(r"\b(?:\d[\d/.\-–]*|" + "|".join(_MONTHS) + r")\b", re.IGNORECASE)


def title_words(title: str) -> Counter:
    """A title's words without its dates and numbers: "Work Programme 2017/18" and "Work
    Programme 2022/23" are the same report."""
    return words(_NOISE_WORDS.sub(" ", title))


def pieces(paper: Paper, entry: PaperEntry | None) -> tuple[Piece, ...]:
    """A pack's agenda items, each its own report; any other paper whole."""
    if paper.items:
        return tuple(Piece(paper.source, s.label or f"item {s.value}", paper.meeting_date, s.value, s.start, s.end)
                     for s in paper.items)
    title = (entry.title if entry else None) or paper.title or paper.doc
    return (Piece(paper.source, title, paper.meeting_date, None, 0, len(paper.text)),)


def pair_titles(older: Sequence[Piece], newer: Sequence[Piece], threshold: float = TITLE_SIMILARITY
                ) -> list[tuple[Piece, Piece, float]]:
    """Reports of the two meetings that are the same recurring report, one to one, most
    similar titles first."""
    scored = sorted(
        ((-dice(title_words(a.title), title_words(b.title)), i, j) for i, a in enumerate(older) for j, b in enumerate(newer)),
    )
    out, used_o, used_n = [], set(), set()
    for neg, i, j in scored:
        if -neg < threshold:
            break
        if i not in used_o and j not in used_n:
            out.append((older[i], newer[j], -neg))
            used_o.add(i)
            used_n.add(j)
    return sorted(out, key=lambda p: (p[1].source, p[1].start))


def compare_papers(older: Paper, newer: Paper) -> tuple[ChangedPassage, ...]:
    """Two papers compared as a reader would: a pack's agenda items each against the item
    of the other paper that is the same report (by title), a single report against the
    item that is it (a report and the minutes of the meeting it went to); two single
    papers, or one paper with itself, whole."""
    if older.source == newer.source:
        return compare(older, newer)
    o = pieces(older, None)
    n = pieces(newer, None)
    if len(o) == 1 and len(n) == 1:
        return compare(older, newer)
    found: list[ChangedPassage] = []
    for a, b, _ in pair_titles(o, n):
        found.extend(compare(older, newer, older_region=(a.start, a.end), newer_region=(b.start, b.end)))
    return tuple(found) if found or pair_titles(o, n) else compare(older, newer)


def agenda_rows(paper: Paper) -> tuple[ItemRow, ...]:
    """The paper's agenda (or, for minutes, the items it records); a title is its first line."""
    rows = ([(a.number, a.title, a.first_page) for a in paper.agenda] if paper.agenda else
            [(s.value, s.label or "", cite(paper, s.start, s.end).page) for s in paper.items])
    out = []
    for number, title, page in rows:
        title = next((line.strip() for line in title.splitlines() if line.strip()), "")
        if title:
            out.append(ItemRow(number, title, paper.source, page, False))
    return tuple(out)


_AGENDA_FIRST = {"agenda": 0, "agenda_pack": 1, "minutes": 2}


def agenda_of(papers: Sequence[Paper]) -> tuple[ItemRow, ...]:
    """The meeting's agenda from one paper: the agenda itself before a pack, a pack before
    the minutes, then the longest (every report repeats part of it)."""
    ranked = sorted((p for p in papers if agenda_rows(p)),
                    key=lambda p: (_AGENDA_FIRST.get(p.kind, 3), -len(agenda_rows(p)), p.source))
    return agenda_rows(ranked[0]) if ranked else ()


def since_last(store: Store, committee: str, meeting: str | None = None) -> Changes:
    """What is new at ``meeting`` (default: the committee's latest) since its previous meeting."""
    catalogue = store.catalogue()
    names = set(match_committee(catalogue, committee))
    dates = meetings(catalogue, committee)
    if meeting is None:
        meeting = dates[-1] if dates else None
    if meeting not in dates:
        raise UnknownMeeting(f"{committee!r} has no meeting on {meeting!r} in the index; its meetings: "
                             f"{', '.join(dates) or '(none dated)'}")
    previous = next((d for d in reversed(dates) if d < meeting), None)
    mine = [p for p in catalogue.papers if p.committee in names]
    latest = tuple(p for p in mine if p.meeting_date == meeting)
    before = tuple(p for p in mine if previous and p.meeting_date == previous)
    papers = {p.source: store.paper(p.source) for p in latest + before}
    old_hashes = {p.content_hash for p in before}
    new_papers = tuple(p for p in latest if p.content_hash not in old_hashes)

    old_pieces = [x for p in before if papers[p.source] for x in pieces(papers[p.source], p)]
    new_pieces = [x for p in latest if papers[p.source] for x in pieces(papers[p.source], p)]
    old_titles = [title_words(x.title) for x in old_pieces] + [title_words(r.title) for p in before if papers[p.source]
                                                                for r in agenda_rows(papers[p.source])]
    rows = [replace(r, new=not any(dice(title_words(r.title), t) >= TITLE_SIMILARITY for t in old_titles))
            for r in agenda_of([papers[p.source] for p in latest if papers[p.source]])]
    recurring = []
    for a, b, sim in pair_titles(old_pieces, new_pieces):
        found = compare(papers[a.source], papers[b.source], older_region=(a.start, a.end), newer_region=(b.start, b.end))
        if found:
            recurring.append(Recurring(a, b, round(sim, 3), found))
    committee_name = max(names, key=len)
    return Changes(committee_name, meeting, previous, new_papers, tuple(rows), tuple(recurring),
                   decisions=latest_decisions(store, names, meeting))


def find_paper(catalogue: Catalogue, name: str) -> PaperEntry:
    """The paper ``name`` stands for: its source, its doc name, or a unique part of its source."""
    papers = catalogue.papers
    folded = name.casefold()
    for test in (lambda p: name in (p.source, p.doc), lambda p: p.source.endswith(name),
                 lambda p: p.source.rsplit("/", 1)[-1].casefold().startswith(folded),
                 lambda p: folded in p.source.casefold()):
        found = [p for p in papers if test(p)]
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            raise UnknownPaper(f"{name!r} could be any of: {'; '.join(p.source for p in found[:10])}; give more of the name")
    raise UnknownPaper(f"no paper {name!r} in the index; give a source as the catalogue lists it, "
                       f"e.g. {'; '.join(p.source for p in papers[:5])}")
