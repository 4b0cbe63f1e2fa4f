"""eval.metrics, eval.significance, eval.report and eval.score, with values worked by hand.

log2 values used below: 1/log2(2) = 1, 1/log2(3) = 0.63093, 1/log2(4) = 0.5,
1/log2(5) = 0.43068.
"""

from __future__ import annotations

import io
import json
import math

import pytest

from eval.metrics import (
    DEFAULT_METRICS,
    METRICS,
    abstention_rates,
    hit,
    hit_at,
    metric,
    metric_depth,
    mrr,
    ndcg,
    recall,
    recall_at,
    score_run,
)
from eval.report import chart, markdown_table
from eval.score import main
from eval.significance import compare, paired_test, passage_id, write_qrels, write_trec_run

INV3 = 1 / math.log2(3)  # 0.63093
INV5 = 1 / math.log2(5)  # 0.43068

# --- metric functions on hand-judged lists ---------------------------------------------

# Two gold quotes. Rank 1 answers nothing, rank 2 quote 0, rank 3 a copy of rank 2,
# rank 4 quote 1.
JUDGED = [[], [0], [0], [1], [], [], [], [], [], []]


def test_recall_two_quotes():
    assert metric("recall@1")(JUDGED, 2) == 0.0  # top 1 holds nothing
    assert metric("recall@3")(JUDGED, 2) == 0.5  # {0} of {0, 1}
    assert metric("recall@5")(JUDGED, 2) == 1.0  # {0, 1}
    assert metric("recall@10")(JUDGED, 2) == 1.0


def test_recall_three_quotes():
    judged = [[2], [], [0]]
    assert recall(judged, 3, 1) == pytest.approx(1 / 3)  # {2}
    assert recall(judged, 3, 3) == pytest.approx(2 / 3)  # {0, 2}
    assert recall_at(10)(judged, 3) == pytest.approx(2 / 3)  # quote 1 never found


def test_hit():
    assert metric("hit@1")(JUDGED, 2) == 0.0
    assert metric("hit@5")(JUDGED, 2) == 1.0
    assert hit_at(2)(JUDGED, 2) == 1.0  # rank 2 answers
    assert hit([[]] * 10 + [[0]], 1, 10) == 0.0  # an answer at rank 11 is out of reach


def test_mrr():
    assert metric("mrr@10")(JUDGED, 2) == 0.5  # first answer at rank 2
    assert mrr([[], [], [], [1]], 2) == 0.25
    assert mrr([[0, 1]], 2) == 1.0
    assert mrr([[]] * 10 + [[0]], 1) == 0.0  # rank 11 is beyond @10
    assert mrr([], 1) == 0.0


def test_ndcg_two_quotes_with_a_copy():
    # DCG: quote 0 first at rank 2 -> 1/log2 3 = 0.63093; the copy at rank 3 adds 0;
    # quote 1 first at rank 4 -> 1/log2 5 = 0.43068; DCG = 1.06161.
    # Ideal: one new quote per rank for 2 quotes: 1 + 0.63093 = 1.63093.
    # nDCG = 1.06161 / 1.63093 = 0.65092.
    assert metric("ndcg@10")(JUDGED, 2) == pytest.approx(0.65092, abs=1e-5)
    assert metric("ndcg@10")(JUDGED, 2) == pytest.approx((INV3 + INV5) / (1 + INV3))


def test_ndcg_duplicate_adds_nothing():
    # One quote, answered at rank 2 and again (a second copy) at rank 3.
    # DCG = 1/log2 3 = 0.63093, ideal = 1 -> 0.63093. Counting the copy would give
    # 0.63093 + 0.5 = 1.13 (or 1.0 after the cap), so this fails if copies count.
    assert ndcg([[], [0], [0]], 1) == pytest.approx(0.63093, abs=1e-5)
    # Two quotes: rank 1 quote 0, rank 2 its copy, rank 3 quote 1.
    # DCG = 1 + 0 + 1/log2 4 = 1.5; ideal 1.63093 -> 0.91972.
    assert ndcg([[0], [0], [1]], 2) == pytest.approx(0.91972, abs=1e-5)


def test_ndcg_passage_answering_two_quotes_is_capped():
    # Both quotes at rank 1: DCG = 2 > ideal 1.63093, capped at 1.
    assert ndcg([[0, 1]], 2) == 1.0


