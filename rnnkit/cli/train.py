"""``rnnkit train lm``: train a language model from the command line."""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

from rnnkit.cli.overrides import ConfigError, build_config
from rnnkit.data import DataError
from rnnkit.models import LanguageModelConfig
from rnnkit.tasks.lm import LMDataConfig, train_lm
from rnnkit.training import TrainerConfig

#: The default character-level LM: what ``make demo`` trains on the bundled corpus.
LM_DEFAULTS = {
    "model": {
        "cell": "lstm",
        "embedding_size": 128,
        "hidden_size": 512,
        "num_layers": 2,
        "tie_weights": False,
        "dropout": 0.1,
    },
    "trainer": {
        "batch_size": 32,
        "lr": 2e-3,
        "optimizer": "adam",
        "clip_grad_norm": 1.0,
        "max_epochs": 10,
        "eval_every": 500,
        "log_every": 50,
    },
    "data": {"level": "char", "bptt": 100},
}
LM_SCHEMA = {"model": LanguageModelConfig, "trainer": TrainerConfig, "data": LMDataConfig}


def add_parser(sub: argparse._SubParsersAction) -> None:
    train = sub.add_parser("train", help="train a model")
    tasks = train.add_subparsers(dest="task", required=True)
    lm = tasks.add_parser(
        "lm",
        help="train a recurrent language model",
        description="Train a language model. Any config key can be overridden as "
        "--model.KEY=V, --trainer.KEY=V or --data.KEY=V (e.g. --model.cell=gru "
        "--model.hidden_size=256 --trainer.max_time=60 --seed=1).",
    )
    lm.add_argument("--data", help="training text file (default: the bundled Shakespeare)")
    lm.add_argument("--valid", help="validation text file (default: the tail of --data)")
    lm.add_argument("--level", choices=["char", "word", "bpe"], help="tokenization level")
    lm.add_argument("--out", required=True, help="run directory (model, checkpoints, logs)")
    lm.add_argument("--config", help="YAML file with model/trainer/data sections")
    lm.add_argument("--resume", action="store_true", help="continue from the latest checkpoint")
    lm.add_argument("--overwrite", action="store_true", help="replace an existing run in --out")


def run(args: argparse.Namespace, extra: list[str]) -> int:
    try:
        config = build_config(LM_DEFAULTS, LM_SCHEMA, args.config, extra)
        if "vocab_size" in config["model"]:
            raise ConfigError("model.vocab_size is set by the tokenizer; remove it")
        for flag in ("data", "valid", "level"):
            if getattr(args, flag) is not None:
                config["data"][flag] = getattr(args, flag)
        data = LMDataConfig.from_dict(config["data"])
        trainer = TrainerConfig.from_dict(config["trainer"])
        trainer.check()
        LanguageModelConfig.from_dict({"vocab_size": 2, **config["model"]})
    except (ConfigError, ValueError, TypeError) as exc:
        print(f"rnnkit train lm: {exc}", file=sys.stderr)
        return 2
    out = Path(args.out)
    is_main = int(os.environ.get("RANK", "0")) == 0  # under torchrun only rank 0 touches files
    if is_main and (out / "checkpoints").exists() and not args.resume:
        if not args.overwrite:
            print(
                f"rnnkit train lm: {out} already holds a run; pass --resume to continue it "
                "or --overwrite to start afresh",
                file=sys.stderr,
            )
            return 2
        shutil.rmtree(out)
    try:
        result = train_lm(data, config["model"], trainer, Path(args.out), resume=args.resume)
    except (DataError, FileNotFoundError) as exc:
        print(f"rnnkit train lm: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(
            f"interrupted: checkpoint written; continue with --resume --out {args.out}",
            file=sys.stderr,
        )
        return 130
    valid = result.last_valid or {}
    if not is_main:
        return 0
    print(
        f"stopped ({result.stopped}) after {result.steps} steps, {result.elapsed:.0f} s; "
        f"valid loss {valid.get('loss', float('nan')):.4f}, "
        f"ppl {valid.get('ppl', float('nan')):.2f}"
        f"; model in {Path(args.out) / 'model'}"
    )
    return 0
