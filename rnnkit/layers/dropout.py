"""Dropout for recurrent models: locked (variational), embedding and weight drop.

From Merity, Keskar & Socher, "Regularizing and Optimizing LSTM Language Models" (AWD-LSTM),
ICLR 2018, after Gal & Ghahramani, "A Theoretically Grounded Application of Dropout in Recurrent
Neural Networks", NeurIPS 2016, and Wan et al., "Regularization of Neural Networks using
DropConnect", ICML 2013.

- ``LockedDropout``: one mask per sequence, shared by all time steps.
- ``embedding_dropout``: drop whole word types from the embedding matrix.
- ``WeightDrop``: DropConnect on the hidden-to-hidden weights, one mask per forward call; the
  wrapped layer still runs its fused kernel.
"""

from __future__ import annotations

import re
from typing import Any

import torch
from torch import Tensor, nn
from torch.nn import functional as F


class LockedDropout(nn.Module):
    """Drop the same features at every step of a sequence.

    Args:
        p: probability of dropping a feature.

    Shape:
        (N, L, H) -> (N, L, H); the mask is (N, 1, H), scaled by 1 / (1 - p).
    """

    def __init__(self, p: float = 0.0) -> None:
        super().__init__()
        if not 0.0 <= p < 1.0:
            raise ValueError(f"LockedDropout: p must be in [0, 1), got {p}")
        self.p = p

    def forward(self, x: Tensor) -> Tensor:
        if not self.training or self.p == 0.0:
            return x
        keep = 1.0 - self.p
        mask = x.new_empty(x.shape[0], 1, x.shape[2]).bernoulli_(keep) / keep
        return x * mask

    def extra_repr(self) -> str:
        return f"p={self.p}"


def embedding_dropout(embed: nn.Embedding, tokens: Tensor, p: float, training: bool) -> Tensor:
    """Look up ``tokens`` with whole rows (word types) of the embedding dropped.

    Every occurrence of a dropped word becomes the zero vector in this batch; kept rows are
    scaled by 1 / (1 - p).

    Shape:
        tokens (N, L) -> (N, L, E).
    """
    if not training or p == 0.0:
        return embed(tokens)
    keep = 1.0 - p
    mask = embed.weight.new_empty(embed.weight.shape[0], 1).bernoulli_(keep) / keep
    return F.embedding(tokens, embed.weight * mask, embed.padding_idx)


class WeightDrop(nn.Module):
    """DropConnect on the recurrent weights of a layer: W_hh -> dropout(W_hh) per forward.

    The dropped weights are swapped in for one call with ``torch.func.functional_call``, so the
    layer keeps its parameters, its state dict and its backend (fused kernels included).

    Args:
        layer: any module with parameters named ``...weight_hh`` (or ``weight_hh_l0``,
            ``weight_hh_l1_reverse`` ... as ``rnnkit.LSTM`` and ``torch.nn.LSTM`` name them).
        p: drop probability.

    Example:
        >>> lstm = WeightDrop(rnnkit.LSTM(400, 1150), p=0.5)
        >>> out, state = lstm(x)
    """

    def __init__(self, layer: nn.Module, p: float) -> None:
        super().__init__()
        if not 0.0 <= p < 1.0:
            raise ValueError(f"WeightDrop: p must be in [0, 1), got {p}")
        self.layer = layer
        self.p = p
        self.names = [n for n, _ in layer.named_parameters() if _recurrent(n.split(".")[-1])]
        if p > 0 and not self.names:
            raise ValueError(f"WeightDrop: {type(layer).__name__} has no weight_hh parameters")

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        if not self.training or self.p == 0.0:
            return self.layer(*args, **kwargs)
        params = dict(self.layer.named_parameters())
        dropped = {n: F.dropout(params[n], self.p, True) for n in self.names}
        return torch.func.functional_call(self.layer, dropped, args, kwargs)

    def __getattr__(self, name: str) -> Any:
        try:
            return super().__getattr__(name)
        except AttributeError:
            return getattr(self._modules["layer"], name)

    def extra_repr(self) -> str:
        return f"p={self.p}"


def _recurrent(name: str) -> bool:
    """``weight_hh``, or its flat form in a stack (``weight_hh_l0``, ``weight_hh_l2_reverse``)."""
    return re.fullmatch(r"weight_hh(_l\d+(_reverse)?)?", name) is not None