def test_ndcg_ideal_stops_at_k():
    # 12 quotes, a new one at each of the 10 ranks: the ideal also has only 10 ranks, so
    # nDCG@10 = 1 while recall@10 = 10/12.
    judged = [[i] for i in range(10)]
    assert ndcg(judged, 12) == pytest.approx(1.0)
    assert recall(judged, 12, 10) == pytest.approx(10 / 12)


def test_nothing_found_is_zero_everywhere():
    for name in DEFAULT_METRICS:
        assert metric(name)([[]] * 10, 2) == 0.0


def test_recall_and_ndcg_reject_no_gold():
    with pytest.raises(ValueError):
        recall([[]], 0, 5)
    with pytest.raises(ValueError):
        ndcg([[]], 0)


# --- names --------------------------------------------------------------------------------


def test_registry_names():
    assert list(METRICS) == [
        "recall@1", "recall@3", "recall@5", "recall@10",
        "hit@1", "hit@5", "hit@10", "mrr@10", "ndcg@10",
    ]


def test_unknown_metric_lists_valid_names():
    with pytest.raises(ValueError) as err:
        metric("precision@5")
    message = str(err.value)
    assert "'precision@5'" in message
    for name in METRICS:
        assert name in message
    for bad in ("recall@0", "ndcg", "Recall@5", "mrr@ten"):
        with pytest.raises(ValueError):
            metric(bad)


def test_any_cutoff_and_depth():
    assert metric("recall@2")(JUDGED, 2) == 0.5
    assert metric_depth(["recall@1", "hit@20"]) == 20
    with pytest.raises(ValueError):
        metric_depth(["map@10"])


# --- score_run over passage dicts ---------------------------------------------------------

QUESTIONS = [
    {"id": "q1", "type": "lexical", "answers": [{"doc": "d1", "quote": "the cabinet approved the budget"}]},
    {
        "id": "q2",
        "type": "multi",
        "answers": [
            {"doc": "d1", "quote": "fourteen children were adopted this year"},
            {"doc": "d2", "quote": "sixteen children are waiting"},
        ],
    },
    {"id": "q3", "type": "unanswerable", "answers": []},
    {"id": "q4", "type": "lexical", "answers": [{"doc": "d1", "quote": "never retrieved words here"}]},
]


def _p(text, doc="d1", score=1.0, pid=None):
    p = {"text": text, "doc": doc, "source": f"{doc}.txt", "page": 1, "score": score}
    if pid:
        p["id"] = pid
    return p


RESULTS = {
    # answer at rank 2
    "q1": [_p("Nothing useful."), _p("Resolved that the cabinet approved the budget.")],
    # quote 0 at rank 1, a copy at rank 2, nothing, quote 1 at rank 4
    "q2": {
        "id": "q2",
        "passages": [
            _p("Fourteen children were adopted this year."),
            _p("Fourteen children were adopted this year."),
            _p("Something else."),
            _p("Sixteen children are waiting.", doc="d2"),
        ],
    },
    "q3": [_p("irrelevant")],
    # q4 missing
    "zzz": [],
}


def test_score_run_per_question():
    s = score_run(QUESTIONS, RESULTS)
    q1, q2, q4 = s["per_question"]["q1"], s["per_question"]["q2"], s["per_question"]["q4"]
    assert (q1["hit@1"], q1["mrr@10"], q1["recall@5"]) == (0.0, 0.5, 1.0)
    # q1 nDCG: 1 quote first at rank 2 -> 0.63093 / 1
    assert q1["ndcg@10"] == pytest.approx(0.63093, abs=1e-5)
    assert (q2["recall@1"], q2["recall@3"], q2["recall@5"], q2["mrr@10"]) == (0.5, 0.5, 1.0, 1.0)
    # q2 nDCG: (1 + 1/log2 5) / (1 + 1/log2 3) = 1.43068 / 1.63093 = 0.87722
    assert q2["ndcg@10"] == pytest.approx(0.87722, abs=1e-5)
    assert q2["first_rank"] == 1 and q2["answered"] == [0, 1]
    assert all(q4[m] == 0.0 for m in DEFAULT_METRICS)  # missing -> scored 0


