"""``committee-qa``: a thin command line over ``index`` and ``qa``.

Exit codes scripts can rely on:
  0 done · 1 bad input (question, filters, files) · 2 usage · 3 index missing, damaged or
  built with another model/format · 4 another ingest holds the lock
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any, Iterator

from index.model import Filters

EXIT_OK, EXIT_INPUT, EXIT_USAGE, EXIT_INDEX, EXIT_LOCKED = 0, 1, 2, 3, 4


class CliError(Exception):
    def __init__(self, message: str, code: int = EXIT_INPUT) -> None:
        super().__init__(message)
        self.code = code


def _embedder(model: str | None):
    from index.embed import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder(model)


def _open(args) -> Any:
    from index.engines import open_store

    return open_store(getattr(args, "store", None) or args.index, _embedder(getattr(args, "model", None)))


def _settings(args):
    from qa.settings import load_settings

    return load_settings(getattr(args, "settings", None) or os.environ.get("COMMITTEE_QA_SETTINGS"))


def _filters(args):
    return Filters(
        committees=tuple(args.committee or ()),
        date_from=args.date_from,
        date_to=args.date_to,
        kinds=tuple(args.kind or ()),
        docs=tuple(args.paper or ()),
    )


def _print_result(result, as_json: bool, to_json, to_text) -> None:
    """A command's one result: its JSON line (--json) or its text for a person."""
    if as_json:
        _print_jsonl(to_json(result))
    else:
        print(to_text(result))


def read_questions(path: str) -> Iterator[dict]:
    """Question-set lines ({"id", "question", ...}); a bad line is an error naming its number."""
    from qa.render import jsonl_objects

    try:
        for n, q in jsonl_objects(path, "question"):
            q.setdefault("id", str(n))
            yield q
    except ValueError as err:
        raise CliError(str(err)) from None


def _print_jsonl(obj: dict) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False) + "\n")
    sys.stdout.flush()


# --- commands ----------------------------------------------------------------------


def cmd_ingest(args) -> int:
    from index.engines import ingest_into
    from index.pdfread import ReadLimits

    paths = [Path(p) for p in args.paths]
    missing = [str(p) for p in paths if not p.exists()]
    if missing and len(missing) == len(paths):
        raise CliError(f"nothing to ingest: {', '.join(missing)} not found")
    bar = _progress_bar()
    report = ingest_into(
        args.store or args.index,
        paths,
        _embedder(args.model),
        prune=args.prune,
        limits=ReadLimits(timeout_s=args.timeout),
        progress=bar,
    )
    bar.close()
    print(report.summary(), file=sys.stderr)
    return EXIT_OK


class _progress_bar:
    """A tqdm bar per stage on stderr; quiet when stderr is not a terminal."""

    def __init__(self) -> None:
        self.bars: dict[str, Any] = {}

    def __call__(self, stage: str, done: int, total: int) -> None:
        from tqdm import tqdm

        if stage not in self.bars:
            self.bars[stage] = tqdm(total=total, desc=stage, unit="passage" if stage == "embed" else "file",
                                    file=sys.stderr, disable=not sys.stderr.isatty())
        bar = self.bars[stage]
        bar.total = total
        bar.n = done
        bar.refresh()

    def close(self) -> None:
        for bar in self.bars.values():
            bar.close()


