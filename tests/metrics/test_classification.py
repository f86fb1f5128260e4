"""Classification metrics against hand-computed values, and the text report."""

from __future__ import annotations

import json
import math

import pytest

from rnnkit.metrics import (
    bits_per_character,
    classification_metrics,
    format_report,
    multilabel_metrics,
    perplexity,
)

GOLD = ["a", "a", "a", "b", "b", "c"]
PRED = ["a", "a", "b", "b", "c", "c"]
# a: TP 2, FP 0, FN 1 -> P 1,   R 2/3, F1 0.8
# b: TP 1, FP 1, FN 1 -> P 1/2, R 1/2, F1 0.5
# c: TP 1, FP 1, FN 0 -> P 1/2, R 1,   F1 2/3
F1 = {"a": 0.8, "b": 0.5, "c": 2 / 3}


def test_single_label_by_hand() -> None:
    m = classification_metrics(GOLD, PRED)
    assert m["accuracy"] == pytest.approx(4 / 6)
    assert m["macro_f1"] == pytest.approx((0.8 + 0.5 + 2 / 3) / 3)
    assert {k: v["f1"] for k, v in m["per_class"].items()} == pytest.approx(F1)
    assert m["per_class"]["a"] == pytest.approx(
        {"precision": 1.0, "recall": 2 / 3, "f1": 0.8, "support": 3}
    )
    assert m["per_class"]["c"]["support"] == 1
    assert m["confusion"] == {
        "labels": ["a", "b", "c"],
        "matrix": [[2, 1, 0], [0, 1, 1], [0, 0, 1]],
    }
    assert json.loads(json.dumps(m)) == m  # plain Python values only


def test_explicit_labels_include_absent_classes() -> None:
    m = classification_metrics(GOLD, PRED, labels=["c", "b", "a", "d"])
    assert m["macro_f1"] == pytest.approx((0.8 + 0.5 + 2 / 3 + 0.0) / 4)
    assert list(m["per_class"]) == ["c", "b", "a", "d"]
    assert m["per_class"]["d"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0}
    assert m["confusion"]["matrix"][0] == [1, 0, 0, 0]  # gold c: predicted c once


def test_length_mismatch_and_empty() -> None:
    with pytest.raises(ValueError, match="got 1 and 2"):
        classification_metrics(["a", "b"], ["a"])
    with pytest.raises(ValueError, match="at least one example"):
        classification_metrics([], [])


def test_multilabel_by_hand() -> None:
    gold = [["a", "b"], ["b"], ["c"], ["a"]]
    pred = [["a"], ["b"], ["b", "c"], ["a"]]
    m = multilabel_metrics(gold, pred)
    assert m["accuracy"] == pytest.approx(0.5)  # rows 1 and 3 match exactly
    # a: F1 1; b: TP 1, FP 1, FN 1 -> 0.5; c: F1 1
    assert m["macro_f1"] == pytest.approx(2.5 / 3)
    assert m["micro_f1"] == pytest.approx(0.8)  # TP 4, FP 1, FN 1
    assert m["per_class"]["b"] == pytest.approx(
        {"precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 2}
    )


def test_multilabel_restricted_labels() -> None:
    m = multilabel_metrics([["a", "x"]], [["a"]], labels=["a"])
    assert m["per_class"] == {"a": {"precision": 1.0, "recall": 1.0, "f1": 1.0, "support": 1}}
    assert m["accuracy"] == 0.0  # "x" still counts for the exact match


def test_format_report_lists_classes_and_confusion() -> None:
    text = format_report(classification_metrics(GOLD, PRED))
    lines = text.splitlines()
    assert lines[0].split() == ["label", "precision", "recall", "f1", "support"]
    assert lines[1].split() == ["a", "1.0000", "0.6667", "0.8000", "3"]
    assert "accuracy: 0.6667" in lines
    assert lines[-5:] == [
        "confusion (rows: gold, columns: predicted)",
        "   a  b  c",
        "a  2  1  0",
        "b  0  1  1",
        "c  0  0  1",
    ]
    assert "macro_f1: 0.6556" in text


def test_lm_metrics() -> None:
    assert perplexity(math.log(20.0)) == pytest.approx(20.0)
    assert math.isfinite(perplexity(1e6))
    assert bits_per_character(8 * math.log(2), 4) == pytest.approx(2.0)
    with pytest.raises(ValueError, match="characters must be > 0"):
        bits_per_character(1.0, 0)
