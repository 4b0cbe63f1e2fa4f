"""Answer types: what a question asks for and whether a sentence supplies it."""

import pytest

from qa.answertype import TYPES, answer_types, has_type, type_match


@pytest.mark.parametrize(
    ("question", "wanted"),
    [
        ("How many children were waiting to be adopted?", ("number",)),
        ("What is the forecast overspend on residential care for older people?", ("number",)),
        ("What did Cabinet decide about the Integrated Care Strategy?", ("decision",)),
        ("When was the extraordinary meeting due to finish?", ("date",)),
        ("Who was lead member of the working group?", ("person",)),
        ("Where will the regional adoption agency's main base be?", ("place",)),
        ("Why is the waste budget over this year?", ("reason",)),
        ("Why is the waste budget over, and by how much?", ("number", "reason")),
        ("Tell me about the improvement plan", ()),
    ],
)
def test_answer_types_of_questions(question, wanted):
    assert answer_types(question) == wanted


# Sentences from the Sefton and Kent papers (samples/), each with what it holds.
@pytest.mark.parametrize(
    ("sentence", "kind", "expected"),
    [
        ("Each 1% is estimated to cost £14m.", "number", True),
        ("The capital budget changes need to be agreed by Cabinet.", "number", False),
        ("RESOLVED that Cabinet agree to adopt the Delivery Plan.", "decision", True),
        ("The Delivery Plan sets out the proposed priorities for action.", "decision", False),
        ("phase one of Sefton's MASH had commenced on 24 February 2014", "date", True),
        ("Councillor Robinson was appointed Lead Member.", "person", True),
        ("The venue for the hub has now been identified in the Halewood area.", "place", True),
        ("19 of these were the result of behaviour by young people aged 11-17.", "reason", True),
    ],
)
def test_sentences_hold_their_type(sentence, kind, expected):
    assert has_type(sentence, kind) is expected


def test_type_match_is_the_share_of_types_supplied():
    # Asks for a figure and a reason; the sentence gives a figure (£14m) but no reason: 1/2.
    types = answer_types("Why is the waste budget over, and by how much?")
    assert type_match(types, "Waste tonnages cost £14m more.") == 0.5
    assert type_match((), "anything") == 0.0


def test_unknown_type_lists_the_valid_ones():
    with pytest.raises(ValueError) as err:
        has_type("text", "colour")
    for name in TYPES:
        assert name in str(err.value)