def test_score_run_means_types_and_bookkeeping():
    s = score_run(QUESTIONS, RESULTS)
    assert s["n"] == 3  # q3 unanswerable is excluded
    assert s["skipped_unanswerable"] == 1
    assert "q3" not in s["per_question"]
    assert s["missing"] == ["q4"]
    assert s["unknown"] == ["zzz"]
    # mrr: (0.5 + 1 + 0) / 3 = 0.5; hit@5: (1 + 1 + 0) / 3
    assert s["mean"]["mrr@10"] == pytest.approx(0.5)
    assert s["mean"]["hit@5"] == pytest.approx(2 / 3)
    # by type: lexical = q1, q4 -> mrr (0.5 + 0) / 2; multi = q2
    assert s["by_type"]["lexical"]["n"] == 2
    assert s["by_type"]["lexical"]["mrr@10"] == pytest.approx(0.25)
    assert s["by_type"]["multi"] == pytest.approx({"n": 1, **{m: s["per_question"]["q2"][m] for m in DEFAULT_METRICS}})
    assert "unanswerable" not in s["by_type"]


def test_score_run_require_doc():
    # q2's quote 1 stands in d2; claim the passage is from d1 and it no longer answers
    # under require_doc, but does under the README's tokens-only default.
    results = {"q2": [_p("Sixteen children are waiting.", doc="d1")]}
    assert score_run(QUESTIONS[1:2], results)["mean"]["recall@1"] == 0.5
    assert score_run(QUESTIONS[1:2], results, require_doc=True)["mean"]["recall@1"] == 0.0


def test_score_run_looks_at_top_10_only():
    results = {"q1": [_p("no")] * 10 + [_p("the cabinet approved the budget")]}
    s = score_run(QUESTIONS[:1], results)
    assert s["mean"]["recall@10"] == 0.0 and s["per_question"]["q1"]["first_rank"] is None


def test_score_run_rejects_unknown_metric_before_scoring():
    with pytest.raises(ValueError, match="valid"):
        score_run(QUESTIONS, RESULTS, ["recall@5", "bogus"])


# --- abstention ------------------------------------------------------------------------------


def test_abstention_rates():
    questions = [
        {"id": "u1", "answers": []},
        {"id": "u2", "answers": []},
        {"id": "u3", "answers": []},
        {"id": "a1", "answers": [{"quote": "x"}]},
        {"id": "a2", "answers": [{"quote": "x"}]},
        {"id": "a3", "answers": [{"quote": "x"}]},
    ]
    ask = {
        "u1": {"id": "u1", "abstained": True},
        "u2": {"id": "u2", "abstained": False},
        # u3 missing: left out of the share
        "a1": {"id": "a1", "abstained": True},
        "a2": {"id": "a2", "abstained": False},
        "a3": False,  # a bare bool is accepted
    }
    r = abstention_rates(questions, ask)
    assert r["abstained_unanswerable"] == pytest.approx(1 / 2)  # u1 of {u1, u2}
    assert r["wrongly_abstained_answerable"] == pytest.approx(1 / 3)  # a1 of 3
    assert (r["n_unanswerable"], r["n_answerable"], r["missing"]) == (2, 3, ["u3"])
    assert abstention_rates(questions[3:], {})["wrongly_abstained_answerable"] is None


# --- significance ----------------------------------------------------------------------------


def test_paired_exact_three_wins():
    # d = [1, 1, 1]: of the 2^3 = 8 sign patterns only +++ and --- reach |mean| = 1.
    r = paired_test({"a": 1, "b": 1, "c": 1}, {"a": 0, "b": 0, "c": 0})
    assert r.exact and r.n_permutations == 8
    assert r.p_value == 0.25
    assert (r.mean_a, r.mean_b, r.diff, r.n) == (1.0, 0.0, 1.0, 3)


def test_paired_exact_unequal():
    # d = [2, 1], observed 1.5; patterns: 1.5, 0.5, -0.5, -1.5 -> 2 of 4.
    assert paired_test({"a": 2.0, "b": 1.0}, {"a": 0.0, "b": 0.0}).p_value == 0.5
    # d = [1, 0, 0]: every pattern has |mean| = 1/3 -> p = 1.
    assert paired_test({"a": 1, "b": 0, "c": 0}, {"a": 0, "b": 0, "c": 0}).p_value == 1.0


def test_paired_identical_is_one():
    scores = {f"q{i}": i / 7 for i in range(30)}
    assert paired_test(scores, dict(scores)).p_value == 1.0


