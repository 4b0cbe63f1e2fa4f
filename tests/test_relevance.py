"""eval.relevance: the README's token rule, worked out by hand."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from eval.relevance import answers, judge, longest_common_run, needed_run, same_doc, tokens

# --- tokens ---------------------------------------------------------------------------


def test_tokens_curly_quotes_and_dashes_split_like_ascii():
    # ’ “ ” — – are not in [a-z0-9], so each ends a token, exactly like ' " -.
    assert tokens("The Council’s “Plan” — 2024–25") == ["the", "council", "s", "plan", "2024", "25"]
    assert tokens("year’s") == tokens("year's") == ["year", "s"]
    # U+2011 non-breaking hyphen, U+2212 minus.
    assert tokens("self‑assessment −5") == ["self", "assessment", "5"]


def test_tokens_nfkc():
    # "ﬁ" (U+FB01) is one character outside [a-z]; NFKC makes it "fi". Without NFKC the
    # word would come out as "nancial".
    assert tokens("ﬁnancial") == ["financial"]
    # Full-width letters and digits, superscript two, fraction ½ -> "1⁄2" (U+2044 slash).
    assert tokens("Ｒｅｐｏｒｔ ２") == ["report", "2"]
    assert tokens("120m²") == ["120m2"]
    assert tokens("½") == ["1", "2"]


def test_tokens_lowercase_ascii_only():
    # The README keeps only [a-z0-9]: "é" is dropped and splits nothing further.
    assert tokens("Café NHS £1.5m") == ["caf", "nhs", "1", "5m"]
    assert tokens("— … ’") == []


# --- needed_run -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("n", "expected"),
    [
        (3, 3),  # min(3, max(6, 2)) = 3: whole
        (6, 6),  # min(6, max(6, 3)) = 6: whole
        (10, 6),  # min(10, max(6, 5)) = 6
        (13, 7),  # min(13, max(6, ceil 6.5 = 7)) = 7
        (40, 20),  # min(40, max(6, 20)) = 20
        (1, 1),
        (7, 6),  # min(7, max(6, 4)) = 6
        (14, 7),
    ],
)
def test_needed_run(n, expected):
    assert needed_run(n) == expected


def test_needed_run_negative():
    with pytest.raises(ValueError):
        needed_run(-1)


# --- short quotes must stand whole -------------------------------------------------------

SHORT = "4A Dental Visits"  # 3 tokens: 4a dental visits -> needs all 3


def test_short_quote_whole():
    assert answers("Measure 4A\tDental Visits Cared for Children\tQuarterly", SHORT)


def test_short_quote_broken():
    # tokens: measure 4a dental checks visits -> longest shared run "4a dental" = 2 < 3
    assert not answers("Measure 4A dental checks; visits", SHORT)


def test_six_token_quote_needs_all_six():
    quote = "the foster carer recruitment campaign launched"  # 6 tokens -> needs 6
    assert answers("In May the foster carer recruitment campaign launched city-wide.", quote)
    # "was" breaks it: longest run "the foster carer recruitment campaign" = 5 < 6
    assert not answers("the foster carer recruitment campaign was launched", quote)


def test_empty_quote_answers_nothing():
    assert not answers("anything at all", "— …")


# --- a long quote cut by a chunk boundary ---------------------------------------------------

# 30 tokens: this(1) year to date 14 children have been adopted an(10) increase on last
# year s(15) 7 children and there are(20) now 16 children waiting a(25) decrease from 34
# in july(30). needed_run(30) = min(30, max(6, 15)) = 15.
LONG = (
    "This year to date 14 children have been adopted, an increase on last year's 7 "
    "children and there are now 16 children waiting, a decrease from 34 in July."
)


def test_long_quote_len():
    assert len(tokens(LONG)) == 30


def test_long_quote_first_half_at_end_of_chunk():
    # tokens 1..15 ("this" .. "s") end the chunk: exactly half -> answers.
    assert answers("2.1 Adoption. This year to date 14 children have been adopted, an increase on last year's", LONG)
    # tokens 1..14 (up to "year"): one short -> does not.
    assert not answers("2.1 Adoption. This year to date 14 children have been adopted, an increase on last year", LONG)


def test_long_quote_second_half_at_start_of_chunk():
    # tokens 16..30 = 15 -> answers; 17..30 = 14 -> does not.
    assert answers("7 children and there are now 16 children waiting, a decrease from 34 in July. 2.2", LONG)
    assert not answers("children and there are now 16 children waiting, a decrease from 34 in July.", LONG)


def test_long_quote_needs_one_unbroken_run():
    # 11 + 13 = 24 quote tokens present, but the longest unbroken run is 13 < 15.
    passage = (
        "This year to date 14 children have been adopted, an increase [table 3] and there "
        "are now 16 children waiting, a decrease from 34 in July."
    )
    assert longest_common_run(tokens(passage), tokens(LONG)) == 13
    assert not answers(passage, LONG)


# --- cross-check against the dynamic-programming definition -----------------------------------


def test_longest_common_run_by_hand():
    assert longest_common_run("a b c d".split(), "x b c d y".split()) == 3
    assert longest_common_run("a b".split(), "c d".split()) == 0
    assert longest_common_run([], ["a"]) == 0


@given(
    st.lists(st.sampled_from("abc"), max_size=14),
    st.lists(st.sampled_from("abc"), min_size=1, max_size=14),
)
def test_answers_agrees_with_longest_common_run(p, q):
    # A 3-letter alphabet makes long shared runs, and near misses, common.
    expected = longest_common_run(p, q) >= needed_run(len(q))
    assert answers(" ".join(p), " ".join(q)) is expected
    assert (judge([" ".join(p)], [" ".join(q)]) == [[0]]) is expected


# --- judge ------------------------------------------------------------------------------


def test_judge_sets_per_passage():
    gold = [
        {"doc": "d1", "quote": "the cabinet approved the budget"},  # 5 tokens, needs 5
        {"doc": "d1", "quote": "fees rise by 3 per cent"},  # 6 tokens, needs 6
    ]
    passages = [
        {"doc": "d1", "text": "Resolved: the cabinet approved the budget."},
        {"doc": "d1", "text": "the cabinet approved it"},
        "Fees rise by 3 per cent, and the Cabinet approved the budget.",
    ]
    assert judge(passages, gold) == [[0], [], [0, 1]]
    assert judge([], gold) == []
    assert judge(passages, []) == [[], [], []]


# --- which paper --------------------------------------------------------------------------


QUOTE = {"doc": "000_74252e79d0a85765", "quote": "care leavers are exempt from council tax"}


def test_default_ignores_doc():
    # README rule speaks of tokens only: the same text in another paper answers.
    other = {"doc": "001_other", "source": "001_other.txt", "text": "Care leavers are exempt from council tax."}
    assert answers(other, QUOTE)
    assert judge([other], [QUOTE]) == [[0]]


def test_require_doc():
    other = {"doc": "001_other", "source": "001_other.txt", "text": "Care leavers are exempt from council tax."}
    same = dict(other, doc="000_74252e79d0a85765", source="sefton/000_74252e79d0a85765.pdf")
    assert not answers(other, QUOTE, require_doc=True)
    assert answers(same, QUOTE, require_doc=True)
    assert judge([other, same], [QUOTE], require_doc=True) == [[], [0]]
    # Right paper, wrong words: still no.
    assert not answers(dict(same, text="council tax"), QUOTE, require_doc=True)


def test_same_doc_bare_name_via_source():
    gold = {"doc": "000_abc", "quote": "x"}
    assert same_doc({"doc": "renamed", "source": "sub/000_abc.txt"}, gold)
    assert not same_doc({"doc": "000_abcd", "source": "000_abcd.txt"}, gold)


GOLD_PATH = {"doc": "cabinet/2025-01-30/Printed minutes 30.01.2025", "quote": "x"}


@pytest.mark.parametrize(
    ("source", "doc", "expected"),
    [
        # the same relative path, with extension (the ".2025" is not taken for one)
        ("cabinet/2025-01-30/Printed minutes 30.01.2025.pdf", "Printed minutes 30.01.2025", True),
        # ingested from a folder above: the gold path ends the source
        ("corpus/cabinet/2025-01-30/Printed minutes 30.01.2025.pdf", "Printed minutes 30.01.2025", True),
        # ingested from cabinet/: the source ends the gold path
        ("2025-01-30/Printed minutes 30.01.2025.pdf", "Printed minutes 30.01.2025", True),
        # a bare file name: only the last component can be compared, with doc
        ("Printed minutes 30.01.2025.pdf", "Printed minutes 30.01.2025", True),
        # another meeting's minutes with the same file name
        ("cabinet/2025-02-27/Printed minutes 30.01.2025.pdf", "Printed minutes 30.01.2025", False),
        # a partial component is not a match
        ("xcabinet/2025-01-30/Printed minutes 30.01.2025.pdf", "Printed minutes 30.01.2025", False),
        ("Agenda.pdf", "Agenda", False),
    ],
)
def test_same_doc_relative_path(source, doc, expected):
    assert same_doc({"doc": doc, "source": source, "text": "x"}, GOLD_PATH) is expected


def test_same_doc_also_in_and_windows_separators():
    hit = {
        "doc": "b",
        "source": "b.txt",
        "also_in": [{"doc": "Printed minutes 30.01.2025", "source": "cabinet\\2025-01-30\\Printed minutes 30.01.2025.pdf"}],
    }
    assert same_doc(hit, GOLD_PATH)
    assert not same_doc(dict(hit, also_in=[]), GOLD_PATH)


def test_same_doc_without_doc_information():
    # A gold quote naming no paper cannot be checked: any passage matches it.
    assert same_doc({"doc": "z", "text": "x"}, {"quote": "x"})
    assert same_doc("bare text", "bare quote")
    # A bare-text passage cannot be from the named paper.
    assert not same_doc("bare text", {"doc": "d", "quote": "x"})
