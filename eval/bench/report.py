"""The benchmark's verdicts and report, read from the results tree :mod:`eval.bench.run`
produces (plain JSON-ready data, also saved as docs/bench/results.json): the targets, the
one-line JSON summary, docs/BENCHMARKS.md, the latency chart and the raw JSON. Nothing
here measures; :mod:`eval.cli`'s ``bench`` command joins the two."""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eval.bench.measure import WARMUP
from eval.bench.run import DEFAULT_QUESTIONS, RANK_BM25_MAX, ROOT, dig
from eval.bench.synth import TWO_UNITS_FROM

HYBRID_TARGET_MS = {100_000: 30.0, 1_000_000: 150.0}
ASK_TARGET_MS = 300.0
RANK_BM25_SPEEDUP = 5.0
INGEST_RATIO = 0.8
SERVE_RSS_MB = 2048.0
ANN_RECALL = 0.98


@dataclass(frozen=True)
class Target:
    name: str
    measured: str  # "–" when not measured
    met: bool | None  # None: not measured


def label(size: int) -> str:
    """``label(100_000) == "100k"``, ``label(1_000_000) == "1m"``."""
    if size % 1_000_000 == 0:
        return f"{size // 1_000_000}m"
    if size % 1000 == 0:
        return f"{size // 1000}k"
    return str(size)


def shipped(size_res: dict[str, Any] | None) -> dict[str, Any]:
    """The figures of the FAISS index the code ships at this size (flat, or IVF above
    index.store.ANN_ABOVE units), falling back to flat when IVF was not measured."""
    if not size_res:
        return {}
    return (size_res.get("ann") if size_res["shipped_faiss"] != "flat" else None) or size_res["flat"]


def ingest_figures(ing: dict[str, Any]) -> dict[str, float]:
    """Rates and ratios of the ingest worker's result. The ceiling is the bare encoder on
    the distinct sentence units ingest embedded, expressed per passage of the corpus."""
    i, e = ing["ingest"], ing["encoder"]
    return {
        "pages_per_s": i["pages"] / i["wall_s"],
        "passages_per_s": i["passages"] / i["wall_s"],
        "encoder_units_per_s": e["units"] / e["wall_s"],
        "encoder_passages_per_s": i["passages"] / e["wall_s"],
        "ratio": e["wall_s"] / i["wall_s"],  # = ingest passages/s ÷ encoder passages/s
        "ratio_cpu": e["cpu_s"] / i["cpu_s"],
        # Reading, chunking and writing: what ingest adds to the encoder's work, whatever the load.
        "other_stages_share": sum(v for k, v in i["seconds"].items() if k != "embed") / i["wall_s"],
        # Against the files as read; a results tree without that count: the papers' text.
        "words_embedded_vs_corpus": i["words_embedded"] / i.get("words_files", i["words_corpus"]),
    }


def _ms(x: float | None) -> str:
    return "–" if x is None else f"{x:.1f} ms"


def _le(x: float | None, limit: float) -> bool | None:
    return None if x is None else x <= limit


