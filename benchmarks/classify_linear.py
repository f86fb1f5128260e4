"""The classification default's linear member on the dev splits: its weight, its C and its buckets.

    python benchmarks/classify_linear.py     # after: python benchmarks/defaults.py --task classify

For every data set and seed of the defaults run (``runs/defaults_classify_DATA_SEED``), the
trained ensemble's recurrent members score the dev file once; a logistic regression over the
same n-gram features (``rnnkit.layers.NgramLogistic``) is refitted on the training file for each
C, and the two are averaged as the ensemble averages them, for each weight W of the linear model
beside each member's 1 (W = 0: the members alone). For each (C, W): dev accuracy and dev log
loss (the ensemble's validation criterion), each the mean over the seeds; and at the default's C
and W, the same for each number of hash buckets B of the linear model's n-grams (its own idf
counted for each), with the linear model's dev accuracy alone. Only the training and dev files
are read: it shows where the default's W, C and B stand on dev, never on test. The members
were trained in an ensemble whose linear model had the default's W, C and B, which also chose
their checkpoint by the ensemble's validation loss; the other rows reuse those members.

Writes ``benchmarks/results/classify_linear.json``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch
from torch.nn import functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import RESULTS, data_dir, write_result

from rnnkit.data.labelled import read_classification
from rnnkit.layers.ngram_logistic import NgramLogistic
from rnnkit.models.ensemble import combine
from rnnkit.tasks.classify import ClassificationEncoder, load_classifier

DATASETS = {"sentiment": ("sentiment/train.tsv", "sentiment/dev.tsv"),
            "bbc": ("bbc/train.jsonl", "bbc/dev.jsonl")}  # fmt: skip
CS = (1.0, 3.0, 10.0, 30.0)
WEIGHTS = (0.0, 0.5, 1.0, 2.0)
BUCKETS = (1 << 18, 1 << 20, 1 << 22)
FIGURES = ("accuracy", "loss", "linear_accuracy")


def batches(encoder: ClassificationEncoder, path: Path) -> list[dict]:
    examples = [e for e in read_classification(path) if e.labels]
    return list(encoder.batches(examples, 64, False))


def scored(members: torch.Tensor, linear: torch.Tensor, w: float, gold: torch.Tensor) -> dict:
    """Dev accuracy and log loss of the members' (K, N, C) and the linear model's (N, C) scores
    averaged with weight w beside each member's 1."""
    k = members.shape[0]
    weights = torch.tensor([1.0] * k + [w]) / (k + w)
    z = combine(torch.cat([members, linear.unsqueeze(0)]), False, weights)
    return {"accuracy": (z.argmax(-1) == gold).float().mean().item(),
            "loss": F.nll_loss(z, gold).item()}  # fmt: skip


@torch.no_grad()
def seed_grid(run: Path, train: Path, dev: Path) -> dict[str, list[dict]]:
    """Dev accuracy and log loss of one trained default for every (C, W), and at its C and W
    for every number of buckets."""
    model, encoder = load_classifier(run / "model")
    model.eval()
    base = getattr(model, "linear", None)
    if base is None:
        sys.exit(f"{run}: the trained model has no linear member to vary")
    fit, score = batches(encoder, train), batches(encoder, dev)
    members = torch.cat(
        [torch.stack([m(b["tokens"], b["lengths"]) for m in model.members]) for b in score], dim=1
    )
    gold = torch.cat([b["labels"] for b in score])
    texts = [(b["tokens"], b["lengths"]) for b in fit]
    labels = torch.cat([b["labels"] for b in fit])

    def refit(buckets: int, inverse: float, idf: torch.Tensor | None) -> torch.Tensor:
        """Dev scores (N, C) of a linear model of the trained one's features (``buckets`` of
        them, C = ``inverse``) fitted on the training file; its idf given or counted there."""
        linear = NgramLogistic(base.vocab_size, base.bias.numel(), buckets, base.order, inverse)
        if idf is None:
            linear.fit_idf(texts)
        else:
            linear.idf.copy_(idf)  # counted on the same training texts
        linear.fit(texts, labels)
        return torch.cat([linear(b["tokens"], b["lengths"]) for b in score])

    rows = []
    for inverse in CS:
        alone = refit(base.buckets, inverse, base.idf)
        rows.extend({"c": inverse, "weight": w, **scored(members, alone, w, gold)} for w in WEIGHTS)
    by_buckets = []
    for buckets in BUCKETS:
        alone = refit(buckets, base.c, base.idf if buckets == base.buckets else None)
        alone_accuracy = (alone.argmax(-1) == gold).float().mean().item()
        row = scored(members, alone, model.linear_weight, gold)
        by_buckets.append({"buckets": buckets, **row, "linear_accuracy": alone_accuracy})
    return {"grid": rows, "buckets": by_buckets}


def mean_rows(runs: list[dict], table: str) -> list[dict]:
    """Each row of the runs' ``table`` with its figures averaged over the runs."""
    rows = []
    for i, row in enumerate(runs[0][table]):
        cells = [r[table][i] for r in runs]
        rows.append({key: (sum(x[key] for x in cells) / len(cells) if key in FIGURES else value)
                     for key, value in row.items()})  # fmt: skip
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="1,2,3")
    args = parser.parse_args()
    torch.manual_seed(0)
    folder = data_dir()
    result: dict = {"cs": list(CS), "weights": list(WEIGHTS), "buckets": list(BUCKETS)}
    for name, (train, dev) in DATASETS.items():
        runs = []
        for seed in (int(s) for s in args.seeds.split(",")):
            run = RESULTS / "runs" / f"defaults_classify_{name}_{seed}"
            if not (run / "model").is_dir():
                sys.exit(f"{run}: no trained default; run benchmarks/defaults.py --task classify")
            runs.append({"seed": seed, **seed_grid(run, folder / train, folder / dev)})
            print(f"{name} seed {seed}: done", file=sys.stderr)
        result[name] = {"dev": dev, "runs": runs, "mean": mean_rows(runs, "grid"),
                        "buckets": mean_rows(runs, "buckets")}  # fmt: skip
    write_result("classify_linear", result)


if __name__ == "__main__":
    main()
