"""Extractive summarization on BBC News with the headline as the reference summary.

    python benchmarks/summarize.py --minutes 20

Trains the ``rnnkit train summarize`` recipe (SummaRuNNer with its defaults: GRU, embeddings
100, hidden 200) on bbc/train.jsonl, its sentences labelled by the greedy ROUGE oracle against
the headline, selected on bbc/dev.jsonl by validation loss. On bbc/test.jsonl the model's best
sentence is scored by ROUGE-1/2/L F1 (rouge-score, Porter stemmer) beside Lead-1 (the first
sentence) and the single-sentence oracle (the sentence with the best ROUGE against the
headline: an upper bound for one-sentence extraction), all in the same run.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import RESULTS, data_dir, write_result

from rnnkit.cli.train import SUMMARIZE_DEFAULTS
from rnnkit.tasks.summarize import SummarizeDataConfig, evaluate_summarizer, train_summarizer
from rnnkit.training import TrainerConfig


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=20.0, help="training budget")
    parser.add_argument(
        "--max-epochs", type=int, default=SUMMARIZE_DEFAULTS["trainer"]["max_epochs"]
    )
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    folder = data_dir() / "bbc"
    data = SummarizeDataConfig(data=str(folder / "train.jsonl"), valid=str(folder / "dev.jsonl"),
                               summary_key="title")  # fmt: skip
    trainer = TrainerConfig.from_dict({
        **SUMMARIZE_DEFAULTS["trainer"], "max_time": args.minutes * 60,
        "max_epochs": args.max_epochs, "seed": args.seed, "progress": False,
    })  # fmt: skip
    run_dir = RESULTS / "runs" / "summarize_bbc"
    if run_dir.exists():
        shutil.rmtree(run_dir)
    start = time.monotonic()
    result = train_summarizer(data, dict(SUMMARIZE_DEFAULTS["model"]), trainer, run_dir)
    seconds = time.monotonic() - start
    metrics = evaluate_summarizer(run_dir, folder / "test.jsonl", max_sentences=1)
    rows = {"rnnkit summarunner": {k: metrics[k] for k in ("rouge1", "rouge2", "rougeL")},
            "lead-1": metrics["lead"], "oracle-1": metrics["oracle"]}  # fmt: skip
    for row in rows.values():
        row.pop("documents", None)
    write_result("summarize_bbc", {
        "budget_minutes": args.minutes, "test_documents": metrics["documents"],
        "summary_sentences": 1, "runs": rows,
        "training": {"seconds": round(seconds, 1), "steps": result.steps,
                     "epochs": result.epochs, "stopped": result.stopped,
                     "best_valid_loss": round(result.best_valid_loss, 4),
                     "model": SUMMARIZE_DEFAULTS["model"]},
    })  # fmt: skip


if __name__ == "__main__":
    main()
