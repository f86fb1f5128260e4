"""# Looking inside an LSTM

A character-level language model reads text one character at a time, and all it knows about
what came before is in its state: the cell state c and the hidden state h of each layer. Some
of those units turn out to track things a person would name: whether we are inside a quotation,
how far along the current line we are (Karpathy, Johnson & Fei-Fei, "Visualizing and
Understanding Recurrent Networks", 2015).

This tutorial trains rnnkit's default character-level LSTM on the bundled Shakespeare for a few
minutes, records what every unit does while the model reads text it has not trained on
(`rnnkit.inspect`), and searches for a unit that tracks quotes or the position in the line.
The unit is picked on one stretch of held-out text and checked on another, so the correlation
we report is not just the best of many tries.

Run it with `RNNKIT_TUTORIAL_QUICK=1` for a seconds-long smoke run on a tiny model; the figures
it prints then mean little.
"""

import json
import os
import time
from pathlib import Path

from rnnkit.cli.train import LM_DEFAULTS
from rnnkit.data import load_bundled
from rnnkit.inspect import FEATURES, inspect_text, rank_units, unit_stats
from rnnkit.models.io import load_model_dir
from rnnkit.tasks.lm import LMDataConfig, train_lm
from rnnkit.training import TrainerConfig

QUICK = os.environ.get("RNNKIT_TUTORIAL_QUICK") == "1"
OUT = Path(os.environ.get("RNNKIT_TUTORIAL_OUT", "runs/tutorials")) / "08_inside_an_lstm"
OUT.mkdir(parents=True, exist_ok=True)
started = time.perf_counter()

"""
## 1. Train the default character-level LM

`LM_DEFAULTS` is what `rnnkit train lm` (and `make demo`) trains: a two-layer LSTM with 512
units per layer over 128-dimensional character embeddings, Adam, windows of 100 characters.
We give it a few minutes of CPU time. The recipe holds out the last 5% of the corpus for
validation, and that is where we will look inside the model.
"""

corpus = load_bundled("shakespeare")
model_options = dict(LM_DEFAULTS["model"])
trainer_options = {**LM_DEFAULTS["trainer"], "max_time": 240.0, "progress": False}
data_options = dict(LM_DEFAULTS["data"])
if QUICK:  # a tiny model on a slice of the corpus: the pipeline, not the findings
    model_options.update(embedding_size=16, hidden_size=32, num_layers=1)
    trainer_options.update(max_time=None, max_steps=20, eval_every=20, batch_size=8)
    data_options.update(bptt=50)
    corpus = corpus[:40_000]
    (OUT / "corpus.txt").write_text(corpus, encoding="utf-8")
    data_options["data"] = str(OUT / "corpus.txt")

result = train_lm(
    LMDataConfig.from_dict(data_options),
    model_options,
    TrainerConfig.from_dict(trainer_options),
    OUT / "run",
)
model, tokenizer, _ = load_model_dir(OUT / "run")
print(f"trained {result.steps} steps in {result.elapsed:.0f} s; validation {result.last_valid}")

"""
## 2. Record the model reading held-out text

`inspect_text` runs the model once over a text and re-computes every step of every cell with
the gates written out: for each character, each layer has its input, forget and output gates
i, f, o, its candidate g, its cell state c and its hidden state h. `max_error` compares the
re-computed h with what the layer's own fast kernel returned: they agree to float precision.

We take two stretches of the held-out text (the last 5% of the corpus): one to pick units on,
one to check them on.
"""

held_out = corpus[int(len(corpus) * 0.95) :]
size = 600 if QUICK else 5000
start = held_out.index("\n") + 1  # begin on a line boundary
pick_text = held_out[start : start + size]
check_text = held_out[start + size : start + 2 * size]

recording = inspect_text(model, tokenizer, pick_text)
print("traces:", [t.name for t in recording.traces])
print("max |h re-computed - layer output|:", recording.max_error)

"""
## 3. What the gates do on average

`unit_stats` gives, per unit, the mean activation and the fraction of steps the unit is
saturated (|value| > 0.9). For gates, which lie in (0, 1), saturation means "almost fully
open". Forget gates that are mostly open are units that hold information over many steps.
"""

for gate in ("f", "i", "o"):
    for stats in unit_stats(recording, gate):
        always = float((stats.saturation > 0.5).double().mean())
        print(
            f"{stats.trace:22s} gate {gate}: mean {float(stats.mean.mean()):.2f}, "
            f"units open (> 0.9) more than half the time: {always:.0%}"
        )
h_stats = unit_stats(recording, "h")
for stats in h_stats:
    print(f"{stats.trace:22s} h: mean saturation {float(stats.saturation.mean()):.1%}")

"""
## 4. Search for a unit that tracks a text feature

`unit_stats` also correlates each unit with three features of the text: whether the character
is inside double quotes, inside parentheses, and its position in the line (characters since
the last newline). Shakespeare's plays have few quotes and almost no parentheses, so the
position in the line, which the model needs to know when a verse line should end, is the
feature to expect. Following Karpathy et al. we look at the cell state c.
"""

c_stats = unit_stats(recording, "c")
for feature in FEATURES:
    ranked = rank_units(c_stats, feature, top=3)
    if not ranked:
        print(f"{feature}: constant in this text, no correlation to measure")
        continue
    listed = ", ".join(f"{r['trace']} unit {r['unit']} r={r['r']:+.2f}" for r in ranked)
    print(f"{feature}: {listed}")

best = rank_units(c_stats, top=1)[0]
print(
    f"\nbest: {best['trace']} unit {best['unit']} tracks {best['feature']} "
    f"(r = {best['r']:+.3f} on the text it was picked on)"
)

"""
## 5. Check the unit on text it was not picked on

The largest of a thousand correlations is flattered by chance. The same unit, read on the
next stretch of held-out text, gives the figure to trust.
"""

check = inspect_text(model, tokenizer, check_text)
check_stats = {s.trace: s for s in unit_stats(check, "c")}
confirmed = check_stats[best["trace"]].correlation.get(best["feature"])
r_check = float(confirmed[best["unit"]]) if confirmed is not None else float("nan")
print(f"same unit on the second text: r = {r_check:+.3f}")

"""
## 6. See it

One character per column and below it the unit's cell state, from low (` `) to high (`@`).
A unit that tracks the position in the line ramps along each line and resets at the newline.
"""

trace = check.trace(best["trace"])
values = trace.signals["c"][0, :, best["unit"]]
low, high = float(values.min()), float(values.max())
shades = " .:-=+*#%@"
lines, row_chars, row_shades = [], "", ""
for ch, v in zip(check_text, values.tolist()):
    level = int((v - low) / (high - low + 1e-12) * (len(shades) - 1))
    if ch == "\n":
        lines += [row_chars, row_shades, ""]
        row_chars, row_shades = "", ""
        if len(lines) >= 24:
            break
        continue
    row_chars += ch
    row_shades += shades[level]
print("\n".join(lines))

findings = {
    "quick": QUICK,
    "model": model_options,
    "train_steps": result.steps,
    "train_seconds": round(result.elapsed, 1),
    "validation": result.last_valid,
    "unit": best["unit"],
    "trace": best["trace"],
    "signal": "c",
    "feature": best["feature"],
    "r_picked": round(best["r"], 4),
    "r_checked": round(r_check, 4),
    "max_error": recording.max_error,
    "seconds": round(time.perf_counter() - started, 1),
}
(OUT / "findings.json").write_text(json.dumps(findings, indent=2) + "\n")
print(json.dumps(findings, indent=2))
