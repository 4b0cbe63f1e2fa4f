"""When a retrieved passage answers a gold quote (shared/eval/README.md, "When a passage
answers a question").

The rule is about tokens only: a passage answers a quote of ``n`` tokens when the two
share a contiguous run of at least ``needed_run(n) = min(n, max(6, ceil(n/2)))`` tokens.
Tokens: NFKC-normalise, fold curly quotes and dashes to ASCII, lowercase, take runs of
``[a-z0-9]``.

The README does not say that the passage must come from the gold answer's paper, and the
same paragraph can stand in two papers (minutes reprinted in a later pack), so by default
the paper is not checked (``require_doc=False``). With ``require_doc=True`` a passage from a
different paper never answers; see :func:`same_doc` for how papers are matched.

>>> tokens("The Council’s “plan” – 2024–25 ﬁnance")
['the', 'council', 's', 'plan', '2024', '25', 'finance']
>>> needed_run(13)
7
>>> answers("an increase on last year's 7 children", "last year’s 7 children and there are now")
False
>>> answers("an increase on last year's 7 children", "last year's 7 children")
True
"""

from __future__ import annotations

import math
import os
import re
import unicodedata
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = [
    "tokens",
    "needed_run",
    "longest_common_run",
    "answers",
    "same_doc",
    "judge",
    "quote_text",
    "passage_text",
]

# Folded before lowercasing. NFKC already maps some of these (U+2011, U+FF0D), the rest
# it leaves alone. Since only [a-z0-9] survive, folding cannot change the tokens today; it
# is kept so the function does literally what the README says if the token class widens.
_FOLD = str.maketrans(
    {
        **dict.fromkeys("\u2018\u2019\u201a\u201b\u2032\u02bc\u00b4\u0060", "'"),
        **dict.fromkeys("\u201c\u201d\u201e\u201f\u2033\u00ab\u00bb", '"'),
        **dict.fromkeys("\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d", "-"),
    }
)
_TOKEN = re.compile(r"[a-z0-9]+")

Quote = str | Mapping[str, Any]
PassageLike = str | Mapping[str, Any]


def tokens(text: str) -> list[str]:
    """The README's tokens of ``text``.

    >>> tokens("Ofsted’s ﬁndings — 2ND review, ＭＡＲ")
    ['ofsted', 's', 'findings', '2nd', 'review', 'mar']
    """
    text = unicodedata.normalize("NFKC", text).translate(_FOLD).lower()
    return _TOKEN.findall(text)


def needed_run(n: int) -> int:
    """Shortest shared run that lets a passage answer a quote of ``n`` tokens.

    Short quotes (up to 6 tokens) must stand whole; longer ones need half, at least 6.

    >>> [needed_run(n) for n in (3, 6, 10, 13, 40)]
    [3, 6, 6, 7, 20]
    """
    if n < 0:
        raise ValueError(f"a quote cannot have {n} tokens")
    return min(n, max(6, math.ceil(n / 2)))


def longest_common_run(a: Sequence[str], b: Sequence[str]) -> int:
    """Length of the longest contiguous run of tokens common to ``a`` and ``b``.

    Dynamic programming over one row, O(len(a) * len(b)); used for diagnostics and to
    cross-check :func:`answers`, which only needs to know whether a run of a given length
    exists and so uses n-gram sets instead.

    >>> longest_common_run("a b c d".split(), "x b c d y".split())
    3
    """
    if not a or not b:
        return 0
    best = 0
    prev = [0] * (len(b) + 1)
    for x in a:
        cur = [0] * (len(b) + 1)
        for j, y in enumerate(b, start=1):
            if x == y:
                cur[j] = prev[j - 1] + 1
                if cur[j] > best:
                    best = cur[j]
        prev = cur
    return best


def _grams(toks: Sequence[str], m: int) -> set[tuple[str, ...]]:
    return {tuple(toks[i : i + m]) for i in range(len(toks) - m + 1)}


def _has_run(passage_toks: Sequence[str], quote_grams: set[tuple[str, ...]], m: int) -> bool:
    # Any shared run of >= m tokens contains a shared m-gram, and vice versa.
    return any(tuple(passage_toks[i : i + m]) in quote_grams for i in range(len(passage_toks) - m + 1))


def quote_text(quote: Quote) -> str:
    """The words of a gold quote given as a string or as ``{"doc", "quote"}``."""
    if isinstance(quote, str):
        return quote
    return str(quote.get("quote") or quote.get("text") or "")


def passage_text(passage: PassageLike) -> str:
    """The words of a passage given as a string or as a ``search --json`` passage dict.

    Only ``text`` counts, not the headings a retriever also saw: the README's passage is
    what the user is shown and can quote.
    """
    if isinstance(passage, str):
        return passage
    return str(passage.get("text") or "")


