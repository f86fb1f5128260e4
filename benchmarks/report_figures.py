"""The figures the benchmarks page's prose quotes, computed from the result files.

A section's fixed text (``report_text.py``) names a figure as ``[[key]]``; ``fill`` puts in the
value ``figures()`` computes for that key from ``benchmarks/results/*.json``, so the prose cannot
drift from the tables below it. A key whose result file is absent is not computed, and text that
names it is refused by name.
"""

from __future__ import annotations

import json
import re
import textwrap
from collections.abc import Callable, Iterable

from common import RESULTS
from report import speed_shortfalls

#: the layers whose cells ``torch.nn`` lacks (the baseline runs its simpler, fused cell)
OWN_CELLS = ("lstm_peephole", "lstm_layer_norm", "gru_reset_before")
MODES = {"train": "training", "infer": "inference"}
#: what one test item of each classification data set is
ITEMS = {"sentiment": "sentences", "bbc": "articles"}
WORDS = {1: "one", 2: "two", 3: "three"}
PLACEHOLDER = re.compile(r"\[\[([a-z0-9_]+)\]\]")
WIDTH = 96


def _load(name: str) -> dict | None:
    path = RESULTS / f"{name}.json"
    return json.loads(path.read_text()) if path.is_file() else None


def _span(values: Iterable[float], digits: int = 2) -> str:
    """``low-high`` of the values, rounded; one value alone when they round alike."""
    v = list(values)
    low, high = f"{min(v):.{digits}f}", f"{max(v):.{digits}f}"
    return low if low == high else f"{low}-{high}"


def _pct(share: float) -> str:
    return f"{share:.0%}"


def _pct_span(shares: Iterable[float]) -> str:
    """``low-high%`` of shares in [0, 1]."""
    v = [round(s * 100) for s in shares]
    return f"{min(v)}%" if min(v) == max(v) else f"{min(v)}-{max(v)}%"


def _all_of(part: int, whole: int) -> str:
    return f"all {whole}" if part == whole else f"{part} of {whole}"


def _above_one(rows: list[dict]) -> str:
    return _all_of(sum(x["paired_ratio"] > 1 for x in rows), len(rows))


def _ratios(rows: list[dict], key: str = "paired_ratio") -> list[float]:
    return [x[key] for x in rows]


def _pick(rows: list[dict], **match: object) -> list[dict]:
    """Rows whose fields equal ``match``; a tuple value matches any of its members."""

    def fits(x: dict, k: str, v: object) -> bool:
        return x[k] in v if isinstance(v, tuple) else x[k] == v

    return [x for x in rows if all(fits(x, k, v) for k, v in match.items())]


def _only(found: list[dict], what: object) -> dict:
    """The one row of ``found``; the prose describes one, so another count is an error."""
    if len(found) != 1:
        raise ValueError(f"report_figures: {len(found)} rows match {what}, the text expects one")
    return found[0]


def _one(rows: list[dict], **match: object) -> dict:
    return _only(_pick(rows, **match), match)


def _op_share(side: dict, name: str) -> float:
    return next(o["share"] for o in side["operators"] if o["name"] == name)


def _op_calls(side: dict, name: str) -> str:
    return f"{next(o['calls_per_call'] for o in side['operators'] if o['name'] == name):g}"


def cuda_figures(r: dict) -> dict[str, str]:
    """``speed_cuda.json``: the quick grid on a GPU."""
    rows = r["rows"]
    steps = [v["speedup"] for k, v in r.items() if k.startswith("step_batch1")]
    return {
        "cuda_device": r["machine"]["cuda"],
        "cuda_torch": r["machine"]["torch"],
        "cuda_fused": _span(_ratios(_pick(rows, layer=("lstm", "gru")))),
        "cuda_step": _span(steps),
        "cuda_own_cells": _span(_ratios(_pick(rows, layer=OWN_CELLS))),
        "cuda_min": _span(_ratios(_pick(rows, layer=("mingru", "minlstm"))), 1),
    }


