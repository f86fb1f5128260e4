"""Contextual embeddings for low-resource POS tagging: a biLM trained on unlabelled PTB text,
then the BiLSTM-CRF tagger on 1,000 POS sentences with and without the biLM's vectors.

    python benchmarks/tag_bilm.py --bilm-minutes 30 --minutes 10

Steps: (1) ``train_bilm`` on ``--bilm-text`` (default ../shared/data/ptb/ptb.train.txt,
validated on ptb.valid.txt) for ``--bilm-minutes``; (2) the tagger of ``benchmarks/tag_pos.py``
on the first ``--train-sentences`` sentences of pos/train.conll, validated on pos/dev.conll,
once without and once with the frozen biLM's scalar-mixed vectors (``--bilm-mode``), each for
``--minutes``; (3) token accuracy of both on pos/test.conll.

Case and numbers: the PTB LM text is lower-cased, has ``N`` for every number and ``<unk>`` for
rare words, while the POS data is cased with digits. The biLM is trained with
``lowercase=True, number_token="N"``, which leaves PTB as it is and makes the tagger's tokens
look like PTB's when they are looked up (``Pierre`` -> ``pierre``, ``1,000`` -> ``N``); the
tagger's own word and character features still see the original tokens. PTB has no
punctuation, so punctuation tokens are ``<unk>`` to the biLM; the result records the share of
test tokens the biLM does not know.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import RESULTS, data_dir, write_result

from rnnkit.data.conll import read_conll
from rnnkit.metrics.lm import perplexity
from rnnkit.tasks.bilm import BiLMDataConfig, load_bilm, train_bilm
from rnnkit.tasks.tag import TagDataConfig, evaluate_tagger, train_tagger
from rnnkit.training import TrainerConfig

TAGGER = {"embedding_size": 100, "hidden_size": 128, "crf": True}


def run_bilm(text: Path, valid: Path | None, args) -> tuple[Path, dict]:
    out = RESULTS / "runs" / "tag_bilm_lm"
    if out.exists():
        shutil.rmtree(out)
    data = BiLMDataConfig(
        data=str(text), valid=str(valid) if valid else None, lowercase=True, number_token="N",
        max_length=50, max_vocab=args.bilm_vocab,
    )  # fmt: skip
    model = {"input": args.bilm_input, "embedding_size": 128, "hidden_size": args.bilm_hidden,
             "num_layers": 2, "dropout": 0.1}  # fmt: skip
    trainer = TrainerConfig(
        max_time=args.bilm_minutes * 60, max_epochs=args.max_epochs, batch_size=32, lr=2e-3,
        clip_grad_norm=1.0, eval_every=500, progress=False, log_every=200, seed=args.seed,
    )  # fmt: skip
    result = train_bilm(data, model, trainer, out)
    record = {
        "text": str(text), "budget_minutes": args.bilm_minutes,
        "train_seconds": round(result.elapsed, 1), "steps": result.steps,
        "epochs": result.epochs, "stopped": result.stopped, "model": model,
        "data": data.to_dict(),
    }  # fmt: skip
    if result.best_valid_loss is not None:  # the saved model's, per predicted token
        record["valid_perplexity"] = round(perplexity(result.best_valid_loss), 2)
    return out, record


def run_tagger(name: str, paths: tuple[Path, Path, Path], bilm: Path | None, args) -> dict:
    train_path, dev_path, test_path = paths
    out = RESULTS / "runs" / f"tag_bilm_{name}"
    if out.exists():
        shutil.rmtree(out)
    data = TagDataConfig(
        data=str(train_path), valid=str(dev_path), bilm=str(bilm) if bilm else None
    )
    model = dict(TAGGER, **({"bilm_mode": args.bilm_mode} if bilm else {}))
    trainer = TrainerConfig(
        max_time=args.minutes * 60, max_epochs=args.max_epochs, batch_size=32, lr=2e-3,
        clip_grad_norm=5.0, early_stopping=5, progress=False, log_every=200, seed=args.seed,
    )  # fmt: skip
    result = train_tagger(data, model, trainer, out)
    test = evaluate_tagger(out, test_path)
    return {
        "accuracy": round(test["accuracy"], 4), "budget_minutes": args.minutes,
        "train_seconds": round(result.elapsed, 1), "epochs": result.epochs,
        "steps": result.steps, "stopped": result.stopped, "model": model,
    }  # fmt: skip


def unknown_share(bilm: Path, test_path: Path) -> float:
    """Share of test tokens that the biLM's word table maps to ``<unk>``."""
    _, vocab, _ = load_bilm(bilm)
    tokens = [t for s in read_conll(test_path) for t in s.tokens]
    return sum(vocab.normalize(t) not in vocab.words for t in tokens) / len(tokens)


def first_sentences(path: Path, n: int, target: Path) -> int:
    """Write the first n sentences of a CoNLL file to ``target`` (token and tag columns)."""
    sentences = read_conll(path)[:n]
    blocks = ["\n".join(f"{t}\t{g}" for t, g in zip(s.tokens, s.tags)) for s in sentences]
    target.write_text("\n\n".join(blocks) + "\n", encoding="utf-8")
    return len(sentences)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bilm-text", type=Path, help="unlabelled text (default: PTB train)")
    parser.add_argument("--bilm-valid", type=Path, help="its validation text (default: PTB "
                        "valid with the default text, else a 5%% holdout)")  # fmt: skip
    parser.add_argument("--bilm-minutes", type=float, default=30.0)
    parser.add_argument("--bilm-input", choices=["word", "char"], default="word")
    parser.add_argument("--bilm-hidden", type=int, default=256)
    parser.add_argument("--bilm-vocab", type=int, default=20000)
    parser.add_argument("--bilm-mode", choices=["mix", "layer", "average"], default="mix")
    parser.add_argument("--minutes", type=float, default=10.0, help="budget of each tagger")
    parser.add_argument("--train-sentences", type=int, default=1000)
    parser.add_argument("--max-epochs", type=int, default=50)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    root = data_dir()
    text, valid = args.bilm_text, args.bilm_valid
    if text is None:
        text, valid = root / "ptb" / "ptb.train.txt", valid or root / "ptb" / "ptb.valid.txt"
    bilm_dir, bilm_record = run_bilm(text, valid, args)
    print("bilm", bilm_record, flush=True)
    folder = root / "pos"
    with tempfile.TemporaryDirectory() as tmp:
        train = Path(tmp) / "train_small.conll"
        sentences = first_sentences(folder / "train.conll", args.train_sentences, train)
        paths = (train, folder / "dev.conll", folder / "test.conll")
        runs = {}
        for name, bilm in (("no_bilm", None), ("bilm", bilm_dir)):
            runs[name] = run_tagger(name, paths, bilm, args)
            print(name, runs[name], flush=True)
    write_result(
        "tag_bilm",
        {
            "train_sentences": sentences,
            "test_tokens": sum(len(s.tokens) for s in read_conll(paths[2])),
            "bilm_unknown_test_tokens": round(unknown_share(bilm_dir, paths[2]), 4),
            "bilm": bilm_record,
            "runs": runs,
        },
    )


if __name__ == "__main__":
    main()
