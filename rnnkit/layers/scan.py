"""The linear recurrence h_t = a_t * h_{t-1} + b_t over a whole sequence at once.

With a_t in (0, 1) and b_t > 0 given as logarithms, the sum

    h_t = A_t h_0 + sum_{s<=t} (A_t / A_s) b_s,     A_t = prod_{s<=t} a_s

is computed in log space (Heinsen 2023, "Efficient Parallelization of a Ubiquitous Sequential
Computation"): with a*_t = cumsum(log a)_t,

    sum_{s<=t} (A_t / A_s) b_s = exp(a*_t + logcumsumexp(log b - a*)_t)

so every step is a cumulative sum or a cumulative log-sum-exp: O(L) work with no Python loop over
time. The initial state h_0 may have any sign; its term A_t h_0 is added in linear space.

Shapes: log_a, log_b (N, L, H); h0 (N, H) or None -> h (N, L, H).
"""

from __future__ import annotations

import torch
from torch import Tensor
from torch.nn import functional as F


def log_g(x: Tensor) -> Tensor:
    """log g(x) for the positive activation g(x) = x + 0.5 (x >= 0), sigmoid(x) (x < 0).

    g is continuous and increasing with g(0) = 0.5 (Feng et al. 2024's choice for minGRU and
    minLSTM in log space).
    """
    return torch.where(x >= 0, torch.log(F.relu(x) + 0.5), -F.softplus(-x))


def g(x: Tensor) -> Tensor:
    """The positive activation whose logarithm is ``log_g``."""
    return torch.where(x >= 0, x + 0.5, torch.sigmoid(x))


def parallel_scan_log(log_a: Tensor, log_b: Tensor, h0: Tensor | None = None) -> Tensor:
    """All h_t of h_t = a_t h_{t-1} + b_t; see the module docstring."""
    a_star = torch.cumsum(log_a, dim=1)
    h = torch.exp(a_star + torch.logcumsumexp(log_b - a_star, dim=1))
    if h0 is not None:
        h = h + torch.exp(a_star) * h0.unsqueeze(1)
    return h
