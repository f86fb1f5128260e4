"""Text classification on ../shared/data: rnnkit's classifier beside TF-IDF + logistic regression.

    python benchmarks/classify.py --dataset sentiment --minutes 3 --grid lstm-max,gru-max,...
    python benchmarks/classify.py --dataset bbc --minutes 20

Both systems see the same train split; rnnkit selects its model on the dev split (the epoch by
dev loss within a run; with ``--grid``, the candidate by dev accuracy); both are scored on
test. The baseline is scikit-learn's TfidfVectorizer (word 1-2 grams, sublinear tf) with
LogisticRegression (C=10 is a common choice for short texts; it is not tuned on test).
rnnkit's run is the ``rnnkit train classify`` recipe with the options printed in the result;
The ``ulmfit`` candidate first trains a ``text``-level language model for ``--pretrain-minutes``
on the unlabelled training texts plus a second corpus (``--pretrain-text``) and starts the
classifier's encoder from it (ULMFiT-style).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import RESULTS, data_dir, write_result
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from rnnkit.data.labelled import read_classification
from rnnkit.memory import keep_freed_memory
from rnnkit.tasks.classify import ClassifyDataConfig, evaluate_classifier, train_classifier
from rnnkit.tasks.lm import LMDataConfig, train_lm
from rnnkit.training import TrainerConfig

FILES = {"sentiment": ("train.tsv", "dev.tsv", "test.tsv"), "bbc": ("train.jsonl", "dev.jsonl",
                                                                    "test.jsonl")}  # fmt: skip


def tfidf_predictions(train_path: Path, test_path: Path) -> list[str]:
    """TF-IDF (word 1-2 grams, sublinear tf) + logistic regression trained on ``train_path``:
    its label for every text of ``test_path``, in order (a BBC article's title comes first)."""
    train, test = read_classification(train_path), read_classification(test_path)
    text = lambda e: f"{e.title}\n{e.text}" if e.title else e.text  # noqa: E731
    vec = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1)
    x_train = vec.fit_transform([text(e) for e in train])
    clf = LogisticRegression(C=10.0, max_iter=2000)
    clf.fit(x_train, [e.label for e in train])
    return [str(p) for p in clf.predict(vec.transform([text(e) for e in test]))]


def tfidf_baseline(train_path: Path, test_path: Path) -> dict:
    start = time.monotonic()
    pred = tfidf_predictions(train_path, test_path)
    gold = [e.label for e in read_classification(test_path)]
    correct = sum(p == g for p, g in zip(pred, gold))
    return {"accuracy": correct / len(gold), "seconds": time.monotonic() - start}


def pretrain(train_path: Path, extra: Path | None, minutes: float, out: Path, model: dict) -> Path:
    """A text-level LM on the unlabelled training texts (and ``extra``)."""
    texts = [e.text for e in read_classification(train_path)]
    corpus = "\n".join(texts)
    if extra is not None and extra.suffix == ".jsonl":  # e.g. bbc/train.jsonl: its texts
        corpus += "\n" + "\n".join(e.text for e in read_classification(extra))
    elif extra is not None:
        corpus += "\n" + extra.read_text(encoding="utf-8")
    path = out.parent / "pretrain.txt"
    path.write_text(corpus, encoding="utf-8")
    lm_model = {
        "cell": model["cell"], "embedding_size": model["embedding_size"],
        "hidden_size": model["hidden_size"], "num_layers": model["num_layers"],
        "tie_weights": True, "dropout": 0.3, "input_dropout": 0.2, "hidden_dropout": 0.2,
    }  # fmt: skip
    data = LMDataConfig(data=str(path), level="text", bptt=50, max_vocab=30000)
    trainer = TrainerConfig(
        max_time=minutes * 60, batch_size=32, lr=2e-3, clip_grad_norm=1.0, eval_every=300,
        progress=False, log_every=500,
    )  # fmt: skip
    train_lm(data, lm_model, trainer, out)
    return out


#: model variants for ``--grid``; each is trained under the same budget and the one with the
#: best dev accuracy is reported (test figures of every candidate are kept in the result file)
GRID = {
    "lstm-max": {},
    "lstm-mean": {"pooling": "mean"},
    "lstm-attention": {"pooling": "attention"},
    "lstm-concat": {"pooling": "concat"},
    "gru-max": {"cell": "gru"},
    "gru-attention": {"cell": "gru", "pooling": "attention"},
    "lstm-max-small": {"hidden_size": 64, "embedding_size": 64, "embedding_dropout": 0.1},
    "lstm-max-2layers": {"num_layers": 2, "hidden_dropout": 0.3},
    "lstm-max-tiny": {"hidden_size": 32, "embedding_size": 64, "embedding_dropout": 0.2},
    "lstm-mean-small": {
        "pooling": "mean",
        "hidden_size": 64,
        "embedding_size": 64,
        "embedding_dropout": 0.1,
    },
    "gru-max-small": {
        "cell": "gru",
        "hidden_size": 64,
        "embedding_size": 64,
        "embedding_dropout": 0.1,
    },
    # five members of the same configuration, probabilities averaged (ClassifierEnsemble)
    "lstm-max-small-x5": {
        "hidden_size": 64,
        "embedding_size": 64,
        "embedding_dropout": 0.1,
        "ensemble": 5,
    },
    "lstm-mean-small-x5": {
        "pooling": "mean",
        "hidden_size": 64,
        "embedding_size": 64,
        "embedding_dropout": 0.1,
        "ensemble": 5,
    },
    "lstm-max-x5": {"ensemble": 5},
    "lstm-mean-x5": {"pooling": "mean", "ensemble": 5},
    # ULMFiT-style: a 2-layer unidirectional LSTM LM pretrained for --pretrain-minutes on the
    # unlabelled training texts (plus --pretrain-text), then fine-tuned with concat pooling
    "ulmfit": {"pretrain": True},
}


