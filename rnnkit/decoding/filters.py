"""Logit filters for sampling: temperature, top-k and nucleus (top-p).

Each filter maps a batch of next-token logits (N, V) to logits of the same shape; a removed token
gets -inf, so that ``softmax`` gives it probability zero and renormalises the rest. Applied in the
order temperature, top-k, top-p (the order of Hugging Face ``generate``).

Nucleus sampling: Holtzman, Buys, Du, Forbes and Choi, "The Curious Case of Neural Text
Degeneration", ICLR 2020.

Ties are broken towards the lower token id (a stable sort), so that a filter keeps exactly the
number of tokens it promises and the result does not depend on the device's sort.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor


def _check_logits(owner: str, logits: Tensor) -> None:
    if not isinstance(logits, Tensor) or logits.dim() != 2 or logits.shape[1] == 0:
        got = tuple(logits.shape) if isinstance(logits, Tensor) else type(logits).__name__
        raise ValueError(f"{owner}: expected logits of shape (N, V) with V >= 1, got {got}")


def apply_temperature(logits: Tensor, t: float) -> Tensor:
    """Divide the logits by a temperature.

    .. math::
        p_i = \\frac{\\exp(z_i / t)}{\\sum_j \\exp(z_j / t)}

    t < 1 sharpens the distribution, t > 1 flattens it, t = 1 leaves it as it is. The limit
    t -> 0 is greedy decoding; ask for it with ``strategy="greedy"`` rather than t = 0.

    Args:
        logits: next-token logits.
        t: the temperature, a finite number > 0.

    Shape:
        logits: (N, V) -> (N, V).

    Example:
        >>> apply_temperature(torch.tensor([[2.0, 0.0]]), 2.0)
        tensor([[1., 0.]])
    """
    _check_logits("apply_temperature", logits)
    if t == 0:
        raise ValueError(
            "apply_temperature: expected a temperature > 0, got 0; "
            "for the t -> 0 limit use greedy decoding (strategy='greedy')"
        )
    if not (isinstance(t, (int, float)) and math.isfinite(t) and t > 0):
        raise ValueError(f"apply_temperature: expected a finite temperature > 0, got {t!r}")
    return logits if t == 1 else logits / t


def top_k_filter(logits: Tensor, k: int) -> Tensor:
    """Keep the k largest logits of each row; set the others to -inf.

    Exactly k tokens are kept per row (ties broken towards the lower token id); k >= V keeps
    every token and returns ``logits`` itself.

    Args:
        logits: next-token logits.
        k: how many tokens to keep, an int >= 1.

    Shape:
        logits: (N, V) -> (N, V).

    Example:
        >>> top_k_filter(torch.tensor([[1.0, 3.0, 2.0]]), 2)
        tensor([[-inf, 3., 2.]])
    """
    _check_logits("top_k_filter", logits)
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"top_k_filter: expected k to be an int >= 1, got {k!r}")
    if k >= logits.shape[1]:
        return logits
    order = torch.sort(logits, dim=-1, descending=True, stable=True).indices  # (N, V)
    keep = torch.zeros_like(logits, dtype=torch.bool).scatter_(1, order[:, :k], True)
    return logits.masked_fill(~keep, float("-inf"))


def top_p_filter(logits: Tensor, p: float) -> Tensor:
    """Nucleus filter: keep the smallest set of most probable tokens whose mass reaches p.

    .. math::
        V^{(p)} = \\text{the smallest } S \\text{ (most probable first) with }
        \\sum_{i \\in S} \\mathrm{softmax}(z)_i \\ge p

    A token is kept when the mass of the tokens ranked above it is still below p, so the top
    token is always kept. Probabilities are summed in float64. p >= 1 keeps every token and
    returns ``logits`` itself.

    Args:
        logits: next-token logits (already divided by the temperature, if any).
        p: the mass to cover, in (0, 1].

    Shape:
        logits: (N, V) -> (N, V).

    Example:
        >>> top_p_filter(torch.tensor([[0.5, 0.3, 0.2]]).log(), 0.7)
        tensor([[-0.6931, -1.2040,    -inf]])
    """
    _check_logits("top_p_filter", logits)
    if not (isinstance(p, (int, float)) and not isinstance(p, bool) and 0 < p <= 1):
        raise ValueError(f"top_p_filter: expected p in (0, 1], got {p!r}")
    if p >= 1:
        return logits
    sorted_logits, order = torch.sort(logits, dim=-1, descending=True, stable=True)
    probs = sorted_logits.double().softmax(dim=-1)  # (N, V), most probable first
    # mass of the tokens ranked above each one: an exclusive cumulative sum, (N, V)
    mass_above = torch.cat([torch.zeros_like(probs[:, :1]), probs.cumsum(dim=-1)[:, :-1]], dim=1)
    keep_sorted = mass_above < p
    keep_sorted[:, 0] = True  # always the top token, even if rounding says otherwise
    keep = torch.zeros_like(keep_sorted).scatter_(1, order, keep_sorted)
    return logits.masked_fill(~keep, float("-inf"))


def repetition_penalty_filter(logits: Tensor, previous: Tensor, penalty: float) -> Tensor:
    """Make tokens already seen less likely (Keskar et al. 2019, "CTRL", section 4.1).

    .. math::
        z'_i = z_i / \\theta \\text{ if } z_i > 0, \\quad z_i \\theta \\text{ otherwise},
        \\qquad \\text{for every token } i \\text{ in } \\text{previous}

    A penalty theta > 1 discourages repetition, theta = 1 returns ``logits`` itself, and
    theta < 1 encourages it. Each seen token is penalised once, however often it was seen.

    Args:
        logits: next-token logits.
        previous: the tokens seen so far per row (any integer ids in [0, V)).
        penalty: theta, a finite number > 0.

    Shape:
        logits (N, V), previous (N, t) -> (N, V).

    Example:
        >>> repetition_penalty_filter(torch.tensor([[2.0, -1.0, 1.0]]), torch.tensor([[0, 1]]), 2.0)
        tensor([[ 1., -2.,  1.]])
    """
    _check_logits("repetition_penalty_filter", logits)
    if not (isinstance(penalty, (int, float)) and math.isfinite(penalty) and penalty > 0):
        raise ValueError(
            f"repetition_penalty_filter: expected a finite penalty > 0, got {penalty!r}"
        )
    if penalty == 1 or previous.numel() == 0:
        return logits
    if previous.dim() != 2 or previous.shape[0] != logits.shape[0]:
        raise ValueError(
            f"repetition_penalty_filter: expected previous of shape ({logits.shape[0]}, t), "
            f"got {tuple(previous.shape)}"
        )
    seen = torch.zeros_like(logits, dtype=torch.bool).scatter_(1, previous.long(), True)
    penalised = torch.where(logits > 0, logits / penalty, logits * penalty)
    return torch.where(seen, penalised, logits)
