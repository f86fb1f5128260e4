"""``rnnkit predict DIR --data FILE|-``: labels for texts, or a tag column for CoNLL tokens."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from rnnkit.data import DataError


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


def run(args: argparse.Namespace) -> int:
    from rnnkit.models.io import resolve_model_dir

    directory = Path(args.model_dir)
    try:
        meta = json.loads((resolve_model_dir(directory) / "config.json").read_text())["meta"]
        task = meta.get("task")
        if task == "classify":
            from rnnkit.tasks.classify import predict_classifier

            separator = meta["data"].get("label_separator", ",")
            for labels in predict_classifier(directory, args.data, args.format):
                print(separator.join(labels))
        elif task == "tag":
            from rnnkit.data.conll import write_conll
            from rnnkit.tasks.tag import predict_tagger

            sentences, tags = predict_tagger(directory, args.data)
            write_conll(sentences, tags, sys.stdout)
        else:
            raise ValueError(f"{directory}: predict needs a classifier or a tagger, not {task!r}")
    except (DataError, FileNotFoundError, ValueError) as exc:
        print(f"rnnkit predict: {exc}", file=sys.stderr)
        return 2
    return 0
