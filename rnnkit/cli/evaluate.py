"""``rnnkit evaluate DIR --data FILE [--json]``: score a trained model of any task."""

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

#: the keys ``--json`` prints for each task
JSON_KEYS = {
    "lm": ("perplexity", "bpc", "tokens"),
    "classify": ("accuracy", "macro_f1", "examples", "member_accuracy", "linear_accuracy"),
    "tag": ("accuracy", "precision", "recall", "f1", "tokens"),
    "translate": ("bleu", "chrf", "repeated_phrases", "examples"),
    "summarize": ("rouge1", "rouge2", "rougeL", "documents", "lead", "oracle"),
    "bilm": ("perplexity", "loss", "tokens"),
}


def add_parser(sub: argparse._SubParsersAction) -> None:
    ev = sub.add_parser("evaluate", help="evaluate a trained model on a file")
    ev.add_argument("model_dir", help="run or model directory")
    ev.add_argument("--data", required=True, help="evaluation file")
    ev.add_argument("--json", action="store_true", help="print one JSON line")
    ev.add_argument("--report", action="store_true", help="per-class report (classification)")
    ev.add_argument(
        "--beam",
        type=int,
        default=5,
        help="beam size (translation, abstractive summaries; 1: greedy)",
    )
    add_runtime_option(ev)
    budget = ev.add_mutually_exclusive_group()
    budget.add_argument("--max-sentences", type=int, help="summary budget (summarization)")
    budget.add_argument("--max-words", type=int, help="summary budget in words (summarization)")


def evaluate(
    directory: Path,
    data: str,
    beam: int = 5,
    max_sentences: int | None = None,
    max_words: int | None = None,
) -> tuple[str, dict[str, Any]]:
    """``(task, metrics)`` of the model in ``directory`` on the file ``data``."""
    from rnnkit.models.io import read_meta

    meta = read_meta(directory)
    task = meta.get("task")
    if task == "lm":
        from rnnkit.tasks.lm import LMDataConfig, evaluate_lm

        bptt = meta.get("data", {}).get("bptt", LMDataConfig.bptt)  # the model's windows
        return task, evaluate_lm(directory, data, bptt=bptt)
    if task == "classify":
        from rnnkit.tasks.classify import evaluate_classifier

        return task, evaluate_classifier(directory, data)
    if task == "tag":
        from rnnkit.tasks.tag import evaluate_tagger

        return task, evaluate_tagger(directory, data)
    if task == "translate":
        from rnnkit.tasks.translator import evaluate_translator

        return task, evaluate_translator(directory, data, beam=beam)
    if task == "bilm":
        from rnnkit.tasks.bilm import evaluate_bilm

        return task, evaluate_bilm(directory, data)
    if task == "summarize":
        from rnnkit.cli.summarize import check_budget
        from rnnkit.tasks.summarize import evaluate_summarizer

        check_budget(max_sentences, max_words)
        return task, evaluate_summarizer(directory, data, max_sentences, max_words, beam)
    raise ValueError(f"{directory}: unknown task {task!r}")


def _text(task: str, m: dict[str, Any], report: bool) -> str:
    if task == "lm":
        return (
            f"perplexity {m['perplexity']:.3f}  bits per character {m['bpc']:.4f}"
            f"  ({m['tokens']} tokens, {m['characters']} characters)"
        )
    if task == "classify":
        from rnnkit.metrics import format_report

        line = (
            f"accuracy {m['accuracy']:.4f}  macro-F1 {m['macro_f1']:.4f}  ({m['examples']} texts)"
        )
        if "member_accuracy" in m:
            line += "\nensemble members alone: accuracy " + ", ".join(
                f"{a:.4f}" for a in m["member_accuracy"]
            )
        if "linear_accuracy" in m:
            line += f"\nlinear model alone: accuracy {m['linear_accuracy']:.4f}"
        return line + ("\n" + format_report(m) if report else "")
    if task == "translate":
        return (
            f"BLEU {m['bleu']:.2f}  chrF {m['chrf']:.2f}  ({m['examples']} sentences, beam "
            f"{m['beam']}; {m['repeated_phrases']} say a phrase twice in a row)\n"
            f"{m['signature_bleu']}\n{m['signature_chrf']}"
        )
    if task == "summarize":
        return _rouge_text(m)
    if task == "bilm":
        return (
            f"perplexity {m['perplexity']:.3f}  ({m['tokens']} predicted tokens, both directions)"
        )
    line = f"token accuracy {m['accuracy']:.4f}  ({m['tokens']} tokens)"
    if "f1" in m:
        line += f"  span precision {m['precision']:.4f} recall {m['recall']:.4f} F1 {m['f1']:.4f}"
    return line


def _rouge_text(m: dict[str, Any]) -> str:
    budget = m["budget"]
    size = (f"{budget['max_sentences']} sentence(s)" if budget["max_sentences"] is not None
            else f"{budget['max_words']} words")  # fmt: skip
    rows = [("model", m)] + [(k, m[k]) for k in ("lead", "oracle") if k in m]
    lines = [f"ROUGE F1 x 100 at {size}, {m['documents']} documents"]
    if "decoding" in m:
        d = m["decoding"]
        lines[0] += (f" (model: generated, beam {d['beam']}, {d['min_length']}-"
                     f"{d['max_length']} tokens, {m['mean_words']} on average)")  # fmt: skip
    lines += [f"{name:7s} R1 {r['rouge1']:6.2f}  R2 {r['rouge2']:6.2f}  RL {r['rougeL']:6.2f}"
              for name, r in rows]  # fmt: skip
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    try:
        with contextlib.ExitStack() as stack:
            directory = model_path(Path(args.model_dir), args.runtime, stack)
            task, metrics = evaluate(
                directory, args.data, args.beam, args.max_sentences, args.max_words
            )
    except RnnkitError:
        raise  # one line and exit status 1, from rnnkit.cli.main
    except (DataError, FileNotFoundError, ValueError) as exc:
        print(f"rnnkit evaluate: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps({k: metrics[k] for k in JSON_KEYS[task] if k in metrics}))
    else:
        print(_text(task, metrics, args.report))
    return 0
