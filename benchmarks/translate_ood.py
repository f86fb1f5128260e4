"""The default translator out of domain: `rnnkit train translate` for a fixed time, scored on
the in-domain test file and on messages of programs it never saw, beside copying the source.

    python benchmarks/catalogs.py --packages audacity-data,gimp-data --size 1000 \\
        --exclude DATA/translation/en-fr/{train,dev,test}.tsv --out OOD/dev.tsv OOD/test.tsv
    python benchmarks/translate_ood.py --ood-dev OOD/dev.tsv --ood-test OOD/test.tsv \\
        [--minutes 15] [--seeds 1,2,3]

For each seed the script runs what a user types, ``rnnkit train translate --data TRAIN --valid
DEV --out DIR --seed S --trainer.max_time=SECONDS`` (translation/en-fr), then scores the model
with its default decoding (``rnnkit evaluate``: beam 5 and the model's beam rules) on
translation/en-fr/test.tsv and on the out-of-domain dev and test files (GIMP's and Audacity's
French catalogs from Debian: ``benchmarks/catalogs.py``). Each file gets BLEU and chrF
(sacrebleu), how many outputs say a phrase twice in a row where their source does not
(``rnnkit.metrics.repeated_phrases``), and the BLEU of copying the source. ``--reuse``
scores the run folders of an earlier run again (keeping their training times from the result
file, or taking the trainer's own time from the run's log.csv).
Writes ``benchmarks/results/translate_ood.json``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import RESULTS, data_dir, trainer_seconds, write_result
from defaults import evaluate, rnnkit_command

from rnnkit.data.parallel import read_parallel
from rnnkit.metrics import translation_metrics


def copy_source(path: Path) -> dict:
    """Copying the source: BLEU and chrF against the references."""
    pairs = read_parallel(path)
    sources = [p.source for p in pairs]
    m = translation_metrics(sources, [p.target or "" for p in pairs])
    return {"bleu": m["bleu"], "chrf": m["chrf"], "examples": len(pairs)}


def train(out: Path, seed: int, seconds: int) -> float:
    """``rnnkit train translate`` with nothing but the data, the seed and the time limit."""
    folder = data_dir() / "translation" / "en-fr"
    start = time.monotonic()
    subprocess.run(rnnkit_command("train", "translate", "--data", str(folder / "train.tsv"),
                                  "--valid", str(folder / "dev.tsv"), "--out", str(out),
                                  "--seed", str(seed), f"--trainer.max_time={seconds}"),
                   check=True)  # fmt: skip
    return round(time.monotonic() - start, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ood-dev", required=True, help="out-of-domain pairs to choose on")
    parser.add_argument("--ood-test", required=True, help="out-of-domain pairs to report")
    parser.add_argument("--minutes", type=float, default=15.0, help="training time per seed")
    parser.add_argument("--seeds", default="1,2,3")
    parser.add_argument("--reuse", action="store_true", help="score earlier run folders")
    args = parser.parse_args()
    files = {
        "en-fr test": data_dir() / "translation" / "en-fr" / "test.tsv",
        "out-of-domain dev": Path(args.ood_dev),
        "out-of-domain test": Path(args.ood_test),
    }
    baselines = {name: copy_source(path) for name, path in files.items()}
    old = RESULTS / "translate_ood.json"
    before = {r["seed"]: r for r in json.loads(old.read_text())["runs"]} if old.exists() else {}
    runs = []
    for seed in (int(s) for s in args.seeds.split(",")):
        out = RESULTS / "runs" / f"translate_ood_{seed}"
        if args.reuse and (out / "model").is_dir():
            seconds = before.get(seed, {}).get("train_seconds") or trainer_seconds(out)
        else:
            seconds = train(out, seed, int(args.minutes * 60))
        scores = {name: evaluate(out, path) for name, path in files.items()}
        runs.append({"seed": seed, "train_seconds": seconds, "scores": scores})
    summary = {}
    for name in files:
        bleu = [r["scores"][name]["bleu"] for r in runs]
        summary[name] = {
            "bleu_mean": round(sum(bleu) / len(bleu), 2), "bleu_min": min(bleu),
            "copy_bleu": baselines[name]["bleu"],
            "min_margin_over_copy": round(min(bleu) - baselines[name]["bleu"], 2),
            "repeated_phrases_max": max(r["scores"][name]["repeated_phrases"] for r in runs),
        }  # fmt: skip
    write_result("translate_ood", {
        "settings": {"minutes": args.minutes, "seeds": args.seeds,
                     "files": {k: str(v) for k, v in files.items()}},
        "copy_source": baselines, "runs": runs, "summary": summary,
    })  # fmt: skip


if __name__ == "__main__":
    main()
