"""Summarization on BBC News with the headline as the reference summary.

    python benchmarks/summarize.py --minutes 20
    python benchmarks/summarize.py --minutes 2 --abstractive-minutes 20 --plain-minutes 2

Trains the ``rnnkit train summarize`` recipe (SummaRuNNer with its defaults: GRU, embeddings
100, hidden 200) on bbc/train.jsonl, its sentences labelled by the greedy ROUGE oracle against
the headline, selected on bbc/dev.jsonl by validation loss. On bbc/test.jsonl the model's best
sentence is scored by ROUGE-1/2/L F1 (rouge-score, Porter stemmer) beside Lead-1 (the first
sentence) and the single-sentence oracle (the sentence with the best ROUGE against the
headline: an upper bound for one-sentence extraction), all in the same run.

With ``--abstractive-minutes M`` the same run also trains ``--model.type=abstractive`` for M
minutes: a pointer-generator with coverage (copy and coverage on), and, for
``--plain-minutes`` (default M), the same encoder-decoder with attention only (copy and
coverage off); each writes its headline by beam search (beam 5, no repeated trigram). The
result then goes to ``summarize_bbc_abstractive.json`` with each system's training budget.
``--minutes 0`` leaves SummaRuNNer out.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import RESULTS, data_dir, write_result

from rnnkit.metrics.rouge import rouge_metrics
from rnnkit.tasks.defaults import resolve
from rnnkit.tasks.summarize import (
    SummarizeDataConfig,
    evaluate_summarizer,
    lead_summary,
    oracle_summary,
    read_summaries,
    train_summarizer,
)

KEYS = ("rouge1", "rouge2", "rougeL")


def train_and_score(
    name: str, data: SummarizeDataConfig, model: dict[str, Any], minutes: float,
    max_epochs: int, seed: int, test: Path,
) -> tuple[dict[str, Any], dict[str, Any]]:  # fmt: skip
    """Train one system for ``minutes``; its test ROUGE row and its training record."""
    trainer = resolve("summarize", trainer={
        "max_time": minutes * 60, "max_epochs": max_epochs, "seed": seed, "progress": False,
    }).trainer  # fmt: skip
    run_dir = RESULTS / "runs" / name
    if run_dir.exists():
        shutil.rmtree(run_dir)
    start = time.monotonic()
    result = train_summarizer(data, model, trainer, run_dir)
    seconds = time.monotonic() - start
    metrics = evaluate_summarizer(run_dir, test, max_sentences=None if "type" in model else 1)
    row = {k: metrics[k] for k in KEYS}
    row["budget_minutes"] = minutes
    if "mean_words" in metrics:
        row["mean_words"] = metrics["mean_words"]
    record = {"seconds": round(seconds, 1), "steps": result.steps, "epochs": result.epochs,
              "stopped": result.stopped, "best_valid_loss": round(result.best_valid_loss, 4),
              "model": model}  # fmt: skip
    if "decoding" in metrics:
        record["decoding"] = metrics["decoding"]
    return row, record


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=20.0, help="SummaRuNNer's budget")
    parser.add_argument("--max-epochs", type=int, default=resolve("summarize").trainer.max_epochs)
    parser.add_argument("--abstractive-minutes", type=float, default=0.0,
                        help="the pointer-generator's budget (0: not trained)")  # fmt: skip
    parser.add_argument(
        "--plain-minutes",
        type=float,
        help="attention-only encoder-decoder's budget (default: as above)",
    )
    parser.add_argument("--source-tokens", type=int, default=150,
                        help="abstractive: article tokens read")  # fmt: skip
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    folder = data_dir() / "bbc"
    test = folder / "test.jsonl"
    data = SummarizeDataConfig(data=str(folder / "train.jsonl"), valid=str(folder / "dev.jsonl"),
                               summary_key="title")  # fmt: skip
    documents = read_summaries(data, str(test))
    references = [d.summary or "" for d in documents]
    rows: dict[str, Any] = {
        "lead-1": rouge_metrics([lead_summary(d, 1, None) for d in documents], references),
        "oracle-1": rouge_metrics([oracle_summary(d, 1) for d in documents], references),
    }
    training: dict[str, Any] = {}
    if args.minutes > 0:
        rows["rnnkit summarunner"], training["rnnkit summarunner"] = train_and_score(
            "summarize_bbc", data, resolve("summarize").model, args.minutes,
            args.max_epochs, args.seed, test)  # fmt: skip
    abstractive = args.abstractive_minutes > 0
    if abstractive:
        source = SummarizeDataConfig(**{**data.to_dict(), "max_source_tokens": args.source_tokens,
                                        "min_freq": 3})  # fmt: skip
        plain = args.abstractive_minutes if args.plain_minutes is None else args.plain_minutes
        systems = (("pointer-generator + coverage", "summarize_bbc_pg", True,
                    args.abstractive_minutes),
                   ("attention seq2seq (no copy, no coverage)", "summarize_bbc_s2s", False,
                    plain))  # fmt: skip
        for label, name, copy, minutes in systems:
            if minutes <= 0:
                continue
            model = resolve("summarize", model={"type": "abstractive", "copy": copy,
                                                "coverage": copy}).model  # fmt: skip
            rows[label], training[label] = train_and_score(
                name, source, model, minutes, 1000, args.seed, test)  # fmt: skip
    for row in rows.values():
        row.pop("documents", None)
    name = "summarize_bbc_abstractive" if abstractive else "summarize_bbc"
    result: dict[str, Any] = {"test_documents": len(documents), "summary_sentences": 1,
                              "runs": rows}  # fmt: skip
    if abstractive:
        result["training"] = training
        result["source_tokens"] = args.source_tokens
    else:
        result["budget_minutes"] = args.minutes
        result["training"] = training.get("rnnkit summarunner", {})
    write_result(name, result)


if __name__ == "__main__":
    main()