def cmd_parse(args) -> int:
    from index.chunk import chunk_paper
    from index.read import read_paper
    from qa.render import citation_line, passage_json

    path = Path(args.file)
    if not path.exists():
        raise CliError(f"{path} not found")
    paper = read_paper(path)
    passages = chunk_paper(paper)
    if args.json:
        _print_jsonl(
            {
                "source": paper.source,
                "doc": paper.doc,
                "format": paper.format,
                "kind": paper.kind,
                "committee": paper.committee,
                "meeting_date": paper.meeting_date,
                "title": paper.title,
                "pages": paper.page_count,
                "agenda": [vars(a) for a in paper.agenda],
                "minutes": [{"start": r.start, "end": r.end, "meeting_date": r.value} for r in paper.records],
                "passages": [passage_json(p) | {"context": p.context, "is_table": p.is_table} for p in passages],
            }
        )
        return EXIT_OK
    print(f"{paper.source}  [{paper.format}, {paper.page_count} pages]")
    print(f"  kind: {paper.kind}\n  committee: {paper.committee}\n  meeting: {paper.meeting_date}\n  title: {paper.title}")
    if paper.agenda:
        print("  agenda:")
        for a in paper.agenda:
            pages = f" (pages {a.first_page}–{a.last_page})" if a.first_page else ""
            print(f"    {a.number}. {a.title}{pages}")
    for r in paper.records:
        print(f"  minutes of {r.value}: characters {r.start}–{r.end}")
    print(f"  {len(passages)} passages:")
    for p in passages:
        words = len(p.text.split())
        print(f"  - [{citation_line(p)}] {words} words{' (table)' if p.is_table else ''}")
        print(f"      {p.text[:140]!r}")
    return EXIT_OK


def cmd_search(args) -> int:
    from qa.render import citation_line, hit_json
    from qa.retrieve import search

    index = _open(args)
    filters = _filters(args)
    settings = _settings(args)
    if args.questions:
        for q in read_questions(args.questions):
            _print_jsonl(search_line(index, q, k=args.k, retriever=args.retriever, filters=filters, settings=settings))
        return EXIT_OK
    if args.question is None:
        raise CliError("give a question, or --questions FILE", EXIT_USAGE)
    hits = search(index, args.question, k=args.k, filters=filters, retriever=args.retriever, settings=settings)
    if args.json:
        _print_jsonl({"question": args.question, "passages": [hit_json(h) for h in hits]})
        return EXIT_OK
    for n, h in enumerate(hits, 1):
        print(f"{n}. [{h.score:.3f}] {citation_line(h.passage)}")
        print("   " + " ".join(h.passage.text.split())[:400])
        for loc in h.also_in[:3]:
            print(f"   also in: {loc.source} p. {loc.page}")
        print()
    return EXIT_OK


def cmd_ask(args) -> int:
    from qa.answer import answer
    from qa.render import answer_json, answer_text

    index = _open(args)
    filters = _filters(args)
    settings = _settings(args)
    if args.questions:
        for q in read_questions(args.questions):
            _print_jsonl(ask_line(index, q, k=args.k, retriever=args.retriever, filters=filters, settings=settings)[0])
        return EXIT_OK
    if args.question is None:
        raise CliError("give a question, or --questions FILE", EXIT_USAGE)
    result = answer(index, args.question, k=args.k, filters=filters, retriever=args.retriever, settings=settings)
    _print_result(result, args.json, answer_json, answer_text)
    return EXIT_OK


def cmd_decisions(args) -> int:
    """Every decision and recommendation on a topic, in meeting order."""
    from qa.decisions import timeline
    from qa.render import timeline_json, timeline_text

    filters = Filters(committees=tuple(args.committee or ()), date_from=args.since)
    result = timeline(_open(args), args.topic, filters=filters, settings=_settings(args))
    _print_result(result, args.json, timeline_json, timeline_text)
    return EXIT_OK


def cmd_chat(args) -> int:
    """An interactive conversation: follow-ups and narrowing ("only Cabinet") work."""
    from index.store import NoMatchingPassages
    from qa.chat import Conversation, ask
    from qa.query import BadQuestion
    from qa.render import answer_text

    index = _open(args)
    settings = _settings(args)
    conv = Conversation()
    interactive = sys.stdin.isatty()
    if interactive:
        print("Ask about the papers. Follow-ups work (\"and fostering?\", \"only Cabinet\"). /new starts over, /quit ends.")
    while True:
        try:
            message = input("> " if interactive else "")
        except EOFError:
            break
        message = message.strip()
        if message in ("/quit", "/exit", "quit", "exit"):
            break
        if message == "/new":
            conv = Conversation()
            print("(new conversation)")
            continue
        if not message:
            continue
        try:
            conv, result = ask(conv, index, message, k=args.k, retriever=args.retriever, settings=settings)
        except (BadQuestion, NoMatchingPassages) as err:
            print(f"({err})")
            continue
        if conv.turns[-1].question != message:
            print(f"(searching for: {conv.turns[-1].question})")
        print(answer_text(result))
        print()
    return EXIT_OK


