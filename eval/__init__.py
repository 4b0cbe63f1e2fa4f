"""Measuring committee-qa: whether it finds and quotes the right passages, and how fast.

Each module imports only modules listed above it; the report writers read the records the
measurements fill and are never imported by them.

- ``relevance``: the README's rule, whether a passage or quote answers a gold quote.
- ``metrics``: recall@k, hit@k, MRR, nDCG chosen by name; ``score_run``, ``abstention_rates``.
- ``significance``: paired randomization tests, Holm's adjustment, TREC run and qrels files.
- ``questionset``: question sets (checked whole) and run files, read from JSON Lines.
- ``validate_questions``: a question set checked against the papers it quotes.
- ``harness``: every question through every retriever and ``answer()``, scored and
  checked; the records ``Evaluation``, ``AnswerChecks``, ``Rate``, ``Failure``.
- ``report``: report.md, chart.png and results.json of those records.
- ``score``: ``python -m eval.score``, saved runs re-scored from their JSON Lines alone.
- ``weak``, ``train``: the learned second stage (``qa.learned``) fitted on the train split.
- ``bench/``: ``committee-qa bench``; ``run`` measures, ``report`` reads the results.
- ``cli``: the ``eval``, ``bench`` and ``train`` commands, registered with ``committee-qa``
  through the entry-point group ``committee_qa.commands`` (pyproject.toml).
- ``relayout``, ``abstention_signals``, ``crossencoder``: a tool and two experiments
  (text exports laid out as PDFs, the abstention signals, the cross-encoder).
"""
