"""What each task's command-line default gives a user with no options, beside a simple baseline.

    python benchmarks/defaults.py --task classify            # sentiment and BBC, seeds 1 2 3
    python benchmarks/defaults.py --task tag --seeds 1
    python benchmarks/defaults.py --task summarize           # BBC, headline as the summary
    python benchmarks/defaults.py --task classify --unlabelled   # + the other data set's text
    python benchmarks/defaults.py --task lm --resume         # go on with a stopped run

For every data set of the task and every seed, the script runs exactly what a user types,
``rnnkit train TASK --data TRAIN --valid DEV --out DIR --seed S`` (nothing else but where the
data's fields are, ``--summary-key title`` for BBC's headlines, so the task's defaults decide
the model, its size and how long it trains), then ``rnnkit evaluate DIR --data
TEST --json`` (and on the dev file, where the default was chosen). The baseline is trained on
the same training file and scored on the same test (and dev) file:

    lm         a plain torch.nn.LSTM loop of the default's sizes, optimiser, batch and window,
               trained as many epochs as the default (seed 1), bits per character (lower wins)
    classify   TF-IDF (word 1-2 grams) + logistic regression (scikit-learn), accuracy
    tag        python-crfsuite on hand-made word features, token accuracy
    translate  copying the source sentence, BLEU (sacrebleu)
    summarize  the first sentence (Lead-1), ROUGE-1

Where the figure is a share of test items right (a text's label, a token's tag), each seed also
gets McNemar's exact test against the baseline on the same items (``paired.py``: how many items
only the default gets right, how many only the baseline, and the p-value): a small p says the
test file tells the two apart, a large one that the gap is within chance.

Each seed's figure, the mean, minimum and maximum go to ``benchmarks/results/defaults_TASK.json``
with the training time of each run; the file is written after every run (``"complete"`` says
whether every seed asked for has run), so a long run that is stopped keeps the seeds it
finished. With ``--unlabelled`` (classification) each data set's default also gets the other
data set's training texts as ``--data.unlabelled`` (BBC articles for the sentiment sentences and
the other way round), written to ``defaults_classify_unlabelled.json``. ``--rescore`` scores the
run folders of the last run again without training (its training times are kept; without a
record of them, the trainer's own time from the run's log.csv).

``--resume`` goes on with a run that was stopped part-way, however long ago: a seed whose folder
says it finished training (``benchmark_run.json``, written when its training ends) is scored
again with its recorded time, a seed whose folder holds a checkpoint continues from it (``rnnkit
train ... --resume``; its time is then the trainer's own from ``log.csv``, which adds up every
part of the run), and the rest train from the start. To stop a run so that it can go on,
interrupt the ``rnnkit train`` process (SIGINT: it writes a checkpoint first) or kill it (it
then goes on from its last checkpoint). ``--resume`` and ``--rescore`` reuse a baseline trained
before on the same files (``runs/defaults_TASK_DATA_baseline.json``), so the character LM's
plain loop of about two hours runs once; stopped part-way, it goes on from its last whole
epoch.

The tagging baseline needs python-crfsuite (the ``bench`` extra). ``benchmarks/report.py`` turns
the results into the docs' table.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import RESULTS, data_dir, trainer_seconds, write_result
from paired import mcnemar


@dataclass
class Dataset:
    """One data set of a task: its files (relative to the data folder) and its baseline."""

    name: str
    train: str
    valid: str
    test: str
    metric: str
    baseline_name: str
    #: trained on the first file, scored on the second: a figure, or whether it is right on each
    #: item of the second file (the figure is then the share right, and the seeds get a paired test)
    baseline: Callable[[Path, Path], float | list[bool]]
    unlabelled: str | None = None
    layout: tuple[str, ...] = ()  # options that say where the data's fields are, not how to train
    lower_wins: bool = False  # bits per character: lower is better


#: the plain LSTM's figures by training file: trained once, scored on the test and dev files
_PLAIN_LSTM: dict[Path, dict] = {}


def plain_lstm(train: Path, test: Path) -> float:
    """Bits per character of ``lm_shakespeare.TorchCharLSTM`` trained by a plain loop for the
    LM default's number of epochs, on ``test`` (the split's test or valid file)."""
    if train not in _PLAIN_LSTM:
        import torch
        from lm_shakespeare import train_torch_baseline

        from rnnkit.data import CharTokenizer, read_text
        from rnnkit.tasks.defaults import resolve

        text = read_text(train)
        tok = CharTokenizer.train(text)
        ids = {n: torch.tensor(tok.encode(read_text(train.with_name(f"{n}.txt"))))
               for n in ("test", "valid")}  # fmt: skip
        epochs = resolve("lm").trainer.max_epochs
        result = train_torch_baseline(torch.tensor(tok.encode(text)), ids["test"],
                                      tok.vocab_size, None, 1, epochs, ids["valid"],
                                      plain_checkpoint())  # fmt: skip
        print("plain torch.nn.LSTM", result, flush=True)
        _PLAIN_LSTM[train] = result
    return float(_PLAIN_LSTM[train]["bpc" if test.stem == "test" else "valid_bpc"])


def plain_checkpoint() -> Path:
    """Where the plain loop's state is kept after each epoch, for ``--resume``."""
    return RESULTS / "runs" / "defaults_lm_plain_lstm.pt"


