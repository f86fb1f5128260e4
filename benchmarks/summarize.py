"""Summarization on BBC News with the headline as the reference summary.

    python benchmarks/summarize.py --minutes 20
    python benchmarks/summarize.py --minutes 20 --abstractive-minutes 30 [--seeds 1,2,3]

Trains the ``rnnkit train summarize`` recipe's extractive model (``--model.type=extractive``:
SummaRuNNer with its defaults: GRU, embeddings 100, hidden 200) on bbc/train.jsonl, its
sentences labelled by the greedy ROUGE oracle against the headline, the epoch kept chosen by
ROUGE-1 of its bbc/dev.jsonl summaries (the task's default ``trainer.monitor``). On
bbc/test.jsonl the model's best sentence is scored by ROUGE-1/2/L F1 (rouge-score, Porter
stemmer) beside Lead-1 (the first sentence) and the single-sentence oracle (the sentence with
the best ROUGE against the headline: an upper bound for one-sentence extraction), all in the
same run. The result also
says how much SummaRuNNer's choice owes to position (``position_evidence``).

With ``--abstractive-minutes M`` the same run also trains ``--model.type=abstractive`` with the
task's defaults (at most M minutes each): the pointer-generator with coverage (the default; once
per seed of ``--seeds``), and, for the first seed (every seed with ``--all-seeds``), the same
without coverage and the encoder-decoder with attention only (copy and coverage off). Each
writes its headline with its default decoding (beam 5, no repeated trigram, no word or phrase
twice in a row). The result then goes to ``summarize_bbc_abstractive.json`` with the
generating systems' mean over their seeds, their lowest ROUGE-1 and each run's training.
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

from rnnkit.metrics.rouge import greedy_oracle, rouge_metrics
from rnnkit.tasks.defaults import resolve
from rnnkit.tasks.summarize import (
    SummarizeDataConfig,
    evaluate_summarizer,
    lead_summary,
    load_summarizer,
    oracle_summary,
    read_summaries,
    train_summarizer,
)

KEYS = ("rouge1", "rouge2", "rougeL")
# the generating systems: label, run folder, copy, coverage
SYSTEMS = (
    ("pointer-generator + coverage", "summarize_bbc_pg", True, True),
    ("pointer-generator, no coverage", "summarize_bbc_copy", True, False),
    ("attention seq2seq (no copy, no coverage)", "summarize_bbc_s2s", False, False),
)


def seed_summary(rows: list[dict[str, Any]], seeds: list[int]) -> dict[str, Any]:
    """Each metric's mean over the seeds, its lowest, and the rows per seed."""
    out: dict[str, Any] = {k: round(sum(r[k] for r in rows) / len(rows), 2) for k in KEYS}
    out["rouge1_min"] = min(r["rouge1"] for r in rows)
    out["budget_minutes"] = rows[0]["budget_minutes"]
    out["mean_words"] = round(sum(r.get("mean_words", 0) for r in rows) / len(rows), 2)
    out["per_seed"] = [{"seed": s, **{k: r[k] for k in KEYS}} for s, r in zip(seeds, rows)]
    return out


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
              "stopped": result.stopped, "model": model,
              "best_valid": {k: round(v, 4) for k, v in (result.best_valid or {}).items()
                             if k in ("loss", *KEYS)}}  # fmt: skip
    if "decoding" in metrics:
        record["decoding"] = metrics["decoding"]
    return row, record