def cmd_changes(args) -> int:
    """What changed since a committee's last meeting, or between two papers (--older/--newer)."""
    from index.engines import open_store
    from qa.changes import compare_papers, find_paper, since_last
    from qa.render import changed_json, changed_text, changes_json, changes_text

    # Comparing reads the papers only: no embedding model to load.
    store = open_store(args.store or args.index)
    if args.older or args.newer:
        if not (args.older and args.newer) or args.committee:
            raise CliError("compare two papers with both --older SOURCE and --newer SOURCE (and no committee)", EXIT_USAGE)
        catalogue = store.catalogue()
        older, newer = (store.paper(find_paper(catalogue, name).source) for name in (args.older, args.newer))
        found = compare_papers(older, newer)
        if args.json:
            _print_jsonl({"older": older.source, "newer": newer.source, "changes": [changed_json(c) for c in found]})
        else:
            print(f"{older.source} → {newer.source}\n")
            print(changed_text(found))
        return EXIT_OK
    if not args.committee:
        raise CliError("give a committee (e.g. committee-qa changes Cabinet), or --older and --newer papers", EXIT_USAGE)
    _print_result(since_last(store, args.committee, args.meeting), args.json, changes_json, changes_text)
    return EXIT_OK


def cmd_pg_start(args) -> int:
    from index.pgserver import start_server

    print(start_server(Path(args.dir), port=args.port, os_user=args.os_user))
    sys.stdout.flush()
    return EXIT_OK


def cmd_pg_stop(args) -> int:
    from index.pgserver import stop_server

    stop_server(Path(args.dir))
    return EXIT_OK


class Failed(list):
    """An empty result that remembers why (a bad question in a batch does not stop the batch)."""

    def __init__(self, message: str) -> None:
        super().__init__()
        self.message = message


def guarded(fn):
    """``fn()``, or a :class:`Failed` saying why when the question itself is the problem
    (shared by the CLI's batch modes and ``committee-qa eval``)."""
    from index.store import NoMatchingPassages
    from qa.query import BadQuestion

    try:
        return fn()
    except (BadQuestion, NoMatchingPassages) as err:
        return Failed(str(err))


def error_of(result) -> dict:
    """The ``{"error": ...}`` a JSON line carries for a failed question, else nothing."""
    return {"error": result.message} if isinstance(result, Failed) else {}


def search_line(store, q, *, k: int, retriever: str, filters: Filters = Filters(), settings=None) -> dict:
    """The ``search --questions --json`` line for one question record (``committee-qa
    eval`` scores these very lines)."""
    from qa.render import hit_json
    from qa.retrieve import search
    from qa.settings import DEFAULTS

    hits = guarded(lambda: search(store, q["question"], k=k, filters=filters, retriever=retriever, settings=settings or DEFAULTS))
    return {"id": q["id"], "passages": [hit_json(h) for h in hits or []], **error_of(hits)}


