"""Measuring "what changed" (qa.changes) against the hand-written change pairs
(eval/questions/decisions/changes.jsonl).

    python -m eval.changes --index /work/idx/kent --index /work/idx/sefton-text \\
        --gold eval/questions/decisions/changes.jsonl

For each gold pair whose papers the index holds, ``compare(older, newer)`` runs on the two
papers. A gold change is *shown* when one ChangedPassage's older side contains the older
quote and its newer side the newer quote (whitespace collapsed, case and curly quotes
folded), and every word that differs between the two quotes lies inside a marked span on
its side. An empty quote (a paragraph added or dropped) needs only the other side. When
both sides of a pair are the same paper (a summary and the body, a motion and the
resolution), older and newer are positions, not times: either orientation counts.
Shown passages that match no gold change are counted as *not in the gold*: the gold lists
only the changes its author looked for, so these are an upper bound on noise.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from difflib import SequenceMatcher
from pathlib import Path
from typing import Any, Sequence

from qa.changes import (
    ChangedPassage,
    Side,
    UnknownMeeting,
    committee_names,
    compare_papers,
    fold,
    since_last,
    tokens,
)


@dataclass(frozen=True)
class PairResult:
    id: str
    older: str
    newer: str
    changes: int
    shown: tuple[bool, ...]
    passages: int  # ChangedPassages compare() showed
    not_in_gold: int


@dataclass(frozen=True)
class CommitteeCounts:
    committee: str
    meeting: str
    previous: str | None
    new_papers: int
    items: int
    new_items: int
    recurring: int
    passages: int
    figures: int


def normalised(text: str) -> tuple[str, list[int]]:
    """``text`` with whitespace collapsed, quotes folded and case folded, and for each of its
    characters the offset it came from.

    >>> normalised("A  ’b’\\n c")
    ("a 'b' c", [0, 2, 3, 4, 5, 7, 8])
    """
    out, where, space = [], [], False
    for k, ch in enumerate(text):
        if ch.isspace():
            space = bool(out)
            continue
        if space:
            out.append(" ")
            where.append(k - 1)
            space = False
        out.append(fold(ch).lower())
        where.append(k)
    return "".join(out), where


def locate(side: Side | None, quote: str) -> tuple[int, int] | None:
    """Where ``quote`` stands in the side's text (original offsets), if it does."""
    if side is None:
        return None
    q = normalised(quote)[0]
    text, where = normalised(side.text)
    at = text.find(q)
    if not q or at < 0:
        return None
    return where[at], where[at + len(q) - 1] + 1


def differing_words(a: str, b: str, a_at: int, b_at: int) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """Offsets (shifted by ``a_at``/``b_at``) of the words that differ between two quotes
    (case kept: "NOTE" → "Note" is a change; punctuation is not counted)."""
    ta, tb = tokens(a), tokens(b)
    ops = SequenceMatcher(None, [fold(t.text) for t in ta], [fold(t.text) for t in tb], autojunk=False).get_opcodes()
    da, db = [], []
    for op, i1, i2, j1, j2 in ops:
        if op != "equal":
            da += [(a_at + t.start, a_at + t.end) for t in ta[i1:i2] if t.text[0].isalnum() or t.figure]
            db += [(b_at + t.start, b_at + t.end) for t in tb[j1:j2] if t.text[0].isalnum() or t.figure]
    return da, db


def _inside(spans: Sequence[tuple[int, int]], marks: Sequence[tuple[int, int]]) -> bool:
    return all(any(ms <= s and e <= me for ms, me in marks) for s, e in spans)


def shows(change: ChangedPassage, older_quote: str, newer_quote: str) -> bool:
    """Whether ``change`` shows the gold change (older_quote → newer_quote), marks included."""
    wo, wn = locate(change.older, older_quote), locate(change.newer, newer_quote)
    if older_quote and wo is None or newer_quote and wn is None:
        return False
    if not older_quote:
        return _inside([(t.start + wn[0], t.end + wn[0]) for t in tokens(change.newer.text[wn[0]:wn[1]])
                        if t.text[0].isalnum()], change.newer_marked)
    if not newer_quote:
        return _inside([(t.start + wo[0], t.end + wo[0]) for t in tokens(change.older.text[wo[0]:wo[1]])
                        if t.text[0].isalnum()], change.older_marked)
    da, db = differing_words(change.older.text[wo[0]:wo[1]], change.newer.text[wn[0]:wn[1]], wo[0], wn[0])
    return _inside(da, change.older_marked) and _inside(db, change.newer_marked)


