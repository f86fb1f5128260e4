"""benchmarks/paired.py: McNemar's exact test, and its table on the benchmarks page."""

import json
import sys
from math import comb
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

import report  # noqa: E402  (benchmarks/ is a folder of scripts)
from paired import mcnemar  # noqa: E402


def test_only_the_items_where_one_is_right_count():
    first = [True, True, True, False, True, False]
    second = [True, False, False, False, True, True]
    assert mcnemar(first, second) == {"only_first": 2, "only_second": 1, "p": 1.0}


@pytest.mark.parametrize(
    ("b", "c", "p"),
    [
        (10, 0, 2 / 2**10),  # every disagreement one way: 2 * C(10, 0) / 2^10
        (3, 1, 2 * (1 + 4) / 2**4),  # 2 * (C(4, 0) + C(4, 1)) / 2^4 = 0.625
        (1, 3, 0.625),  # symmetric
        (0, 0, 1.0),  # no disagreement: nothing to tell apart
        (20, 5, 2 * sum(comb(25, k) for k in range(6)) / 2**25),
    ],
)
def test_exact_two_sided_p(b, c, p):
    first = [True] * b + [False] * c + [True] * 7
    second = [False] * b + [True] * c + [True] * 7
    result = mcnemar(first, second)
    assert (result["only_first"], result["only_second"]) == (b, c)
    assert result["p"] == pytest.approx(p, rel=1e-2)


def test_different_item_counts_are_refused():
    with pytest.raises(ValueError, match="3 items against 2"):
        mcnemar([True] * 3, [True] * 2)


def test_page_table_shows_each_seed(tmp_path, monkeypatch):
    results = tmp_path / "results"
    results.mkdir()
    runs = [{"seed": s, "train_seconds": 1.0, "accuracy": 0.9, "examples": 1200,
             "paired": {"only_default": 12 + s, "only_baseline": 9, "p": p}}
            for s, p in ((1, 0.0004), (2, 0.51))]  # fmt: skip
    result = {"metric": "accuracy", "rnnkit_default": {"runs": runs, "mean": 0.9, "min": 0.9},
              "baseline": {"name": "b", "accuracy": 0.8}, "ahead_on_every_seed": True}  # fmt: skip
    (results / "defaults_classify.json").write_text(json.dumps({"toy": result}))
    monkeypatch.setattr(report, "RESULTS", results)
    row = "| classify | toy | 1,200 | seed 1: 13 / 9 (p < 0.001) · seed 2: 14 / 9 (p = 0.510) |"
    assert row in report.defaults_paired().splitlines()
