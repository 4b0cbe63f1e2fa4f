"""The cross-encoder experiment: fine-tune all-MiniLM-L6-v2's bundled weights as a reranker
with sentence-transformers' own training loop, on CPU, and measure it on dev beside the
learned feature models (docs/EVAL.md has the figures).

    python -m eval.crossencoder --corpus IDX TRAIN DEV [--corpus ...] --out DIR [--level span]

Needs the training extras (``pip install -e '.[train]'``: datasets, accelerate).

- ``--level passage``: (question, passage) pairs from the first stage's top candidates of
  every train question, labelled by the README's relevance rule; on dev, passage recall@5 /
  nDCG@10 / MRR@10 for the cross-encoder alone, the feature model alone, and the two logits
  added with weights tried on dev.
- ``--level span``: (question, candidate quote) pairs from the quotes the feature models
  read (every positive, and the feature span model's highest-scored negatives); on dev,
  whether the first quote answers for the feature span model alone, the cross-encoder
  alone, and the cross-encoder re-scoring the feature model's top candidates.

Both report how long the cross-encoder takes per question at the depth it scores.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from eval.harness import stderr_log
from eval.train import L2_GRID, Question, fit_passage_model, passage_figures, prepare, span_examples
from qa import learned

MAX_CHARS = 1200  # ~256 word pieces with the question: what the model reads of a passage
NEGATIVES = 20  # per question, the span model's highest-scored wrong quotes
RESCORE_DEPTH = 10  # quotes the cross-encoder re-scores at answer time (~125 ms on 2 cores)


def passage_text(q: Question, p) -> str:
    lead = " · ".join(x for x in (p.item_title, p.section) if x)
    return (lead + "\n" if lead else "") + p.text[:MAX_CHARS]


def quote_text(c) -> str:
    return " ".join(c.passage.text[c.start - c.passage.start : c.end - c.passage.start].split())


def finetune(questions: list[str], texts: list[str], labels: list[float], out: Path, *, epochs: int, batch: int,
             lr: float, seed: int, log=stderr_log):
    import torch
    from datasets import Dataset
    from sentence_transformers.cross_encoder import (
        CrossEncoder,
        CrossEncoderTrainer,
        CrossEncoderTrainingArguments,
    )
    from sentence_transformers.cross_encoder.losses import BinaryCrossEntropyLoss

    from index.embed import default_model_path

    torch.manual_seed(seed)
    model = CrossEncoder(str(default_model_path()), num_labels=1, max_length=256, device="cpu")
    positives = sum(labels)
    log(f"crossencoder: {len(labels)} pairs, {positives:.0f} positive")
    data = Dataset.from_dict({"question": questions, "text": texts, "label": labels})
    loss = BinaryCrossEntropyLoss(model, pos_weight=torch.tensor((len(labels) - positives) / max(positives, 1.0)))
    args = CrossEncoderTrainingArguments(
        output_dir=str(out / "checkpoints"), num_train_epochs=epochs, per_device_train_batch_size=batch,
        learning_rate=lr, warmup_ratio=0.1, seed=seed, data_seed=seed, save_strategy="no", logging_steps=50,
        report_to=[], use_cpu=True, dataloader_num_workers=0,
    )
    started = time.perf_counter()
    CrossEncoderTrainer(model=model, args=args, train_dataset=data, loss=loss).train()
    log(f"crossencoder: trained in {time.perf_counter() - started:.0f}s")
    model.save_pretrained(str(out / "model"))
    return model


def scores(model, question: str, texts: list[str]) -> np.ndarray:
    if not texts:
        return np.zeros(0)
    return np.asarray(model.predict([(question, t) for t in texts], batch_size=32, activation_fn=None), dtype=float).ravel()


def passage_level(model_args, train_qs, dev_qs, out: Path) -> dict:
    qs, texts, labels = [], [], []
    for q in train_qs:
        for (row, _), y in zip(q.head, q.passage_y):
            qs.append(q.record["question"])
            texts.append(passage_text(q, row))
            labels.append(float(y))
    model = finetune(qs, texts, labels, out, **model_args)
    started = time.perf_counter()
    ce = [scores(model, q.record["question"], [passage_text(q, row) for row, _ in q.head]) for q in dev_qs]
    figures = {"crossencoder": passage_figures(dev_qs, scores=ce),
               "seconds_per_question": round((time.perf_counter() - started) / max(len(dev_qs), 1), 3)}
    feature_model, _, figures["features"] = fit_passage_model(train_qs, dev_qs)["features"]
    feats = [feature_model.logit(feature_model.on(q.passage_x, learned.PASSAGE_FEATURES)) if len(q.head) else np.zeros(0) for q in dev_qs]
    figures["blend"] = {w: passage_figures(dev_qs, scores=[f + w * c for f, c in zip(feats, ce)]) for w in (0.25, 0.5, 1.0, 2.0)}
    return figures


def span_level(model_args, train_qs, dev_qs, out: Path) -> dict:
    passage_model, _, _ = fit_passage_model(train_qs, dev_qs)["features"]
    read = {id(q): span_examples(q, passage_model, 1) for q in train_qs + dev_qs}
    x = np.vstack([read[id(q)][2] for q in train_qs if len(read[id(q)][2])])
    y = np.concatenate([read[id(q)][3] for q in train_qs if len(read[id(q)][3])])
    best = None
    for l2 in L2_GRID:
        span_model = learned.fit_logistic(x, y, learned.SPAN_FEATURES, l2=l2)
        right = _first_right(dev_qs, read, lambda q, c, sx, m=span_model: m.logit(sx))
        if best is None or right > best[0]:
            best = (right, span_model)
    feature_right, span_model = best

    qs, texts, labels = [], [], []
    for q in train_qs:
        _, cands, sx, sy = read[id(q)]
        if not len(cands):
            continue
        order = np.argsort(-span_model.logit(sx), kind="stable")
        wrong = [i for i in order if not sy[i]][:NEGATIVES]
        for i in [i for i in range(len(cands)) if sy[i]] + wrong:
            qs.append(q.record["question"])
            texts.append(quote_text(cands[i]))
            labels.append(float(sy[i]))
    model = finetune(qs, texts, labels, out, **model_args)

    started = time.perf_counter()
    ce_top = {}
    for q in dev_qs:
        _, cands, sx, _ = read[id(q)]
        if len(cands):
            top = np.argsort(-span_model.logit(sx), kind="stable")[:RESCORE_DEPTH]
            ce_top[id(q)] = (top, scores(model, q.record["question"], [quote_text(cands[i]) for i in top]))
    per_question = (time.perf_counter() - started) / max(len(dev_qs), 1)

    def blended(w):
        def score(q, cands, sx):
            s = np.full(len(cands), -np.inf)
            top, ce = ce_top[id(q)]
            s[top] = span_model.logit(sx)[top] + w * ce
            return s
        return score

    return {
        "features_top_quote": feature_right,
        "crossencoder_top_quote_on_top10": _first_right(dev_qs, read, blended(1e6)),
        "blend": {w: _first_right(dev_qs, read, blended(w)) for w in (0.25, 0.5, 1.0, 2.0, 4.0)},
        "seconds_per_question": round(per_question, 3),
    }


def _first_right(questions, read, score) -> float:
    right = n = 0
    for q in questions:
        if not q.gold:
            continue
        n += 1
        _, cands, sx, sy = read[id(q)]
        if len(cands):
            right += bool(sy[int(np.argmax(score(q, cands, sx)))])
    return right / max(n, 1)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", nargs=3, action="append", required=True, metavar=("INDEX", "TRAIN", "DEV"))
    ap.add_argument("--out", required=True)
    ap.add_argument("--level", choices=("passage", "span"), default="span")
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--lr", type=float, default=4e-5)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)

    from eval.questionset import load_questions
    from index.embed import SentenceTransformerEmbedder
    from index.folder import open_index

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    embedder = SentenceTransformerEmbedder()
    train_qs, dev_qs = [], []
    for index_dir, tr, dv in args.corpus:
        index = open_index(Path(index_dir), embedder)
        train_qs += prepare(index, load_questions(tr))
        dev_qs += prepare(index, load_questions(dv))
    model_args = {"epochs": args.epochs, "batch": args.batch, "lr": args.lr, "seed": args.seed}
    run = passage_level if args.level == "passage" else span_level
    figures = {"level": args.level, **model_args, **run(model_args, train_qs, dev_qs, out)}
    (out / "figures.json").write_text(json.dumps(figures, indent=1) + "\n")
    print(json.dumps(figures, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