def grid_figures(r: dict) -> dict[str, str]:
    """``speed_full.json``: counts and ranges of the rows below the faster peer."""
    rows = r["rows"]
    short = speed_shortfalls(r)
    below = {id(x) for x in short}
    lstm_short = _pick(short, layer="lstm")
    keras_row = _only(
        [x for x in lstm_short if x.get("paired_ratio_vs_keras", 1.0) < 1.0],
        "LSTM rows behind Keras",
    )
    gru_wide = _pick(short, layer="gru", mode="infer", hidden=256, batch=(32, 64), steps=1024)
    gru_wide.sort(key=lambda x: x["batch"])
    wide_keras = " / ".join(f"{x['paired_ratio_vs_keras']:.2f}" for x in gru_wide)
    own_wide = _pick(rows, layer=OWN_CELLS, batch=(32, 64))
    ln_t1024 = _pick(rows, layer="lstm_layer_norm", mode="train", steps=1024, batch=(32, 64))
    peep_t1024 = _pick(rows, layer="lstm_peephole", mode="train", steps=1024, batch=(32, 64))
    at_peer = [x for x in rows if id(x) not in below]
    rest = _pick(rows, layer=("mingru", "minlstm")) + _pick(rows, layer="gru", mode="train")
    return {
        "lstm_below": str(len(lstm_short)),
        "lstm_below_span": _span(_ratios(lstm_short)),
        "lstm_keras_row": f"{MODES[keras_row['mode']]} at {keras_row['hidden']} / "
        f"{keras_row['batch']} / {keras_row['steps']}, {keras_row['paired_ratio_vs_keras']:.2f}",
        "lstm_others": str(len(_pick(at_peer, layer="lstm"))),
        "lstm_others_span": _span(_ratios(_pick(at_peer, layer="lstm"))),
        "gru_batch1": ", ".join(
            f"{x['paired_ratio']:.2f}" for x in _pick(short, layer="gru", mode="infer", batch=1)
        ),
        "gru_below": str(len(_pick(short, layer="gru"))),
        "gru_wide_torch": " / ".join(f"{x['paired_ratio']:.2f}" for x in gru_wide),
        "gru_wide_keras": wide_keras,
        "norm_below": str(len(_pick(short, layer=("lstm_peephole", "lstm_layer_norm")))),
        "reset_before_below": str(len(_pick(short, layer="gru_reset_before"))),
        "own_batch1_infer": _span(_ratios(_pick(rows, layer=OWN_CELLS, batch=1, mode="infer"))),
        "own_wide_infer": _span(_ratios(_pick(own_wide, mode="infer"))),
        "own_wide_train": _span(_ratios(_pick(own_wide, mode="train"))),
        "peephole_t1024_above": _above_one(peep_t1024),
        "layer_norm_t1024_above": _above_one(ln_t1024),
        "rest_at_peer": _all_of(len(rest) - len([x for x in rest if id(x) in below]), len(rest)),
    }


def profile_figures(r: dict) -> dict[str, str]:
    """``speed_profile.json``: where each side's time goes in the profiled rows."""
    rows = r["rows"]
    lstm = _one(rows, layer="lstm")
    lstm_shares = {_op_share(lstm[s], "aten::mkldnn_rnn_layer") for s in ("rnnkit", "torch")}
    gru_wide = _one(rows, layer="gru", batch=32)
    own_infer = _pick(rows, layer=("lstm_peephole", "lstm_layer_norm"), mode="infer")
    wide_norm = _pick(own_infer, batch=32)
    peep1 = _one(rows, layer="lstm_peephole", batch=1)
    reset = _one(rows, layer="gru_reset_before", mode="infer", batch=32)
    return {
        "lstm_kernel_share": _pct_span(lstm_shares),
        "gru_outside": _pct(gru_wide["rnnkit"]["outside_operators_share"]),
        "fused_share": _pct_span(
            _op_share(x["torch"], "aten::mkldnn_rnn_layer") for x in own_infer
        ),
        "peephole_us": f"{peep1['rnnkit']['us_per_step']:.0f}",
        "fused_us": f"{peep1['torch']['us_per_step']:.0f}",
        "wide_products": _pct_span(
            _op_share(x["rnnkit"], "mkldnn::_linear_pointwise") for x in wide_norm
        ),
        "reset_addmm": _op_calls(reset["rnnkit"], "aten::addmm"),
        "reset_steps": str(reset["steps"]),
    }


def _seeds(seeds: list[int]) -> str:
    names = [str(s) for s in seeds]
    return (
        f"seed {names[0]}" if len(names) == 1 else f"seeds {', '.join(names[:-1])} and {names[-1]}"
    )