def test_paired_sampled_never_zero_and_reproducible():
    # n = 20: 2^20 > 10,000 so patterns are sampled. All-same-sign has chance 2/2^20, so
    # the count is 0 and p = (1 + 0) / (1 + 10,000).
    a = {f"q{i}": 1.0 for i in range(20)}
    b = {f"q{i}": 0.0 for i in range(20)}
    r = paired_test(a, b)
    assert not r.exact and r.p_value == pytest.approx(1 / 10_001)
    noisy_a = {f"q{i}": (i % 3) / 2 for i in range(40)}
    noisy_b = {f"q{i}": (i % 5) / 4 for i in range(40)}
    assert paired_test(noisy_a, noisy_b, seed=3).p_value == paired_test(noisy_a, noisy_b, seed=3).p_value


def test_paired_aligns_on_shared_questions():
    # Only q1, q2 are shared: d = [1, 1] -> 2 of 4 patterns.
    r = paired_test({"q1": 1, "q2": 1, "x": 5}, {"q1": 0, "q2": 0, "y": 9})
    assert r.n == 2 and r.p_value == 0.5
    with pytest.raises(ValueError):
        paired_test({"a": 1}, {"b": 1})


def test_compare_against_first():
    base = {"per_question": {"a": {"ndcg@10": 0.0}, "b": {"ndcg@10": 0.0}, "c": {"ndcg@10": 0.0}}}
    better = {"per_question": {k: {"ndcg@10": 1.0} for k in "abc"}}
    out = compare({"bm25": base, "hybrid": better})
    assert list(out) == ["hybrid"]
    assert out["hybrid"].diff == 1.0 and out["hybrid"].p_value == 0.25


# --- TREC files ------------------------------------------------------------------------------


def test_trec_run_lines():
    buf = io.StringIO()
    write_trec_run(
        {"q1": [_p("a", score=2.5, pid="p7"), _p("b", score=1.0, pid="p3")]}, buf, "my run"
    )
    assert buf.getvalue() == "q1 Q0 p7 1 2.5 my_run\nq1 Q0 p3 2 1.0 my_run\n"


def test_trec_run_ties_and_repeats_keep_rank_order():
    # Tied scores would let TREC tools reorder: replaced by 3, 2, 1. A repeated id gets ~2.
    buf = io.StringIO()
    write_trec_run({"q1": [_p("a", pid="p1"), _p("b", pid="p2"), _p("c", pid="p1")]}, buf, "r")
    assert buf.getvalue() == "q1 Q0 p1 1 3.0 r\nq1 Q0 p2 2 2.0 r\nq1 Q0 p1~2 3 1.0 r\n"


def test_passage_id_without_id():
    pid = passage_id({"doc": "Printed minutes", "text": "Hello"})
    assert pid.startswith("Printed_minutes#") and len(pid) == len("Printed_minutes#") + 12
    assert " " not in pid


def test_qrels_pools_runs():
    buf = io.StringIO()
    run1 = {"q1": [_p("no", pid="x"), _p("the cabinet approved the budget", pid="y")]}
    run2 = {"q1": [_p("The Cabinet approved the budget today", pid="z"), _p("again", pid="y")]}
    write_qrels(QUESTIONS[:1] + QUESTIONS[2:3], [run1, run2], buf)
    # q3 is unanswerable: no lines; y from run 1, z from run 2, y not repeated.
    assert buf.getvalue() == "q1 0 y 1\nq1 0 z 1\n"


# --- report ----------------------------------------------------------------------------------


def test_markdown_table_and_chart(tmp_path):
    s = score_run(QUESTIONS, RESULTS, ["recall@5", "ndcg@10", "mrr@10"])
    s["abstention"] = {"abstained_unanswerable": 0.5, "wrongly_abstained_answerable": None}
    table = markdown_table({"bm25": s})
    lines = table.splitlines()
    assert lines[0] == "| retriever | n | recall@5 | ndcg@10 | mrr@10 | abstain (unans.) | wrong abstain (ans.) |"
    # recall@5 (1 + 1 + 0)/3 = 0.667; mrr 0.5; abstention 0.5 and n/a
    assert lines[2].startswith("| bm25 | 3 | 0.667 |")
    assert lines[2].endswith("| 0.500 | 0.500 | n/a |")
    assert "| lexical | bm25 | 2 | 0.500 |" in table  # recall@5 (1 + 0)/2
    assert "| multi | bm25 | 1 | 1.000 |" in table

    png = tmp_path / "scores.png"
    chart({"bm25": s, "copy": s}, png)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# --- the CLI ---------------------------------------------------------------------------------