def source_for(ref: dict[str, Any], sources: Sequence[str]) -> str | None:
    """The index's source for a gold paper reference: its ``file`` or, in a PDF index of the
    Sefton exports, its ``pdf_file`` (gold paths start at the corpus root; sources at the
    ingested folder)."""
    for name in (ref.get("file"), ref.get("pdf_file")):
        for s in sources if name else ():
            if name == s or name.endswith("/" + s):
                return s
    return None


def measure_pair(store, pair: dict[str, Any], sources: Sequence[str]) -> PairResult | None:
    older, newer = source_for(pair["older"], sources), source_for(pair["newer"], sources)
    if older is None or newer is None:
        return None
    shown_passages = compare_papers(store.paper(older), store.paper(newer))
    flipped = older == newer  # positions in one paper, not times: either way round
    shown, used = [], set()
    for c in pair["changes"]:
        o, n = c.get("older_quote") or "", c.get("newer_quote") or ""
        hits = [k for k, p in enumerate(shown_passages) if shows(p, o, n) or (flipped and shows(p, n, o))]
        shown.append(bool(hits))
        used.update(hits)
    return PairResult(pair["id"], older, newer, len(pair["changes"]), tuple(shown), len(shown_passages),
                      len(shown_passages) - len(used))


def committee_groups(catalogue) -> list[str]:
    """One name per committee (names cut short by a reader join the longest)."""
    names = sorted(committee_names(catalogue), key=len, reverse=True)
    groups: list[str] = []
    for n in names:
        if not any(g.casefold().startswith(n.casefold()) for g in groups):
            groups.append(n)
    return sorted(groups)


def committee_counts(store) -> list[CommitteeCounts]:
    out = []
    for name in committee_groups(store.catalogue()):
        try:
            ch = since_last(store, name)
        except UnknownMeeting:
            continue  # no dated paper: no meetings to compare
        passages = [c for r in ch.recurring for c in r.changes]
        out.append(CommitteeCounts(name, ch.meeting, ch.previous, len(ch.new_papers), len(ch.items),
                                   sum(i.new for i in ch.items), len(ch.recurring), len(passages),
                                   sum(c.kind == "figure" for c in passages)))
    return out


def report(results: dict[str, list[PairResult]], counts: dict[str, list[CommitteeCounts]]) -> str:
    lines = ["| index | pairs | gold changes | shown | share | passages shown | not in the gold |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for name, rs in results.items():
        n, k = sum(r.changes for r in rs), sum(sum(r.shown) for r in rs)
        lines.append(f"| {name} | {len(rs)} | {n} | {k} | {k / n:.0%} | {sum(r.passages for r in rs)} | "
                     f"{sum(r.not_in_gold for r in rs)} |" if n else f"| {name} | 0 | 0 | 0 | – | 0 | 0 |")
    lines += ["", "| index | pair | shown / gold | passages shown | not in the gold |", "|---|---|---:|---:|---:|"]
    for name, rs in results.items():
        for r in rs:
            marks = "".join("✓" if s else "·" for s in r.shown)
            lines.append(f"| {name} | {r.id} | {sum(r.shown)}/{r.changes} `{marks}` | {r.passages} | {r.not_in_gold} |")
    lines += ["", "| index | committee | meeting | previous | new papers | items (new) | recurring reports | "
              "changed passages (figures) |", "|---|---|---|---|---:|---:|---:|---:|"]
    for name, cs in counts.items():
        for c in cs:
            lines.append(f"| {name} | {c.committee} | {c.meeting} | {c.previous or '–'} | {c.new_papers} | "
                         f"{c.items} ({c.new_items}) | {c.recurring} | {c.passages} ({c.figures}) |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    from dataclasses import asdict

    from index.engines import open_store
    from qa.render import jsonl_objects

    parser = argparse.ArgumentParser(prog="python -m eval.changes", description=__doc__.split("\n\n")[0])
    parser.add_argument("--index", action="append", required=True, help="an index (repeatable)")
    parser.add_argument("--gold", default="eval/questions/decisions/changes.jsonl")
    parser.add_argument("--json", action="store_true", help="the results as one JSON object")
    args = parser.parse_args(argv)
    gold = [pair for _, pair in jsonl_objects(args.gold, "changes")]
    results, counts = {}, {}
    for location in args.index:
        store = open_store(location)
        name = Path(location).name
        sources = [p.source for p in store.catalogue().papers]
        results[name] = [r for pair in gold if (r := measure_pair(store, pair, sources)) is not None]
        counts[name] = committee_counts(store)
        store.close()
    if args.json:
        print(json.dumps({"pairs": {k: [asdict(r) for r in v] for k, v in results.items()},
                          "committees": {k: [asdict(c) for c in v] for k, v in counts.items()}}, indent=1))
    else:
        print(report(results, counts))
    return 0


if __name__ == "__main__":
    sys.exit(main())
