"""Classification metrics (single- and multi-label), computed by scikit-learn, as plain dicts.

For each class c, from true positives TP_c, false positives FP_c and false negatives FN_c:

    precision_c = TP_c / (TP_c + FP_c),   recall_c = TP_c / (TP_c + FN_c)
    f1_c = 2 precision_c recall_c / (precision_c + recall_c)        (0 where a denominator is 0)
    macro_f1 = mean_c f1_c
    micro_f1 = F1 of the TP, FP, FN summed over the classes (multi-label)

Single-label accuracy is the fraction of correct predictions; multi-label accuracy is the exact
match (subset) accuracy: the fraction of examples whose predicted label set equals the gold one.
Every value is a Python int or float, so the dicts go straight to JSON.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.metrics import (
    accuracy_score,
    confusion_matrix,
    f1_score,
    precision_recall_fscore_support,
)


def classification_metrics(
    gold: Sequence[str], pred: Sequence[str], labels: Sequence[str] | None = None
) -> dict[str, Any]:
    """Accuracy, macro F1, per-class scores and the confusion matrix of single-label predictions.

    Args:
        gold: the true label of each example.
        pred: the predicted label of each example.
        labels: the classes to report, in order (default: every label seen, sorted). Macro F1
            averages over exactly these, including classes never predicted or never true.

    Returns:
        dict: ``{"accuracy", "macro_f1", "per_class": {label: {"precision", "recall", "f1",
        "support"}}, "confusion": {"labels": [...], "matrix": [[...]]}}``; confusion rows are
        gold labels, columns predicted ones.

    Example:
        >>> m = classification_metrics(["a", "a", "b"], ["a", "b", "b"])
        >>> m["accuracy"], m["confusion"]["matrix"]
        (0.6666666666666666, [[1, 1], [0, 1]])
    """
    _check_lengths(gold, pred)
    labels = sorted(set(gold) | set(pred)) if labels is None else list(labels)
    precision, recall, f1, support = precision_recall_fscore_support(
        gold, pred, labels=labels, zero_division=0
    )
    matrix = confusion_matrix(gold, pred, labels=labels)
    return {
        "accuracy": float(accuracy_score(gold, pred)),
        "macro_f1": float(np.mean(f1)) if labels else 0.0,
        "per_class": _per_class(labels, precision, recall, f1, support),
        "confusion": {"labels": labels, "matrix": matrix.tolist()},
    }


def multilabel_metrics(
    gold: Sequence[Sequence[str]],
    pred: Sequence[Sequence[str]],
    labels: Sequence[str] | None = None,
) -> dict[str, Any]:
    """Subset accuracy, macro and micro F1 and per-class scores of label-set predictions.

    Args:
        gold: the true label set of each example.
        pred: the predicted label set of each example.
        labels: the classes to score (default: every label seen, sorted); labels outside them
            still count for the exact-match accuracy.

    Returns:
        dict: ``{"accuracy", "macro_f1", "micro_f1", "per_class": {label: {"precision", "recall",
        "f1", "support"}}}``.

    Example:
        >>> multilabel_metrics([["a", "b"], ["b"]], [["a", "b"], []])["accuracy"]
        0.5
    """
    _check_lengths(gold, pred)
    if labels is None:
        labels = sorted({x for row in [*gold, *pred] for x in row})
    labels = list(labels)
    y_true, y_pred = _indicators(gold, labels), _indicators(pred, labels)
    precision, recall, f1, support = precision_recall_fscore_support(
        y_true, y_pred, zero_division=0
    )
    exact = [set(g) == set(p) for g, p in zip(gold, pred)]
    return {
        "accuracy": float(np.mean(exact)),
        "macro_f1": float(np.mean(f1)) if labels else 0.0,
        "micro_f1": float(f1_score(y_true, y_pred, average="micro", zero_division=0)),
        "per_class": _per_class(labels, precision, recall, f1, support),
    }


def _check_lengths(gold: Sequence[Any], pred: Sequence[Any]) -> None:
    if len(gold) != len(pred):
        raise ValueError(
            f"expected as many predictions as gold labels, got {len(pred)} and {len(gold)}"
        )
    if not gold:
        raise ValueError("expected at least one example, got none")


def _indicators(rows: Sequence[Sequence[str]], labels: list[str]) -> np.ndarray:
    """(N, C) 0/1 matrix: entry [i, c] is 1 when row i holds labels[c]."""
    column = {label: c for c, label in enumerate(labels)}
    matrix = np.zeros((len(rows), len(labels)), dtype=np.int64)
    for i, row in enumerate(rows):
        for label in row:
            if label in column:
                matrix[i, column[label]] = 1
    return matrix


def _per_class(
    labels: list[str], precision: Any, recall: Any, f1: Any, support: Any
) -> dict[str, dict[str, float | int]]:
    return {
        label: {
            "precision": float(precision[c]),
            "recall": float(recall[c]),
            "f1": float(f1[c]),
            "support": int(support[c]),
        }
        for c, label in enumerate(labels)
    }


def format_report(metrics: dict[str, Any], digits: int = 4) -> str:
    """A readable table of ``classification_metrics`` / ``multilabel_metrics`` /
    ``tagging_metrics`` output: per-class (or per-type) rows, the averages, the confusion matrix.

    Example:
        >>> print(format_report(classification_metrics(["a", "b"], ["a", "a"])))  # doctest: +SKIP
        label  precision  recall      f1  support
        a         0.5000  1.0000  0.6667        1
        ...
    """
    rows = metrics.get("per_class", metrics.get("per_type", {}))
    lines = []
    if rows:
        width = max(len("label"), *(len(label) for label in rows))
        lines.append(f"{'label':<{width}}  precision     recall         f1  support")
        for label, s in rows.items():
            scores = "".join(f"{s[k]:>11.{digits}f}" for k in ("precision", "recall", "f1"))
            lines.append(f"{label:<{width}}{scores}{s['support']:>9d}")
        lines.append("")
    for key in ("accuracy", "macro_f1", "micro_f1", "precision", "recall", "f1"):
        if key in metrics:
            lines.append(f"{key}: {metrics[key]:.{digits}f}")
    if "confusion" in metrics:
        lines += ["", "confusion (rows: gold, columns: predicted)", *_format_confusion(metrics)]
    return "\n".join(lines)


def _format_confusion(metrics: dict[str, Any]) -> list[str]:
    labels = [str(x) for x in metrics["confusion"]["labels"]]
    matrix = metrics["confusion"]["matrix"]
    cells = [str(n) for row in matrix for n in row]
    width = max(len(x) for x in [*labels, *cells, ""])
    head = " " * width + "".join(f"  {x:>{width}}" for x in labels)
    body = [
        f"{label:>{width}}" + "".join(f"  {n:>{width}}" for n in row)
        for label, row in zip(labels, matrix)
    ]
    return [head, *body]
