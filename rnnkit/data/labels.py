"""Label tables: label (or tag) <-> id, and labels of evaluation data unseen in training."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any


class LabelVocab:
    """Label (or tag) <-> id table; ``build`` sorts the labels so ids do not depend on order.

    Example:
        >>> vocab = LabelVocab.build(["pos", "neg", "pos"])
        >>> vocab.labels, vocab.to_id("pos"), vocab.encode_known(["pos", "meh"])
        (['neg', 'pos'], 1, ([1], ['meh']))
    """

    def __init__(self, labels: Sequence[str]) -> None:
        labels = list(labels)
        duplicates = sorted(label for label, n in Counter(labels).items() if n > 1)
        if duplicates:
            raise ValueError(f"LabelVocab: duplicate labels {duplicates[:10]}")
        self._labels = labels
        self._index = {label: i for i, label in enumerate(labels)}

    @classmethod
    def build(cls, labels: Iterable[str]) -> LabelVocab:
        """The distinct labels, sorted."""
        return cls(sorted(set(labels)))

    @property
    def labels(self) -> list[str]:
        """The labels in id order."""
        return list(self._labels)

    def __len__(self) -> int:
        return len(self._labels)

    def __contains__(self, label: object) -> bool:
        return label in self._index

    def to_id(self, label: str) -> int:
        """The id of ``label``; KeyError naming the label and the known ones if unseen."""
        try:
            return self._index[label]
        except KeyError:
            known = ", ".join(self._labels[:20]) + (", ..." if len(self) > 20 else "")
            raise KeyError(f"LabelVocab: unknown label {label!r}; known labels: {known}") from None

    def to_label(self, index: int) -> str:
        """The label with id ``index``."""
        return self._labels[index]

    def encode_known(self, labels: Iterable[str]) -> tuple[list[int], list[str]]:
        """(ids of the known labels, the unknown labels), both in input order."""
        ids, unknown = [], []
        for label in labels:
            if label in self._index:
                ids.append(self._index[label])
            else:
                unknown.append(label)
        return ids, unknown

    def to_dict(self) -> dict[str, list[str]]:
        """``{"labels": [...]}`` in id order, for JSON."""
        return {"labels": list(self._labels)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LabelVocab:
        """Inverse of ``to_dict``."""
        labels = data.get("labels")
        if not isinstance(labels, list) or not all(isinstance(x, str) for x in labels):
            raise ValueError('LabelVocab.from_dict: expected {"labels": [str, ...]}')
        return cls(labels)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, LabelVocab) and self._labels == other._labels

    def __repr__(self) -> str:
        return f"LabelVocab({self._labels!r})"


def unseen_labels(train_labels: Iterable[str], other_labels: Iterable[str]) -> dict[str, int]:
    """Labels of ``other_labels`` absent from ``train_labels``, with their counts.

    Ordered by decreasing count, then label, so callers can report them instead of crashing.

    Example:
        >>> unseen_labels(["a", "b"], ["a", "c", "d", "c"])
        {'c': 2, 'd': 1}
    """
    seen = set(train_labels)
    counts = Counter(label for label in other_labels if label not in seen)
    return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))
