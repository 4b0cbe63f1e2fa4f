"""``committee-qa eval``: every question of a set through every retriever on one opened index,
scored by the README's rule, with answer-level checks; the records it fills
(:class:`Evaluation`, :class:`AnswerChecks`, :class:`Rate`, :class:`Failure`) are what
:mod:`eval.report` writes out (:mod:`eval.cli` opens the store and joins the two).

The harness drives the project only through what the command line itself runs —
``qa.retrieve.search`` (``committee-qa search``) and :func:`qa.answer.answer` (``ask``) on an
opened store — and renders records with :mod:`qa.render`, so its runs are line for line
what ``search --json`` / ``ask --json`` print, and :mod:`eval.score` re-scores those files
to the same figures.

Figures:

* retrieval metrics per retriever and per question type (:func:`eval.metrics.score_run`);
* paired randomization tests between every two retrievers (:mod:`eval.significance`);
* through ``answer()`` with one retriever: abstention on unanswerable questions, wrong
  abstention on answerable ones, and checks on the quotes (:func:`check_answers`).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from eval.metrics import DEFAULT_METRICS, abstention_rates, metric, score_run
from eval.relevance import judge, same_doc
from eval.significance import Comparison, holm, paired_test, pairwise

__all__ = [
    "Rate",
    "Failure",
    "AnswerChecks",
    "Evaluation",
    "run_search",
    "run_ask",
    "check_answers",
    "evaluate",
    "timed",
    "stderr_log",
    "Log",
]

Log = Callable[[str], None]
Record = dict[str, Any]


def _quiet(msg: str) -> None:
    pass


def stderr_log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def meeting_expected(q: Mapping[str, Any]) -> set[str]:
    """Meetings a question's answer records: per answer if given, else the question's."""
    per_answer = {str(a["meeting_date"]) for a in q.get("answers") or () if a.get("meeting_date")}
    return per_answer or ({str(q["meeting_date"])} if q.get("meeting_date") else set())


# --- running, exactly as ``search`` / ``ask --questions --json`` do --------------------


def run_search(store: Any, questions: Sequence[Mapping[str, Any]], retriever: str, k: int = 10) -> dict[str, Record]:
    """``search --json`` lines keyed by question id, in input order."""
    from qa.cli import search_line

    return {str(q["id"]): search_line(store, q, k=k, retriever=retriever) for q in questions}


def run_ask(
    store: Any, questions: Sequence[Mapping[str, Any]], retriever: str, k: int = 10
) -> tuple[dict[str, Record], dict[str, Any]]:
    """``ask --json`` lines keyed by id, and the :class:`index.model.Answer` records (the
    checks need the quotes' offsets and citations as records)."""
    from qa.cli import ask_line

    records: dict[str, Record] = {}
    answers: dict[str, Any] = {}
    for q in questions:
        qid = str(q["id"])
        records[qid], result = ask_line(store, q, k=k, retriever=retriever)
        if result is not None:
            answers[qid] = result
    return records, answers


# --- answer-level checks ------------------------------------------------------------


@dataclass(frozen=True)
class Rate:
    """``passed`` of ``n`` cases; the rate is ``None`` over no cases."""

    passed: int = 0
    n: int = 0

    @property
    def rate(self) -> float | None:
        return self.passed / self.n if self.n else None

    def add(self, ok: bool) -> Rate:
        return Rate(self.passed + bool(ok), self.n + 1)

    def to_json(self) -> dict[str, Any]:
        return {"rate": self.rate, "passed": self.passed, "n": self.n}


@dataclass(frozen=True)
class Failure:
    """One quote that failed a check, for the report."""

    check: str  # verbatim | page | source | meeting | gold_page
    id: str
    rank: int
    source: str
    page: int | None
    page_end: int | None
    detail: str
    quote: str


@dataclass(frozen=True)
class AnswerChecks:
    """Checks on what ``answer()`` returned for a question set."""

    retriever: str
    abstention: dict[str, Any]  # eval.metrics.abstention_rates
    answered_unanswerable: tuple[str, ...] = ()
    abstained_answerable: tuple[str, ...] = ()
    quotes: int = 0
    # The first quote answers a gold quote by the README's rule (answerable questions; an
    # abstention is a miss), and some quote does.
    top_quote_answers: Rate = Rate()
    any_quote_answers: Rate = Rate()
    # Every quote stands in its paper's text, whitespace aside.
    verbatim: Rate = Rate()
    # PDF quotes: the text of the cited pages page..page_end (the index's page layout of
    # the paper) holds the quote. ``not_pdf`` quotes come from text exports.
    page: Rate = Rate()
    not_pdf: int = 0
    # Every quote is one unbroken run of the paper's own file (whitespace aside): for a text
    # export the file as it is, stamps and running headers included; for a PDF pypdf's own
    # text of the cited pages. The paper's text in the index leaves those marks out, so a
    # quote across one can pass ``verbatim`` and fail here.
    source: Rate = Rate()
    # The top quote cites the meeting the question set names; and among top quotes that
    # answer a gold quote (the citation's own accuracy).
    meeting: Rate = Rate()
    meeting_when_answering: Rate = Rate()
    # Quotes answering a gold quote that carries a page, in that quote's paper: the cited
    # span includes the page a person found it on.
    gold_page: Rate = Rate()
    failures: tuple[Failure, ...] = ()
    # Each question's outcome, for paired tests and figures per kind of question:
    # {"type", "kind", "abstained", and for answerable ones "top_quote", "any_quote" (0/1)}.
    per_question: dict[str, dict[str, Any]] = field(default_factory=dict)

    def by_group(self, key: str) -> dict[str, dict[str, Any]]:
        """Top quote answers, some quote answers, false abstention (answerable questions)
        and abstention (unanswerable ones) per ``type`` or ``kind`` of question."""
        groups: dict[str, list[dict[str, Any]]] = {}
        for row in self.per_question.values():
            if row.get(key):
                groups.setdefault(str(row[key]), []).append(row)
        out = {}
        for name, rows in sorted(groups.items()):
            answerable = [r for r in rows if "top_quote" in r]
            unanswerable = [r for r in rows if "top_quote" not in r]
            out[name] = {
                "n": len(rows),
                "top_quote_answers": _mean(r["top_quote"] for r in answerable),
                "any_quote_answers": _mean(r["any_quote"] for r in answerable),
                "false_abstention": _mean(r["abstained"] for r in answerable),
                "abstained_unanswerable": _mean(r["abstained"] for r in unanswerable),
            }
        return out

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name in self.__dataclass_fields__:
            value = getattr(self, name)
            if isinstance(value, Rate):
                value = value.to_json()
            elif name == "failures":
                value = [f.__dict__ for f in value]
            elif isinstance(value, tuple):
                value = list(value)
            out[name] = value
        out["by_type"], out["by_kind"] = self.by_group("type"), self.by_group("kind")
        return out


def _mean(values: Iterable[float]) -> float | None:
    values = [float(v) for v in values]
    return sum(values) / len(values) if values else None


def _ws(text: str) -> str:
    return " ".join(text.split())


class _Papers:
    """Papers from the store (the embedded index holds them all; PostgreSQL reads one at
    a time), each with its whitespace-collapsed text, read once."""

    def __init__(self, store: Any) -> None:
        self.store = store
        self._cache: dict[str, tuple[Any, str] | None] = {}

    def get(self, source: str) -> tuple[Any, str] | None:
        if source not in self._cache:
            paper = self.store.paper(source)
            self._cache[source] = (paper, _ws(paper.text)) if paper is not None else None
        return self._cache[source]

    def in_source_file(self, source: str, fmt: str, text: str, page: int | None, page_end: int | None) -> bool | None:
        """Whether ``text`` stands in the paper's own file (see AnswerChecks.source); None
        when the store keeps no file to look in."""
        from eval.validate_questions import normalise, quote_in_text, squash

        key = ("file", source)
        if key not in self._cache:
            path = self.store.file_for(source)
            self._cache[key] = path
        path = self._cache[key]
        if path is None:
            return None
        if fmt != "pdf":
            plain, squashed = self._file_text(path)
            return normalise(text) in plain or (bool(squash(text)) and squash(text) in squashed)
        if page is None:
            return False
        pages = self._pdf_pages(path)
        return quote_in_text(text, "\n".join(pages[page - 1 : (page_end or page)]))

    def _file_text(self, path) -> tuple[str, str]:
        """A text export's file, normalised and squashed as eval.validate_questions does."""
        from eval.validate_questions import normalise, squash

        key = ("text", str(path))
        if key not in self._cache:
            raw = path.read_text(encoding="utf-8", errors="replace")
            self._cache[key] = (normalise(raw), squash(raw))
        return self._cache[key]

    def _pdf_pages(self, path) -> list[str]:
        key = ("pdf", str(path))
        if key not in self._cache:
            from eval.validate_questions import read_pages

            self._cache[key] = read_pages(path)
        return self._cache[key]


def on_pages(paper: Any, text: str, page: int | None, page_end: int | None) -> bool:
    """Whether the cited PDF pages ``page..page_end`` of ``paper`` (its page layout in the
    index) hold ``text``, whitespace aside."""
    if page is None:
        return False
    last = page_end if page_end is not None else page
    spans = [s for s in paper.pages if s.first is not None and page <= s.first and (s.last or s.first) <= last]
    if not spans:
        return False
    window = paper.text[min(s.start for s in spans) : max(s.end for s in spans)]
    return _ws(text) in _ws(window)


def check_answers(
    store: Any,
    questions: Sequence[Mapping[str, Any]],
    records: Mapping[str, Mapping[str, Any]],
    answers: Mapping[str, Any],
    *,
    retriever: str,
    max_failures: int = 20,
) -> AnswerChecks:
    """Abstention from the ``ask`` records; quote checks on the Answer records."""
    papers = _Papers(store)
    c = AnswerChecks(retriever=retriever, abstention=abstention_rates(questions, records))
    failures: list[Failure] = []

    def fail(check: str, qid: str, rank: int, quote: Any, detail: str) -> None:
        if len(failures) < max_failures:
            cit = quote.citation
            failures.append(Failure(check, qid, rank, cit.source, cit.page, cit.page_end, detail, _ws(quote.text)[:160]))

    for q in questions:
        qid, gold = str(q["id"]), q.get("answers") or []
        ans = answers.get(qid)
        abstained = bool(records.get(qid, {}).get("abstained", True))
        if gold and abstained:
            c = replace(c, abstained_answerable=(*c.abstained_answerable, qid))
        if not gold and not abstained:
            c = replace(c, answered_unanswerable=(*c.answered_unanswerable, qid))
        quotes = () if ans is None or ans.abstained else ans.quotes
        # The gold quotes each quote answers, each text tokenised once.
        judged = judge([qt.text for qt in quotes], gold)
        outcome = {"type": q.get("type"), "kind": q.get("kind"), "abstained": int(abstained)}
        if gold:
            top_ok = bool(judged) and bool(judged[0])
            any_ok = any(judged)
            c = replace(c, top_quote_answers=c.top_quote_answers.add(top_ok),
                        any_quote_answers=c.any_quote_answers.add(any_ok))
            outcome.update(top_quote=int(top_ok), any_quote=int(any_ok))
        c.per_question[qid] = outcome
        expected = meeting_expected(q) if gold else set()
        for rank, qt in enumerate(quotes, start=1):
            cit = qt.citation
            c = replace(c, quotes=c.quotes + 1)
            held = papers.get(cit.source)
            in_paper = held is not None and _ws(qt.text) in held[1]
            c = replace(c, verbatim=c.verbatim.add(in_paper))
            if not in_paper:
                fail("verbatim", qid, rank, qt, "not in the paper's text" if held else "paper not in the index")
            if held is not None and held[0].format == "pdf":
                ok = on_pages(held[0], qt.text, cit.page, cit.page_end)
                c = replace(c, page=c.page.add(ok))
                if not ok:
                    fail("page", qid, rank, qt, "the cited pages do not hold the quote")
            else:
                c = replace(c, not_pdf=c.not_pdf + 1)
            if held is not None:
                ok = papers.in_source_file(cit.source, held[0].format, qt.text, cit.page, cit.page_end)
                if ok is not None:
                    c = replace(c, source=c.source.add(ok))
                    if not ok:
                        fail("source", qid, rank, qt, "not one unbroken run of the paper's own file" +
                             (" on the cited pages" if held[0].format == "pdf" else ""))
            answering = [gold[i] for i in judged[rank - 1]]
            if expected and rank == 1:
                ok = cit.meeting_date in expected
                c = replace(c, meeting=c.meeting.add(ok))
                if answering:
                    c = replace(c, meeting_when_answering=c.meeting_when_answering.add(ok))
                if not ok:
                    fail("meeting", qid, rank, qt, f"cites {cit.meeting_date}, expected {', '.join(sorted(expected))}")
            for g in answering:
                if g.get("page") is None or cit.page is None or not same_doc({"doc": cit.doc, "source": cit.source}, g):
                    continue
                ok = cit.page <= int(g["page"]) <= (cit.page_end or cit.page)
                c = replace(c, gold_page=c.gold_page.add(ok))
                if not ok:
                    fail("gold_page", qid, rank, qt, f"gold quote is on page {g['page']}")
    return replace(c, failures=tuple(failures))


# --- the whole evaluation -----------------------------------------------------------


@dataclass
class Evaluation:
    """Everything one evaluation measured, and the runs it made (written to files)."""

    questions: list[Record]
    k: int
    metrics: list[str]
    scores: dict[str, dict[str, Any]]  # retriever -> eval.metrics.score_run output
    comparisons: list[Comparison]
    runs: dict[str, dict[str, Record]]  # retriever -> id -> search --json line
    # answer() with each retriever asked (the first is the headline): its ask --json lines,
    # its checks, and paired tests of each later one against the first.
    ask_runs: dict[str, dict[str, Record]] = field(default_factory=dict)
    answer_checks: dict[str, AnswerChecks] = field(default_factory=dict)
    answer_comparisons: list[Comparison] = field(default_factory=list)
    timing_s: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    source: dict[str, str] = field(default_factory=dict)  # questions file, index location

    @property
    def answers(self) -> AnswerChecks | None:
        return next(iter(self.answer_checks.values()), None)

    @property
    def ask_run(self) -> dict[str, Record] | None:
        return next(iter(self.ask_runs.values()), None)

    @property
    def n_answerable(self) -> int:
        return sum(1 for q in self.questions if q.get("answers"))

    def errors(self) -> dict[str, dict[str, str]]:
        """Questions a retriever refused (bad question, filter matching nothing)."""
        out = {}
        for name, run in self.runs.items():
            errs = {qid: rec["error"] for qid, rec in run.items() if rec.get("error")}
            if errs:
                out[name] = errs
        return out

    def to_json(self) -> dict[str, Any]:
        """Every figure (not the runs themselves), as ``--json`` and results.json hold them."""
        keep = ("n", "mean", "by_type", "missing", "per_question")
        return {
            **self.source,
            "n_questions": len(self.questions),
            "n_answerable": self.n_answerable,
            "n_unanswerable": len(self.questions) - self.n_answerable,
            "k": self.k,
            "metrics": self.metrics,
            "retrievers": {name: {key: s[key] for key in keep} for name, s in self.scores.items()},
            "significance": [c.to_json() for c in self.comparisons],
            "answers": self.answers.to_json() if self.answers else None,
            "answers_by_retriever": {name: c.to_json() for name, c in self.answer_checks.items()},
            "answer_significance": [c.to_json() for c in self.answer_comparisons],
            "errors": self.errors(),
            "timing_s": self.timing_s,
            "notes": self.notes,
        }


def timed(timing: dict[str, float], key: str, fn: Callable[[], Any]) -> Any:
    t0 = time.perf_counter()
    out = fn()
    timing[key] = round(time.perf_counter() - t0, 3)
    return out


def evaluate(
    store: Any,
    questions: Sequence[Mapping[str, Any]],
    *,
    retrievers: Sequence[str],
    k: int = 10,
    ask_retriever: str | None = None,
    ask: bool = True,
    metrics: Sequence[str] = DEFAULT_METRICS,
    compare_metrics: Sequence[str] = ("ndcg@10", "recall@5"),
    n_permutations: int = 10_000,
    seed: int = 0,
    optional: Sequence[str] = (),
    log: Log = _quiet,
) -> Evaluation:
    """Run and score everything on an opened store. A retriever in ``optional`` that the
    store does not offer (a reranker not installed, PostgreSQL without ``rerank``) is
    skipped with a note; any other failure is an error."""
    if k < 1:
        raise ValueError("--k must be at least 1")
    metrics = list(dict.fromkeys([*metrics, *compare_metrics]))
    for m in metrics:
        metric(m)  # unknown names fail before anything runs
    questions = list(questions)
    timing: dict[str, float] = {}
    notes: list[str] = []
    runs: dict[str, dict[str, Record]] = {}
    for name in retrievers:
        try:
            runs[name] = timed(timing, f"search:{name}", lambda name=name: run_search(store, questions, name, k))
        except (ImportError, ValueError) as err:
            if name not in optional:
                raise
            notes.append(f"retriever {name!r} skipped: {err}")
            log(f"eval: {name} skipped ({err})")
            continue
        log(f"eval: {name}: {len(questions)} questions in {timing[f'search:{name}']:.1f}s")
    scores = {name: score_run(questions, run, metrics) for name, run in runs.items()}
    comparisons = pairwise(scores, compare_metrics, n_permutations=n_permutations, seed=seed)
    ev = Evaluation(questions, k, metrics, scores, comparisons, runs, timing_s=timing, notes=notes)
    from qa.retrieve import default_retriever

    asked = _ask_names(ask_retriever, default_retriever(store)) if ask else []
    if "learned" in runs or "learned" in asked:
        notes.append(second_stage_note())
    for name in asked:
        ev.ask_runs[name], answers = timed(timing, f"ask:{name}", lambda name=name: run_ask(store, questions, name, k))
        log(f"eval: answered {len(questions)} questions with {name} in {timing[f'ask:{name}']:.1f}s")
        ev.answer_checks[name] = timed(timing, f"answer_checks:{name}", lambda name=name, answers=answers: check_answers(
            store, questions, ev.ask_runs[name], answers, retriever=name))
    ev.answer_comparisons = compare_answers(ev.answer_checks, n_permutations=n_permutations, seed=seed)
    return ev


ANSWER_MEASURES = ("top_quote", "any_quote", "abstained")


def _ask_names(ask_retriever: str | Sequence[str] | None, default: str) -> list[str]:
    if not ask_retriever:
        return [default]
    names = ask_retriever.split(",") if isinstance(ask_retriever, str) else list(ask_retriever)
    return list(dict.fromkeys(n.strip() for n in names if n.strip()))


def compare_answers(checks: Mapping[str, AnswerChecks], *, n_permutations: int = 10_000, seed: int = 0) -> list[Comparison]:
    """Paired randomization tests of each later answer run against the first: whether the
    top quote answers and whether some quote does (answerable questions), and whether it
    abstains (unanswerable questions)."""
    names = list(checks)
    out: list[Comparison] = []
    for measure in ANSWER_MEASURES:
        unanswerable = measure == "abstained"

        def rows(c: AnswerChecks, measure=measure, unanswerable=unanswerable) -> dict[str, Any]:
            return {"per_question": {qid: {measure: r[measure]} for qid, r in c.per_question.items()
                                     if ("top_quote" not in r) == unanswerable}}

        scored = {name: rows(checks[name]) for name in names}
        if len(names) < 2 or not scored[names[0]]["per_question"]:
            continue
        tests = [(name, paired_test(
            {q: r[measure] for q, r in scored[name]["per_question"].items()},
            {q: r[measure] for q, r in scored[names[0]]["per_question"].items()},
            n_permutations=n_permutations, seed=seed)) for name in names[1:]]
        adjusted = holm([r.p_value for _, r in tests])
        out += [Comparison(measure, a, names[0], r, p) for (a, r), p in zip(tests, adjusted, strict=True)]
    return out


def second_stage_note() -> str:
    """Which learned second stage the run used: its file, checksum and training set."""
    import json as _json

    from qa import learned

    stage = learned.load()
    folder = learned.model_folder()
    manifest = _json.loads((folder / "manifest.json").read_text())
    return (f"second stage `learned`: {folder / learned.MODEL_FILE} (sha256 {manifest['sha256'][:12]}…), trained on "
            f"{stage.info.get('trained_on')} questions, chosen on {stage.info.get('chosen_on')} (training set sha256 "
            f"{manifest['training_set_sha256'][:12]}…); abstains below P = {stage.threshold:.2f}")
