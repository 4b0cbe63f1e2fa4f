"""Table rows that a PDF gave as plain lines: found, cut into units of their own, and read
under their column headers (index.chunk); hand-worked examples."""

from index.chunk import is_row_line, row_header, sentence_units

TABLE = (
    "Table 6.2 Tax base changes\n"            # 0..26
    "District Taxbase % change\n"              # 27..52
    "Ashford 49,832.00 49,332.00 -1.00%\n"     # 53..87
    "Dover 38,000.00 38,500.00 1.30%"          # 88..
)


def test_row_lines_are_words_then_two_figures():
    assert is_row_line("Older People - Residential Care Services 97.5 124.9 27.4")
    assert is_row_line("Ashford 49,832.00 49,332.00 -1.00%")
    assert is_row_line("Adult Mental Health 21.4 23.7 +2.3")
    assert not is_row_line("District Taxbase % change")  # no figures: a header
    assert not is_row_line("Social Care Grant 137.1")  # one figure: could be prose
    assert not is_row_line("97.5 124.9 27.4")  # no label
    assert not is_row_line("The total rose from 12 to 14 children in 2024 and 2025.")


def test_each_row_is_a_unit_and_prose_keeps_its_sentences():
    units = sentence_units(TABLE, 0, len(TABLE))
    texts = [TABLE[s:e] for s, e in units]
    # The two header lines (9 words) are one unit; each row, though under 6 words, its own.
    assert texts == [
        "Table 6.2 Tax base changes\nDistrict Taxbase % change",
        "Ashford 49,832.00 49,332.00 -1.00%",
        "Dover 38,000.00 38,500.00 1.30%",
    ]


def test_prose_without_rows_is_cut_as_before():
    text = "The council met in May. It agreed the budget for the coming year in full.\nIt noted the risks."
    assert [text[s:e] for s, e in sentence_units(text, 0, len(text))] == [
        "The council met in May. It agreed the budget for the coming year in full.",
        "It noted the risks.",
    ]


def test_row_header_is_the_lines_above_the_block_of_rows():
    dover = TABLE.index("Dover")
    # Dover's header is found by skipping back over the Ashford row to the two header lines.
    assert row_header(TABLE, dover) == "Table 6.2 Tax base changes District Taxbase % change"
    rows_only = "Ashford 49,832.00 49,332.00 -1.00%\nDover 38,000.00 38,500.00 1.30%"
    assert row_header(rows_only, rows_only.index("Dover"), "Council tax base") == "Council tax base"
    assert row_header(rows_only, 0) == ""


def test_a_long_unspaced_line_is_not_a_row():
    # Past ROW_LINE_MAX_CHARS the pattern is not tried: its backtracking grows with the square of the line.
    assert not is_row_line("a" * 2000 + " 12 34")
    assert is_row_line("Ashford " + "a" * 50 + " 49,832.00 49,332.00")
