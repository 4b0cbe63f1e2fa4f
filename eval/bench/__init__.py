"""``committee-qa bench``: how fast and how big, measured on synthetic indexes made from a
real corpus, against the obvious peers.

- :mod:`eval.bench.run` — one run: ingest, latency at each size, the peers, the IVF index,
  serving memory; returns every figure as one JSON-ready tree.
- :mod:`eval.bench.measure` — percentiles, interleaved timing, memory, machine facts.
- :mod:`eval.bench.synth` — synthetic indexes of 10^4–10^6 passages from a real corpus.
- :mod:`eval.bench.workers` — the parts run in a fresh process (ingest, serving).
- :mod:`eval.bench.pg` — the PostgreSQL store at 100k and 1M passages (``python -m eval.bench.pg``).
- :mod:`eval.bench.report` — targets, the JSON summary line, docs/BENCHMARKS.md and its
  chart, read from the results tree; it measures nothing.

The command itself is :func:`eval.cli.cmd_bench`.
"""
