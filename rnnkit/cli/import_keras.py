"""``rnnkit import keras FILE --task classify|tag|lm --tokenizer VOCAB --out DIR``.

Writes an rnnkit model directory from a Keras model of one of rnnkit's task shapes (embedding ->
recurrent layers -> dense), so ``rnnkit predict``, ``evaluate``, ``generate`` and ``serve`` work
on it; any other supported Keras model loads in Python with ``rnnkit.from_keras``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from rnnkit.errors import RnnkitError


def add_parser(sub: argparse._SubParsersAction) -> None:
    imp = sub.add_parser(
        "import",
        help="make an rnnkit model directory from a Keras model",
        description="Read a Keras file (no TensorFlow needed) whose model is an rnnkit task "
        "shape and write DIR/model. Errors name the layer and option that does not fit.",
    )
    imp.add_argument("source", choices=["keras"], help="the library that saved the model")
    imp.add_argument("file", help=".keras, .weights.h5 (with --config) or legacy .h5 file")
    imp.add_argument("--task", required=True, choices=["classify", "tag", "lm"])
    imp.add_argument(
        "--tokenizer",
        required=True,
        help="the Keras vocabulary: one token per line, line i is id i (line 0 padding), as "
        "TextVectorization.get_vocabulary() lists it",
    )
    imp.add_argument(
        "--labels", help="classify/tag: class or tag names in output order, comma-separated"
    )
    imp.add_argument("--out", required=True, help="directory to write (DIR/model)")
    imp.add_argument("--config", help="the model's JSON, for a .weights.h5 file")
    imp.add_argument("--oov-id", type=int, default=1, help="Keras id of unknown words (default 1)")
    imp.add_argument("--no-lowercase", action="store_true", help="keep case when tokenizing")


def run(args: argparse.Namespace) -> int:
    try:
        from rnnkit.interop.keras import KerasImportError, from_keras
    except ImportError as exc:  # h5py missing
        print(f"rnnkit import: {exc}; install rnnkit[keras-import]", file=sys.stderr)
        return 2
    try:
        vocab = read_vocab(Path(args.tokenizer))
        model = from_keras(args.file, config=args.config)
        target = TASKS[args.task](model, vocab, args)
    except RnnkitError:
        raise  # a bad vocabulary file: one line naming it, exit status 1, from rnnkit.cli.main
    except (KerasImportError, FileNotFoundError, ValueError) as exc:
        print(f"rnnkit import: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {target}")
    return 0


def read_vocab(path: Path) -> list[str]:
    """Tokens of a vocabulary file, one per line (an empty line 0 is Keras' padding)."""
    from rnnkit.data import read_text

    text = read_text(path)  # a missing file or bad bytes: a DataError naming file and line
    lines = text.split("\n")
    return lines[:-1] if text.endswith("\n") else lines


def _labels(args: argparse.Namespace, count: int) -> list[str]:
    labels = [x.strip() for x in (args.labels or "").split(",") if x.strip()]
    if len(labels) != count:
        raise ValueError(f"--labels names {len(labels)} classes, the model has {count}")
    return labels


def _meta(args: argparse.Namespace, task: str, **extra: Any) -> dict[str, Any]:
    return {"task": task, **extra, "imported_from": {"library": "keras", "file": str(args.file)}}


def _classify(model: Any, vocab: list[str], args: argparse.Namespace) -> Path:
    from rnnkit.data.labels import LabelVocab
    from rnnkit.interop.keras.to_classifier import keras_classifier
    from rnnkit.models.io import save_model_dir
    from rnnkit.tasks.classify import ClassifyDataConfig

    classifier, tokenizer = keras_classifier(model, vocab, args.oov_id, not args.no_lowercase)
    labels = _labels(args, classifier.config.num_classes)
    data = ClassifyDataConfig(
        lowercase=not args.no_lowercase, multi_label=classifier.config.multi_label
    )
    meta = _meta(args, "classify", labels=LabelVocab(labels).to_dict(), data=data.to_dict())
    return save_model_dir(Path(args.out), classifier, tokenizer, meta)


def _tag(model: Any, vocab: list[str], args: argparse.Namespace) -> Path:
    from rnnkit.data.labels import LabelVocab
    from rnnkit.interop.keras.to_tagger import keras_tagger
    from rnnkit.models.io import save_model_dir
    from rnnkit.tasks.tag import TagDataConfig

    tagger, tables = keras_tagger(model, vocab, args.oov_id)
    tags = _labels(args, tagger.config.num_tags)
    data = TagDataConfig(lowercase=not args.no_lowercase)
    meta = _meta(args, "tag", tags=LabelVocab(tags).to_dict(), data=data.to_dict())
    return save_model_dir(Path(args.out), tagger, None, meta, files={"vocab": tables})


def _lm(model: Any, vocab: list[str], args: argparse.Namespace) -> Path:
    from rnnkit.interop.keras.to_lm import keras_language_model
    from rnnkit.models.io import save_model_dir
    from rnnkit.tasks.lm import LMDataConfig

    lm, tokenizer = keras_language_model(model, vocab, args.oov_id, not args.no_lowercase)
    meta = _meta(args, "lm", data=LMDataConfig(level="text").to_dict())
    return save_model_dir(Path(args.out), lm, tokenizer, meta)


TASKS = {"classify": _classify, "tag": _tag, "lm": _lm}