def targets(results: dict[str, Any]) -> list[Target]:
    """The performance targets, each with what was measured and whether it was met."""
    sizes = results.get("sizes", {})
    out: list[Target] = []
    def on_ann(r: dict | None, name: str) -> str:
        """Where flat ships but IVF was measured too, its figure beside the shipped one."""
        v = dig(r, "ann", name, "p50_ms")
        return f"; on IVF {v:.1f} ms" if v is not None and r and r["shipped_faiss"] == "flat" else ""

    for size, limit in HYBRID_TARGET_MS.items():
        r = sizes.get(size)
        h = dig(shipped(r), "hybrid", "p50_ms")
        how = f" ({r['shipped_faiss']} FAISS, as shipped){on_ann(r, 'hybrid')}" if h is not None else ""
        out.append(Target(f"hybrid p50 ≤ {limit:.0f} ms at {label(size)} (first stage, no rerank)", _ms(h) + how, _le(h, limit)))
    s100 = sizes.get(100_000)
    a = dig(shipped(s100), "ask", "p50_ms")
    out.append(Target(f"ask p50 ≤ {ASK_TARGET_MS:.0f} ms at 100k (question vector precomputed)", _ms(a) + on_ann(s100, "ask"),
                      _le(a, ASK_TARGET_MS)))
    ae = dig(s100, "serve", "ask_with_encoding", "p50_ms")
    out.append(Target(f"ask p50 ≤ {ASK_TARGET_MS:.0f} ms at 100k (question encoded, served from disk)", _ms(ae), _le(ae, ASK_TARGET_MS)))
    ours, theirs = dig(shipped(s100), "hybrid", "p50_ms"), dig(s100, "peers", "rank_bm25", "p50_ms")
    ratio = theirs / ours if ours and theirs else None
    hn = dig(s100, "ann", "hybrid", "p50_ms") if s100 and s100["shipped_faiss"] == "flat" else None
    out.append(Target(f"≥ {RANK_BM25_SPEEDUP:.0f}× faster than rank_bm25 at 100k (our hybrid vs BM25Okapi)",
                      "–" if ratio is None else f"{ratio:.1f}× ({ours:.1f} vs {theirs:.1f} ms)" + (f"; on IVF {theirs / hn:.1f}×" if hn else ""),
                      None if ratio is None else ratio >= RANK_BM25_SPEEDUP))
    ours = dig(s100, "flat", "bm25", "p50_ms")
    ratio = theirs / ours if ours and theirs else None
    out.append(Target("  the same, our bm25 vs BM25Okapi (like for like)", "–" if ratio is None else f"{ratio:.1f}×",
                      None if ratio is None else ratio >= RANK_BM25_SPEEDUP))
    ing = results.get("ingest")
    if ing:
        fig, i = ingest_figures(ing), ing["ingest"]
        out.append(Target(f"ingest ≥ {INGEST_RATIO:.0%} of the bare encoder's throughput",
                          f"{fig['ratio']:.0%} ({fig['passages_per_s']:.2f} vs {fig['encoder_passages_per_s']:.2f} passages/s); "
                          f"by CPU time {fig['ratio_cpu']:.0%}; non-embedding stages {fig['other_stages_share']:.0%} of ingest",
                          fig["ratio"] >= INGEST_RATIO))
        out.append(Target("fewer words embedded than the corpus holds",
                          f"{i['words_embedded']:,} of {i.get('words_files', i['words_corpus']):,} ({fig['words_embedded_vs_corpus']:.0%})",
                          fig["words_embedded_vs_corpus"] < 1))
        out.append(Target("re-ingest of unchanged papers embeds nothing", f"{ing['reingest']['embedded']} units embedded",
                          ing["reingest"]["embedded"] == 0))
    rss = dig(s100, "serve", "peak_rss_mb")
    out.append(Target(f"peak RSS ≤ {SERVE_RSS_MB / 1024:.0f} GB serving 100k", "–" if rss is None else f"{rss:,.0f} MB", _le(rss, SERVE_RSS_MB)))
    for size, r in sorted(sizes.items()):
        limit = HYBRID_TARGET_MS.get(size)
        flat_h, an = dig(r, "flat", "hybrid", "p50_ms"), r.get("ann")
        if limit is None or flat_h is None or flat_h <= limit or not an:
            continue
        nprobe = an["params"]["nprobe"]
        rec = an["recall_units@10"][nprobe]
        deep = next((v[nprobe] for k, v in an.items() if k.startswith("recall_units@") and k != "recall_units@10"), None)
        out.append(Target(f"IVF recall@10 vs flat ≥ {ANN_RECALL} at {label(size)}, where flat hybrid takes {flat_h:.0f} ms",
                          f"{rec:.3f} at nprobe {nprobe} of {an['params']['nlist']:,} lists"
                          + ("" if deep is None else f" ({deep:.3f} of the units dense search asks for)")
                          + f"; hybrid on IVF {_ms(dig(an, 'hybrid', 'p50_ms'))}", rec >= ANN_RECALL))
    return out


# The keys the JSON summary line always carries (null when not measured).
SUMMARY_KEYS = (
    "hybrid_p50_ms_100k",
    "rank_bm25_p50_ms_100k",
    "numpy_scan_p50_ms_100k",
    "ask_p50_ms_100k",
    "ingest_passages_per_s",
    "encoder_passages_per_s",
    "peak_rss_mb_100k",
)


