"""``rnnkit train TASK``: train a model from the command line.

Tasks: lm, classify, tag, translate, summarize, bilm.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rnnkit.cli.overrides import ConfigError, build_config
from rnnkit.data import DataError
from rnnkit.errors import RnnkitError
from rnnkit.tasks import defaults as task_defaults
from rnnkit.tasks.bilm import train_bilm
from rnnkit.tasks.classify import train_classifier
from rnnkit.tasks.lm import train_lm
from rnnkit.tasks.summarize import train_summarizer
from rnnkit.tasks.summarize_auto import CANDIDATES_DIR
from rnnkit.tasks.tag import train_tagger
from rnnkit.tasks.translate import train_translator
from rnnkit.training import TrainResult, distributed

#: model keys the recipe sets itself (from the data), refused on the command line
COMPUTED = task_defaults.COMPUTED


@dataclass(frozen=True)
class Task:
    """A ``rnnkit train`` subcommand: its recipe and the flags that set ``data`` keys. Its
    defaults and config classes are ``rnnkit.tasks.defaults``'s (``defaults``, ``schema``)."""

    name: str
    train: Callable[..., TrainResult]
    flags: tuple[str, ...]

    @property
    def defaults(self) -> dict[str, dict[str, Any]]:
        return task_defaults.defaults(self.name)

    @property
    def schema(self) -> dict[str, type]:
        return task_defaults.schema(self.name)


TASKS = {
    "lm": Task("lm", train_lm, ("data", "valid", "level")),
    "classify": Task("classify", train_classifier, ("data", "valid")),
    "tag": Task("tag", train_tagger, ("data", "valid")),
    "translate": Task("translate", train_translator, ("data", "valid")),
    "summarize": Task("summarize", train_summarizer,
                      ("data", "valid", "text_key", "summary_key")),
    "bilm": Task("bilm", train_bilm, ("data", "valid")),
}  # fmt: skip

OVERRIDE_HELP = (
    "Any config key can be overridden as --model.KEY=V, --trainer.KEY=V or --data.KEY=V "
    "(e.g. --model.cell=gru --model.hidden_size=256 --trainer.max_time=60 --seed=1)."
)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", required=True, help="run directory (model, checkpoints, logs)")
    parser.add_argument("--config", help="YAML file with model/trainer/data sections")
    parser.add_argument("--resume", action="store_true", help="continue from the latest checkpoint")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing run in --out")


#: per task: its help line, the description before ``OVERRIDE_HELP``, what ``--data`` takes
PARSERS = {
    "lm": ("train a recurrent language model", "Train a language model.",
           "training text file (default: the bundled Shakespeare)"),
    "classify": ("train a text classifier",
                 "Train a text classifier on TSV (label<TAB>text) or JSONL files.",
                 "training file (.tsv or .jsonl)"),
    "tag": ("train a sequence tagger",
            "Train a sequence tagger on CoNLL files (token<TAB>tag).", "training file (CoNLL)"),
    "translate": ("train an encoder-decoder (translation, dialogue)",
                  "Train a sequence-to-sequence model with attention on source<TAB>target "
                  "lines (dialogue: utterance<TAB>reply).", "training file (source<TAB>target)"),
    "summarize": ("train a summarizer (extractive SummaRuNNer or abstractive)",
                  "Train a summarizer on JSONL documents with reference summaries: by default "
                  "both an extractive one (SummaRuNNer; sentences labelled by a greedy ROUGE "
                  "oracle) and an abstractive one (a pointer-generator with coverage that writes "
                  "the summary), keeping the one whose validation summaries score the higher "
                  "ROUGE; --model.type=extractive or --model.type=abstractive trains one.",
                  "training file (JSONL)"),
    "bilm": ("train a bidirectional LM for contextual embeddings (ELMo)",
             "Train forward and backward LSTM language models on plain text, one sentence per "
             "line (word or --model.input=char input); `rnnkit embed` then gives contextual "
             "word vectors.", "training text (one sentence per line)"),
}  # fmt: skip


def _valid_help(name: str) -> str:
    if name == "lm":
        return "validation text file (default: the tail of --data)"
    if name == "bilm":
        return "validation text (default: a share of --data)"
    share = task_defaults.resolve(name).data.valid_fraction
    return f"validation file (default: {share:.0%}% of --data)"


def add_parser(sub: argparse._SubParsersAction) -> None:
    train = sub.add_parser("train", help="train a model")
    tasks = train.add_subparsers(dest="task", required=True)
    for name, (help_text, description, data_help) in PARSERS.items():
        task = tasks.add_parser(name, help=help_text, description=f"{description} {OVERRIDE_HELP}")
        task.add_argument("--data", required=name != "lm", help=data_help)
        task.add_argument("--valid", help=_valid_help(name))
        if name == "lm":
            task.add_argument("--level", choices=["char", "word", "text", "bpe"],
                              help="tokenization level")  # fmt: skip
        if name == "summarize":
            data = task_defaults.resolve(name).data
            for flag, what, key in (("--text-key", "document", data.text_key),
                                    ("--summary-key", "reference", data.summary_key)):  # fmt: skip
                task.add_argument(flag, help=f'JSON key of the {what} (default "{key}")')
        _common(task)


def _configure(task: Task, args: argparse.Namespace, extra: list[str]) -> task_defaults.TaskConfig:
    """The task's defaults, then ``--config``, the overrides and the flags, resolved."""
    computed = {"model": COMPUTED[task.name]}
    config = build_config(task.defaults, task.schema, args.config, extra, computed)
    for flag in task.flags:
        if getattr(args, flag, None) is not None:
            config["data"][flag] = getattr(args, flag)
    return task_defaults.resolve(task.name, **config)


def _holds_run(out: Path) -> bool:
    """Whether ``out`` holds a run: checkpoints, or a summarizer's candidates (model.type=auto)."""
    return (out / "checkpoints").exists() or (out / CANDIDATES_DIR).exists()


def run(args: argparse.Namespace, extra: list[str]) -> int:
    name, task = args.task, TASKS[args.task]
    prog = f"rnnkit train {name}"
    try:
        cfg = _configure(task, args, extra)
    except (ConfigError, ValueError, TypeError) as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
        return 2
    out = Path(args.out)
    is_main = distributed.launch_rank() == 0  # under torchrun only rank 0 touches files
    if is_main and _holds_run(out) and not args.resume:
        if not args.overwrite:
            print(
                f"{prog}: {out} already holds a run; pass --resume to continue it "
                "or --overwrite to start afresh",
                file=sys.stderr,
            )
            return 2
        shutil.rmtree(out)
    try:
        result = task.train(cfg.data, cfg.model, cfg.trainer, out, resume=args.resume)
    except RnnkitError:
        raise  # bad data, divergence, an unwritable output: exit status 1 (rnnkit.cli.main)
    except (DataError, FileNotFoundError, ValueError) as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(
            f"interrupted: checkpoint written; continue with --resume --out {out}", file=sys.stderr
        )
        return 130
    if not is_main:
        return 0
    valid = result.last_valid or {}
    ppl = f", ppl {valid['ppl']:.2f}" if name == "lm" and "ppl" in valid else ""
    print(
        f"stopped ({result.stopped}) after {result.steps} steps, {result.elapsed:.0f} s; "
        f"valid loss {valid.get('loss', float('nan')):.4f}{ppl}; model in {out / 'model'}"
    )
    return 0
