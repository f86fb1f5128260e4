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
from rnnkit.models import (
    ClassifierConfig,
    LanguageModelConfig,
    Seq2SeqConfig,
    TaggerConfig,
)
from rnnkit.tasks.bilm import BILM_COMPUTED, BILM_DEFAULTS, BILM_SCHEMA, BiLMDataConfig, train_bilm
from rnnkit.tasks.classify import ClassifyDataConfig, train_classifier
from rnnkit.tasks.lm import LMDataConfig, train_lm
from rnnkit.tasks.summarize import SummarizeDataConfig, train_summarizer
from rnnkit.tasks.summarize_model import SummarizeModelConfig
from rnnkit.tasks.tag import TagDataConfig, train_tagger
from rnnkit.tasks.translate import TranslateDataConfig, train_translator
from rnnkit.training import TrainerConfig, TrainResult, distributed

#: The default character-level LM: what ``make demo`` trains on the bundled corpus.
LM_DEFAULTS = {
    "model": {
        "cell": "lstm",
        "embedding_size": 128,
        "hidden_size": 512,
        "num_layers": 2,
        "tie_weights": False,
        "dropout": 0.1,
        "init_range": 1.0,  # larger than word-level's 0.1: learns faster per character
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

#: A BiLSTM classifier with max pooling, trained per epoch with early stopping.
CLASSIFY_DEFAULTS = {
    "model": {"cell": "lstm", "embedding_size": 128, "hidden_size": 128, "pooling": "max"},
    "trainer": {
        "batch_size": 32,
        "lr": 2e-3,
        "optimizer": "adam",
        "clip_grad_norm": 5.0,
        "max_epochs": 10,
        "early_stopping": 3,
        "log_every": 50,
    },
    "data": {},
}
CLASSIFY_SCHEMA = {"model": ClassifierConfig, "trainer": TrainerConfig, "data": ClassifyDataConfig}

#: A BiLSTM-CRF tagger with character BiLSTM features (Lample et al. 2016's shape).
TAG_DEFAULTS = {
    "model": {"cell": "lstm", "embedding_size": 100, "hidden_size": 128, "crf": True},
    "trainer": {
        "batch_size": 32,
        "lr": 2e-3,
        "optimizer": "adam",
        "clip_grad_norm": 5.0,
        "max_epochs": 20,
        "early_stopping": 3,
        "log_every": 50,
    },
    "data": {},
}
TAG_SCHEMA = {"model": TaggerConfig, "trainer": TrainerConfig, "data": TagDataConfig}

#: A bidirectional LSTM encoder and an LSTM decoder with Luong attention and input feeding.
TRANSLATE_DEFAULTS = {
    "model": {
        "cell": "lstm",
        "embedding_size": 256,
        "hidden_size": 256,
        "encoder_layers": 2,
        "decoder_layers": 2,
        "attention": "general",
        "dropout": 0.3,
        "label_smoothing": 0.1,
    },
    "trainer": {
        "batch_size": 64,
        "lr": 2e-3,
        "optimizer": "adam",
        "clip_grad_norm": 5.0,
        "max_epochs": 20,
        "early_stopping": 3,
        "log_every": 50,
    },
    "data": {},
}
TRANSLATE_SCHEMA = {"model": Seq2SeqConfig, "trainer": TrainerConfig, "data": TranslateDataConfig}

#: SummaRuNNer's sizes (Nallapati et al. 2017: GRU, embeddings 100, hidden 200)
SUMMARIZE_DEFAULTS = {
    "model": {"cell": "gru", "embedding_size": 100, "hidden_size": 200, "dropout": 0.3},
    "trainer": {
        "batch_size": 16,
        "lr": 1e-3,
        "optimizer": "adam",
        "clip_grad_norm": 2.0,
        "max_epochs": 10,
        "early_stopping": 3,
        "log_every": 20,
    },
    "data": {},
}
SUMMARIZE_SCHEMA = {
    "model": SummarizeModelConfig,
    "trainer": TrainerConfig,
    "data": SummarizeDataConfig,
}

#: model keys the recipe sets itself (from the data), refused on the command line
COMPUTED = {
    "lm": ("vocab_size",),
    "classify": ("vocab_size", "num_classes", "multi_label", "bilm_config"),
    "tag": ("vocab_size", "num_tags", "unk_id", "bilm_config"),
    "translate": ("source_vocab_size", "target_vocab_size", "bos_id"),
    "summarize": ("vocab_size",),
    "bilm": BILM_COMPUTED,
}


@dataclass(frozen=True)
class Task:
    defaults: dict[str, Any]
    schema: dict[str, type]
    model_config: type
    data_config: type
    train: Callable[..., TrainResult]
    flags: tuple[str, ...]


TASKS = {
    "lm": Task(LM_DEFAULTS, LM_SCHEMA, LanguageModelConfig, LMDataConfig, train_lm,
               ("data", "valid", "level")),
    "classify": Task(CLASSIFY_DEFAULTS, CLASSIFY_SCHEMA, ClassifierConfig, ClassifyDataConfig,
                     train_classifier, ("data", "valid")),
    "tag": Task(TAG_DEFAULTS, TAG_SCHEMA, TaggerConfig, TagDataConfig, train_tagger,
                ("data", "valid")),
    "translate": Task(TRANSLATE_DEFAULTS, TRANSLATE_SCHEMA, Seq2SeqConfig, TranslateDataConfig,
                      train_translator, ("data", "valid")),
    "summarize": Task(SUMMARIZE_DEFAULTS, SUMMARIZE_SCHEMA, SummarizeModelConfig,
                      SummarizeDataConfig, train_summarizer,
                      ("data", "valid", "text_key", "summary_key")),
    "bilm": Task(BILM_DEFAULTS, BILM_SCHEMA, BILM_SCHEMA["model"], BiLMDataConfig, train_bilm,
                 ("data", "valid")),
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


def add_parser(sub: argparse._SubParsersAction) -> None:
    train = sub.add_parser("train", help="train a model")
    tasks = train.add_subparsers(dest="task", required=True)
    lm = tasks.add_parser(
        "lm", help="train a recurrent language model",
        description=f"Train a language model. {OVERRIDE_HELP}",
    )  # fmt: skip
    lm.add_argument("--data", help="training text file (default: the bundled Shakespeare)")
    lm.add_argument("--valid", help="validation text file (default: the tail of --data)")
    lm.add_argument("--level", choices=["char", "word", "text", "bpe"], help="tokenization level")
    _common(lm)
    classify = tasks.add_parser(
        "classify", help="train a text classifier",
        description=f"Train a text classifier on TSV (label<TAB>text) or JSONL files. "
        f"{OVERRIDE_HELP}",
    )  # fmt: skip
    classify.add_argument("--data", required=True, help="training file (.tsv or .jsonl)")
    classify.add_argument("--valid", help="validation file (default: 10%% of --data)")
    _common(classify)
    tag = tasks.add_parser(
        "tag", help="train a sequence tagger",
        description=f"Train a sequence tagger on CoNLL files (token<TAB>tag). {OVERRIDE_HELP}",
    )  # fmt: skip
    tag.add_argument("--data", required=True, help="training file (CoNLL)")
    tag.add_argument("--valid", help="validation file (default: 10%% of --data)")
    _common(tag)
    translate = tasks.add_parser(
        "translate", help="train an encoder-decoder (translation, dialogue)",
        description="Train a sequence-to-sequence model with attention on source<TAB>target "
        f"lines (dialogue: utterance<TAB>reply). {OVERRIDE_HELP}",
    )  # fmt: skip
    translate.add_argument("--data", required=True, help="training file (source<TAB>target)")
    translate.add_argument("--valid", help="validation file (default: 5%% of --data)")
    _common(translate)
    summarize = tasks.add_parser(
        "summarize", help="train a summarizer (extractive SummaRuNNer or abstractive)",
        description="Train a summarizer on JSONL documents with reference summaries: "
        "extractive (SummaRuNNer; sentences labelled by a greedy ROUGE oracle) or, with "
        "--model.type=abstractive, a pointer-generator with coverage that writes the "
        "summary. " + OVERRIDE_HELP,
    )  # fmt: skip
    summarize.add_argument("--data", required=True, help="training file (JSONL)")
    summarize.add_argument("--valid", help="validation file (default: 10%% of --data)")
    summarize.add_argument("--text-key", help='JSON key of the document (default "text")')
    summarize.add_argument("--summary-key", help='JSON key of the reference (default "summary")')
    _common(summarize)
    bilm = tasks.add_parser(
        "bilm", help="train a bidirectional LM for contextual embeddings (ELMo)",
        description="Train forward and backward LSTM language models on plain text, one "
        "sentence per line (word or --model.input=char input); `rnnkit embed` then gives "
        "contextual word vectors. " + OVERRIDE_HELP,
    )  # fmt: skip
    bilm.add_argument("--data", required=True, help="training text (one sentence per line)")
    bilm.add_argument("--valid", help="validation text (default: a share of --data)")
    _common(bilm)


def _configure(task: Task, name: str, args: argparse.Namespace, extra: list[str]):
    config = build_config(task.defaults, task.schema, args.config, extra)
    computed = [k for k in COMPUTED[name] if k in config["model"]]
    if computed:
        raise ConfigError(f"model.{computed[0]} is set from the data; remove it")
    for flag in task.flags:
        if getattr(args, flag, None) is not None:
            config["data"][flag] = getattr(args, flag)
    data = task.data_config.from_dict(config["data"])
    trainer = TrainerConfig.from_dict(config["trainer"])
    trainer.check()
    task.model_config.from_dict(config["model"])  # rejects unknown keys
    return data, config["model"], trainer


def run(args: argparse.Namespace, extra: list[str]) -> int:
    name, task = args.task, TASKS[args.task]
    prog = f"rnnkit train {name}"
    try:
        data, model, trainer = _configure(task, name, args, extra)
    except (ConfigError, ValueError, TypeError) as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
        return 2
    out = Path(args.out)
    is_main = distributed.launch_rank() == 0  # under torchrun only rank 0 touches files
    if is_main and (out / "checkpoints").exists() and not args.resume:
        if not args.overwrite:
            print(
                f"{prog}: {out} already holds a run; pass --resume to continue it "
                "or --overwrite to start afresh",
                file=sys.stderr,
            )
            return 2
        shutil.rmtree(out)
    try:
        result = task.train(data, model, trainer, out, resume=args.resume)
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