def ask_line(store, q, *, k: int, retriever: str, filters: Filters = Filters(), settings=None):
    """The ``ask --questions --json`` line for one question record, and the Answer behind
    it (None when the question itself failed)."""
    from qa.answer import answer
    from qa.render import answer_json
    from qa.settings import DEFAULTS

    result = guarded(lambda: answer(store, q["question"], k=k, filters=filters, retriever=retriever, settings=settings or DEFAULTS))
    if isinstance(result, Failed):
        return {"id": q["id"], "abstained": True, "quotes": [], "passages": [], "error": result.message}, None
    return {"id": q["id"], **answer_json(result)}, result


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="committee-qa", description="Ask questions of council committee papers.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("ingest", help="read papers (files or folders) into an index")
    p.add_argument("paths", nargs="+")
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--index", help="the index folder")
    where.add_argument("--store", metavar="URL", help="a postgresql:// index instead of a folder")
    p.add_argument("--model", help="a local sentence-transformers folder (default: bundled all-MiniLM-L6-v2)")
    p.add_argument("--prune", action="store_true", help="drop papers whose files are gone")
    p.add_argument("--timeout", type=float, default=60.0, help="seconds allowed to read one PDF")
    p.set_defaults(func=cmd_ingest)

    p = sub.add_parser("parse", help="show how one paper is read: metadata, agenda, passages")
    p.add_argument("file")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_parse)

    def query_args(p: argparse.ArgumentParser) -> None:
        from qa.retrieve import retriever_names

        p.add_argument("question", nargs="?")
        p.add_argument("--index", default=os.environ.get("COMMITTEE_QA_INDEX", "data/index"))
        p.add_argument("--store", metavar="URL", help="a postgresql:// index instead of the --index folder")
        p.add_argument("--questions", help="a question set (JSON Lines); prints JSON Lines")
        p.add_argument("--k", type=int, default=10)
        p.add_argument("--retriever", choices=retriever_names(),
                       help="default: learned where the shipped second stage was trained on the index's embedding model, else rerank")
        p.add_argument("--json", action="store_true")
        p.add_argument("--model")
        p.add_argument("--committee", action="append", help="only this committee (repeatable)")
        p.add_argument("--from", dest="date_from", help="meetings on or after YYYY-MM-DD")
        p.add_argument("--to", dest="date_to", help="meetings on or before YYYY-MM-DD")
        p.add_argument("--kind", action="append", help="document kind: minutes, report, agenda_pack, ...")
        p.add_argument("--paper", action="append", help="only this paper (doc name or source path)")
        p.add_argument("--settings", metavar="FILE", help="a JSON file of tuned numbers to override (qa.settings; "
                       "default: $COMMITTEE_QA_SETTINGS, else the defaults chosen on the development questions)")

    p = sub.add_parser("search", help="rank passages for a question")
    query_args(p)
    p.set_defaults(func=cmd_search)

    p = sub.add_parser("ask", help="answer a question with verbatim quotes and citations")
    query_args(p)
    p.set_defaults(func=cmd_ask)

    p = sub.add_parser("chat", help="an interactive conversation with the papers")
    query_args(p)
    p.set_defaults(func=cmd_chat)

    p = sub.add_parser("changes", help="what changed since a committee's last meeting, or between two papers")
    p.add_argument("committee", nargs="?", help="the committee (any case, or a unique part of its name)")
    p.add_argument("--meeting", metavar="YYYY-MM-DD", help="this meeting rather than the latest")
    p.add_argument("--older", metavar="SOURCE", help="compare this paper (source, doc name or a unique part) ...")
    p.add_argument("--newer", metavar="SOURCE", help="... with this one")
    p.add_argument("--index", default=os.environ.get("COMMITTEE_QA_INDEX", "data/index"))
    p.add_argument("--store", metavar="URL", help="a postgresql:// index instead of the --index folder")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_changes)

    p = sub.add_parser("decisions", help="every decision and recommendation on a topic, in meeting order")
    p.add_argument("topic", help='what the decisions are about, e.g. "home to school transport"')
    p.add_argument("--index", default=os.environ.get("COMMITTEE_QA_INDEX", "data/index"))
    p.add_argument("--store", metavar="URL", help="a postgresql:// index instead of the --index folder")
    p.add_argument("--committee", action="append", help="only this committee (repeatable)")
    p.add_argument("--since", metavar="YYYY-MM-DD", help="only meetings on or after this date")
    p.add_argument("--json", action="store_true")
    p.add_argument("--model")
    p.add_argument("--settings", metavar="FILE", help="a JSON file of tuned numbers to override (qa.settings)")
    p.set_defaults(func=cmd_decisions)

    pg = sub.add_parser("pg", help="start/stop a local PostgreSQL + pgvector server for --store")
    cmds = pg.add_subparsers(dest="pg_command", required=True)
    p = cmds.add_parser("start", help="initialise (if needed) and start a local server; prints its DSN last")
    p.add_argument("dir", help="folder for the server's data and log")
    p.add_argument("--port", type=int, help="TCP port on 127.0.0.1 (default: the last one used, else a free one)")
    p.add_argument("--os-user", help="when run as root, the user the server runs as (default nobody)")
    p.set_defaults(func=cmd_pg_start)
    p = cmds.add_parser("stop", help="stop the server started in DIR")
    p.add_argument("dir")
    p.set_defaults(func=cmd_pg_stop)

    registered, unloaded = plugged_in_commands()
    for name, register in registered:
        try:
            register(sub)
        except (ImportError, AttributeError) as err:
            unloaded[name] = f"{type(err).__name__}: {err}"
    # For missing_command(): what the entry-point group gave, beside argparse's own choices.
    parser.command_names = set(sub.choices)
    parser.unloaded_commands = unloaded
    parser.commands_installed = bool(registered or unloaded)
    if not parser.commands_installed:
        parser.epilog = f"(No commands from the entry-point group {COMMANDS_GROUP}: run `pip install -e .` to add them.)"
    return parser


