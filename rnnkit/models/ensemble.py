"""An ensemble of independently initialised text classifiers, trained together, averaged.

With K members of the same configuration (different random initialisations and dropout
masks), each giving class probabilities p_k(y | x):

    p(y | x) = (1/K) sum_k p_k(y | x)               (multi-class: p_k = softmax(z_k);
                                                     multi-label: p_k = sigmoid(z_k) per label)

Training minimises the mean of the members' own losses, (1/K) sum_k L(z_k, y), so each member
learns as if alone (they see the same batches; a global gradient-norm clip is the only
coupling). Evaluation (``model.eval()``) scores the ensemble itself: cross-entropy of the
averaged distribution, so early stopping and checkpoint selection follow the ensemble.

Averaging a few members cancels much of the variance between random seeds, which on small data
sets (a few thousand labelled texts) is as large as the differences between architectures.

Shape: as ``TextClassifier``: tokens (N, L), lengths (N,) -> ``forward`` gives (N, C) scores
whose softmax (multi-class) or sigmoid (multi-label) is the averaged probability.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from rnnkit.models.classifier import TextClassifier
from rnnkit.models.inference import inference


class ClassifierEnsemble(nn.Module):
    """K ``TextClassifier`` members of one configuration; probabilities averaged.

    Args:
        vocab_size: V, as ``TextClassifier``.
        ensemble: K >= 2, the number of members.
        **options: the members' ``ClassifierConfig`` fields.

    Example:
        >>> clf = ClassifierEnsemble(vocab_size=5000, ensemble=5, num_classes=2)
        >>> clf.eval(); labels = clf.predict(tokens, lengths)
    """

    model_type = "classifier_ensemble"

    def __init__(self, vocab_size: int, ensemble: int = 2, **options: Any) -> None:
        super().__init__()
        if ensemble < 2:
            raise ValueError(
                f"ClassifierEnsemble: need ensemble >= 2 members, got {ensemble} "
                "(use TextClassifier for one model)"
            )
        self.members = nn.ModuleList(
            TextClassifier(vocab_size, **{**options, "ensemble": 1}) for _ in range(ensemble)
        )
        self.config = self.members[0].config
        self.ensemble = ensemble

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> ClassifierEnsemble:
        return cls(**config)

    def get_config(self) -> dict[str, Any]:
        return {**self.config.to_dict(), "ensemble": self.ensemble}

    def member_logits(
        self, tokens: Tensor, lengths: Tensor, bilm: dict[str, Tensor] | None = None
    ) -> Tensor:
        """Each member's scores, (K, N, C)."""
        return torch.stack([m(tokens, lengths, bilm) for m in self.members])

    def forward(
        self, tokens: Tensor, lengths: Tensor, bilm: dict[str, Tensor] | None = None
    ) -> Tensor:
        """(N, C): log of the mean probability (multi-class), or the logit of the mean
        per-label probability (multi-label)."""
        return combine(self.member_logits(tokens, lengths, bilm), self.config.multi_label)

    def forward_loss(self, batch: dict[str, Tensor]) -> tuple[Tensor, int]:
        """Training: the mean of the members' losses; evaluation: the ensemble's loss."""
        labels = batch["labels"]
        if self.training:
            losses = [m.forward_loss(batch)[0] for m in self.members]
            return torch.stack(losses).mean(), int(labels.shape[0])
        z = self(batch["tokens"], batch["lengths"], batch.get("bilm"))  # (N, C), combined
        if self.config.multi_label:
            loss = F.binary_cross_entropy_with_logits(z, labels.to(z.dtype))
        else:
            loss = F.cross_entropy(z, labels)
        return loss, int(labels.shape[0])

    @inference
    def predict(
        self, tokens: Tensor, lengths: Tensor, bilm: dict[str, Tensor] | None = None
    ) -> Tensor:
        """Class ids (N,), or (N, C) bool for multi-label (mean probability > 0.5)."""
        scores = self(tokens, lengths, bilm)
        if self.config.multi_label:
            return scores > 0
        return scores.argmax(dim=-1)


def combine(logits: Tensor, multi_label: bool) -> Tensor:
    """(K, N, C) member scores -> (N, C) scores of the averaged probability.

    Multi-class: log((1/K) sum_k softmax(z_k)) = logsumexp_k(log_softmax(z_k)) - log K.
    Multi-label: logit of p = (1/K) sum_k sigmoid(z_k), computed as log p - log(1 - p) with
    log p = logsumexp_k(logsigmoid(z_k)) - log K and log(1 - p) likewise with -z_k.
    """
    k = logits.shape[0]
    if not multi_label:
        return torch.logsumexp(F.log_softmax(logits, dim=-1), dim=0) - math.log(k)
    log_p = torch.logsumexp(F.logsigmoid(logits), dim=0)
    log_q = torch.logsumexp(F.logsigmoid(-logits), dim=0)
    return log_p - log_q
