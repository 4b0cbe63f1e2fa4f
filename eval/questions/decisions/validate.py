"""Validate decisions.jsonl and changes.jsonl against the corpus.

Run with a Python that has pypdf (e.g. /work/main/.venv/bin/python validate.py).
Uses only pypdf and the standard library: no project code.

A quote counts as found when, after collapsing every run of whitespace to one
space, it is a substring of the text file (Sefton exports) or of pypdf's
extract_text() of the stated PDF page. Matching is otherwise exact
(case, punctuation, curly quotes).
"""
import json
import os
import re
import sys
from collections import Counter

import pypdf

CORPUS = "/work/shared/corpus/"
HERE = os.path.dirname(os.path.abspath(__file__))
KINDS = {"resolution", "noted", "decision", "proposal"}
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")

_pdf, _txt = {}, {}
errors, warnings = [], []


def norm(s):
    return re.sub(r"\s+", " ", s).strip()


def pdf_pages(rel):
    if rel not in _pdf:
        r = pypdf.PdfReader(CORPUS + rel)
        _pdf[rel] = [norm(p.extract_text() or "") for p in r.pages]
    return _pdf[rel]


def text(rel):
    if rel not in _txt:
        with open(CORPUS + rel, encoding="utf-8") as f:
            _txt[rel] = norm(f.read())
    return _txt[rel]


def found(rel, page, quote, where):
    """Check quote in file (and page for PDFs). Returns True/False and logs errors."""
    if quote is None:
        return True
    if not os.path.exists(CORPUS + rel):
        errors.append(f"{where}: no such file {rel}")
        return False
    q = norm(quote)
    if rel.endswith(".pdf"):
        pages = pdf_pages(rel)
        if not isinstance(page, int) or not 1 <= page <= len(pages):
            errors.append(f"{where}: bad page {page!r} for {rel}")
            return False
        if q not in pages[page - 1]:
            hits = [i + 1 for i, t in enumerate(pages) if q in t]
            errors.append(f"{where}: quote not on p{page} of {rel} (found on {hits}): {quote[:70]!r}")
            return False
        return True
    if page is not None:
        errors.append(f"{where}: text file with page {page!r}")
    if q not in text(rel):
        errors.append(f"{where}: quote not in {rel}: {quote[:70]!r}")
        return False
    return True


def check_place(d, where):
    found(d["file"], d.get("page"), d["quote"], where)
    if d.get("pdf_file"):
        found(d["pdf_file"], d.get("pdf_page"), d["quote"], where + " [pdf]")
    elif d["file"].startswith("sefton/text/"):
        errors.append(f"{where}: Sefton quote without pdf_file/pdf_page")


