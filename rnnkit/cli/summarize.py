"""``rnnkit summarize DIR --input FILE.jsonl|- [--max-sentences K | --max-words N] [--beam B]``.

Each input line is a JSON object with the document under the model's text key (``text`` unless
trained with ``--text-key``; ``--text-key`` here overrides it). One line ``{"summary": ...}`` is
written per input line, in order. An extractive model gives the chosen sentences in document
order, joined by spaces; without a budget the model's default is used (the median sentence
count of its training references). An abstractive model generates the summary by beam search
(``--beam``, default 5); ``--max-words`` caps its tokens and ``--max-sentences`` keeps the
first sentences it writes.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from pathlib import Path
from typing import Any

from rnnkit.cli.runtime_option import add_runtime_option, model_path
from rnnkit.data import DataError
from rnnkit.errors import RnnkitError


def add_parser(sub: argparse._SubParsersAction) -> None:
    su = sub.add_parser(
        "summarize",
        help="summarize each JSONL document with a trained summarizer",
        description=__doc__.split("\n\n", 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    su.add_argument("model_dir", help="run or model directory")
    su.add_argument("--input", required=True, help="JSONL documents, or - for standard input")
    budget = su.add_mutually_exclusive_group()
    budget.add_argument("--max-sentences", type=int, help="at most K sentences")
    budget.add_argument("--max-words", type=int, help="at most N words (the best sentence always)")
    su.add_argument("--text-key", help="the JSON key of the document text")
    su.add_argument("--beam", type=int, help="beam size (abstractive models; default 5)")
    add_runtime_option(su)


def check_budget(max_sentences: int | None, max_words: int | None) -> None:
    """Refuse a budget below one sentence or one word."""
    for name, value in (("--max-sentences", max_sentences), ("--max-words", max_words)):
        if value is not None and value < 1:
            raise ValueError(f"{name} must be at least 1, got {value}")


def run(args: argparse.Namespace) -> int:
    from rnnkit.tasks.predictors import load

    try:
        check_budget(args.max_sentences, args.max_words)
        with contextlib.ExitStack() as stack:
            predictor = load(model_path(Path(args.model_dir), args.runtime, stack))
            results = _summarize(predictor, args)
    except RnnkitError:
        raise  # one line and exit status 1, from rnnkit.cli.main
    except (DataError, FileNotFoundError, ValueError) as exc:
        print(f"rnnkit summarize: {exc}", file=sys.stderr)
        return 2
    for result in results:
        print(json.dumps({"summary": result.summary}, ensure_ascii=False))
    return 0


def _summarize(predictor: Any, args: argparse.Namespace) -> list[Any]:
    from rnnkit.data.documents import read_documents

    if predictor.task != "summarize":
        raise ValueError(f"{args.model_dir}: not a summarizer (task {predictor.task!r})")
    key = args.text_key or predictor.summarizer.encoder.cfg.text_key
    documents = read_documents(args.input, text_key=key)
    options = {} if args.beam is None else {"beam": args.beam}
    if options and predictor.meta.get("summary_type") != "abstractive":
        raise ValueError("--beam applies to abstractive summarizers only")
    return list(
        predictor.summarize(
            [d.text for d in documents], args.max_sentences, args.max_words, **options
        )
    )
