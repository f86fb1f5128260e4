"""Part-of-speech tagging (../shared/data/pos): rnnkit's BiLSTM tagger beside a feature CRF.

    python benchmarks/tag_pos.py --minutes 30 --ablation-minutes 12

The baseline is python-crfsuite (L-BFGS, c1=0.1, c2=0.01, 100 iterations) on hand-made features:
the word, its lower case, prefixes and suffixes up to 3, shape flags (capitalised, upper, digit,
hyphen) and the same for the neighbouring words. rnnkit trains ``rnnkit train tag``'s recipe
under a time budget per variant, selecting on dev.conll: the full model (``crf_chars``) gets
``--minutes``, the ablations without the CRF output or without the character features get
``--ablation-minutes`` (each run records its budget). All are scored by token accuracy on
test.conll.
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

from rnnkit.data.conll import read_conll
from rnnkit.tasks.tag import TagDataConfig, evaluate_tagger, train_tagger
from rnnkit.training import TrainerConfig

VARIANTS = {
    "crf_chars": {"crf": True},
    "softmax_chars": {"crf": False},
    "crf_nochars": {"crf": True, "num_chars": 0},
}


def word_features(tokens: list[str], i: int) -> list[str]:
    """crfsuite features of token i: identity, affixes, shape, and the neighbours'."""
    w = tokens[i]
    feats = [
        "bias", f"w={w}", f"lw={w.lower()}", f"p1={w[:1]}", f"p2={w[:2]}", f"p3={w[:3]}",
        f"s1={w[-1:]}", f"s2={w[-2:]}", f"s3={w[-3:]}", f"title={w.istitle()}",
        f"upper={w.isupper()}", f"digit={any(c.isdigit() for c in w)}", f"hyphen={'-' in w}",
    ]  # fmt: skip
    for offset in (-2, -1, 1, 2):
        j = i + offset
        if 0 <= j < len(tokens):
            v = tokens[j]
            feats += [f"{offset}:lw={v.lower()}", f"{offset}:s3={v[-3:]}",
                      f"{offset}:title={v.istitle()}"]  # fmt: skip
        else:
            feats.append(f"{offset}:pad")
    return feats


def crfsuite_predictions(train_path: Path, test_path: Path) -> tuple[list[list[str]], float]:
    """python-crfsuite on ``word_features`` trained on ``train_path``: its tags for every
    sentence of ``test_path``, in order, and its training seconds."""
    import pycrfsuite

    start = time.monotonic()
    trainer = pycrfsuite.Trainer(verbose=False)
    for s in read_conll(train_path):
        trainer.append([word_features(s.tokens, i) for i in range(len(s.tokens))], s.tags)
    trainer.set_params({"c1": 0.1, "c2": 0.01, "max_iterations": 100})
    with tempfile.TemporaryDirectory() as tmp:
        model = str(Path(tmp) / "pos.crfsuite")
        trainer.train(model)
        train_seconds = time.monotonic() - start
        tagger = pycrfsuite.Tagger()
        tagger.open(model)
        tags = [tagger.tag([word_features(s.tokens, i) for i in range(len(s.tokens))])
                for s in read_conll(test_path)]  # fmt: skip
    return tags, train_seconds


def crfsuite_baseline(train_path: Path, test_path: Path) -> dict:
    tags, train_seconds = crfsuite_predictions(train_path, test_path)
    pairs = [(p, g) for pred, s in zip(tags, read_conll(test_path)) for p, g in zip(pred, s.tags)]
    return {"accuracy": sum(p == g for p, g in pairs) / len(pairs), "train_seconds": train_seconds}


def run_variant(name: str, options: dict, paths: tuple[Path, Path, Path], minutes: float,
                args) -> dict:  # fmt: skip
    train_path, dev_path, test_path = paths
    out = RESULTS / "runs" / f"pos_{name}"
    if out.exists():
        shutil.rmtree(out)
    data = TagDataConfig(data=str(train_path), valid=str(dev_path))
    model = {"embedding_size": 100, "hidden_size": 128, **options}
    trainer = TrainerConfig(
        max_time=minutes * 60, max_epochs=args.max_epochs, batch_size=32, lr=2e-3,
        clip_grad_norm=5.0, early_stopping=3, progress=False, log_every=200, seed=args.seed,
    )  # fmt: skip
    result = train_tagger(data, model, trainer, out)
    test = evaluate_tagger(out, test_path)
    return {
        "accuracy": round(test["accuracy"], 4), "budget_minutes": minutes,
        "train_seconds": round(result.elapsed, 1),
        "epochs": result.epochs, "steps": result.steps, "stopped": result.stopped,
        "model": model,
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=30.0, help="budget of crf_chars")
    parser.add_argument(
        "--ablation-minutes",
        type=float,
        default=None,
        help="budget of the other variants (default: --minutes)",
    )
    parser.add_argument("--max-epochs", type=int, default=30)
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--no-baseline", action="store_true")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    folder = data_dir() / "pos"
    paths = (folder / "train.conll", folder / "dev.conll", folder / "test.conll")
    runs = {}
    if not args.no_baseline:
        runs["python-crfsuite features"] = crfsuite_baseline(paths[0], paths[2])
        print(runs, flush=True)
    for name in args.variants.split(","):
        minutes = args.minutes if name == "crf_chars" else args.ablation_minutes or args.minutes
        runs[f"rnnkit {name}"] = run_variant(name, VARIANTS[name], paths, minutes, args)
        print(name, runs[f"rnnkit {name}"], flush=True)
    write_result(
        "tag_pos",
        {
            "test_tokens": sum(len(s.tokens) for s in read_conll(paths[2])),
            "runs": runs,
        },
    )


if __name__ == "__main__":
    main()