def train_one(name: str, model: dict, data: ClassifyDataConfig, args, paths, tmp: Path) -> dict:
    """Train one candidate; its dev and test figures."""
    _, dev_path, test_path = paths
    trainer = TrainerConfig(
        max_time=args.minutes * 60, max_epochs=args.max_epochs, batch_size=32, lr=2e-3,
        clip_grad_norm=5.0, early_stopping=4, progress=False, log_every=100, seed=args.seed,
    )  # fmt: skip
    run_dir = RESULTS / "runs" / f"classify_{args.dataset}_{name}"
    if run_dir.exists():
        shutil.rmtree(run_dir)
    start = time.monotonic()
    if model.pop("pretrain", False):
        if not args.pretrain_minutes:
            raise SystemExit("the ulmfit candidate needs --pretrain-minutes")
        model.update(num_layers=2, bidirectional=False, pooling="concat")
        lm_dir = pretrain(paths[0], args.pretrain_text, args.pretrain_minutes, tmp / name, model)
        data = ClassifyDataConfig.from_dict({**data.to_dict(), "pretrained_lm": str(lm_dir)})
    result = train_classifier(data, model, trainer, run_dir)
    seconds = time.monotonic() - start
    dev, test = evaluate_classifier(run_dir, dev_path), evaluate_classifier(run_dir, test_path)
    out = {
        "accuracy": round(test["accuracy"], 4), "macro_f1": round(test["macro_f1"], 4),
        "dev_accuracy": round(dev["accuracy"], 4), "seconds": round(seconds, 1),
        "steps": result.steps, "epochs": result.epochs, "stopped": result.stopped,
        "pretrain_minutes": args.pretrain_minutes if data.pretrained_lm else 0.0, "model": model,
        "test_examples": test["examples"], "max_length": data.max_length,
    }  # fmt: skip
    if "member_accuracy" in test:  # an ensemble: each member alone, on dev and test
        out["member_dev_accuracy"] = [round(a, 4) for a in dev["member_accuracy"]]
        out["member_test_accuracy"] = [round(a, 4) for a in test["member_accuracy"]]
    print(name, out, flush=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", choices=sorted(FILES), default="sentiment")
    parser.add_argument("--minutes", type=float, default=10.0, help="budget per candidate")
    parser.add_argument("--pretrain-minutes", type=float, default=0.0)
    parser.add_argument("--pretrain-text", type=Path, default=None)
    parser.add_argument("--grid", default="lstm-max", help=f"candidates from {list(GRID)}")
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--embedding", type=int, default=128)
    parser.add_argument("--max-epochs", type=int, default=15)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--max-length", type=int, default=400, help="tokens read per text (0: all of it)"
    )
    parser.add_argument("--name", help="result file (default classify_DATASET)")
    args = parser.parse_args()
    keep_freed_memory()  # as ``rnnkit train`` does
    folder = data_dir() / args.dataset
    paths = tuple(folder / name for name in FILES[args.dataset])
    baseline = tfidf_baseline(paths[0], paths[2])
    print("tf-idf + LR", baseline, flush=True)
    data = ClassifyDataConfig(
        data=str(paths[0]), valid=str(paths[1]), min_freq=1, max_length=args.max_length or None
    )
    base = {
        "cell": "lstm", "embedding_size": args.embedding, "hidden_size": args.hidden,
        "num_layers": 1, "pooling": "max", "dropout": 0.5, "input_dropout": 0.3,
    }  # fmt: skip
    candidates = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.grid.split(","):
            model = {**base, **GRID[name]}
            candidates[name] = train_one(name, model, data, args, paths, Path(tmp))
    chosen = max(candidates, key=lambda k: candidates[k]["dev_accuracy"])
    write_result(
        args.name or f"classify_{args.dataset}",
        {
            "dataset": args.dataset,
            "test_examples": candidates[chosen]["test_examples"],
            "selected_by_dev_accuracy": chosen,
            "rnnkit": candidates[chosen],
            "candidates": candidates,
            "tfidf_logreg": {k: round(v, 4) for k, v in baseline.items()},
        },
    )


if __name__ == "__main__":
    main()
