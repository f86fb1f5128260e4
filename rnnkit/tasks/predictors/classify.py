"""Predictor for a trained text classifier: labels and the probability of every label."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from rnnkit.data.labelled import TextExample
from rnnkit.tasks.classify import ClassificationEncoder, Classifier, load_classifier
from rnnkit.tasks.predictors.base import Predictor, check_texts
from rnnkit.training.evaluation import model_device, to_device


@dataclass
class Classification:
    """One text's result: ``labels`` (the argmax, or every label over 0.5 for multi-label;
    ``label`` is the first) and ``probabilities`` of every label (softmax, or per-label
    sigmoid for multi-label; an ensemble's averaged probabilities)."""

    labels: list[str]
    probabilities: dict[str, float]

    @property
    def label(self) -> str | None:
        return self.labels[0] if self.labels else None

    def to_dict(self) -> dict[str, Any]:
        return {"label": self.label, "labels": self.labels, "probabilities": self.probabilities}


class ClassifierPredictor(Predictor):
    """A trained ``TextClassifier`` (or ensemble) with its tokenizer and label table.

    Example:
        >>> clf = rnnkit.load("runs/sentiment")
        >>> clf.classify(["a superb film", "dull and weak"])[0].label  # doctest: +SKIP
        'pos'
    """

    task = "classify"
    methods = ("classify",)

    def __init__(
        self, model: Classifier, encoder: ClassificationEncoder, path: Path, meta: dict[str, Any]
    ) -> None:
        super().__init__(model, path, meta)
        self.encoder = encoder

    @classmethod
    def load(cls, path: str | Path, meta: dict[str, Any]) -> ClassifierPredictor:
        model, encoder = load_classifier(Path(path))
        return cls(model, encoder, Path(path), meta)

    def vocab_size(self) -> int:
        return self.encoder.tokenizer.vocab_size

    @torch.no_grad()
    def classify(self, texts: Sequence[str], batch_size: int | None = None) -> list[Classification]:
        """Classify each text (in order), in padded batches of ``batch_size`` (default: the
        model's evaluation batch size); padding does not change a text's result."""
        texts = check_texts("texts", texts)
        return self.classify_examples([TextExample(t) for t in texts], batch_size)

    @torch.no_grad()
    def classify_examples(
        self, examples: Sequence[TextExample], batch_size: int | None = None
    ) -> list[Classification]:
        """``classify`` for examples read from a file (a title, if any and the model was
        trained with titles, is read before the text)."""
        names = self.encoder.labels.labels
        multi = self.model.config.multi_label
        size = batch_size or self.encoder.cfg.eval_batch_size
        out: list[Classification] = []
        device = model_device(self.model)
        for batch in self.encoder.batches(examples, size, shuffle=False):
            batch = to_device(batch, device)
            scores = self.model(batch["tokens"], batch["lengths"], batch.get("bilm")).float()
            probs = torch.sigmoid(scores) if multi else scores.softmax(dim=-1)  # (N, C)
            for row in probs.tolist():
                if multi:
                    labels = [names[j] for j, p in enumerate(row) if p > 0.5]
                else:
                    labels = [names[max(range(len(row)), key=row.__getitem__)]]
                out.append(Classification(labels, dict(zip(names, row))))
        return out
