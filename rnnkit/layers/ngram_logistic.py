"""Logistic regression over a text's TF-IDF-weighted word n-grams, fitted to convergence.

The features and their weighting are ``NgramBag``'s: for a text with feature ids f_1..f_m
(its words and hashed word n-grams), the row of the design matrix is

    x_f = (sum_{j: f_j = f} idf[f]) / max(1, sqrt(sum_j idf[f_j]^2)),

and the model is a (multinomial, or per-label for multi-label) logistic regression on it:

    z = x U + b,        U: (V + B, C),   b: (C,).

Unlike the bag inside a ``TextClassifier`` (trained by the encoder's optimiser, as long as the
encoder trains), U and b are the minimiser of the L2-regularised log loss over the D training
texts, as a linear classifier is fitted:

    min_{U, b}  (1/D) sum_i loss(z_i, y_i) + ||U||^2 / (2 c D)

(the bias is not penalised; ``c`` is the inverse regularisation strength of scikit-learn's
``LogisticRegression(C=c)``, whose objective c sum_i loss_i + ||U||^2 / 2 is this one times c D,
for three classes or more and per label. With two classes the softmax holds two weight vectors,
each penalised, where scikit-learn's binary model holds their difference: the fit equals its
``LogisticRegression(C=2c)``).
``fit`` minimises it in full batch with L-BFGS over the sparse (D, F) design matrix of the F
features the training texts hold (the other rows of U stay 0: their gradient is the penalty's);
L-BFGS keeps 40 vectors of F x C float64 numbers. U and b are buffers, so no optimiser of the
surrounding model ever moves them.

Shape:
    tokens (N, L) long, lengths (N,) -> scores (N, C).
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import Tensor
from torch.nn import functional as F

from rnnkit.layers.ngram_bag import NgramBag


class NgramLogistic(NgramBag):
    """``NgramBag``'s features and scores plus a bias, with weights fitted by ``fit``.

    Args:
        vocab_size, num_outputs, buckets, order: as ``NgramBag``.
        c: inverse L2 regularisation strength (> 0), as scikit-learn's ``C`` (its ``2c`` for
            two classes).
        multi_label: per-label sigmoid losses instead of one softmax.

    Example:
        >>> lr = NgramLogistic(vocab_size=5000, num_outputs=3, buckets=1 << 18)
        >>> batches = [(b["tokens"], b["lengths"]) for b in training_batches]
        >>> lr.fit_idf(batches)
        >>> lr.fit(batches, labels)                # labels: (D,) class ids
        >>> scores = lr(tokens, lengths)           # (N, 3)
    """

    weight: Tensor  # (V + B, C) buffer, ``fit``
    bias: Tensor  # (C,) buffer, ``fit``

    def __init__(
        self,
        vocab_size: int,
        num_outputs: int,
        buckets: int,
        order: int = 2,
        c: float = 10.0,
        multi_label: bool = False,
    ) -> None:
        super().__init__(vocab_size, num_outputs, buckets, order)
        if not c > 0:
            raise ValueError(f"NgramLogistic: need c > 0, got {c}")
        self.c, self.multi_label = c, multi_label
        weight = self.weight.detach()
        del self.weight  # a buffer here: fitted by ``fit``, never by a model's optimiser
        self.register_buffer("weight", weight)
        self.register_buffer("bias", torch.zeros(num_outputs))

    def forward(self, tokens: Tensor, lengths: Tensor) -> Tensor:
        return super().forward(tokens, lengths) + self.bias.to(self.weight.dtype)

    @torch.no_grad()
    def design(self, batches: Iterable[tuple[Tensor, Tensor]]) -> Tensor:
        """The sparse (D, V + B) float64 design matrix of the texts in ``batches``."""
        rows, cols, values, start = [], [], [], 0
        idf = self.idf.double().cpu()  # the matrix is built and fitted on the CPU
        for tokens, lengths in batches:
            ids, mask = self.features(tokens.cpu(), lengths.cpu())
            weights = idf[ids] * mask
            norm = weights.square().sum(dim=1, keepdim=True).sqrt().clamp(min=1.0)
            keep = weights > 0
            row = torch.arange(start, start + ids.shape[0]).unsqueeze(1).expand_as(ids)
            rows.append(row[keep])
            cols.append(ids[keep])
            values.append((weights / norm)[keep])
            start += ids.shape[0]
        index = torch.stack([torch.cat(rows), torch.cat(cols)]) if rows else torch.zeros(2, 0)
        size = (start, self.idf.numel())
        data = torch.cat(values) if values else torch.zeros(0, dtype=torch.float64)
        return torch.sparse_coo_tensor(index.long(), data, size, check_invariants=True).coalesce()

    def fit(
        self, batches: Iterable[tuple[Tensor, Tensor]], labels: Tensor, max_iter: int = 500
    ) -> float:
        """Fit U and b on the texts in ``batches`` (call ``fit_idf`` on them first) with their
        ``labels``: (D,) class ids, or (D, C) 0/1 for multi-label. Returns the final objective.
        """
        x = self.design(batches)
        d, classes = x.shape[0], self.bias.numel()
        if d == 0:
            raise ValueError("NgramLogistic.fit: no texts to fit on")
        if labels.shape[0] != d:
            raise ValueError(f"NgramLogistic.fit: {d} texts but {labels.shape[0]} labels")
        used, columns = torch.unique(x.indices()[1], return_inverse=True)  # features held
        index = torch.stack([x.indices()[0], columns])  # still sorted: the map keeps order
        x = torch.sparse_coo_tensor(
            index, x.values(), (d, used.numel()), is_coalesced=True, check_invariants=True
        )
        u = torch.zeros(used.numel(), classes, dtype=torch.float64, requires_grad=True)
        b = torch.zeros(classes, dtype=torch.float64, requires_grad=True)
        target = labels.double() if self.multi_label else labels.long()
        penalty = 1.0 / (2.0 * self.c * max(d, 1))
        optimiser = torch.optim.LBFGS(
            [u, b], lr=1.0, max_iter=max_iter, history_size=20,
            tolerance_grad=1e-6, tolerance_change=1e-10, line_search_fn="strong_wolfe",
        )  # fmt: skip

        def loss() -> Tensor:
            z = torch.sparse.mm(x, u) + b
            if self.multi_label:
                data = F.binary_cross_entropy_with_logits(z, target, reduction="sum") / d
            else:
                data = F.cross_entropy(z, target)
            return data + penalty * u.square().sum()

        def objective() -> Tensor:
            optimiser.zero_grad()
            value = loss()
            value.backward()
            return value

        with torch.enable_grad():
            optimiser.step(objective)
        with torch.no_grad():
            final = float(loss())
            self.weight.zero_()
            self.weight[used.to(self.weight.device)] = u.detach().to(self.weight)
            self.bias.copy_(b.detach().to(self.bias.dtype))
        return final