def _test_gap(data: str, r: dict) -> str:
    """How the default stands against the baseline on one data set's test split, counted in
    items from the paired comparison (items only one of the two gets right)."""
    runs = r["rnnkit_default"]["runs"]
    gaps = {x["seed"]: x["paired"]["only_baseline"] - x["paired"]["only_default"] for x in runs}
    behind = sorted(seed for seed, gap in gaps.items() if gap > 0)
    of = f"of {runs[0]['examples']} {ITEMS.get(data, 'items')}"
    level = sorted(seed for seed, gap in gaps.items() if gap == 0)
    if not behind:
        ahead = f"{data}, ahead on every seed"
        return ahead if not level else f"{data}, behind on no seed (level on {_seeds(level)})"
    by = " or ".join(WORDS.get(g, str(g)) for g in sorted({gaps[seed] for seed in behind}))
    if len(behind) == len(runs):
        return f"{data}, behind on every seed by {by} {of}"
    side = "ahead" if r["rnnkit_default"]["mean"] > r["baseline"]["accuracy"] else "behind"
    return f"{data}, {side} on the mean but behind on {_seeds(behind)} by {by} {of}"


def classify_figures(r: dict) -> dict[str, str]:
    """``defaults_classify.json``: the default against TF-IDF + LR, per data set."""
    data = [d for d in ITEMS if d in r]
    dev_ahead = all(
        x["dev_accuracy"] > r[d]["dev"]["baseline"]
        for d in data
        for x in r[d]["rnnkit_default"]["runs"]
    )
    runs = [(d, x) for d in data for x in r[d]["rnnkit_default"]["runs"]]
    below = [
        f"{d} seed {x['seed']}, the "
        + ("default" if x["paired"]["only_default"] > x["paired"]["only_baseline"] else "baseline")
        + " ahead"
        for d, x in runs
        if x["paired"]["p"] < 0.05
    ]
    alone = []
    for d in data:
        scores = {
            x["linear_accuracy"] for x in r[d]["rnnkit_default"]["runs"] if "linear_accuracy" in x
        }
        if scores:
            figure = "/".join(f"{a:.4f}" for a in sorted(scores))  # one figure: it has no seed
            alone.append(f"{d} {figure} (TF-IDF + LR {r[d]['baseline']['accuracy']:.4f})")
    return {
        "classify_linear_alone": "; ".join(alone) or "not recorded",
        "classify_dev": "ahead of the baseline on every data set and every seed"
        if dev_ahead
        else "not ahead of the baseline on every data set and seed",
        "classify_test": "; ".join(_test_gap(d, r[d]) for d in data),
        "classify_chance": "none of these gaps, on either side, larger than chance"
        if not below
        else f"{len(below)} of the {len(runs)} comparisons below p = 0.05 ({'; '.join(below)})",
    }


def linear_figures(r: dict) -> dict[str, str]:
    """``classify_linear.json``: where the default's linear model (W, C) stands among the rows,
    by dev accuracy averaged over the data sets."""
    from rnnkit.models.ensemble import linear_bucket_count
    from rnnkit.tasks.defaults import resolve

    model = resolve("classify").to_dict()["model"]
    chosen = (float(model["linear_c"]), float(model["linear_weight"]))
    data = [d for d in ITEMS if d in r]
    mean = {(x["c"], x["weight"]): 0.0 for x in r[data[0]]["mean"]}
    for d in data:
        for x in r[d]["mean"]:
            mean[x["c"], x["weight"]] += 100 * x["accuracy"] / len(data)
    if chosen not in mean:
        raise ValueError(f"report_figures: the default's C and W {chosen} are not a row")
    top = max(mean.values())
    best = [key for key, value in mean.items() if top - value < 1e-9]
    gap = top - mean[chosen]
    if gap < 0.005:
        standing = "the best row by dev accuracy averaged over the data sets"
    else:
        rows = "; ".join(f"C = {c:g}, W = {w:g}" for c, w in best)
        standing = (f"behind the best {'row' if len(best) == 1 else 'rows'} by dev accuracy "
                    f"averaged over the data sets ({rows}) by {gap:.2f} points")  # fmt: skip
    alone = next(key for key in mean if key[1] == 0)  # W = 0: the members alone, for any C
    buckets = linear_bucket_count(int(model["linear_buckets"]), int(model["ngram_buckets"]))
    return {"linear_default": f"C = {chosen[0]:g}, W = {chosen[1]:g}",
            "linear_standing": standing,
            "linear_gain": f"{mean[chosen] - mean[alone]:.2f} points",
            **_bucket_figures(r, data, buckets)}  # fmt: skip


