"""Scalar mix: a learned, softmax-normalised weighted sum of a network's layers.

Peters et al., "Deep Contextualized Word Representations" (ELMo), NAACL 2018, equation (1):

    ELMo_t = gamma * sum_{k=0..K} s_k h_{t,k},     s = softmax(w)

w (K+1 scalars) and gamma (one scalar) are learned with the task that uses the vectors. They
start at w = 0 and gamma = 1, so an untrained mix is the equal average of the layers.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn


class ScalarMix(nn.Module):
    """Mix K+1 equally shaped layer outputs into one tensor.

    Args:
        num_layers: K+1, the number of tensors mixed (the token layer included).

    Shape:
        layers: a ``(K+1, *S)`` tensor or a sequence of K+1 tensors of shape ``S`` -> ``S``.

    Example:
        >>> mix = ScalarMix(3)
        >>> vectors = mix(torch.randn(3, 4, 10, 512))     # (4, 10, 512)
        >>> mix.weights                                    # softmax(w): (1/3, 1/3, 1/3)
    """

    def __init__(self, num_layers: int) -> None:
        super().__init__()
        if num_layers < 1:
            raise ValueError(f"ScalarMix: num_layers must be >= 1, got {num_layers}")
        self.num_layers = num_layers
        self.scalars = nn.Parameter(torch.zeros(num_layers))
        self.gamma = nn.Parameter(torch.ones(()))

    @property
    def weights(self) -> Tensor:
        """softmax(w), shape (K+1,)."""
        return torch.softmax(self.scalars, dim=0)

    def forward(self, layers: Tensor | Sequence[Tensor]) -> Tensor:
        stacked = layers if isinstance(layers, Tensor) else torch.stack(list(layers))
        if stacked.dim() < 1 or stacked.shape[0] != self.num_layers:
            raise ValueError(
                f"ScalarMix: expected {self.num_layers} layers, got "
                f"{stacked.shape[0] if stacked.dim() else 'a scalar'}"
            )
        weights = self.weights.to(stacked.dtype).reshape(-1, *([1] * (stacked.dim() - 1)))
        return self.gamma.to(stacked.dtype) * (weights * stacked).sum(dim=0)

    def extra_repr(self) -> str:
        return f"num_layers={self.num_layers}"
