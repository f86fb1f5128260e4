"""The benchmarks page's prose figures: computed from the result files, put in, rewrapped."""

import json
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

import report_figures  # noqa: E402  (benchmarks/ is a folder of scripts)
from report_figures import WIDTH, fill  # noqa: E402


def test_fill_puts_figures_in_and_rewraps_only_what_held_one():
    text = (
        "A plain paragraph\nkept as it is.\n\n"
        "- an item with [[a]] in it and enough words after the figure to need a second line\n"
        "  of its own when it is wrapped again"
    )
    out = fill(text, {"a": "a long figure " * 3}).split("\n")
    assert out[:3] == ["A plain paragraph", "kept as it is.", ""]
    item = out[3:]
    assert item[0].startswith("- an item with a long figure a long figure")
    assert all(line.startswith("  ") for line in item[1:]) and len(item) >= 2
    assert all(len(line) <= WIDTH for line in item)
    assert fill("nothing to put in\n  here") == "nothing to put in\n  here"


def test_an_unknown_figure_is_refused_by_name():
    with pytest.raises(KeyError, match="no figure 'missing'"):
        fill("see [[missing]]", {})


def _result(name: str) -> dict:
    return json.loads((BENCHMARKS / "results" / f"{name}.json").read_text())


def test_figures_follow_the_result_files(tmp_path, monkeypatch):
    cuda = _result("speed_cuda")
    for row in cuda["rows"]:
        if row["layer"] == "mingru":
            row["paired_ratio"] = 12.34
    (tmp_path / "speed_cuda.json").write_text(json.dumps(cuda))
    monkeypatch.setattr(report_figures, "RESULTS", tmp_path)
    got = report_figures.figures()
    assert got["cuda_min"].endswith("-12.3")
    assert "lstm_below" not in got  # speed_full.json is absent here: none of its figures
    with pytest.raises(KeyError, match="lstm_below"):
        fill("[[lstm_below]] rows", got)


def test_a_result_that_no_longer_fits_the_text_is_refused():
    full = _result("speed_full")
    for row in full["rows"]:  # the text describes one LSTM row behind Keras; make it every one
        if row["layer"] == "lstm":
            row["paired_ratio"], row["paired_ratio_vs_keras"] = 0.9, 0.9
    with pytest.raises(
        ValueError, match="36 rows match LSTM rows behind Keras, the text expects one"
    ):
        report_figures.grid_figures(full)


def _classify(gaps: dict[str, list[int]], p: float = 0.5, mean: float = 0.8) -> dict:
    """A defaults_classify result: per data set, each seed's items only the baseline gets right
    minus those only the default gets right."""
    out = {}
    for data, per_seed in gaps.items():
        runs = [{"seed": seed, "examples": 200, "dev_accuracy": 0.9,
                 "paired": {"only_default": 10, "only_baseline": 10 + gap, "p": p}}
                for seed, gap in enumerate(per_seed, 1)]  # fmt: skip
        out[data] = {"rnnkit_default": {"runs": runs, "mean": mean},
                     "baseline": {"accuracy": 0.79}, "dev": {"baseline": 0.8}}  # fmt: skip
    return out


def test_the_defaults_prose_counts_the_paired_items():
    got = report_figures.classify_figures(_classify({"sentiment": [-3, 5, -1], "bbc": [1, 2, 2]}))
    assert got["classify_test"] == (
        "sentiment, ahead on the mean but behind on seed 2 by 5 of 200 sentences; "
        "bbc, behind on every seed by one or two of 200 articles"
    )
    assert got["classify_dev"] == "ahead of the baseline on every data set and every seed"
    assert got["classify_chance"] == "none of these gaps, on either side, larger than chance"
    got = report_figures.classify_figures(_classify({"bbc": [-1, -2, 0]}))
    assert got["classify_test"] == "bbc, behind on no seed (level on seed 3)"
    got = report_figures.classify_figures(_classify({"bbc": [-1, -2, -1]}, p=0.01))
    assert got["classify_test"] == "bbc, ahead on every seed"
    assert got["classify_chance"] == (
        "3 of the 3 comparisons below p = 0.05 (bbc seed 1, the default ahead; bbc seed 2, the "
        "default ahead; bbc seed 3, the default ahead)"
    )
    got = report_figures.classify_figures(_classify({"bbc": [2, -1]}, p=0.01))
    assert got["classify_chance"] == (
        "2 of the 2 comparisons below p = 0.05 (bbc seed 1, the baseline ahead; bbc seed 2, the "
        "default ahead)"
    )


