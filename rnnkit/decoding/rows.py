"""Next tokens for a batch of independent streams: each row its own sampling settings and seed.

Continuous batching runs many generation streams through one model step; each stream keeps its
own temperature, top-k, top-p and random generator. ``select_rows`` filters the rows that share
settings together and draws each sampled row with its own ``torch.Generator``, with the same
operations as ``select_next_tokens`` (temperature, top-k, top-p, softmax, then the draw
``torch.multinomial`` makes, done for all rows at once by ``draw_rows``), so a row gives the token
that ``select_next_tokens`` gives for that row alone with that generator: a stream's output does
not depend on the streams beside it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from rnnkit.decoding.filters import apply_temperature, top_k_filter, top_p_filter
from rnnkit.decoding.sampling import check_sampling_options


@dataclass(frozen=True)
class RowSampling:
    """How one stream picks its next token.

    Args:
        greedy: take the most likely token (the other options are then ignored).
        temperature: > 0; divides the logits.
        top_k: keep the k most likely tokens (None: all).
        top_p: keep the nucleus of mass p (None: all).
    """

    greedy: bool = False
    temperature: float = 1.0
    top_k: int | None = None
    top_p: float | None = None

    def check(self, owner: str) -> None:
        """Raise ValueError (naming ``owner``) for options ``select_next_tokens`` refuses."""
        strategy = "greedy" if self.greedy else "sample"
        check_sampling_options(owner, strategy, self.temperature, self.top_k, self.top_p)


def _filtered_probs(logits: Tensor, sampling: RowSampling) -> Tensor:
    """softmax(top_p(top_k(z / t))) of each row, in float32: (N, V) -> (N, V)."""
    z = apply_temperature(logits.float(), sampling.temperature)
    if sampling.top_k is not None:
        z = top_k_filter(z, sampling.top_k)
    if sampling.top_p is not None:
        z = top_p_filter(z, sampling.top_p)
    return z.softmax(dim=-1)


def select_rows(
    logits: Tensor,
    settings: Sequence[RowSampling],
    generators: Sequence[torch.Generator | None],
) -> Tensor:
    """One next token per row, row i chosen with ``settings[i]`` and ``generators[i]``.

    .. math::
        y_i = \\arg\\max_v z_{iv} \\text{ (greedy)}, \\qquad
        y_i \\sim \\mathrm{softmax}(\\mathrm{top\\_p}(\\mathrm{top\\_k}(z_i / t_i)))

    Args:
        logits: next-token logits, one row per stream.
        settings: each row's sampling options.
        generators: each row's random source (None: the global one); unused for greedy rows.

    Shape:
        logits: (N, V) -> tokens (N,) long.

    Example:
        >>> z = torch.tensor([[0.0, 3.0, 1.0], [2.0, 0.0, 0.0]])
        >>> g = torch.Generator().manual_seed(0)
        >>> select_rows(z, [RowSampling(greedy=True), RowSampling(top_k=1)], [None, g])
        tensor([1, 0])
    """
    n = logits.shape[0]
    if len(settings) != n or len(generators) != n:
        raise ValueError(
            f"select_rows: expected {n} settings and generators (one per row), got "
            f"{len(settings)} and {len(generators)}"
        )
    out = torch.empty(n, dtype=torch.long, device=logits.device)
    groups: dict[RowSampling, list[int]] = {}
    for i, s in enumerate(settings):
        groups.setdefault(s, []).append(i)
    for sampling, rows in groups.items():
        whole = len(rows) == n
        part = logits if whole else logits[rows]  # (R, V)
        if sampling.greedy:
            picked = part.argmax(dim=-1)
        else:
            picked = draw_rows(_filtered_probs(part, sampling), [generators[i] for i in rows])
        if whole:
            return picked
        out[rows] = picked
    return out


def draw_rows(probs: Tensor, generators: Sequence[torch.Generator | None]) -> Tensor:
    """One draw per row of ``probs``, row j with ``generators[j]``: the token that
    ``torch.multinomial(probs[j : j + 1], 1, generator=generators[j])`` draws, without a
    call per row.

    .. math::
        y_j = \\arg\\max_v p_{jv} / q_{jv}, \\qquad q_{jv} \\sim \\mathrm{Exp}(1)

    This is how ``torch.multinomial`` draws one sample (the exponential race, equivalent to
    the Gumbel-max trick): the V exponentials of a row come from that row's generator, as in
    its own call, so the generators advance and the tokens come out as they would one row at a
    time (tested against ``torch.multinomial``). The rows' divisions and argmax are one call.

    Shape:
        probs: (N, V), each row non-negative with a positive sum -> tokens (N,) long.
    """
    if not bool((probs >= 0).all()):  # also false for NaN
        raise RuntimeError("draw_rows: probability tensor contains either inf, nan or element < 0")
    noise = torch.empty_like(probs)
    for row, generator in zip(noise, generators):
        row.exponential_(1, generator=generator)
    return probs.div(noise).argmax(dim=-1)


def token_logprobs(logits: Tensor, tokens: Tensor) -> Tensor:
    """log p(token) of each row under the model's distribution (no temperature or filter).

    Shape:
        logits: (N, V), tokens (N,) -> (N,) float32.
    """
    return logits.float().log_softmax(dim=-1).gather(1, tokens[:, None]).squeeze(1)
