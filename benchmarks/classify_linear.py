"""The classification default's linear member on the dev splits: its weight and its C.

    python benchmarks/classify_linear.py     # after: python benchmarks/defaults.py --task classify

For every data set and seed of the defaults run (``runs/defaults_classify_DATA_SEED``), the
trained ensemble's recurrent members score the dev file once; a logistic regression over the
same n-gram features (``rnnkit.layers.NgramLogistic``) is refitted on the training file for each
C, and the two are averaged as the ensemble averages them, for each weight W of the linear model
beside each member's 1 (W = 0: the members alone). For each (C, W): dev accuracy and dev log
loss (the ensemble's validation criterion), each the mean over the seeds. Only the training and
dev files are read: it shows where the default's W and C stand on dev, never on test. The members
were trained in an ensemble whose linear model had the default's W and C, which also chose their
checkpoint by the ensemble's validation loss; the other rows reuse those members.

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


def batches(encoder: ClassificationEncoder, path: Path) -> list[dict]:
    examples = [e for e in read_classification(path) if e.labels]
    return list(encoder.batches(examples, 64, False))


@torch.no_grad()
def seed_grid(run: Path, train: Path, dev: Path) -> list[dict]:
    """Dev accuracy and log loss of one trained default for every (C, W)."""
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
    k = members.shape[0]
    rows = []
    for inverse in CS:
        linear = NgramLogistic(base.vocab_size, base.bias.numel(), base.buckets, base.order,
                               inverse)  # the trained one's features, another C  # fmt: skip
        linear.idf.copy_(base.idf)  # counted on the same training texts
        linear.fit(
            [(b["tokens"], b["lengths"]) for b in fit], torch.cat([b["labels"] for b in fit])
        )
        alone = torch.cat([linear(b["tokens"], b["lengths"]) for b in score])
        for w in WEIGHTS:
            scores = torch.cat([members, alone.unsqueeze(0)])
            weights = torch.tensor([1.0] * k + [w]) / (k + w)
            z = combine(scores, False, weights)
            rows.append({"c": inverse, "weight": w,
                         "accuracy": (z.argmax(-1) == gold).float().mean().item(),
                         "loss": F.nll_loss(z, gold).item()})  # fmt: skip
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="1,2,3")
    args = parser.parse_args()
    torch.manual_seed(0)
    folder = data_dir()
    result: dict = {"cs": list(CS), "weights": list(WEIGHTS)}
    for name, (train, dev) in DATASETS.items():
        runs = []
        for seed in (int(s) for s in args.seeds.split(",")):
            run = RESULTS / "runs" / f"defaults_classify_{name}_{seed}"
            if not (run / "model").is_dir():
                sys.exit(f"{run}: no trained default; run benchmarks/defaults.py --task classify")
            runs.append({"seed": seed, "grid": seed_grid(run, folder / train, folder / dev)})
            print(f"{name} seed {seed}: done", file=sys.stderr)
        mean = []
        for i, row in enumerate(runs[0]["grid"]):
            cells = [r["grid"][i] for r in runs]
            mean.append({"c": row["c"], "weight": row["weight"],
                         "accuracy": sum(x["accuracy"] for x in cells) / len(cells),
                         "loss": sum(x["loss"] for x in cells) / len(cells)})  # fmt: skip
        result[name] = {"dev": dev, "runs": runs, "mean": mean}
    write_result("classify_linear", result)


if __name__ == "__main__":
    main()
