"""An ensemble of independently initialised text classifiers, trained together, averaged;
optionally with a fitted linear model among them.

With K members of the same configuration (different random initialisations and dropout
masks), each giving class probabilities p_k(y | x), and with ``linear_weight`` = w > 0 a
logistic regression over the text's TF-IDF-weighted word n-grams giving p_lin(y | x):

    p(y | x) = (sum_k p_k(y | x) + w p_lin(y | x)) / (K + w)     (w = 1: one more member)
                                                    (multi-class: p_k = softmax(z_k);
                                                     multi-label: p_k = sigmoid(z_k) per label)

Training minimises the mean of the members' own losses, (1/K) sum_k L(z_k, y), so each member
learns as if alone (they see the same batches; a global gradient-norm clip is the only
coupling). The linear model is not trained with them: ``rnnkit.tasks.classify.fit_linear`` fits
it to convergence on the training texts before (``rnnkit.layers.ngram_logistic``), as a linear
baseline would be.
Evaluation (``model.eval()``) scores the ensemble itself: cross-entropy of the averaged
distribution, so early stopping and checkpoint selection follow the ensemble.

Averaging a few members cancels much of the variance between random seeds, which on small data
sets (a few thousand labelled texts) is as large as the differences between architectures; the
linear model errs otherwise than the recurrent members (it weighs every n-gram of the text, but
knows no order beyond two words), so the average can outvote a mistake that either makes alone.

Shape: as ``TextClassifier``: tokens (N, L), lengths (N,) -> ``forward`` gives (N, C) scores
whose softmax (multi-class) or sigmoid (multi-label) is the averaged probability.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from rnnkit.layers.ngram_logistic import NgramLogistic
from rnnkit.models.classifier import TextClassifier
from rnnkit.models.inference import inference


def linear_bucket_count(linear_buckets: int, ngram_buckets: int) -> int:
    """The linear model's hash buckets: ``linear_buckets``, else the members' ``ngram_buckets``,
    else 2^18."""
    return linear_buckets or ngram_buckets or 1 << 18


class ClassifierEnsemble(nn.Module):
    """K ``TextClassifier`` members of one configuration (and a linear model); probabilities
    averaged.

    Args:
        vocab_size: V, as ``TextClassifier``.
        ensemble: K, the number of recurrent members: >= 2, or >= 1 with a linear model.
        linear_weight: w >= 0, the linear model's weight beside each recurrent member's 1
            (0: none; 1: it counts as one more member).
        linear_c: its inverse L2 regularisation strength.
        linear_buckets: the hash buckets of its word n-grams (up to ``ngram_order`` words,
            hashed and TF-IDF-weighted as the members' bags are); 0: the members'
            ``ngram_buckets``, 2^18 when they have no bag.
        **options: the members' ``ClassifierConfig`` fields.

    Example:
        >>> clf = ClassifierEnsemble(vocab_size=5000, ensemble=5, num_classes=2)
        >>> clf.eval(); labels = clf.predict(tokens, lengths)
    """

    model_type = "classifier_ensemble"

    def __init__(
        self,
        vocab_size: int,
        ensemble: int = 2,
        linear_weight: float = 0.0,
        linear_c: float = 10.0,
        linear_buckets: int = 0,
        **options: Any,
    ) -> None:
        super().__init__()
        if not linear_weight >= 0.0:
            raise ValueError(f"ClassifierEnsemble: linear_weight must be >= 0, got {linear_weight}")
        if linear_buckets < 0:
            raise ValueError(
                f"ClassifierEnsemble: linear_buckets must be >= 0, got {linear_buckets}"
            )
        if ensemble < (1 if linear_weight > 0 else 2):
            raise ValueError(
                f"ClassifierEnsemble: need ensemble >= 2 members (>= 1 with a linear model), "
                f"got {ensemble} (use TextClassifier for one model)"
            )
        self.members = nn.ModuleList(
            TextClassifier(vocab_size, **{**options, "ensemble": 1}) for _ in range(ensemble)
        )
        self.config = self.members[0].config
        self.ensemble, self.linear_weight, self.linear_c = ensemble, linear_weight, linear_c
        self.linear_buckets = linear_buckets
        c = self.config
        buckets = linear_bucket_count(linear_buckets, c.ngram_buckets)
        self.linear = (
            NgramLogistic(vocab_size, c.num_classes, buckets, c.ngram_order, linear_c,
                          c.multi_label)
            if linear_weight > 0
            else None
        )  # fmt: skip

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> ClassifierEnsemble:
        return cls(**config)

    def get_config(self) -> dict[str, Any]:
        return {**self.config.to_dict(), "ensemble": self.ensemble,
                "linear_weight": self.linear_weight, "linear_c": self.linear_c,
                "linear_buckets": self.linear_buckets}  # fmt: skip

    def member_weights(self) -> Tensor:
        """Each member's share of the probability, (K,) or (K + 1,) with the linear model last:
        1 / (K + w) each, w / (K + w) for the linear model."""
        k = self.ensemble
        if self.linear is None:
            return torch.full((k,), 1.0 / k)
        w = self.linear_weight
        return torch.tensor([1.0] * k + [w]) / (k + w)

    def member_logits(
        self, tokens: Tensor, lengths: Tensor, bilm: dict[str, Tensor] | None = None
    ) -> Tensor:
        """Each member's scores, (K, N, C); with a linear model, its scores last (K + 1, N, C)."""
        scores = [m(tokens, lengths, bilm) for m in self.members]
        if self.linear is not None:
            scores.append(self.linear(tokens, lengths).to(scores[0].dtype))
        return torch.stack(scores)

    def forward(
        self, tokens: Tensor, lengths: Tensor, bilm: dict[str, Tensor] | None = None
    ) -> Tensor:
        """(N, C): log of the mean probability (multi-class), or the logit of the mean
        per-label probability (multi-label)."""
        logits = self.member_logits(tokens, lengths, bilm)
        return combine(logits, self.config.multi_label, self.member_weights())

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


def combine(logits: Tensor, multi_label: bool, weights: Tensor | None = None) -> Tensor:
    """(K, N, C) member scores -> (N, C) scores of the averaged probability, with weights w
    (K,) summing to 1 (None: 1/K each).

    Multi-class: log(sum_k w_k softmax(z_k)) = logsumexp_k(log_softmax(z_k) + log w_k).
    Multi-label: logit of p = sum_k w_k sigmoid(z_k), computed as log p - log(1 - p) with
    log p = logsumexp_k(logsigmoid(z_k) + log w_k) and log(1 - p) likewise with -z_k.
    """
    k = logits.shape[0]
    if weights is None:
        log_w = torch.full((k, 1, 1), -math.log(k), dtype=logits.dtype, device=logits.device)
    else:
        log_w = weights.log().to(logits.dtype).to(logits.device).view(k, 1, 1)
    if not multi_label:
        return torch.logsumexp(F.log_softmax(logits, dim=-1) + log_w, dim=0)
    log_p = torch.logsumexp(F.logsigmoid(logits) + log_w, dim=0)
    log_q = torch.logsumexp(F.logsigmoid(-logits) + log_w, dim=0)
    return log_p - log_q
