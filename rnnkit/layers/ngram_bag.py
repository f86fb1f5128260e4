"""A linear model over a text's word n-grams, scored beside a recurrent encoder.

For token ids w_1..w_n (n = the sequence's length) the features are the unigrams w_t and, for
each order k = 2..K, the n-grams (w_t, ..., w_{t+k-1}) hashed into B buckets:

    f(w_t) = w_t,        f(w_t..w_{t+k-1}) = V + (h_k(w_t, ..., w_{t+k-1}) mod B),
    h_k(a_1, ..., a_k) = (...((a_1 P + a_2) mod 2^31) P + ... + a_k) mod 2^31,   P = 1000003

and the scores are the features' weights summed and divided by the square root of their count
m (so a text of any length gives scores of one scale, as an L2-normalised count vector does):

    z = (1 / sqrt(m)) sum_j U[f_j],        U: (V + B, C), zero at the start.

This is the bag-of-n-grams half of a wide-and-deep model: it learns in a few steps what a linear
classifier over n-gram counts knows (which words and word pairs go with which class), so the
recurrent half only needs to add what order and context tell. On a few thousand labelled texts
that is what keeps a recurrent classifier from losing to TF-IDF + logistic regression.

Shape:
    tokens (N, L) long, lengths (N,) -> scores (N, C).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

PRIME = 1000003
MOD = 1 << 31


class NgramBag(nn.Module):
    """Hashed word n-gram features -> class scores, normalised by the feature count.

    Args:
        vocab_size: V; token ids are unigram features as they are.
        num_outputs: C, the number of scores.
        buckets: B, hash buckets shared by the n-grams of order 2..``order``.
        order: K >= 1, the longest n-gram (1: unigrams only).

    Example:
        >>> bag = NgramBag(vocab_size=5000, num_outputs=3, buckets=1 << 18)
        >>> scores = bag(tokens, lengths)         # (N, 3), zero before training
    """

    def __init__(self, vocab_size: int, num_outputs: int, buckets: int, order: int = 2) -> None:
        super().__init__()
        if vocab_size < 1 or num_outputs < 1 or buckets < 1 or order < 1:
            raise ValueError(
                f"NgramBag: need vocab_size, num_outputs, buckets and order >= 1, got "
                f"{vocab_size}, {num_outputs}, {buckets} and {order}"
            )
        self.vocab_size, self.buckets, self.order = vocab_size, buckets, order
        self.weight = nn.Parameter(torch.zeros(vocab_size + buckets, num_outputs))

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

    def forward(self, tokens: Tensor, lengths: Tensor) -> Tensor:
        ids, mask = self.features(tokens, lengths)
        mask = mask.to(self.weight.dtype)
        count = mask.sum(dim=1, keepdim=True).clamp(min=1.0)
        summed = torch.einsum("nf,nfc->nc", mask, self.weight[ids])
        return summed / count.sqrt()