COMMANDS_GROUP = "committee_qa.commands"


def plugged_in_commands() -> tuple[list[tuple[str, Any]], dict[str, str]]:
    """The commands other packages add (eval's ``eval``, ``bench`` and ``train``), each a
    ``register(sub)`` function named under the entry-point group ``committee_qa.commands``
    (pyproject.toml): qa never imports them itself. Returns (name, register) for those that
    load, and why the others did not, by name."""
    from importlib.metadata import entry_points

    registered, unloaded = [], {}
    for ep in entry_points(group=COMMANDS_GROUP):
        try:
            registered.append((ep.name, ep.load()))
        except (ImportError, AttributeError) as err:
            unloaded[ep.name] = f"{ep.value}: {type(err).__name__}: {err}"
    return registered, unloaded


def missing_command(parser: argparse.ArgumentParser, argv: list[str]) -> str | None:
    """Why the command ``argv`` names is not there, when the cause is the install rather
    than a typo: its entry point failed to load, or no entry point is installed at all (an
    install older than pyproject.toml's group)."""
    command = argv[0] if argv and not argv[0].startswith("-") else None
    if command is None or command in parser.command_names:
        return None
    if command in parser.unloaded_commands:
        return f"the {command!r} command could not be loaded ({parser.unloaded_commands[command]})"
    if not parser.commands_installed:
        return (f"no command {command!r}: the commands other packages add (entry-point group {COMMANDS_GROUP}) "
                "are not installed; run `pip install -e .` in the project folder")
    return None


def main(argv: list[str] | None = None) -> int:
    from index.embed import ModelNotFound
    from index.pdfread import UnreadablePaper
    from index.pgserver import PgServerError
    from index.store import (
        IndexCorrupt,
        IndexError_,
        IndexLocked,
        IndexMismatch,
        IndexMissing,
        NoMatchingPassages,
    )
    from qa.query import BadQuestion

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    parser = build_parser()
    argv = sys.argv[1:] if argv is None else list(argv)
    problem = missing_command(parser, argv)
    if problem:
        print(f"committee-qa: {problem}", file=sys.stderr)
        return EXIT_USAGE
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except CliError as err:
        print(f"committee-qa: {err}", file=sys.stderr)
        return err.code
    except PgServerError as err:
        print(f"committee-qa: {err}", file=sys.stderr)
        return EXIT_INPUT
    except (BadQuestion, NoMatchingPassages, UnreadablePaper, ValueError) as err:
        print(f"committee-qa: {err}", file=sys.stderr)
        return EXIT_INPUT
    except IndexLocked as err:
        print(f"committee-qa: {err}", file=sys.stderr)
        return EXIT_LOCKED
    except (IndexMissing, IndexCorrupt, IndexMismatch, IndexError_, ModelNotFound) as err:
        print(f"committee-qa: {err}", file=sys.stderr)
        return EXIT_INDEX
    except BrokenPipeError:
        return EXIT_OK
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
