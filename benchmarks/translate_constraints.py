"""Placeholder constraints on and off: the default translator in and out of domain.

    python benchmarks/translate_ood.py --ood-dev OOD/dev.tsv --ood-test OOD/test.tsv
    python benchmarks/translate_constraints.py --ood-test OOD/test.tsv [--seeds 1]

Decodes the models ``benchmarks/translate_ood.py`` trained (``rnnkit train translate`` with its
defaults for 15 minutes; one per seed) on translation/en-fr/test.tsv and on the out-of-domain
test file twice in the same run, with the default decoding (beam 5, no trigram of tokens twice,
no phrase twice in a row and placeholder constraints: beam search finishes only hypotheses that
hold each source placeholder as often as the source and no placeholder the source lacks,
``rnnkit.tasks.placeholder_rule``) and with the constraints off (``rnnkit translate
--no-constrain``). Each gets BLEU and chrF (sacrebleu), outputs that say a phrase twice in a
row (``rnnkit.metrics.repeated_phrases``) and, over the sources that hold a placeholder (``%s``,
``{name}``, markup, numbers), the share whose placeholders all come through as often as in the
source (``placeholders_kept``) and the share whose output holds no other placeholder either
(``placeholders_exact``). Writes ``benchmarks/results/translate_constraints.json``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import RESULTS, data_dir, write_result

from rnnkit.data.parallel import read_parallel
from rnnkit.data.placeholders import find_placeholders, missing_placeholders
from rnnkit.metrics import repeated_phrases, translation_metrics
from rnnkit.tasks.translator import Translator

MODES = (("constrained", True), ("unconstrained", False))


def placeholder_figures(sources: list[str], outputs: list[str]) -> dict:
    """Over the sources holding a placeholder: how many, the share whose placeholders all come
    through as often as in the source, and the share whose output also holds no placeholder
    the source lacks (or holds more often)."""
    pairs = [(s, o) for s, o in zip(sources, outputs) if find_placeholders(s)]
    kept = [not missing_placeholders(s, o) for s, o in pairs]
    exact = [k and not missing_placeholders(o, s) for k, (s, o) in zip(kept, pairs)]
    n = max(1, len(pairs))
    return {"with_placeholders": len(pairs), "placeholders_kept": round(sum(kept) / n, 4),
            "placeholders_exact": round(sum(exact) / n, 4)}  # fmt: skip


def decode_both_ways(translator: Translator, path: Path) -> dict:
    """One file decoded with and without constraints: each mode's figures."""
    pairs = read_parallel(path)
    sources, refs = [p.source for p in pairs], [p.target or "" for p in pairs]
    figures: dict = {"examples": len(pairs)}
    for name, constrain in MODES:
        start = time.monotonic()
        outputs = [t.text for t in translator.translate(sources, beam=5, constrain=constrain)]
        m = translation_metrics(outputs, refs)
        figures[name] = {
            "bleu": m["bleu"], "chrf": m["chrf"],
            "repeated_phrases": repeated_phrases(sources, outputs),
            **placeholder_figures(sources, outputs),
            "decode_seconds": round(time.monotonic() - start, 1),
        }  # fmt: skip
        print(path.name, name, figures[name], flush=True)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ood-test", required=True, help="out-of-domain pairs")
    parser.add_argument("--seeds", default="1", help="which translate_ood runs to decode")
    args = parser.parse_args()
    files = {
        "en-fr test": data_dir() / "translation" / "en-fr" / "test.tsv",
        "out-of-domain test": Path(args.ood_test),
    }
    runs = []
    for seed in (int(s) for s in args.seeds.split(",")):
        out = RESULTS / "runs" / f"translate_ood_{seed}"
        if not (out / "model").is_dir():
            sys.exit(f"{out}: no trained model; run benchmarks/translate_ood.py first")
        translator = Translator.load(out)
        runs.append({"seed": seed, "files": {name: decode_both_ways(translator, path)
                                             for name, path in files.items()}})  # fmt: skip
    write_result("translate_constraints", {"files": {k: str(v) for k, v in files.items()},
                                           "runs": runs})  # fmt: skip


if __name__ == "__main__":
    main()