def summary(results: dict[str, Any]) -> dict[str, Any]:
    """The one-line JSON: SUMMARY_KEYS always present (null when not measured), then more."""
    out: dict[str, Any] = {k: None for k in SUMMARY_KEYS}
    s100 = dig(results, "sizes", 100_000)
    if s100:
        out.update(
            hybrid_p50_ms_100k=dig(shipped(s100), "hybrid", "p50_ms"),
            rank_bm25_p50_ms_100k=dig(s100, "peers", "rank_bm25", "p50_ms"),
            numpy_scan_p50_ms_100k=dig(s100, "peers", "numpy_scan", "p50_ms"),
            ask_p50_ms_100k=dig(shipped(s100), "ask", "p50_ms"),
            peak_rss_mb_100k=dig(s100, "serve", "peak_rss_mb"),
            bm25_p50_ms_100k=dig(s100, "flat", "bm25", "p50_ms"),
            dense_p50_ms_100k=dig(shipped(s100), "dense", "p50_ms"),
            hybrid_with_encoding_p50_ms_100k=dig(s100, "serve", "hybrid_with_encoding", "p50_ms"),
        )
    ing = results.get("ingest")
    if ing:
        fig = ingest_figures(ing)
        out.update(
            ingest_passages_per_s=round(fig["passages_per_s"], 2),
            encoder_passages_per_s=round(fig["encoder_passages_per_s"], 2),
            ingest_vs_encoder=round(fig["ratio"], 3),
            words_embedded_vs_corpus=round(fig["words_embedded_vs_corpus"], 3),
            reingest_embedded=ing["reingest"]["embedded"],
            question_encode_p50_ms=ing["question_encode"]["p50_ms"],
            peak_rss_mb_ingest=ing["peak_rss_mb_ingest"],
        )
    for size, r in results.get("sizes", {}).items():
        out[f"hybrid_p50_ms_{label(int(size))}"] = dig(shipped(r), "hybrid", "p50_ms")
    out["targets_missed"] = [t.name for t in targets(results) if t.met is False]
    out["quick"] = bool(results.get("quick"))
    out["seconds"] = results.get("seconds")
    return out


def load_results(path: Path) -> dict[str, Any]:
    """A results tree saved as JSON, with its integer keys (sizes, nprobe) restored."""
    results = json.loads(path.read_text())
    results["sizes"] = {int(k): v for k, v in results["sizes"].items()}
    results["disk_estimates"] = {int(k): v for k, v in (results.get("disk_estimates") or {}).items()}
    for r in results["sizes"].values():
        for key, table in (r.get("ann") or {}).items():
            if key.startswith("recall_units@"):
                r["ann"][key] = {int(k): v for k, v in table.items()}
    return results


# --- chart ------------------------------------------------------------------------------------