def shakespeare_split(folder: Path) -> Path:
    """The character LM's files, the Shakespeare text split as ``lm_shakespeare.py`` splits it
    (90 / 5 / 5 %, on line boundaries), written once beside the run folders."""
    from lm_shakespeare import split

    out = RESULTS / "runs" / "defaults_lm_data"
    if not (out / "test.txt").exists():
        out.mkdir(parents=True, exist_ok=True)
        text = (folder / "shakespeare" / "shakespeare.txt").read_text(encoding="utf-8")
        for name, part in zip(("train", "valid", "test"), split(text)):
            (out / f"{name}.txt").write_text(part, encoding="utf-8")
    return out


def tfidf(train: Path, test: Path) -> list[bool]:
    from classify import tfidf_predictions

    from rnnkit.data.labelled import read_classification

    gold = [e.label for e in read_classification(test)]
    return [p == g for p, g in zip(tfidf_predictions(train, test), gold, strict=True)]


def crfsuite(train: Path, test: Path) -> list[bool]:
    from tag_pos import crfsuite_predictions

    from rnnkit.data.conll import read_conll

    tags, _ = crfsuite_predictions(train, test)
    return [p == g for pred, s in zip(tags, read_conll(test), strict=True)
            for p, g in zip(pred, s.tags, strict=True)]  # fmt: skip


def copy_source(train: Path, test: Path) -> float:
    from translate import score

    from rnnkit.data.parallel import read_parallel

    pairs = read_parallel(test)
    sources = [p.source for p in pairs]
    return score(sources, [p.target for p in pairs], sources, 0.0)["bleu"]


TASKS: dict[str, list[Dataset]] = {
    "lm": [
        Dataset("shakespeare", "train.txt", "valid.txt", "test.txt", "bpc",
                "torch.nn.LSTM, plain loop", plain_lstm, lower_wins=True),
    ],
    "classify": [
        Dataset("sentiment", "sentiment/train.tsv", "sentiment/dev.tsv", "sentiment/test.tsv",
                "accuracy", "TF-IDF + logistic regression", tfidf, "bbc/train.jsonl"),
        Dataset("bbc", "bbc/train.jsonl", "bbc/dev.jsonl", "bbc/test.jsonl", "accuracy",
                "TF-IDF + logistic regression", tfidf, "sentiment/train.tsv"),
    ],
    "tag": [
        Dataset("pos", "pos/train.conll", "pos/dev.conll", "pos/test.conll", "accuracy",
                "python-crfsuite", crfsuite),
    ],
    "translate": [
        Dataset("en-fr", "translation/en-fr/train.tsv", "translation/en-fr/dev.tsv",
                "translation/en-fr/test.tsv", "bleu", "copy the source", copy_source),
    ],
    "summarize": [
        Dataset("bbc", "bbc/train.jsonl", "bbc/dev.jsonl", "bbc/test.jsonl", "rouge1",
                "Lead-1", lambda train, test: float("nan"),  # from evaluate's "lead"
                layout=("--summary-key", "title")),
    ],
}  # fmt: skip