def validate_decisions(path):
    topics = [json.loads(line) for line in open(path, encoding="utf-8") if line.strip()]
    ids = Counter(t["id"] for t in topics)
    for i, n in ids.items():
        if n > 1:
            errors.append(f"duplicate topic id {i}")
    n_dec = Counter()
    empty = kent = sefton = multi = 0
    for t in topics:
        for k in ("id", "topic", "committee", "decisions", "notes"):
            if k not in t:
                errors.append(f"{t.get('id')}: missing {k}")
        decs = t["decisions"]
        if not decs:
            empty += 1
        files = {d["file"] for d in decs}
        if any(f.startswith("kent/") for f in files):
            kent += 1
        if any(f.startswith("sefton/") for f in files):
            sefton += 1
        # spans more than one meeting or committee (counting taken decisions only)
        taken = [d for d in decs if d["kind"] != "proposal"]
        if len({(d["committee"], d["meeting_date"]) for d in taken}) > 1:
            multi += 1
        dates = [d["meeting_date"] or "" for d in decs]
        if dates != sorted(dates):
            errors.append(f"{t['id']}: decisions not in meeting order")
        for j, d in enumerate(decs):
            where = f"{t['id']}#{j}"
            for k in ("quote", "file", "page", "committee", "meeting_date", "kind", "also_in"):
                if k not in d:
                    errors.append(f"{where}: missing {k}")
            if d["kind"] not in KINDS:
                errors.append(f"{where}: bad kind {d['kind']}")
            if d["meeting_date"] is not None and not DATE.match(d["meeting_date"]):
                errors.append(f"{where}: bad date {d['meeting_date']}")
            n_dec[d["kind"]] += 1
            n_dec["kent" if d["file"].startswith("kent/") else "sefton"] += 1
            check_place(d, where)
            for a in d["also_in"]:
                found(a["file"], a.get("page"), d["quote"], where + " also_in")
                if a.get("pdf_file"):
                    found(a["pdf_file"], a.get("pdf_page"), d["quote"], where + " also_in [pdf]")
            for a in d.get("also_printed_as_motion", []):
                found(a["file"], a["page"], d["quote"], where + " motion")
        for j, b in enumerate(t.get("borderline", [])):
            check_place(b, f"{t['id']} borderline#{j}")
    counts = {
        "topics": len(topics),
        "decisions": sum(len(t["decisions"]) for t in topics),
        "by_kind": {k: n_dec[k] for k in sorted(KINDS)},
        "kent_decisions": n_dec["kent"],
        "sefton_decisions": n_dec["sefton"],
        "empty_topics": empty,
        "topics_with_kent_decisions": kent,
        "topics_with_sefton_decisions": sefton,
        "topics_spanning_meetings_or_committees": multi,
        "borderline_items": sum(len(t.get("borderline", [])) for t in topics),
    }
    for name, got, need in (("topics", len(topics), 34), ("empty topics", empty, 4),
                            ("Kent topics", kent, 6), ("multi-meeting topics", multi, 8)):
        if got < need:
            errors.append(f"need at least {need} {name}, have {got}")
    return counts


def validate_changes(path):
    pairs = [json.loads(line) for line in open(path, encoding="utf-8") if line.strip()]
    n = 0
    for p in pairs:
        for side in ("older", "newer"):
            v = p[side]
            for k in ("file", "page", "meeting_date", "title"):
                if k not in v:
                    errors.append(f"{p['id']}.{side}: missing {k}")
            u = p["unchanged_example"]
            if v["file"].endswith(".pdf"):
                hits = [i + 1 for i, t in enumerate(pdf_pages(v["file"])) if norm(u) in t]
                if not hits:
                    errors.append(f"{p['id']}: unchanged_example not in {side} {v['file']}")
            else:
                found(v["file"], None, u, f"{p['id']} unchanged_example ({side})")
        if len(p["changes"]) < 2:
            warnings.append(f"{p['id']}: fewer than 2 changes")
        for j, c in enumerate(p["changes"]):
            n += 1
            where = f"{p['id']}#{j}"
            if c["what"] not in {"figure", "heading", "text"}:
                errors.append(f"{where}: bad what {c['what']}")
            if c["older_quote"] == c["newer_quote"]:
                errors.append(f"{where}: older == newer")
            for side in ("older", "newer"):
                q = c[side + "_quote"]
                v = p[side]
                if q is None:
                    continue
                page = c.get(side + "_page", v.get("page")) if v["file"].endswith(".pdf") else None
                found(v["file"], page, q, f"{where} {side}")
                if v.get("pdf_file"):
                    found(v["pdf_file"], c.get(side + "_pdf_page"), q, f"{where} {side} [pdf]")
    if len(pairs) < 6:
        errors.append(f"need at least 6 change pairs, have {len(pairs)}")
    return {"pairs": len(pairs), "changes": n}


if __name__ == "__main__":
    dc = validate_decisions(os.path.join(HERE, "decisions.jsonl"))
    cc = validate_changes(os.path.join(HERE, "changes.jsonl"))
    print(json.dumps({"decisions": dc, "changes": cc}, indent=1))
    for w in warnings:
        print("WARNING", w)
    for e in errors:
        print("ERROR", e)
    print("OK" if not errors else f"{len(errors)} errors")
    sys.exit(1 if errors else 0)
