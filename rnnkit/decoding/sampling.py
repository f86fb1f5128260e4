"""Choosing the next token from logits: greedy (argmax) or sampling with filters.

Greedy decoding takes the most probable token at each step. Sampling draws from
``softmax(filter(z / t))`` with ``torch.multinomial`` and a caller-given ``torch.Generator``, so
that a seed reproduces the output exactly; the filters (``filters.py``) apply in the order
temperature, top-k, top-p.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor

from rnnkit.decoding.filters import apply_temperature, top_k_filter, top_p_filter

Strategy = Literal["sample", "greedy"]
STRATEGIES = ("sample", "greedy")


def check_sampling_options(
    owner: str,
    strategy: str,
    temperature: float,
    top_k: int | None,
    top_p: float | None,
) -> None:
    """Reject bad options up front (before any model step), naming ``owner``."""
    if strategy not in STRATEGIES:
        raise ValueError(f"{owner}: expected strategy in {STRATEGIES}, got {strategy!r}")
    if strategy == "greedy":
        return  # temperature, top_k and top_p never change the argmax: nothing to check
    if temperature == 0:
        raise ValueError(
            f"{owner}: expected a temperature > 0 for sampling, got 0; "
            "temperature 0 is greedy decoding: pass strategy='greedy'"
        )
    try:  # one set of rules: the filters' own checks, run on a dummy row
        dummy = torch.zeros(1, 2)
        apply_temperature(dummy, temperature)
        if top_k is not None:
            top_k_filter(dummy, top_k)
        if top_p is not None:
            top_p_filter(dummy, top_p)
    except ValueError as err:
        raise ValueError(f"{owner}: {err}") from None


def select_next_tokens(
    logits: Tensor,
    *,
    strategy: Strategy = "sample",
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    generator: torch.Generator | None = None,
) -> Tensor:
    """Pick one next token per row of logits.

    .. math::
        \\text{greedy: } y = \\arg\\max_i z_i, \\qquad
        \\text{sample: } y \\sim \\mathrm{softmax}(\\mathrm{top\\_p}(\\mathrm{top\\_k}(z / t)))

    Args:
        logits: next-token logits.
        strategy: ``"greedy"`` (argmax, the lowest id on ties; the other options are ignored
            since they never change the argmax) or ``"sample"``.
        temperature: divides the logits before sampling; > 0.
        top_k: sample only among the k most probable tokens (None: all).
        top_p: sample only from the nucleus of mass p (None: all).
        generator: random source of ``torch.multinomial``, on the logits' device; None uses
            the global generator.

    Shape:
        logits: (N, V) -> tokens (N,) long.

    Example:
        >>> z = torch.tensor([[0.0, 3.0, 1.0]])
        >>> select_next_tokens(z, strategy="greedy")
        tensor([1])
        >>> g = torch.Generator().manual_seed(0)
        >>> select_next_tokens(z, top_k=1, generator=g)
        tensor([1])
    """
    if strategy == "greedy":
        return logits.argmax(dim=-1)
    if strategy != "sample":
        raise ValueError(f"select_next_tokens: expected strategy in {STRATEGIES}, got {strategy!r}")
    z = apply_temperature(logits.float(), temperature)
    if top_k is not None:
        z = top_k_filter(z, top_k)
    if top_p is not None:
        z = top_p_filter(z, top_p)
    probs = z.softmax(dim=-1)  # (N, V)
    return torch.multinomial(probs, 1, generator=generator).squeeze(1)
