"""Pooling a recurrent layer's outputs over time into one vector per sequence.

For outputs h_1..h_n of one sequence (n its true length; padded steps are ignored)::

    last       the final state of each direction (forward h_n, backward h_1)
    max        max_t h_t                       (Collobert et al. 2011; InferSent)
    mean       (1/n) sum_t h_t
    attention  e_t = v^T tanh(W h_t + b),  a = softmax(e_1..e_n),  c = sum_t a_t h_t
               (feed-forward attention, Raffel & Ellis 2015; the seeds' emotion recognizer)
    concat     [last; max; mean]               (ULMFiT's concat pooling, Howard & Ruder 2018)
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

POOLING_MODES = ("last", "max", "mean", "attention", "concat")


def lengths_mask(lengths: Tensor, steps: int) -> Tensor:
    """(N,) lengths -> (N, L) bool mask, True at real steps."""
    return torch.arange(steps, device=lengths.device)[None, :] < lengths[:, None]


def last_states(outputs: Tensor, lengths: Tensor, num_directions: int) -> Tensor:
    """Each direction's final output: forward at step n-1, backward at step 0.

    Shape: outputs (N, L, D*H), lengths (N,) -> (N, D*H).
    """
    n, _, width = outputs.shape
    hidden = width // num_directions
    index = (lengths - 1).clamp(min=0).to(outputs.device)
    forward = outputs[torch.arange(n, device=outputs.device), index, :hidden]
    if num_directions == 1:
        return forward
    return torch.cat([forward, outputs[:, 0, hidden:]], dim=-1)


class SequencePooling(nn.Module):
    """Pool (N, L, F) outputs with lengths into (N, out_features).

    Args:
        mode: one of ``POOLING_MODES``.
        features: F, the width of the outputs.
        num_directions: 2 when the outputs are a bidirectional layer's (for ``last``).
        attention_size: width of the attention's hidden layer (``attention`` mode).

    Example:
        >>> pool = SequencePooling("attention", features=256)
        >>> vectors = pool(outputs, lengths)         # (N, 256); pool.last_weights is (N, L)
    """

    def __init__(
        self, mode: str, features: int, num_directions: int = 1, attention_size: int = 128
    ) -> None:
        super().__init__()
        if mode not in POOLING_MODES:
            raise ValueError(f"SequencePooling: unknown mode {mode!r}; choose from {POOLING_MODES}")
        self.mode, self.features, self.num_directions = mode, features, num_directions
        self.attention: nn.Module | None = None
        if mode == "attention":
            self.attention = nn.Sequential(
                nn.Linear(features, attention_size), nn.Tanh(), nn.Linear(attention_size, 1)
            )
        self.last_weights: Tensor | None = None

    @property
    def out_features(self) -> int:
        return 3 * self.features if self.mode == "concat" else self.features

    def forward(self, outputs: Tensor, lengths: Tensor) -> Tensor:
        if outputs.dim() != 3 or outputs.shape[-1] != self.features:
            raise ValueError(
                f"SequencePooling: expected outputs (N, L, {self.features}), "
                f"got {tuple(outputs.shape)}"
            )
        mask = lengths_mask(lengths.to(outputs.device), outputs.shape[1])
        if self.mode == "last":
            return last_states(outputs, lengths, self.num_directions)
        if self.mode == "max":
            return _max(outputs, mask)
        if self.mode == "mean":
            return _mean(outputs, mask)
        if self.mode == "concat":
            last = last_states(outputs, lengths, self.num_directions)
            return torch.cat([last, _max(outputs, mask), _mean(outputs, mask)], dim=-1)
        assert self.attention is not None
        scores = self.attention(outputs).squeeze(-1).masked_fill(~mask, float("-inf"))
        weights = torch.softmax(scores, dim=1)
        self.last_weights = weights.detach()
        return torch.einsum("nl,nlf->nf", weights, outputs)


def _max(outputs: Tensor, mask: Tensor) -> Tensor:
    return outputs.masked_fill(~mask[..., None], float("-inf")).amax(dim=1)


def _mean(outputs: Tensor, mask: Tensor) -> Tensor:
    m = mask[..., None].to(outputs.dtype)
    return (outputs * m).sum(dim=1) / m.sum(dim=1).clamp(min=1.0)