def answers(passage: PassageLike, quote: Quote, *, require_doc: bool = False) -> bool:
    """Whether ``passage`` answers the gold ``quote``.

    A quote with no tokens answers nothing (it is a data error, and would otherwise be
    answered by every passage).

    >>> answers("Phase 1 focused on getting the conditions right", "Phase 1 focused on")
    True
    >>> answers("Phase 1 focused", "Phase 1 focused on")  # 3 of 4: a short quote stands whole
    False
    """
    if require_doc and not same_doc(passage, quote):
        return False
    q = tokens(quote_text(quote))
    if not q:
        return False
    m = needed_run(len(q))
    return _has_run(tokens(passage_text(passage)), _grams(q, m), m)


def _norm_path(path: str) -> str:
    path = unicodedata.normalize("NFC", path).replace("\\", "/").strip()
    while path.startswith("./"):
        path = path[2:]
    return path.strip("/")


def _is_suffix(short: str, long: str) -> bool:
    """``short`` equals ``long`` or its trailing path components."""
    return long == short or long.endswith("/" + short)


def _locations(passage: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    # A de-duplicated hit carries the other places its words stand in ``also_in``.
    return [passage, *(loc for loc in passage.get("also_in") or () if isinstance(loc, Mapping))]


def _doc_matches(loc: Mapping[str, Any], gold_doc: str) -> bool:
    doc = _norm_path(str(loc.get("doc") or ""))
    source = _norm_path(str(loc.get("source") or ""))
    stem = os.path.splitext(source)[0] if source else ""
    if "/" not in gold_doc:
        # A bare name: the paper's file name without extension.
        return gold_doc in {doc, os.path.basename(stem), os.path.basename(source)} - {""}
    if source and "/" in source:
        # Both are paths, possibly relative to different roots (ingesting corpus/ or
        # corpus/sefton/): match on whole trailing components, either way round.
        return any(
            _is_suffix(gold_doc, s) or _is_suffix(s, gold_doc) for s in {stem, source}
        )
    # The passage's source is a bare file name (a single file or a folder ingested), so
    # only the last component can be compared. Not done when the source has folders: two
    # meetings' "Printed minutes" share a name and differ only in their folder.
    return os.path.basename(gold_doc) in {doc, stem, source} - {""}


def same_doc(passage: PassageLike, quote: Quote) -> bool:
    """Whether ``passage`` comes from the paper the gold ``quote`` names.

    Rule:

    * A gold quote without a ``doc`` (or given as a bare string) matches any passage, and
      a bare-string passage matches only such a quote.
    * Gold ``doc`` without ``/`` (``"000_74252e79d0a85765"``): equals the passage's ``doc``,
      or its ``source``'s file name without extension.
    * Gold ``doc`` with ``/`` (``"cabinet/2025-01-30/Printed minutes"``): when the
      passage's ``source`` has folders, one of the two paths, ``source`` without its
      extension (or as is), is the other or ends with it on a ``/`` boundary; when the
      ``source`` is a bare file name, the gold path's last component equals the passage's
      ``doc`` (or ``source``, with or without extension).
    * Any of a passage's ``also_in`` locations (a de-duplicated hit) may match.

    >>> same_doc({"doc": "Printed minutes", "source": "cabinet/2025-01-30/Printed minutes.pdf"},
    ...          {"doc": "cabinet/2025-01-30/Printed minutes", "quote": "x"})
    True
    >>> same_doc({"doc": "Printed minutes", "source": "cabinet/2025-02-27/Printed minutes.pdf"},
    ...          {"doc": "cabinet/2025-01-30/Printed minutes", "quote": "x"})
    False
    """
    if isinstance(quote, str) or not quote.get("doc"):
        return True
    if isinstance(passage, str):
        return False
    gold_doc = _norm_path(str(quote["doc"]))
    return any(_doc_matches(loc, gold_doc) for loc in _locations(passage))


def judge(
    passages: Sequence[PassageLike], gold: Sequence[Quote], *, require_doc: bool = False
) -> list[list[int]]:
    """For each passage, in rank order, the indices of the gold quotes it answers.

    Each passage is tokenised once and each quote's needed-length n-grams built once.

    >>> judge(["a b c d e f g", "nothing here", "x a b c d e f"], ["a b c d e f", "x a"])
    [[0], [], [0, 1]]
    """
    prepared: list[tuple[int, set[tuple[str, ...]]] | None] = []
    for q in gold:
        toks = tokens(quote_text(q))
        if not toks:
            prepared.append(None)
            continue
        m = needed_run(len(toks))
        prepared.append((m, _grams(toks, m)))

    out: list[list[int]] = []
    for p in passages:
        p_toks = tokens(passage_text(p))
        hits = [
            i
            for i, (q, prep) in enumerate(zip(gold, prepared, strict=True))
            if prep is not None
            and (not require_doc or same_doc(p, q))
            and _has_run(p_toks, prep[1], prep[0])
        ]
        out.append(hits)
    return out

