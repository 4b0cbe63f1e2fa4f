"""How well ``committee-qa decisions`` finds the decisions on a topic: recall, precision and
the meeting date, against topics whose decisions were listed by hand
(eval/questions/decisions/decisions.jsonl, README there).

    python -m eval.decisions --index IDX [--index IDX2 ...] [--split dev|test|all] [--json OUT]

An entry the timeline shows *matches* a listed decision when the listed quote stands in the
entry's words (whitespace, case and punctuation aside) in the same paper (or one of the
places the words are also printed). Precision counts the entries that match a decision
listed for the topic; entries matching only a ``borderline`` item count neither way. The
meeting is right when the entry's meeting (or an also-in place's) is the listed one.

Topics are split by id, odd → dev (for choosing qa.settings.DecisionSettings), even → test;
a topic is scored on an index only when the index holds a paper it lists (or, for a topic
with no decision, on every index: it must come back empty).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from eval.relevance import tokens
from index.model import Citation
from qa.decisions import Timeline, timeline
from qa.render import jsonl_objects
from qa.settings import DEFAULTS, Settings

GOLD = Path(__file__).parent / "questions" / "decisions" / "decisions.jsonl"


def norm(text: str) -> str:
    """The words of ``text`` as the eval README tokenises them (eval.relevance), one space apart."""
    return " ".join(tokens(text))


def stem_of(path: str) -> str:
    return Path(path).stem


def split_of(topic_id: str) -> str:
    digits = re.sub(r"\D", "", topic_id)
    return "dev" if digits and int(digits) % 2 else "test"


@dataclass
class TopicScore:
    id: str
    topic: str
    listed: int = 0
    listed_taken: int = 0
    found: int = 0
    found_taken: int = 0
    shown: int = 0
    right: int = 0  # shown entries matching a listed decision
    neutral: int = 0  # shown entries matching only a borderline item
    meeting_right: int = 0
    empty_expected: bool = False
    misses: list[str] = field(default_factory=list)
    wrong: list[str] = field(default_factory=list)


def _places(citation: Citation, also_in: tuple[Citation, ...]) -> list[Citation]:
    return [citation, *also_in]


def _matches(entry_text: str, places: list[Citation], quote: str, file: str) -> bool:
    docs = {stem_of(c.source) for c in places} | {c.doc for c in places}
    return norm(quote) in norm(entry_text) and stem_of(file) in docs


def score_topic(topic: dict[str, Any], result: Timeline, sources: set[str]) -> TopicScore:
    listed = [d for d in topic["decisions"] if stem_of(d["file"]) in sources]
    border = [b for b in topic.get("borderline", []) if stem_of(b.get("file", "")) in sources]
    score = TopicScore(topic["id"], topic["topic"], empty_expected=not topic["decisions"])
    score.listed = len(listed)
    score.listed_taken = sum(d["kind"] != "proposal" for d in listed)
    matched: set[int] = set()
    for entry in result.entries:
        d = entry.decision
        places = _places(d.citation, d.also_in)
        hits = [i for i, g in enumerate(listed) if _matches(d.text, places, g["quote"], g["file"])
                or any(_matches(d.text, places, g["quote"], a["file"]) for a in g.get("also_in", []))]
        score.shown += 1
        if hits:
            score.right += 1
            for i in hits:
                if i not in matched:
                    matched.add(i)
                    if any(c.meeting_date == listed[i]["meeting_date"] for c in places):
                        score.meeting_right += 1
        elif any(_matches(d.text, places, b["quote"], b.get("file", "")) for b in border):
            score.neutral += 1
        else:
            score.wrong.append(f"{d.kind} {d.citation.meeting_date} {d.citation.doc}: {' '.join(d.text.split())[:100]}")
    score.found = len(matched)
    score.found_taken = sum(listed[i]["kind"] != "proposal" for i in matched)
    score.misses = [f"{g['kind']} {g['meeting_date']}: {g['quote'][:100]}" for i, g in enumerate(listed) if i not in matched]
    return score


@dataclass
class Totals:
    topics: int = 0
    listed: int = 0
    listed_taken: int = 0
    found: int = 0
    found_taken: int = 0
    shown: int = 0
    right: int = 0
    neutral: int = 0
    meeting_right: int = 0
    empty_topics: int = 0
    empty_right: int = 0

    def add(self, s: TopicScore) -> None:
        self.topics += 1
        for name in ("listed", "listed_taken", "found", "found_taken", "shown", "right", "neutral", "meeting_right"):
            setattr(self, name, getattr(self, name) + getattr(s, name))
        if s.empty_expected:
            self.empty_topics += 1
            self.empty_right += s.shown == 0

    def figures(self) -> dict[str, Any]:
        judged = self.shown - self.neutral
        return {
            "topics": self.topics,
            "recall": round(self.found / self.listed, 3) if self.listed else None,
            "recall_taken": round(self.found_taken / self.listed_taken, 3) if self.listed_taken else None,
            "precision": round(self.right / judged, 3) if judged else None,
            "meeting_right": round(self.meeting_right / self.found, 3) if self.found else None,
            "empty_right": f"{self.empty_right}/{self.empty_topics}",
            "listed": self.listed,
            "found": self.found,
            "shown": self.shown,
            "neutral": self.neutral,
        }


def evaluate(store, topics: list[dict[str, Any]], settings: Settings = DEFAULTS) -> tuple[Totals, list[TopicScore]]:
    sources = {stem_of(p.source) for p in store.catalogue().papers}
    totals, scores = Totals(), []
    for topic in topics:
        files = {stem_of(d["file"]) for d in topic["decisions"]}
        if topic["decisions"] and not files & sources:
            continue  # its council's papers are not in this index
        result = timeline(store, topic["topic"], settings=settings)
        s = score_topic(topic, result, sources)
        totals.add(s)
        scores.append(s)
    return totals, scores


def load_topics(path: Path, split: str) -> list[dict[str, Any]]:
    topics = [t for _, t in jsonl_objects(path, "topic")]
    return [t for t in topics if split == "all" or split_of(t["id"]) == split]


def main(argv: list[str] | None = None) -> int:
    from index.embed import SentenceTransformerEmbedder
    from index.engines import open_store
    from qa.settings import load_settings

    p = argparse.ArgumentParser(prog="python -m eval.decisions", description=__doc__.split("\n\n")[0])
    p.add_argument("--index", action="append", required=True, help="an index folder or postgresql:// URL (repeatable)")
    p.add_argument("--gold", default=str(GOLD))
    p.add_argument("--split", choices=("dev", "test", "all"), default="all")
    p.add_argument("--settings", help="JSON settings overrides (qa/settings.py)")
    p.add_argument("--json", help="write the figures here")
    p.add_argument("-v", "--verbose", action="store_true", help="list misses and wrong entries")
    args = p.parse_args(argv)
    settings = load_settings(args.settings)
    topics = load_topics(Path(args.gold), args.split)
    embedder = SentenceTransformerEmbedder(None)
    out: dict[str, Any] = {"split": args.split, "gold": args.gold, "indexes": {}}
    overall = Totals()
    for location in args.index:
        store = open_store(location, embedder)
        totals, scores = evaluate(store, topics, settings)
        for s in scores:
            overall.add(s)
            if args.verbose and (s.misses or s.wrong):
                print(f"{location} {s.id} {s.topic!r}", file=sys.stderr)
                for m in s.misses:
                    print(f"   MISS  {m}", file=sys.stderr)
                for w in s.wrong:
                    print(f"   WRONG {w}", file=sys.stderr)
        out["indexes"][location] = totals.figures() | {"per_topic": [replace(s, misses=s.misses[:5], wrong=s.wrong[:5]).__dict__ for s in scores]}
        print(location, json.dumps(totals.figures()))
        store.close()
    out["overall"] = overall.figures()
    print("overall", json.dumps(out["overall"]))
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