def test_the_lm_prose_gives_the_range_of_training_minutes():
    r = {"shakespeare": {"rnnkit_default": {"runs": [{"train_seconds": 600.0}]}}}
    assert report_figures.lm_figures(r) == {"lm_minutes": "10"}
    r["shakespeare"]["rnnkit_default"]["runs"].append({"train_seconds": 900.0})
    assert report_figures.lm_figures(r) == {"lm_minutes": "10 to 15"}


def _linear(accuracy: dict[tuple[float, float], float]) -> dict:
    """A classify_linear result whose rows have ``accuracy`` on both data sets."""
    mean = [{"c": c, "weight": w, "accuracy": a, "loss": 0.5} for (c, w), a in accuracy.items()]
    return {d: {"mean": mean} for d in ("sentiment", "bbc")}


def test_the_linear_prose_places_the_default_among_the_rows():
    rows = {(1.0, 0.0): 0.80, (10.0, 1.0): 0.81, (30.0, 1.0): 0.815, (3.0, 2.0): 0.815}
    got = report_figures.linear_figures(_linear(rows))  # the default: C = 10, W = 1
    assert got == {
        "linear_default": "C = 10, W = 1",
        "linear_standing": "behind the best rows by dev accuracy averaged over the data sets "
        "(C = 30, W = 1; C = 3, W = 2) by 0.50 points",
        "linear_gain": "1.00 points",
        "linear_buckets": "2^20",
        "linear_buckets_standing": "not measured",
    }
    rows[10.0, 1.0] = 0.82
    got = report_figures.linear_figures(_linear(rows))
    assert got["linear_standing"] == "the best row by dev accuracy averaged over the data sets"
    with pytest.raises(ValueError, match="are not a row"):
        report_figures.linear_figures(_linear({(1.0, 0.0): 0.8, (3.0, 1.0): 0.8}))


def test_the_bucket_prose_places_the_default_among_the_bucket_rows():
    r = _linear({(1.0, 0.0): 0.80, (10.0, 1.0): 0.81})
    for d, shift in (("sentiment", 0.0), ("bbc", 0.01)):
        r[d]["buckets"] = [{"buckets": 1 << b, "accuracy": a + shift, "loss": 0.5}
                           for b, a in ((18, 0.80), (20, 0.81), (22, 0.815))]  # fmt: skip
    got = report_figures.linear_figures(r)  # the default: 2^20 buckets
    assert got["linear_buckets"] == "2^20"
    assert got["linear_buckets_standing"] == (
        "behind 2^22 by 0.50 points of dev accuracy (averaged over the data sets)"
    )
    for d in r:
        r[d]["buckets"][1]["accuracy"] = 0.9
    assert report_figures.linear_figures(r)["linear_buckets_standing"] == (
        "the most accurate of these rows on dev (averaged over the data sets)"
    )
    for d in r:
        del r[d]["buckets"][1]
    with pytest.raises(ValueError, match="buckets are not a row"):
        report_figures.linear_figures(r)


def test_the_linear_models_test_accuracy_is_quoted_once_per_data_set():
    r = _classify({"sentiment": [0, 0, 0], "bbc": [0, 0, 0]})
    assert report_figures.classify_figures(r)["classify_linear_alone"] == "not recorded"
    for data, accuracy in (("sentiment", 0.76), ("bbc", 0.97)):
        for run in r[data]["rnnkit_default"]["runs"]:
            run["linear_accuracy"] = accuracy  # fitted without a seed: the same on every one
    assert report_figures.classify_figures(r)["classify_linear_alone"] == (
        "sentiment 0.7600 (TF-IDF + LR 0.7900); bbc 0.9700 (TF-IDF + LR 0.7900)"
    )
