"""A linear model over a text's word n-grams, scored beside a recurrent encoder.

For token ids w_1..w_n (n = the sequence's length) the features are the unigrams w_t and, for
each order k = 2..K, the n-grams (w_t, ..., w_{t+k-1}) hashed into B buckets:

    f(w_t) = w_t,        f(w_t..w_{t+k-1}) = V + (h_k(w_t, ..., w_{t+k-1}) mod B),
    h_k(a_1, ..., a_k) = (...((a_1 P + a_2) mod 2^31) P + ... + a_k) mod 2^31,   P = 1000003

and the scores are the features' weights, each times its inverse document frequency, summed
and divided by the L2 norm of those frequencies (so a text of any length gives scores of one
scale, as an L2-normalised TF-IDF vector does):

    z = sum_j idf[f_j] U[f_j] / max(1, sqrt(sum_j idf[f_j]^2)),    U: (V + B, C), zero at first,
    idf[f] = ln((1 + D) / (1 + df(f))) + 1   if df(f) > 0,   0 otherwise,

where D is the number of training texts and df(f) the number of them that hold f
(``fit_idf``). A feature no training text holds carries no weight, in the sum or in the norm,
as in a TF-IDF vectoriser fitted on the training texts. Before ``fit_idf`` every idf is 1 and the
scores are the plain sum over sqrt(m) for m features. The norm counts a feature that repeats
once per occurrence: it is the exact L2 norm of the raw-count TF-IDF vector when no feature
repeats, and close to it for the frequent, low-idf words that do.

This is the bag-of-n-grams half of a wide-and-deep model: it learns in a few steps what a linear
classifier over n-gram counts knows (which words and word pairs go with which class), so the
recurrent half only needs to add what order and context tell. On a few thousand labelled texts
that is what keeps a recurrent classifier from losing to TF-IDF + logistic regression.

Shape:
    tokens (N, L) long, lengths (N,) -> scores (N, C).
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import Tensor, nn

PRIME = 1000003
MOD = 1 << 31


class NgramBag(nn.Module):
    """Hashed word n-gram features -> class scores: an idf-weighted sum over its L2 norm.

    Args:
        vocab_size: V; token ids are unigram features as they are.
        num_outputs: C, the number of scores.
        buckets: B, hash buckets shared by the n-grams of order 2..``order``.
        order: K >= 1, the longest n-gram (1: unigrams only).

    Example:
        >>> bag = NgramBag(vocab_size=5000, num_outputs=3, buckets=1 << 18)
        >>> bag.fit_idf((b["tokens"], b["lengths"]) for b in training_batches)
        >>> scores = bag(tokens, lengths)         # (N, 3), zero before training
    """

    weight: Tensor  # (V + B, C) parameter, U
    idf: Tensor  # (V + B,) buffer, ``fit_idf``

    def __init__(self, vocab_size: int, num_outputs: int, buckets: int, order: int = 2) -> None:
        super().__init__()
        if vocab_size < 1 or num_outputs < 1 or buckets < 1 or order < 1:
            raise ValueError(
                f"NgramBag: need vocab_size, num_outputs, buckets and order >= 1, got "
                f"{vocab_size}, {num_outputs}, {buckets} and {order}"
            )
        self.vocab_size, self.buckets, self.order = vocab_size, buckets, order
        self.weight = nn.Parameter(torch.zeros(vocab_size + buckets, num_outputs))
        self.register_buffer("idf", torch.ones(vocab_size + buckets))

    def features(self, tokens: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
        """Feature ids (N, F) and a 0/1 mask (N, F) of those inside each sequence."""
        if tokens.dim() != 2 or lengths.shape != tokens.shape[:1]:
            raise ValueError(
                f"NgramBag: expected tokens (N, L) and lengths (N,), got "
                f"{tuple(tokens.shape)} and {tuple(lengths.shape)}"
            )
        steps = torch.arange(tokens.shape[1], device=tokens.device)
        ends = lengths.to(tokens.device).unsqueeze(1)
        ids, masks = [tokens], [steps.unsqueeze(0) < ends]
        code = tokens
        for k in range(2, self.order + 1):
            if tokens.shape[1] < k:
                break
            code = (code[:, :-1] * PRIME + tokens[:, k - 1 :]) % MOD
            ids.append(self.vocab_size + code % self.buckets)
            masks.append(steps[: tokens.shape[1] - k + 1].unsqueeze(0) + k <= ends)
        return torch.cat(ids, dim=1), torch.cat(masks, dim=1)

    @torch.no_grad()
    def fit_idf(self, batches: Iterable[tuple[Tensor, Tensor]]) -> int:
        """Set ``idf`` from the training texts, given as (tokens (N, L), lengths (N,)) batches;
        returns D, the number of texts read."""
        size = self.idf.numel()
        df = torch.zeros(size, dtype=torch.long)
        texts = 0
        for tokens, lengths in batches:
            ids, mask = self.features(tokens.cpu(), lengths.cpu())
            rows = torch.arange(ids.shape[0]).unsqueeze(1).expand_as(ids)
            held = torch.unique(rows[mask] * size + ids[mask]) % size  # each feature once a text
            df += torch.bincount(held, minlength=size)
            texts += int(tokens.shape[0])
        idf = torch.log((1.0 + texts) / (1.0 + df.double())) + 1.0
        self.idf.copy_(torch.where(df > 0, idf, torch.zeros_like(idf)).to(self.idf.dtype))
        return texts

    def forward(self, tokens: Tensor, lengths: Tensor) -> Tensor:
        ids, mask = self.features(tokens, lengths)
        weights = self.idf[ids] * mask.to(self.idf.dtype)  # (N, F)
        norm = weights.square().sum(dim=1, keepdim=True).sqrt().clamp(min=1.0)
        summed = torch.einsum("nf,nfc->nc", weights.to(self.weight.dtype), self.weight[ids])
        return summed / norm.to(summed.dtype)