def position_evidence(run_dir: Path, test: Path) -> dict[str, Any]:
    """How much SummaRuNNer's choice owes to position, on the test documents: how often it
    picks the first sentence and how often the oracle sentence (the one best against the
    headline) is the first; its mean probability for the first sentence, for the oracle
    sentence when that is not the first, and for the other sentences; and, where the oracle
    is not the first sentence, how often the model ranks it above every other non-first
    sentence, beside picking the second sentence and a uniform random pick of those."""
    summarizer = load_summarizer(run_dir)
    documents = read_summaries(summarizer.encoder.cfg, str(test))
    batches = summarizer.encoder.batches(documents, 16, False, labelled=False)
    probs = []
    for batch in batches:
        rows = summarizer.model.predict(batch)
        probs += [row[:n].tolist() for row, n in zip(rows, batch["lengths"].tolist())]
    first, oracle_first, p_first, p_oracle, p_other = 0, 0, [], [], []
    later = {"model": 0, "second sentence": 0, "random": 0.0}
    for document, p in zip(documents, probs):
        oracle = (greedy_oracle(document.sentences[: len(p)], document.summary or "", 1)
                  or [0])[0]  # fmt: skip
        first += max(range(len(p)), key=lambda i: (p[i], -i)) == 0
        oracle_first += oracle == 0
        p_first.append(p[0])
        if oracle == 0 or len(p) < 2:
            p_other.extend(p[1:])
            continue
        p_oracle.append(p[oracle])
        p_other.extend(x for i, x in enumerate(p[1:], 1) if i != oracle)
        later["model"] += max(range(1, len(p)), key=lambda i: (p[i], -i)) == oracle
        later["second sentence"] += oracle == 1
        later["random"] += 1 / (len(p) - 1)
    n, m = len(documents), max(1, len(p_oracle))

    def mean(xs: list[float]) -> float:
        return round(sum(xs) / max(1, len(xs)), 4)

    return {"documents": n, "model_picks_first": round(first / n, 4),
            "oracle_is_first": round(oracle_first / n, 4),
            "p_first": mean(p_first), "p_oracle_not_first": mean(p_oracle),
            "p_other": mean(p_other), "oracle_not_first": len(p_oracle),
            "oracle_found_among_later": {k: round(v / m, 4) for k, v in later.items()}}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=20.0, help="SummaRuNNer's budget")
    parser.add_argument("--max-epochs", type=int, default=resolve("summarize").trainer.max_epochs)
    parser.add_argument("--abstractive-minutes", type=float, default=0.0,
                        help="the pointer-generator's budget (0: not trained)")  # fmt: skip
    parser.add_argument("--seed", type=int, default=1, help="SummaRuNNer's seed")
    parser.add_argument("--seeds", default="1,2,3", help="the pointer-generator's seeds")
    parser.add_argument("--all-seeds", action="store_true",
                        help="the ablations too (default: their first seed only)")  # fmt: skip
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
            "summarize_bbc", data, resolve("summarize", model={"type": "extractive"}).model,
            args.minutes,
            args.max_epochs, args.seed, test)  # fmt: skip
        evidence = position_evidence(RESULTS / "runs" / "summarize_bbc", test)
    abstractive = args.abstractive_minutes > 0
    if abstractive:
        for label, name, copy, coverage in SYSTEMS:
            # the default gets every seed; the ablations the first, or every one with --all
            seeds = [int(x) for x in args.seeds.split(",")]
            seeds = seeds if (copy and coverage) or args.all_seeds else seeds[:1]
            model = resolve("summarize", model={"type": "abstractive", "copy": copy,
                                                "coverage": coverage}).model  # fmt: skip
            per_seed = [train_and_score(f"{name}_{seed}", data, model, args.abstractive_minutes,
                                        args.max_epochs, seed, test) for seed in seeds]  # fmt: skip
            rows[label] = seed_summary([row for row, _ in per_seed], seeds)
            training[label] = [record for _, record in per_seed]
    for row in rows.values():
        row.pop("documents", None)
    name = "summarize_bbc_abstractive" if abstractive else "summarize_bbc"
    result: dict[str, Any] = {"test_documents": len(documents), "summary_sentences": 1,
                              "runs": rows}  # fmt: skip
    if args.minutes > 0:
        result["position_evidence"] = evidence
    if abstractive:
        result["training"] = training
        result["source_tokens"] = data.max_source_tokens
        result["seeds"] = args.seeds
    else:
        result["budget_minutes"] = args.minutes
        result["training"] = training.get("rnnkit summarunner", {})
    write_result(name, result)


if __name__ == "__main__":
    main()
