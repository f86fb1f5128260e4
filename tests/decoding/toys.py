"""Toy ``StepModel``s for the decoding tests, and an independent sequence scorer.

- ``TableModel``: logits from a fixed random (V, V) table of the previous token, plus (with
  ``history=True``) a term of the sum of all tokens fed so far; the state is a (1, N, 1) tensor,
  batch on axis 1 like an rnnkit LSTM state, so a search that forgets ``reorder_state`` fails.
- ``TreeModel``: hand-written next-token probabilities per generated prefix; its state is a plain
  list of prefixes (decoding must treat states as opaque).
- ``CountdownModel``: sequence n emits ``limits[n]`` non-eos tokens, then eos, then (if it were
  fed on) anything but eos.
- ``ConstantModel``: the same logits at every step.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor


class TableModel:
    """logits = table[prev], + shift[sum of the tokens fed so far mod V] with ``history``."""

    def __init__(self, vocab_size: int, seed: int = 0, history: bool = False) -> None:
        gen = torch.Generator().manual_seed(seed)
        self.vocab_size = vocab_size
        self.table = 2.0 * torch.randn(vocab_size, vocab_size, generator=gen)
        self.shift = 2.0 * torch.randn(vocab_size, vocab_size, generator=gen)
        self.history = history
        self.calls = 0
        self.grad_enabled: list[bool] = []

    def init_state(self, n: int) -> Tensor:
        return torch.zeros(1, n, 1)

    def step(self, tokens: Tensor, state: Tensor) -> tuple[Tensor, Tensor]:
        self.calls += 1
        self.grad_enabled.append(torch.is_grad_enabled())
        n = tokens.shape[0]
        state = self.init_state(n) if state is None else state
        assert state.shape == (1, n, 1), f"state {tuple(state.shape)} for {n} tokens"
        logits = self.table[tokens].clone()  # (N, V)
        if self.history:
            total = state[0, :, 0].long() + tokens  # (N,)
            logits += self.shift[total % self.vocab_size]
            return logits, total.float().view(1, n, 1)
        return logits, state + 1  # counts the steps

    def reorder_state(self, state: Tensor, index: Tensor) -> Tensor:
        return state.index_select(1, index)


class TreeModel:
    """Next-token probabilities given by hand for each generated prefix (a tuple of ids)."""

    def __init__(
        self, probs: dict[tuple[int, ...], dict[int, float]], vocab_size: int, default: int = 0
    ) -> None:
        self.probs, self.vocab_size, self.default = probs, vocab_size, default

    def init_state(self, n: int) -> list[tuple[int, ...] | None]:
        return [None] * n  # None: nothing fed yet

    def step(self, tokens: Tensor, state: list) -> tuple[Tensor, list]:
        assert len(state) == tokens.shape[0]
        new_state, rows = [], []
        for prefix, token in zip(state, tokens.tolist()):
            prefix = () if prefix is None else (*prefix, token)  # the first token is not counted
            dist = self.probs.get(prefix, {self.default: 1.0})
            rows.append(
                [math.log(dist[v]) if dist.get(v) else -math.inf for v in range(self.vocab_size)]
            )
            new_state.append(prefix)
        return torch.tensor(rows), new_state

    def reorder_state(self, state: list, index: Tensor) -> list:
        return [state[i] for i in index.tolist()]


class CountdownModel:
    """State (1, N, 1): steps left before eos. Non-eos token: 1 + steps_left % (V - 1)."""

    def __init__(self, vocab_size: int = 5, eos_id: int = 0, margin: float = 30.0) -> None:
        self.vocab_size, self.eos_id, self.margin = vocab_size, eos_id, margin
        self.calls = 0

    def step(self, tokens: Tensor, state: Tensor) -> tuple[Tensor, Tensor]:
        self.calls += 1
        left = state[0, :, 0].long()  # (N,)
        favourite = 1 + left.clamp(min=0) % (self.vocab_size - 1)
        favourite = torch.where(left == 0, torch.full_like(left, self.eos_id), favourite)
        logits = torch.zeros(tokens.shape[0], self.vocab_size)
        logits[torch.arange(tokens.shape[0]), favourite] = self.margin
        return logits, state - 1

    def reorder_state(self, state: Tensor, index: Tensor) -> Tensor:
        return state.index_select(1, index)


class ConstantModel:
    """The same logits (V,) for every sequence at every step; no state."""

    def __init__(self, logits: Tensor) -> None:
        self.logits = logits

    def step(self, tokens: Tensor, state: None) -> tuple[Tensor, None]:
        return self.logits.expand(tokens.shape[0], -1), state

    def reorder_state(self, state: None, index: Tensor) -> None:
        return state


def sequence_log_prob(model, state, first_token: int, tokens: list[int]) -> float:
    """log P(tokens) under ``model``, fed one sequence alone (N = 1), no search involved."""
    total, fed = 0.0, torch.tensor([first_token])
    for token in tokens:
        logits, state = model.step(fed, state)
        total += logits.double().log_softmax(-1)[0, token].item()
        fed = torch.tensor([token])
    return total


def gnmt_lp(length: int, alpha: float) -> float:
    """The GNMT length penalty, written out again for the tests."""
    return ((5.0 + length) / 6.0) ** alpha