def _write_jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


def test_cli_json(tmp_path, capsys):
    q = tmp_path / "q.jsonl"
    _write_jsonl(q, QUESTIONS)
    run = tmp_path / "hybrid.jsonl"
    rows = []
    for qid in ("q1", "q2", "q3", "q4"):
        res = RESULTS.get(qid, [])
        passages = res["passages"] if isinstance(res, dict) else res
        rows.append({"id": qid, "passages": passages, "abstained": qid in ("q3", "q4")})
    _write_jsonl(run, rows)

    assert main(["--questions", str(q), "--run", str(run), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    s = out["runs"]["hybrid"]
    assert s["mean"]["mrr@10"] == pytest.approx(0.5)  # as in test_score_run_means...
    # q3 (unanswerable) abstained: 1/1; q4 (answerable) abstained: 1 of 3.
    assert s["abstention"]["abstained_unanswerable"] == 1.0
    assert s["abstention"]["wrongly_abstained_answerable"] == pytest.approx(1 / 3)
    assert out["require_doc"] is False and out["significance"] is None


def test_cli_table_two_runs_and_errors(tmp_path, capsys):
    q = tmp_path / "q.jsonl"
    _write_jsonl(q, QUESTIONS[:2])
    good = tmp_path / "good.jsonl"
    bad = tmp_path / "bad.jsonl"
    _write_jsonl(good, [{"id": "q1", "passages": RESULTS["q1"]}, {"id": "q2", **RESULTS["q2"]}])
    _write_jsonl(bad, [{"id": "q1", "passages": []}])
    trec = tmp_path / "trec"
    code = main(["--questions", str(q), "--run", f"A={good}", "--run", str(bad), "--trec-dir", str(trec)])
    assert code == 0
    captured = capsys.readouterr()
    assert "| A | 2 |" in captured.out and "| bad | 2 |" in captured.out
    assert "Paired randomization test on ndcg@10 against A" in captured.out
    assert "no result for 1 answerable question(s): q2" in captured.err
    assert (trec / "A.run").exists() and (trec / "qrels.txt").read_text().startswith("q1 0 ")

    assert main(["--questions", str(q), "--run", str(good), "--metrics", "bogus@1"]) == 2
    assert "unknown metric 'bogus@1'" in capsys.readouterr().err
    (tmp_path / "broken.jsonl").write_text('{"id": "q1"}\nnot json\n', encoding="utf-8")
    assert main(["--questions", str(q), "--run", str(tmp_path / "broken.jsonl")]) == 2
    assert "broken.jsonl:2" in capsys.readouterr().err


# --- the worked examples in the docstrings ------------------------------------------------


@pytest.mark.parametrize("module", ["eval.relevance", "eval.metrics", "eval.significance", "eval.report", "eval.abstention_signals"])
def test_docstring_examples(module):
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(module))
    assert result.attempted > 0 and result.failed == 0


def test_abstention_signals_by_hand():
    from eval.abstention_signals import Evidence, auc, best_threshold

    def q(answerable, closest):
        return Evidence(answerable, closest, 0.0, 0.0, 0.0, 1.0)

    # Answerable .8 .7 .6 .3, unanswerable .65 .5: of the 8 pairs the answerable one is
    # higher in .8>.65, .8>.5, .7>.65, .7>.5, .6>.5 — 5 of 8.
    rows = [q(True, 0.8), q(True, 0.7), q(True, 0.6), q(True, 0.3), q(False, 0.65), q(False, 0.5)]
    assert auc(rows, "closest") == pytest.approx(5 / 8)
    # Abstaining below .6 catches .5 (1 of 2) and wrongly abstains on .3 (1 of 4); any higher
    # threshold also takes .6 (2 of 4 answerable), over the 25% allowed.
    assert best_threshold(rows, "closest", 0.25) == (0.6, 0.5, 0.25)
    assert best_threshold(rows, "closest", 0.0) == (float("-inf"), 0.0, 0.0)