def rnnkit_command(*args: str) -> list[str]:
    """``rnnkit ARGS`` with this interpreter (the repository's package first on the path)."""
    return [sys.executable, "-m", "rnnkit.cli.main", *args]


def run_dir(task: str, ds: Dataset, seed: int, unlabelled: bool) -> Path:
    return RESULTS / "runs" / f"defaults_{task}_{ds.name}_{seed}{'_unlabelled' * unlabelled}"


def evaluate(out: Path, path: Path) -> dict:
    """``rnnkit evaluate OUT --data PATH --json``, parsed."""
    command = rnnkit_command("evaluate", str(out), "--data", str(path), "--json")
    line = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return json.loads(line.strip().splitlines()[-1])


def default_items(task: str, out: Path, test: Path, figure: float) -> list[bool] | None:
    """Whether the default trained in ``out`` is right on each item of ``test`` (classify: each
    text's label; tag: each token's tag), from ``rnnkit predict``; None for the other tasks.
    Checked against ``figure``, the accuracy ``rnnkit evaluate`` gave on the same file."""
    if task not in ("classify", "tag"):
        return None
    command = rnnkit_command("predict", str(out), "--data", str(test))
    lines = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    if task == "classify":
        from rnnkit.data.labelled import read_classification

        gold = [e.label for e in read_classification(test)]
        items = [p == g for p, g in zip(lines.splitlines(), gold, strict=True)]
    else:  # each row: the input's token and gold tag, then the predicted tag
        rows = [line.split("\t") for line in lines.splitlines() if line.strip()]
        items = [row[-1] == row[-2] for row in rows]
    if abs(sum(items) / len(items) - figure) > 1e-9:
        sys.exit(f"{out}: rnnkit predict is right on {sum(items)} of {len(items)} items of "
                 f"{test}, but rnnkit evaluate gave accuracy {figure}")  # fmt: skip
    return items


def document_wins(out: Path, test: Path, figure: float) -> tuple[list[bool], list[bool]]:
    """Per test document: whether the summarizer trained in ``out`` scores a higher ROUGE-1
    against the reference than Lead-1 does, and whether Lead-1 scores higher (a tie: neither).
    The summaries come from ``rnnkit summarize``; their mean is checked against ``figure``,
    the ROUGE-1 ``rnnkit evaluate`` gave on the same file."""
    from rnnkit.metrics.rouge import rouge_metrics
    from rnnkit.tasks.summarize import lead_summary, load_summarizer, read_summaries

    cfg = load_summarizer(out).encoder.cfg
    documents = read_summaries(cfg, str(test), require_summary=True)
    command = rnnkit_command("summarize", str(out), "--input", str(test))
    lines = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    summaries = [json.loads(line)["summary"] for line in lines.splitlines()]
    model, lead = [], []
    for summary, d in zip(summaries, documents, strict=True):
        reference = [d.summary or ""]
        model.append(rouge_metrics([summary], reference)["rouge1"])
        lead.append(rouge_metrics([lead_summary(d, 1, None)], reference)["rouge1"])
    mean = sum(model) / len(model)
    if abs(mean - figure) > 0.02:  # each document's figure is rounded to 2 decimals
        sys.exit(f"{out}: rnnkit summarize's summaries of {test} score ROUGE-1 {mean:.2f}, "
                 f"but rnnkit evaluate gave {figure}")  # fmt: skip
    return [m > x for m, x in zip(model, lead)], [x > m for m, x in zip(model, lead)]


def baseline(
    task: str, ds: Dataset, folder: Path, reuse: bool
) -> tuple[float | list[bool], float | list[bool]]:  # fmt: skip
    """The baseline trained on ``ds``'s training file, scored on its test and dev files. Kept in
    ``runs/defaults_TASK_DATA_baseline.json`` (per-item results as a string of 0 and 1), which
    ``reuse`` reads instead of training again if it was trained on the same files."""
    path = RESULTS / "runs" / f"defaults_{task}_{ds.name}_baseline.json"
    files = [str(folder / f) for f in (ds.train, ds.test, ds.valid)]
    kept = json.loads(path.read_text()) if reuse and path.is_file() else {}
    if kept.get("files") == files:
        return _unpack(kept["test"]), _unpack(kept["dev"])
    if task == "lm" and not reuse:  # the plain loop starts afresh, not from a stopped one
        plain_checkpoint().unlink(missing_ok=True)
    on_test = ds.baseline(folder / ds.train, folder / ds.test)
    on_dev = ds.baseline(folder / ds.train, folder / ds.valid)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"name": ds.baseline_name, "files": files, "test": _pack(on_test),
                                "dev": _pack(on_dev)}) + "\n")  # fmt: skip
    return on_test, on_dev