def _bucket_figures(r: dict, data: list[str], chosen: int) -> dict[str, str]:
    """Where the default's number of buckets stands among the rows of ``classify_linear.json``'s
    bucket table, by dev accuracy averaged over the data sets."""
    if not all("buckets" in r[d] for d in data):
        return {"linear_buckets": f"2^{chosen.bit_length() - 1}",
                "linear_buckets_standing": "not measured"}  # fmt: skip
    mean = {x["buckets"]: 0.0 for x in r[data[0]]["buckets"]}
    for d in data:
        for x in r[d]["buckets"]:
            mean[x["buckets"]] += 100 * x["accuracy"] / len(data)
    if chosen not in mean:
        raise ValueError(f"report_figures: the default's {chosen} buckets are not a row")
    top = max(mean.values())
    gap = top - mean[chosen]
    best = ", ".join(f"2^{b.bit_length() - 1}" for b, v in mean.items() if top - v < 1e-9)
    standing = ("the most accurate of these rows on dev (averaged over the data sets)"
                if gap < 0.005 else f"behind {best} by {gap:.2f} points of dev accuracy "
                "(averaged over the data sets)")  # fmt: skip
    return {"linear_buckets": f"2^{chosen.bit_length() - 1}", "linear_buckets_standing": standing}


def lm_figures(r: dict) -> dict[str, str]:
    """``defaults_lm.json``: how long one seed of the character LM trains."""
    minutes = [x["train_seconds"] / 60 for x in r["shakespeare"]["rnnkit_default"]["runs"]]
    low, high = round(min(minutes)), round(max(minutes))
    return {"lm_minutes": f"{low}" if low == high else f"{low} to {high}"}


SOURCES: dict[str, Callable[[dict], dict[str, str]]] = {
    "defaults_classify": classify_figures,
    "classify_linear": linear_figures,
    "defaults_lm": lm_figures,
    "speed_cuda": cuda_figures,
    "speed_full": grid_figures,
    "speed_profile": profile_figures,
}


def figures() -> dict[str, str]:
    """Every figure whose result file is present, by key."""
    out: dict[str, str] = {}
    for name, compute in SOURCES.items():
        r = _load(name)
        if r is not None:
            out.update(compute(r))
    return out


def _blocks(text: str) -> list[list[str]]:
    """Paragraphs and list items: a blank line or a line starting ``- `` starts a block."""
    blocks: list[list[str]] = []
    for line in text.split("\n"):
        if not line.strip() or line.startswith("- ") or not blocks or not blocks[-1][-1].strip():
            blocks.append([line])
        else:
            blocks[-1].append(line)
    return blocks


def _rewrap(lines: list[str]) -> list[str]:
    """One paragraph or list item, its words wrapped again at ``WIDTH``."""
    item = lines[0].startswith("- ")
    words = " ".join(line.strip() for line in lines).removeprefix("- ")
    return textwrap.wrap(
        words, WIDTH, initial_indent="- " if item else "", subsequent_indent="  " if item else "",
        break_long_words=False, break_on_hyphens=False,
    )  # fmt: skip


def fill(text: str, values: dict[str, str] | None = None) -> str:
    """``text`` with each ``[[key]]`` replaced by its figure; a paragraph or list item that
    held one is wrapped again, so its lines keep the page's width."""
    if not PLACEHOLDER.search(text):
        return text
    values = figures() if values is None else values

    def put(m: re.Match) -> str:
        if m.group(1) not in values:
            raise KeyError(f"report_figures: no figure {m.group(1)!r} (is its result file there?)")
        return values[m.group(1)]

    out: list[str] = []
    for block in _blocks(text):
        joined = "\n".join(block)
        out += (
            _rewrap(PLACEHOLDER.sub(put, joined).split("\n"))
            if PLACEHOLDER.search(joined)
            else block
        )
    return "\n".join(out)
