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