def chart(results: dict[str, Any], path: Path) -> None:
    """p50 latency against corpus size (log-log), targets marked."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = sorted(results["sizes"])
    fig, ax = plt.subplots(figsize=(10, 5))
    series = [
        ("bm25", ("flat", "bm25"), {}),
        ("dense, flat FAISS", ("flat", "dense"), {}),
        ("hybrid, flat FAISS", ("flat", "hybrid"), {"linewidth": 2.5}),
        ("hybrid, IVF", ("ann", "hybrid"), {"linestyle": "--", "linewidth": 2.5}),
        ("rerank, flat FAISS", ("flat", "rerank"), {}),
        ("ask, flat FAISS", ("flat", "ask"), {}),
        ("ask, IVF", ("ann", "ask"), {"linestyle": "--"}),
        ("peer: rank_bm25", ("peers", "rank_bm25"), {"linestyle": ":"}),
        ("peer: NumPy scan", ("peers", "numpy_scan"), {"linestyle": ":"}),
    ]
    for name, keys, style in series:
        pts = [(s, dig(results["sizes"][s], *keys, "p50_ms")) for s in sizes]
        pts = [(s, v) for s, v in pts if v is not None]
        if pts:
            ax.plot(*zip(*pts), marker="o", label=name, **style)
    ax.scatter(list(HYBRID_TARGET_MS), list(HYBRID_TARGET_MS.values()), marker="x", s=120, color="red", zorder=5, label="hybrid target")
    ax.scatter([100_000], [ASK_TARGET_MS], marker="+", s=160, color="darkred", zorder=5, label="ask target")
    ax.set(xscale="log", yscale="log", xlabel="passages (synthetic, from the sample corpus's sentences)",
           ylabel="p50 latency, ms (question vector precomputed)", title="committee-qa query latency against corpus size")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1))
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


# --- Markdown -----------------------------------------------------------------------------------


def _lat(d: Any) -> str:
    return "–" if not d else f"{d['p50_ms']:.1f} / {d['p95_ms']:.1f}"


def _table(header: list[str], rows: list[list[Any]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join("–" if c is None else str(c) for c in row) + " |" for row in rows]
    return out + [""]


def _ingest_section(results: dict[str, Any]) -> list[str]:
    ing = results["ingest"]
    i, e, fig = ing["ingest"], ing["encoder"], ingest_figures(ing)
    st = i["seconds"]
    runs = ", ".join(f"{r['when']} {r['wall_s']:.1f} s" for r in e["runs"])
    rows = [
        ["papers / pages / passages", f"{i['papers']} / {i['pages']} / {i['passages']}"],
        ["ingest, wall (CPU)", f"{i['wall_s']:.1f} s ({i['cpu_s']:.1f} s)"],
        ["per stage: read / chunk / embed / write", " / ".join(f"{st.get(k, 0):.1f}" for k in ("read", "chunk", "embed", "write")) + " s"],
        ["ingest pages/s, passages/s", f"{fig['pages_per_s']:.2f}, {fig['passages_per_s']:.2f}"],
        [f"bare encoder on the {e['units']:,} distinct sentence units ({runs})", f"{e['wall_s']:.1f} s = {fig['encoder_units_per_s']:.1f} units/s"],
        ["bare encoder as passages/s", f"{fig['encoder_passages_per_s']:.2f}"],
        ["**ingest ÷ bare encoder**", f"**{fig['ratio']:.0%}** (by CPU time {fig['ratio_cpu']:.0%})"],
        ["stages other than embedding, share of ingest wall time", f"{fig['other_stages_share']:.1%}"],
        ["words in the files as read / in the papers without running headers and footers / in passages / embedded",
         " / ".join(f"{i[k]:,}" if k in i else "–" for k in ("words_files", "words_corpus", "words_passages", "words_embedded"))
         + f" ({fig['words_embedded_vs_corpus']:.0%} of the files)"],
        ["units embedded / reused (repeats)", f"{i['embedded']:,} / {i['reused']:,}"],
        ["re-ingest of the unchanged papers", f"{ing['reingest']['embedded']} embedded, {ing['reingest']['reused']:,} reused, {ing['reingest']['wall_s']:.1f} s"],
        ["peak RSS ingesting (model included)", f"{ing['peak_rss_mb_ingest']:,.0f} MB (model alone {ing['rss_mb_model']:,.0f} MB)"],
        ["encoding one question, p50 / p95", f"{ing['question_encode']['p50_ms']:.1f} / {ing['question_encode']['p95_ms']:.1f} ms"],
        ["model load (not counted above)", f"{ing['model_load_s']:.1f} s"],
    ]
    return ["## Ingest (real model, real papers)", "",
            f"Paths: {', '.join('`' + p + '`' for p in results['ingest_paths'])}. A fresh process loads the model, ingests into an "
            "empty index, encodes the distinct sentence units ingest embedded with `embedder.encode` (batch 64, as ingest) — the "
            f"ceiling — and ingests the unchanged papers again. torch threads: {ing['torch_threads']}.", ""] + _table(["figure", "value"], rows)


def _latency_section(results: dict[str, Any], chart_name: str) -> list[str]:
    sizes = results["sizes"]
    rows = []
    for s in sorted(sizes):
        r = sizes[s]
        for kind in ("flat", "ann"):
            c = r.get(kind)
            if not c:
                continue
            shipped_here = (kind == "flat") == (r["shipped_faiss"] == "flat")
            mark = " (shipped)" if shipped_here else ""
            first = kind == "flat"
            load = f"{r['load_avg_start'][0]:.1f} → {r['load_avg_end'][0]:.1f}" if r.get("load_avg_end") else "–"
            rows.append([f"{s:,}", f"{r['units']:,}", ("flat" if kind == "flat" else "IVF") + mark, load] + [_lat(c.get(n)) if n in c else "" for n in ("bm25", "dense", "hybrid", "rerank", "learned", "ask")]
                        + [_lat(dig(r, "peers", "rank_bm25")) if first else "", _lat(dig(r, "peers", "numpy_scan")) if first else ""])
    notes = sorted({f"{k[:-6]} at {s:,}: {v}" for s, r in sizes.items() for c in (r["flat"], r.get("ann") or {}) for k, v in c.items()
                    if k.endswith("_error")})
    out = ["## Query latency", "",
           f"p50 / p95 in ms over {results['n_questions']} questions × {results['config']['repeats']} repeat(s), k = 10, after {WARMUP} "
           "warm-up queries, each question's vector precomputed with the real model (encoding is timed separately: see Ingest and "
           "Memory). All retrievers and the peers are timed interleaved, question by question, so load from elsewhere hits them alike; "
           "rows timed at different moments (flat, then IVF) may have seen different load: \"load\" is the 1-minute load average "
           "when the size started and ended. "
           f"Above `index.store.ANN_ABOVE` units the store ships an IVF index; flat is then timed once to show the difference. "
           "Searches run on one FAISS thread, as `open_index` serves them.", "",
           f"![latency against corpus size](bench/{chart_name})", ""]
    out += _table(["passages", "units", "FAISS", "load", "bm25", "dense", "hybrid", "rerank", "learned", "ask", "rank_bm25 (peer)", "NumPy scan (peer)"], rows)
    out += [f"- {n}" for n in notes] + ([""] if notes else [])
    ratio_rows = []
    for s in sorted(sizes):
        r = sizes[s]
        rb, ns = dig(r, "peers", "rank_bm25", "p50_ms"), dig(r, "peers", "numpy_scan", "p50_ms")

        def over(x, y):
            return "–" if x is None or not y else f"{x / y:.2f}"

        ratio_rows.append([f"{s:,}", over(dig(r, "flat", "bm25", "p50_ms"), rb), over(dig(shipped(r), "hybrid", "p50_ms"), rb),
                           over(dig(shipped(r), "dense", "p50_ms"), ns), over(dig(r, "flat", "breakdown", "faiss_call", "p50_ms"), ns),
                           over(dig(r, "flat", "breakdown", "faiss_call_1_thread", "p50_ms"), ns)])
    out += ["### Our time over the peers' (p50; below 1 means we are faster)", ""]
    out += _table(["passages", "bm25 ÷ rank_bm25", "hybrid ÷ rank_bm25", "dense ÷ NumPy scan", "flat FAISS call ÷ NumPy scan",
                   "same, FAISS on 1 thread"], ratio_rows)
    out += ["rank_bm25 is `BM25Okapi.get_scores` + top 100 over the very tokens bm25s indexed; our bm25 and hybrid are whole "
            "`qa.retrieve.search` calls (question understanding, both paths, fusion, de-duplication). The NumPy scan is "
            "`embeddings @ q` + `argpartition` to the depth dense search asks FAISS for.", ""]
    return out


def _breakdown_section(results: dict[str, Any]) -> list[str]:
    sizes = results["sizes"]
    rows = []
    for s in sorted(sizes):
        b = dig(sizes[s], "flat", "breakdown")
        if not b:
            continue
        p = {k: dig(b, k, "p50_ms") for k in ("understand", "bm25_scores", "dense_scores", "run_hybrid", "dedupe", "faiss_call", "faiss_call_1_thread")}
        rows.append([f"{s:,}"] + [None if v is None else f"{v:.1f}" for v in p.values()] + [f"{b['faiss_depth']} / {b['faiss_threads']}"])
    if not rows:
        return []
    out = ["## Where a hybrid search's time goes (flat FAISS, p50 ms)", ""]
    out += _table(["passages", "understand", "bm25_scores", "dense_scores", "run_hybrid (both + fusion)", "dedupe",
                   "FAISS call", "FAISS call, 1 thread", "FAISS depth / threads"], rows)
    for s in sorted(sizes):
        prof = dig(sizes[s], "flat", "profile")
        for name, top in (prof or {}).items():
            out += [f"cProfile of `{name}` at {s:,} passages (cumulative ms per question, top functions):", ""]
            out += _table(["function", "calls / question", "cumulative ms", "own ms"],
                          [[f"`{t['function']}`", t["calls_per_q"], t["cum_ms_per_q"], t["own_ms_per_q"]] for t in top])
    return out


def _ann_section(results: dict[str, Any]) -> list[str]:
    sizes = results["sizes"]
    rows, probes, deep_key = [], "", ""
    for s in sorted(sizes):
        a = sizes[s].get("ann")
        if not a:
            continue
        deep_key = next(k for k in a if k.startswith("recall_units@") and k != "recall_units@10")
        probes = "/".join(str(n) for n in a["recall_units@10"])
        recs = " / ".join(f"{a['recall_units@10'][n]:.3f}" for n in a["recall_units@10"])
        deep = " / ".join(f"{a[deep_key][n]:.3f}" for n in a[deep_key])
        calls = " / ".join(f"{dig(a, f'faiss_call_np{n}', 'p50_ms'):.2f}" for n in a["recall_units@10"])
        rows.append([f"{s:,}", f"{sizes[s]['units']:,}", f"{a['params']['nlist']:,} / {a['params']['nprobe']}", f"{a['build_s']:.0f} s",
                     f"{a['bytes'] / 2**20:,.0f} MB", _lat(a.get("faiss_call")), _lat(dig(sizes[s], "flat", "breakdown", "faiss_call_1_thread")),
                     recs, deep, calls, f"{a['recall_dense_passages@10']:.3f}", f"{a['overlap_hybrid@10']:.3f}"])
    if not rows:
        return []
    depth = deep_key.split("@")[1]
    out = ["## The IVF index against flat", "",
           "`index.store.build_ivf` over the same vectors: `ivf_lists(n)` lists (the power of two nearest 4·√n), k-means trained on "
           f"16 sampled vectors a list, searched `ivf_probes` = 1/16 of the lists deep (as `open_index` sets). Recall against flat: "
           f"of sentence units (the FAISS call alone at each nprobe: top 10, and the {depth} units dense search asks for), of dense "
           "passages (`dense_scores`), and the overlap of the hybrid top 10. Build time on all cores, searches on one.", ""]
    out += _table(["passages", "units", "lists / nprobe", "build", "size", f"IVF call ({depth} units) p50/p95",
                   "flat call, 1 thread, p50/p95", f"recall units@10 (nprobe {probes})", f"recall units@{depth}", f"call ms (nprobe {probes})",
                   "dense passages@10", "hybrid overlap@10"], rows)
    real = dig(results, "ingest", "encoder", "units")
    if real:
        copies = ", ".join(f"{sizes[s]['units'] / real:,.0f} at {label(s)}" for s in sorted(sizes) if sizes[s].get("ann"))
        out += [f"Each of the corpus's {real:,} distinct sentences has on average this many noisy copies: {copies}. A question's "
                "exact top 10 is then mostly copies of one or two sentences that differ only by the noise; the copies tie in "
                "meaning, so a 'miss' here returns an equally relevant copy.", ""]
    return out + _threshold(results)


def _threshold(results: dict[str, Any]) -> list[str]:
    """Where flat stops meeting the target: the flat FAISS call's measured cost per unit, and
    the units it can scan within the budget the rest of a hybrid search leaves."""
    from index.folder import ANN_ABOVE

    sizes = results["sizes"]
    # The 100k figures when measured (its target is the tight one), else the largest size's.
    pts = [(s == 100_000, r["units"], r["flat"]["breakdown"]) for s, r in sorted(sizes.items())
           if dig(r, "flat", "breakdown", "faiss_call_1_thread")]
    if not pts:
        return []
    _, units, b = max(pts, key=lambda p: p[:2])
    per_m = {k: b[k]["p50_ms"] / units * 1e6 for k in ("faiss_call", "faiss_call_1_thread")}
    # The rest of a hybrid search, from its parts (differences of separately timed totals are noise here).
    rest = sum(b[k]["p50_ms"] for k in ("understand", "bm25_scores", "dedupe"))
    budget = HYBRID_TARGET_MS[100_000] - rest
    no_dedupe = budget + b["dedupe"]["p50_ms"]
    lines = ["### Which threshold is right", "",
             f"The store ships flat FAISS up to `ANN_ABOVE` = {ANN_ABOVE:,} sentence units. A flat call costs about "
             f"{per_m['faiss_call']:.0f} ms per million units with FAISS's default {b['faiss_threads']} threads and "
             f"{per_m['faiss_call_1_thread']:.0f} ms with 1 thread (measured at {units:,} units). Understanding, BM25 and "
             f"de-duplication took {rest:.0f} ms there, leaving {budget:.0f} ms of the {HYBRID_TARGET_MS[100_000]:.0f} ms target"
             + (f": flat fits up to about {budget / per_m['faiss_call_1_thread'] * 1e6:,.0f} units on 1 thread." if budget > 0
                else "; without de-duplication's share it would leave "
                + (f"{no_dedupe:.0f} ms, room for about {no_dedupe / per_m['faiss_call_1_thread'] * 1e6:,.0f} units on 1 thread."
                   if no_dedupe > 0 else "nothing either.")), "", "Measured:", ""]
    for s, r in sorted(sizes.items()):
        limit, fh, hh = HYBRID_TARGET_MS.get(s), dig(r, "flat", "hybrid", "p50_ms"), dig(r, "ann", "hybrid", "p50_ms")
        verdict = "" if limit is None or fh is None else (" — flat meets the target" if fh <= limit else f" — flat breaks the {limit:.0f} ms target")
        lines.append(f"- {s:,} passages = {r['units']:,} units: hybrid on flat {_ms(fh)}" + (f", on IVF {_ms(hh)}" if hh else "") + verdict)
    return lines + [""]


def _findings(results: dict[str, Any]) -> list[str]:
    """What the figures say about where time and memory go, computed from this run."""
    out: list[str] = []
    sizes = results["sizes"]
    for s, r in sorted(sizes.items()):
        b, h = dig(r, "flat", "breakdown"), dig(r, "flat", "hybrid", "p50_ms")
        if not b or not h or "dedupe" not in b:
            continue
        dd, call, one = dig(b, "dedupe", "p50_ms"), dig(b, "faiss_call", "p50_ms"), dig(b, "faiss_call_1_thread", "p50_ms")
        out.append(f"- At {s:,} passages a hybrid search takes {h:.1f} ms (p50): de-duplication {dd:.1f} ms, the flat FAISS "
                   f"call {call:.1f} ms with {b['faiss_threads']} threads and {one:.1f} ms with 1 thread, BM25 scoring "
                   f"{dig(b, 'bm25_scores', 'p50_ms'):.1f} ms.")
    sv = dig(results, "sizes", results["config"]["serve_size"], "serve")
    if sv and "arrays_mb" in sv:
        a = sv["arrays_mb"]
        out.append(f"- Serving holds the sentence vectors once, inside {sv['faiss']} ({a['faiss_vectors']:,.0f} MB; `Index.embeddings` "
                   f"reads them there), and the model adds {sv['rss_mb_model'] - sv['rss_mb_imports']:,.0f} MB.")
    ing = results.get("ingest")
    if ing and sv and sv.get("hybrid_with_encoding"):
        out.append(f"- Encoding one question takes {ing['question_encode']['p50_ms']:.0f} ms (p50) in this run; served from disk with "
                   f"encoding, hybrid takes {sv['hybrid_with_encoding']['p50_ms']:.0f} ms.")
    return (["## What the figures say", ""] + out + [""]) if out else []


def _memory_section(results: dict[str, Any]) -> list[str]:
    rows = []
    ing = results.get("ingest")
    if ing:
        rows.append(["ingesting the sample corpus (fresh process, model included)", f"{ing['peak_rss_mb_ingest']:,.0f} MB"])
    ss = results["config"]["serve_size"]
    sv = dig(results, "sizes", ss, "serve")
    if sv and "peak_rss_mb" in sv:
        a = sv["arrays_mb"]
        rows += [
            [f"**serving {ss:,} passages** (fresh process: model, `open_index`, searches{', asks' if sv.get('ask_with_encoding') else ''})",
             f"**{sv['peak_rss_mb']:,.0f} MB**"],
            ["… after imports / model loaded / index opened (current RSS)", f"{sv['rss_mb_imports']:,.0f} / {sv['rss_mb_model']:,.0f} / {sv['rss_mb_open']:,.0f} MB"],
            [f"… arrays: the sentence vectors inside {sv['faiss']} (read in place by `Index.embeddings`) / units",
             f"{a['faiss_vectors']:,} / {a['units']:,} MB"],
        ]
    elif sv:
        rows.append([f"serving {ss:,}", sv.get("error")])
    for s, r in sorted(results["sizes"].items()):
        rows.append([f"benchmark process building and measuring {s:,} synthetic passages (not a product figure)", f"{r['peak_rss_mb_bench_process']:,.0f} MB"])
    out = ["## Memory and disk", ""] + _table(["phase", "peak RSS"], rows)
    if sv and sv.get("hybrid_with_encoding"):
        h, a = sv["hybrid_with_encoding"], sv.get("ask_with_encoding")
        out += [f"Served from disk at {ss:,} passages, each question encoded by the real model: hybrid p50 {h['p50_ms']:.1f} ms, "
                f"p95 {h['p95_ms']:.1f} ms" + (f"; ask p50 {a['p50_ms']:.1f} ms, p95 {a['p95_ms']:.1f} ms" if a else "") + ".", ""]
    disk = results.get("disk_estimates") or {}
    real = dig(results, "ingest", "disk")
    rows = []
    if real:
        rows.append([f"sample corpus, real ({real['passages']:,} passages), index version + original files",
                     f"{(real['bytes'] + real.get('originals_bytes', 0)) / real['passages'] * 1000 / 2**20:,.1f} MB"])
    for s, d in sorted(disk.items()):
        rows.append([f"{s:,} passages ({'measured, ' if s == ss else ''}scaled file by file)", f"{d['per_1k_passages'] / 2**20:,.1f} MB"])
    if rows:
        out += [f"Index size on disk per 1,000 passages (synthetic sizes: the {ss:,}-passage index written by `index.store.write_version`, "
                "vector files scaled by units, passage and BM25 files by passages, paper texts and original files at the sample "
                "corpus's bytes per passage; where IVF ships, the measured size of the IVF index built):", ""]
        out += _table(["index", "per 1,000 passages"], rows)
    return out


def _pg_section(results: dict[str, Any]) -> list[str]:
    import importlib.util

    pg = results.get("pg")
    out = ["## PostgreSQL store (optional)", ""]
    if importlib.util.find_spec("eval.bench.pg"):
        out += ["Synthetic 100k / 1M indexes loaded into PostgreSQL (made as here) are timed by `python -m eval.bench.pg`.", ""]
    if pg is None:
        return out + ["Not measured in this run: pass `--pg postgresql://...` (a server from `committee-qa pg start DIR`, loaded with "
                      "`committee-qa ingest PATH --store DSN`) to time bm25 / dense / hybrid through `index.engines.open_store` on what it holds.", ""]
    if "error" in pg:
        return out + [f"Not measured: {pg['error']}", ""]
    return out + [f"{pg.get('passages', '?'):,} passages in the database." if isinstance(pg.get("passages"), int) else ""] + _table(
        ["retriever", "p50 / p95 ms"], [[r, _lat(pg.get(r))] for r in ("bm25", "dense", "hybrid")])


def _method_section(results: dict[str, Any]) -> list[str]:
    cfg = results["config"]
    return ["## How the synthetic indexes are made, and what they miss", "",
            "- **Synthetic passages, derived embeddings.** Real embeddings for 10^6 passages would take days here, so each synthetic "
            "passage takes a real passage's metadata and as many real sentence units as a random real passage has (2 each from "
            f"{TWO_UNITS_FROM:,} passages, to fit in memory), drawn at random from the whole ingested corpus and joined with spaces. "
            f"Each unit's vector is the real vector of that sentence plus N(0, {cfg['noise']}²) per dimension, renormalised (cosine "
            f"to the original ≈ {1 / math.sqrt(1 + cfg['noise'] ** 2 * 384):.2f} for 384 dimensions) — perturbed copies of real embeddings. BM25 is `bm25s` over `index.tokens.bm25_tokens` as the "
            "store builds it; acronyms are empty; synthetic passages have no paper text behind them, so citations use the passage's own.",
            "- **What this misses**: a real 10^6-passage corpus has a larger vocabulary and longer-tailed posting lists than "
            "recombined sample sentences; its vectors are more spread out than noisy copies of a few thousand sentences (tight "
            "clusters of copies make approximate search's recall here noisy, since copies tie); and 2 units per passage at "
            "10^6 makes the dense index smaller than real passages (about 5 units each) would.",
            "- **Latency** is wall time of `qa.retrieve.search(index, q, k=10, retriever=...)` and `qa.answer.answer(index, q, k=10)`, "
            f"one question at a time, questions from `{os.path.relpath(results.get('questions_file', DEFAULT_QUESTIONS), ROOT)}`, with CPU time recorded beside it "
            "in the raw JSON (`cpu_p50_ms`).",
            f"- **Peers**: `rank_bm25.BM25Okapi` (not run above {RANK_BM25_MAX:,} passages: a Python dict per passage) and NumPy "
            "`embeddings @ q` + `argpartition`.",
            "- **Serving memory**: the 100k synthetic index is written with `index.store.write_version`; a fresh process loads the "
            "real model, opens it with `qa.retrieve.open_index` and answers questions, each encoded afresh; its VmHWM is the figure.",
            ""]


def markdown(results: dict[str, Any], chart_name: str) -> str:
    m = results["machine"]
    loads = [results["ingest"]["load_avg_start"]] if results.get("ingest") else []
    loads += [r["load_avg_start"] for r in results["sizes"].values()]
    lines = ["# Benchmarks", "",
             f"Generated by `committee-qa bench` (eval/bench/) on {results['started']} in {results['seconds'] / 60:.0f} minutes; "
             "`committee-qa bench --quick` checks the headline figures in under 3 minutes (JSON on its last line). Raw figures: "
             "[bench/results.json](bench/results.json).", "",
             f"Machine: {m.get('cpus')} CPUs ({m.get('cpu')}), {m.get('ram_gb')} GB RAM, no GPU; Python {m.get('python')}, torch "
             f"{m.get('torch')}, sentence-transformers {m.get('sentence-transformers')}, faiss {m.get('faiss-cpu')}, bm25s {m.get('bm25s')}, "
             f"rank-bm25 {m.get('rank-bm25')}, NumPy {m.get('numpy')}. The machine was shared with other jobs: 1-minute load "
             f"averages at the start of each phase were {', '.join(str(x[0]) for x in loads if x)} on {m.get('cpus')} CPUs, so "
             "absolute times are pessimistic and noisy; ratios measured in the same run are the steadier figures.", "",
             "## Targets", ""]
    verdict = {True: "yes", False: "**no**", None: "not measured"}
    lines += _table(["target", "measured", "met?"], [[t.name, t.measured, verdict[t.met]] for t in targets(results)])
    if results.get("ingest"):
        lines += _ingest_section(results)
    lines += _latency_section(results, chart_name)
    lines += _breakdown_section(results) + _ann_section(results) + _memory_section(results) + _findings(results) + _pg_section(results)
    lines += _method_section(results)
    return "\n".join(lines)


def write_report(results: dict[str, Any], out: Path) -> list[Path]:
    """``out`` (Markdown), with the chart and the raw JSON in ``bench/`` beside it."""
    folder = out.parent / "bench"
    folder.mkdir(parents=True, exist_ok=True)
    chart_path, json_path = folder / "latency.png", folder / "results.json"
    chart(results, chart_path)
    json_path.write_text(json.dumps(results, indent=1, default=str) + "\n")
    text = markdown(results, chart_path.name)
    # Reports of other runs kept beside this one (e.g. other --noise or --sizes), linked at the end.
    others = sorted(p for p in folder.glob("*/*.md"))
    if others:
        text += "\n## Other runs\n\n" + "".join(f"- [{p.relative_to(out.parent)}]({p.relative_to(out.parent)})\n" for p in others)
    out.write_text(text)
    return [out, chart_path, json_path]