def _pack(result: float | list[bool]) -> float | str:
    return "".join("1" if x else "0" for x in result) if isinstance(result, list) else result


def _unpack(kept: float | str) -> float | list[bool]:
    return [c == "1" for c in kept] if isinstance(kept, str) else kept


def share(result: float | list[bool]) -> float:
    """A baseline's figure: itself, or the share of items it got right."""
    return sum(result) / len(result) if isinstance(result, list) else result


def run_default(
    task: str, ds: Dataset, folder: Path, seed: int, unlabelled: bool, resume: bool = False
) -> dict:  # fmt: skip
    """Train the task's default on ``ds`` with ``seed``; its test figures and training time.
    ``resume``: continue the run in the folder from its checkpoint if it holds one."""
    out = run_dir(task, ds, seed, unlabelled)
    train = ["train", task, "--data", str(folder / ds.train), "--valid", str(folder / ds.valid),
             *ds.layout]  # fmt: skip
    if unlabelled:
        train.append(f"--data.unlabelled={folder / ds.unlabelled}")
    command = rnnkit_command(*train, "--out", str(out), "--seed", str(seed))
    if resume and holds_checkpoint(out):
        subprocess.run([*command, "--resume"], check=True)
        seconds = {"train_seconds": trainer_seconds(out), "train_seconds_from": "log.csv"}
    else:
        shutil.rmtree(out, ignore_errors=True)
        start = time.monotonic()
        subprocess.run(command, check=True)
        seconds = {"train_seconds": round(time.monotonic() - start, 1)}
    (out / FINISHED).write_text(json.dumps(seconds) + "\n")
    return {"seed": seed, **seconds, **evaluate(out, folder / ds.test), **selection(out)}


#: written into a run folder once its training has finished: how long it took
FINISHED = "benchmark_run.json"


def holds_checkpoint(out: Path) -> bool:
    """Whether a run folder (or one of an auto summarizer's candidates) holds a checkpoint."""
    return out.is_dir() and any(out.rglob("trainer.json"))


def selection(out: Path) -> dict:
    """What a summarizer trained with ``model.type=auto`` kept and why (``selection.json``:
    each candidate's validation figure), or nothing for any other run."""
    path = out / "selection.json"
    return {"selection": json.loads(path.read_text())} if path.is_file() else {}


def rescore(task: str, ds: Dataset, folder: Path, seed: int, unlabelled: bool, old: dict) -> dict:
    """Score a run folder this script trained before; its training time from the folder's own
    record, else from ``old`` (the last result file), else from the trainer's log."""
    out = run_dir(task, ds, seed, unlabelled)
    if not (out / "model").is_dir():
        sys.exit(f"--rescore: {out} holds no trained model; run without --rescore first")
    kept = old.get(ds.name, {})
    kept = kept.get("rnnkit_default", kept)  # a file written mid-run may hold only "runs"
    before = {r["seed"]: r for r in kept.get("runs", [])}
    if (out / FINISHED).is_file():
        seconds = json.loads((out / FINISHED).read_text())
    elif seed in before:
        seconds = {"train_seconds": before[seed]["train_seconds"]}
    else:  # no result file (the run stopped after training): the trainer's own clock
        seconds = {"train_seconds": trainer_seconds(out), "train_seconds_from": "log.csv"}
    return {"seed": seed, **seconds, **evaluate(out, folder / ds.test), **selection(out)}


