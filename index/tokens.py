"""Words for BM25: lower case, stop words out, English Snowball stems.

The index and the query side must cut words the same way, so both call :func:`bm25_tokens`.

    >>> bm25_tokens("The children were adopted <b>quickly</b>")
    ['children', 'adopt', 'quick']
"""

from __future__ import annotations

import re
from functools import lru_cache

TAG = re.compile(r"</?[a-zA-Z][^<>]{0,300}>")
WORD = re.compile(r"[a-z0-9]+(?:[’'][a-z]+)?")

# Kept short on purpose: "not", "no", "before", "after" carry meaning in decisions.
STOP_WORDS = frozenset(
    """a an and are as at be been but by for from had has have he her his i if in into is it its
    of on or our she so than that the their them then there these they this those to was we were
    what when where which who whom will with would you your do does did can could should may might
    shall about also how any all more most such aren isn wasn weren don doesn didn hasn haven
    hadn won wouldn shouldn couldn""".split()
)


@lru_cache(maxsize=1)
def _stemmer():
    import Stemmer  # PyStemmer: C Snowball, about 1 µs a word

    return Stemmer.Stemmer("english")


def strip_tags(text: str) -> str:
    """Export leftovers like ``<p style=...>`` are layout, not words."""
    return TAG.sub(" ", text)


def words(text: str) -> list[str]:
    return [w.replace("’", "'").split("'")[0] for w in WORD.findall(strip_tags(text).lower())]


def stem(word: str) -> str:
    """The Snowball stem of one lower-case word, as BM25 (and PostgreSQL's English
    configuration) index it."""
    return _stemmer().stemWord(word)


def bm25_tokens(text: str) -> list[str]:
    return _stemmer().stemWords([w for w in words(text) if w not in STOP_WORDS])
