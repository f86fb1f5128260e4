"""English-French software messages (../shared/data/translation/en-fr): rnnkit's seq2seq.

    python benchmarks/translate.py --minutes 15

Trains the ``rnnkit train translate`` recipe twice on train.tsv under the same time budget, with
attention (Luong "general", input feeding) and without (the decoder sees the source only
through the bridged encoder state), selecting each on dev.tsv by validation loss. Each is
decoded greedily and with beam search (beam 5, GNMT length penalty 1.0) on test.tsv and scored
with sacrebleu's BLEU and chrF, beside the copy-the-source baseline (the output is the English
source itself; it scores because placeholders, numbers and names are shared). Also reported:
the share of test sources whose placeholders (``%s``, ``{name}``, numbers ...) all appear in
the output as often as in the source.

Placeholders are masked, so the translator constrains beam search to emit each source
placeholder exactly once (``rnnkit.tasks.placeholder_rule``). ``--compare-constraints``
decodes the same trained model both ways in the same run (labels ``... constrained`` and
``... unconstrained``); ``--reuse`` decodes a model this script trained before (its run folder
and training figures) instead of training again; ``--name`` sets the result file's name.

    nice -n 10 python benchmarks/translate.py --minutes 10 --variants attention \
        --compare-constraints --name translate_en_fr_constrained
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import RESULTS, data_dir, write_result

from rnnkit.data.parallel import read_parallel
from rnnkit.data.placeholders import missing_placeholders
from rnnkit.metrics import translation_metrics
from rnnkit.tasks.defaults import resolve
from rnnkit.tasks.translate import train_translator
from rnnkit.tasks.translator import Translator

VARIANTS = {"attention": {}, "no_attention": {"attention": "none"}}


def placeholder_rate(sources: list[str], outputs: list[str]) -> float:
    """Share of sources whose placeholders all survive in the output."""
    kept = sum(not missing_placeholders(s, o) for s, o in zip(sources, outputs))
    return kept / len(sources)


def score(sources: list[str], refs: list[str], outputs: list[str], seconds: float) -> dict:
    m = translation_metrics(outputs, refs)
    return {
        "bleu": m["bleu"], "chrf": m["chrf"],
        "placeholders_kept": round(placeholder_rate(sources, outputs), 4),
        "decode_seconds": round(seconds, 1),
    }  # fmt: skip


def train_variant(name: str, options: dict, folder: Path, args) -> tuple[Path, dict]:
    """Train (or, with ``--reuse``, find) a variant's model: its folder and training figures."""
    out = RESULTS / "runs" / f"translate_{name}"
    if args.reuse and (out / "bench_train.json").exists():
        return out, json.loads((out / "bench_train.json").read_text())
    if out.exists():
        shutil.rmtree(out)
    cfg = resolve(
        "translate", model=options,
        trainer={"max_time": args.minutes * 60, "seed": args.seed, "log_every": 200,
                 "progress": False},
        data={"data": str(folder / "train.tsv"), "valid": str(folder / "dev.tsv")},
    )  # fmt: skip
    data, model, trainer = cfg.data, cfg.model, cfg.trainer
    cpu = time.process_time()
    result = train_translator(data, model, trainer, out)
    figures = {
        "train_seconds": round(result.elapsed, 1),
        "train_cpu_seconds": round(time.process_time() - cpu, 1), "epochs": result.epochs,
        "steps": result.steps, "stopped": result.stopped,
        "best_valid_loss": round(result.best_valid_loss or float("nan"), 4), "model": model,
    }  # fmt: skip
    (out / "bench_train.json").write_text(json.dumps(figures, indent=2))
    return out, figures


def run_variant(name: str, options: dict, folder: Path, args) -> dict:
    out, figures = train_variant(name, options, folder, args)
    test = read_parallel(folder / "test.tsv")
    sources, refs = [e.source for e in test], [e.target or "" for e in test]
    translator = Translator.load(out)
    modes = [("", None)]
    if args.compare_constraints:
        modes = [(" constrained", True), (" unconstrained", False)]
    decoded = {}
    for label, beam in (("greedy", 1), ("beam5", 5)):
        for suffix, constrain in modes:
            start = time.monotonic()
            cpu = time.process_time()
            found = translator.translate(sources, beam=beam, constrain=constrain)
            outputs = [t.text for t in found]
            key = label + suffix
            decoded[key] = score(sources, refs, outputs, time.monotonic() - start)
            decoded[key]["decode_cpu_seconds"] = round(time.process_time() - cpu, 1)
            print(name, key, decoded[key], flush=True)
    return {**decoded, **figures}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=15.0, help="training budget per model")
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--compare-constraints",
        action="store_true",
        help="decode each model with and without placeholder constraints",
    )
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="decode the models trained by an earlier run instead of training",
    )
    parser.add_argument("--name", default="translate_en_fr", help="result file name")
    args = parser.parse_args()
    folder = data_dir() / "translation" / "en-fr"
    test = read_parallel(folder / "test.tsv")
    sources, refs = [e.source for e in test], [e.target or "" for e in test]
    runs = {"copy source": score(sources, refs, sources, 0.0)}
    print(runs, flush=True)
    for name in args.variants.split(","):
        runs[f"rnnkit {name}"] = run_variant(name, VARIANTS[name], folder, args)
    write_result(
        args.name,
        {"budget_minutes_per_model": args.minutes, "test_sentences": len(test), "runs": runs},
    )


if __name__ == "__main__":
    main()