def entry(
    ds: Dataset, runs: list[dict], dev: list[dict], baselines: tuple[float, float],
    unlabelled: bool,
) -> dict:  # fmt: skip
    """A data set's record: each run, mean and minimum, the baseline on test and dev."""
    scores = [r[ds.metric] for r in runs]
    return {
        "metric": ds.metric,
        "lower_wins": ds.lower_wins,
        "unlabelled": ds.unlabelled if unlabelled else None,
        "rnnkit_default": {"runs": runs, **summary(scores)},
        "baseline": {"name": ds.baseline_name, ds.metric: round(baselines[0], 4)},
        "ahead_on_every_seed": (max(scores) < baselines[0])
        if ds.lower_wins
        else (min(scores) > baselines[0]),
        "dev": {
            "rnnkit_default": summary([d[ds.metric] for d in dev]),
            "baseline": round(baselines[1], 4),
        },
    }


def summary(values: list[float]) -> dict:
    return {"mean": round(sum(values) / len(values), 4), "min": round(min(values), 4),
            "max": round(max(values), 4)}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", choices=sorted(TASKS), required=True)
    parser.add_argument("--seeds", default="1,2,3")
    parser.add_argument("--datasets", help="comma-separated names (default: all of the task's)")
    parser.add_argument(
        "--unlabelled",
        action="store_true",
        help="give each data set the other's training texts as unlabelled text",
    )
    again = parser.add_mutually_exclusive_group()
    again.add_argument(
        "--rescore",
        action="store_true",
        help="score the run folders of the last run again (no training; keeps its times)",
    )
    again.add_argument(
        "--resume",
        action="store_true",
        help="go on with a stopped run: score finished seeds, continue checkpointed ones",
    )
    args = parser.parse_args()
    if args.unlabelled and args.task != "classify":
        parser.error("--unlabelled is for --task classify")
    folder = shakespeare_split(data_dir()) if args.task == "lm" else data_dir()
    seeds = [int(s) for s in args.seeds.split(",")]
    chosen = args.datasets.split(",") if args.datasets else [d.name for d in TASKS[args.task]]
    name = f"defaults_{args.task}{'_unlabelled' * args.unlabelled}"
    path = RESULTS / f"{name}.json"
    old = json.loads(path.read_text()) if args.rescore and path.exists() else {}
    results: dict[str, dict] = {}
    for ds in (d for d in TASKS[args.task] if d.name in chosen):
        baselines = None
        base_items = None
        if args.task != "summarize":  # first, so a missing library stops before training
            on_test, on_dev = baseline(args.task, ds, folder, reuse=args.resume or args.rescore)
            base_items = on_test if isinstance(on_test, list) else None
            baselines = (share(on_test), share(on_dev))
        runs: list[dict] = []
        dev: list[dict] = []
        for s in seeds:
            finished = (run_dir(args.task, ds, s, args.unlabelled) / FINISHED).is_file()
            if args.rescore or (args.resume and finished):
                runs.append(rescore(args.task, ds, folder, s, args.unlabelled, old))
            else:
                runs.append(run_default(args.task, ds, folder, s, args.unlabelled, args.resume))
            dev.append(evaluate(run_dir(args.task, ds, s, args.unlabelled), folder / ds.valid))
            runs[-1]["dev_" + ds.metric] = dev[-1][ds.metric]
            out = run_dir(args.task, ds, s, args.unlabelled)
            items = default_items(args.task, out, folder / ds.test, runs[-1][ds.metric])
            if args.task == "summarize":  # a sign test: documents Lead-1 or the default wins
                items, base_items = document_wins(out, folder / ds.test, runs[-1][ds.metric])
            if items is not None and base_items is not None:
                test = mcnemar(items, base_items)
                runs[-1]["paired"] = {"only_default": test["only_first"], "p": test["p"],
                                      "only_baseline": test["only_second"]}  # fmt: skip
            if baselines is None:  # summarize: Lead-1, from evaluate's own figures
                baselines = (runs[0]["lead"]["rouge1"], dev[0]["lead"]["rouge1"])
            results[ds.name] = entry(ds, runs, dev, baselines, args.unlabelled)
            results[ds.name]["complete"] = len(runs) == len(seeds)
            write_result(name, {"task": args.task, "seeds": seeds, **results})
        print(ds.name, json.dumps(results[ds.name]), flush=True)


if __name__ == "__main__":
    main()
