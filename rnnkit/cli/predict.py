"""``rnnkit predict DIR --data FILE|-``: labels for texts, or a tag column for CoNLL tokens."""

from __future__ import annotations

import argparse
import contextlib
import sys
from pathlib import Path
from typing import Any

from rnnkit.cli.runtime_option import add_runtime_option, model_path
from rnnkit.data import DataError
from rnnkit.errors import RnnkitError


def add_parser(sub: argparse._SubParsersAction) -> None:
    pr = sub.add_parser(
        "predict",
        help="predict with a trained classifier or tagger",
        description="Classification: one predicted label per input text, one per line "
        "(multi-label: labels joined by the label separator). Tagging: the input CoNLL rows "
        "with the predicted tag added as a last column.",
    )
    pr.add_argument("model_dir", help="run or model directory")
    pr.add_argument("--data", required=True, help="input file, or - for standard input")
    pr.add_argument(
        "--format",
        default="auto",
        choices=["auto", "tsv", "jsonl", "text"],
        help="classification input format (auto: by suffix; text: one text per line)",
    )
    add_runtime_option(pr)


def run(args: argparse.Namespace) -> int:
    from rnnkit.tasks.predictors import load

    directory = Path(args.model_dir)
    try:
        with contextlib.ExitStack() as stack:
            return _predict(load(model_path(directory, args.runtime, stack)), args)
    except RnnkitError:
        raise  # one line and exit status 1, from rnnkit.cli.main
    except (DataError, FileNotFoundError, ValueError) as exc:
        print(f"rnnkit predict: {exc}", file=sys.stderr)
        return 2


def _predict(predictor: Any, args: argparse.Namespace) -> int:
    if predictor.task == "classify":
        from rnnkit.data.labelled import read_classification

        cfg = predictor.encoder.cfg
        examples = read_classification(args.data, args.format, cfg.multi_label,
                                       cfg.label_separator)  # fmt: skip
        for result in predictor.classify_examples(examples):
            print(cfg.label_separator.join(result.labels))
    elif predictor.task == "tag":
        from rnnkit.data.conll import read_conll, write_conll

        cfg = predictor.encoder.cfg
        sentences = read_conll(args.data, cfg.token_column, None)
        results = predictor.tag([s.tokens for s in sentences])
        write_conll(sentences, [r.tags for r in results], sys.stdout)
    else:
        raise ValueError(
            f"{args.model_dir}: predict needs a classifier or a tagger, not {predictor.task!r}"
        )
    return 0
