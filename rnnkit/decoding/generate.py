"""Streaming autoregressive generation: one next token per sequence per step.

The loop behind text generation: feed a token, pick the next one from the logits (greedy or
sampled, ``sampling.py``), feed it back. Tokens are yielded as they are produced, so a caller can
print them while the model is still running.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from typing import Any

import torch
from torch import Tensor

from rnnkit.decoding.filters import repetition_penalty_filter
from rnnkit.decoding.protocol import StepModel, check_count, check_tokens, checked_step
from rnnkit.decoding.sampling import Strategy, check_sampling_options, select_next_tokens


def generate_tokens(
    model: StepModel,
    state: Any,
    first_tokens: Tensor,
    max_tokens: int,
    *,
    strategy: Strategy = "sample",
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    generator: torch.Generator | None = None,
    eos_id: int | None = None,
    repetition_penalty: float = 1.0,
) -> Iterator[Tensor]:
    """Generate up to ``max_tokens`` tokens per sequence, yielding each step's tokens.

    .. math::
        z_t, s_t = \\mathrm{step}(y_{t-1}, s_{t-1}), \\qquad y_t = \\mathrm{select}(z_t),
        \\qquad y_0 = \\text{first\\_tokens}

    Runs under ``torch.no_grad`` (only while the generator runs: the caller's grad mode is
    untouched between steps). Stops after ``max_tokens`` steps, or as soon as every sequence has
    produced ``eos_id``; a sequence that has finished keeps yielding ``eos_id`` while the others
    go on. Exactly one ``model.step`` call per yielded step. Options are checked when this
    function is called, before any step. The generator's return value (``StopIteration.value``,
    or the value of ``yield from``) is the model state after the last step.

    Args:
        model: any ``StepModel``.
        state: the model state after the prompt minus its last token (None for an empty one,
            if the model accepts it).
        first_tokens: the tokens to feed first, usually the last prompt token (or BOS).
        max_tokens: the most steps to run, >= 0.
        strategy: ``"sample"`` or ``"greedy"``.
        temperature, top_k, top_p, generator: sampling options, see ``select_next_tokens``;
            ignored by greedy decoding.
        eos_id: the end-of-sequence token, or None to always run ``max_tokens`` steps.
        repetition_penalty: theta of ``repetition_penalty_filter``, applied to the logits of
            every token fed so far (the first token and those generated) before the other
            filters; 1 turns it off.

    Shape:
        first_tokens: (N,) long -> yields (N,) long tensors, at most ``max_tokens`` of them.

    Example:
        >>> g = torch.Generator().manual_seed(0)
        >>> for tokens in generate_tokens(lm, state, prompt[:, -1], 50, top_p=0.9, generator=g):
        ...     print(vocab.decode(tokens[0].item()), end="")
    """
    owner = "generate_tokens"
    tokens = check_tokens(owner, first_tokens)
    check_count(owner, "max_tokens", max_tokens, 0)
    check_sampling_options(owner, strategy, temperature, top_k, top_p)
    if eos_id is not None:
        check_count(owner, "eos_id", eos_id, 0)
    try:
        repetition_penalty_filter(torch.zeros(1, 1), torch.zeros(1, 0), repetition_penalty)
    except ValueError as err:
        raise ValueError(f"{owner}: {err}") from None
    options = dict(
        strategy=strategy, temperature=temperature, top_k=top_k, top_p=top_p, generator=generator
    )
    return _generate(model, state, tokens, max_tokens, eos_id, repetition_penalty, options)


@torch.no_grad()
def _generate(
    model: StepModel,
    state: Any,
    tokens: Tensor,
    max_tokens: int,
    eos_id: int | None,
    penalty: float,
    options: dict[str, Any],
) -> Generator[Tensor, None, Any]:
    finished = torch.zeros_like(tokens, dtype=torch.bool)  # (N,)
    seen = tokens[:, None]  # (N, t): every token fed so far
    for _ in range(max_tokens):
        logits, state = checked_step("generate_tokens", model, tokens, state, eos_id)
        if penalty != 1:
            logits = repetition_penalty_filter(logits, seen.to(logits.device), penalty)
        tokens = select_next_tokens(logits, **options).to(tokens.device)  # (N,)
        if eos_id is not None:
            tokens = tokens.masked_fill(finished, eos_id)  # finished sequences stay finished
            finished |= tokens == eos_id
        if penalty != 1:
            seen = torch.cat([seen, tokens[:, None]], dim=1)
        yield tokens
        if eos_id is not None and bool(finished.all()):
            break
    return state
